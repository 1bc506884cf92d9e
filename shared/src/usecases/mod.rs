//! The use cases, one module each, over two narrow ports (the payout store and the payout
//! provider). Each returns what happened as a domain outcome; HTTP is decided in `crate::api`.
//!
//! | file | rule it holds |
//! |---|---|
//! | `apply_event.rs` | the only path by which a status changes: decide, write conditionally, on a lost race re-decide only if the evidence still holds |
//! | `create.rs` | `POST /payouts`: claim, recovery point, the one send, the answer |
//! | `list.rs` | `GET /payouts`: a page newest first, a cursor sealed to its filters |
//! | `lookup.rs` | `GET /payouts/{ref}`: stored state, refreshed from LeanX while open |
//! | `callback.rs` | `POST /callbacks/leanx`: verify, bind to the payout, apply or keep unmatched |
//! | `reconcile.rs` | the reconciler: settle open payouts from LeanX's word, verdict "not received" |
//! | `provider.rs` | the provider port (what the money flow asks of LeanX) |

pub mod apply_event;
pub mod callback;
pub mod create;
pub mod list;
pub mod lookup;
pub mod provider;
pub mod reconcile;

pub use apply_event::{Applied, Evidence, apply_event};
pub use callback::{
    CallbackOutcome, CallbackRejected, ReplayOutcome, TakeCallback, replay_kept_callback,
};
pub use create::{CreateError, CreateOutcome, CreatePayout, PayoutDestination};
pub use list::{ListError, ListPayouts, PayoutPage};
pub use lookup::{LookupError, LookupOutcome, LookupPayout};
pub use provider::PayoutProvider;
pub use reconcile::{ReconcileError, ReconcileReport, Reconciler};
