//! The use cases, one module each, over narrow ports (the payout store, the recipient
//! verifications, and one provider trait per thing asked of LeanX). Each returns what happened as a domain outcome; HTTP is decided in `crate::api`.
//!
//! | file | rule it holds |
//! |---|---|
//! | `apply_event.rs` | the only path by which a status changes: decide, write conditionally, on a lost race re-decide only if the evidence still holds |
//! | `create.rs` | `POST /payouts`: recipient policy, claim, recovery point, the one send, the answer |
//! | `list.rs` | `GET /payouts`: a page newest first, a cursor sealed to its filters |
//! | `lookup.rs` | `GET /payouts/{ref}`: stored state, refreshed from LeanX while open |
//! | `callback.rs` | `POST /callbacks/leanx`: verify, bind to the payout, apply or keep unmatched |
//! | `reconcile.rs` | the reconciler: settle open payouts from LeanX's word, verdict "not received" |
//! | `payout_services.rs` | `GET /payout-services`: LeanX's list, sorted, cached in the container |
//! | `verify_recipient.rs` | `POST /recipient-verifications`: who holds the account, the name match, kept 30 days |
//! | `balance.rs` | `GET /balance`: LeanX's pool balances |
//! | `send.rs` | the one send of a claimed payout (recovery point, `create-payout-invoice`, the answer), for `POST /payouts` and batch items |
//! | `accept_batch.rs` | `POST /payout-batches`: validate all, claim the batch, record every item PENDING, queue it |
//! | `send_batch_item.rs` | `send-batch-items`: one queued item through the same path as `POST /payouts` |
//! | `batch_progress.rs` | `GET /payout-batches/{ref}` (counts, amounts, complete) and its items (pages, CSV) |
//! | `provider.rs` | the provider ports (what each use case asks of LeanX) |

pub mod accept_batch;
pub mod apply_event;
pub mod balance;
pub mod batch_progress;
pub mod callback;
pub mod create;
pub mod list;
pub mod lookup;
pub mod payout_services;
pub mod provider;
pub mod reconcile;
pub mod send;
pub mod send_batch_item;
pub mod verify_recipient;

pub use accept_batch::{
    AcceptBatch, AcceptError, AcceptOutcome, BatchProgress, ITEMS_PER_MESSAGE, ItemQueue,
    QueueError, QueuedItemMessage, QueuedItems,
};
pub use apply_event::{Applied, Evidence, apply_event};
pub use balance::{BalanceError, GetBalance};
pub use batch_progress::{BatchItemsPage, BatchReadError, GetBatch, ListBatchItems};
pub use callback::{
    CallbackOutcome, CallbackRejected, ReplayOutcome, TakeCallback, replay_kept_callback,
};
pub use create::{CreateError, CreateOutcome, CreatePayout, PayoutDestination, RecipientCheck};
pub use list::{ListError, ListPayouts, PayoutPage};
pub use lookup::{LookupError, LookupOutcome, LookupPayout};
pub use payout_services::{ListPayoutServices, ListServicesError, PayoutServices};
pub use provider::{BankAccountCheck, PayoutProvider, PayoutServiceCatalog, PoolBalance};
pub use reconcile::{ReconcileError, ReconcileReport, Reconciler};
pub use send_batch_item::{ItemSendOutcome, SendBatchItem};
pub use verify_recipient::{VerifyError, VerifyOutcome, VerifyRecipient, unknown_payout_service};
