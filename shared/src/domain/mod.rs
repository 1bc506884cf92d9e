//! The pure domain: amounts, requests, payouts and their state machine. No I/O here.
//!
//! - `payout.rs`: the payout as kept, its statuses, the transition table and the writes.
//! - `decision.rs`: what an event (LeanX's answer, a callback, a verdict) decides.
//! - `callback_claims.rs`: what a LeanX callback claims, and when it agrees with a payout.
//! - `claim.rs`: what a repeated create amounts to (conflict, in progress, take over, replay).
//! - `name_match.rs`: how well an account holder's name matches the payee's (Malaysian names).
//! - `recipient.rs`: the recipient policy: when a payout needs a verified, matching recipient.
//! - `batch.rs`: POST /payout-batches: the body, the batch as kept, its tally, queued items.
//! - `listing.rs`: GET /payouts: its query, the listing order and the sealed cursor.

pub mod amount;
pub mod batch;
pub mod callback_claims;
pub mod claim;
pub mod decision;
pub mod listing;
pub mod mask;
pub mod name_match;
pub mod payout;
pub mod recipient;
pub mod request;

pub use amount::{Amount, AmountError};
pub use batch::{
    Batch, BatchInvalid, BatchRef, BatchRequest, BatchState, BatchTally, ExistingItem, ItemError,
    MAX_BATCH_BODY_BYTES, MAX_BATCH_ITEMS, QueuedItem, classify_existing_item,
    classify_queued_item,
};
pub use callback_claims::CallbackClaims;
pub use claim::{ExistingClaim, classify_existing};
pub use decision::{Decision, LeanxTransactionStatus, PayoutEvent, decide};
pub use listing::{BatchItemsQuery, CursorKey, ListFilter, ListPosition, ListQuery};
pub use mask::mask_account;
pub use name_match::{NameMatch, NameVerdict, match_names};
pub use payout::{
    Attention, CONTRADICTED_BY_LEANX, Change, Failure, HistoryEntry, NOT_RECEIVED_BY_PROVIDER,
    NotReceivedRule, Payout, PayoutStatus, SendState, next_check_delay,
};
pub use recipient::{
    PartialMatch, PolicyDecision, Recipient, RecipientPolicy, RecipientPolicyError,
    RecipientVerification, VerificationMode,
};
pub use request::{
    InvoiceRef, MAX_BODY_BYTES, PayoutRequest, ValidationError, VerificationRequest,
};
