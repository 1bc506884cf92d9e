//! The pure domain: amounts, requests, payouts and their state machine. No I/O here.

pub mod amount;
pub mod payout;
pub mod request;

pub use amount::{Amount, AmountError};
pub use payout::{
    Change, Decision, ExistingClaim, Failure, HistoryEntry, LeanxTransactionStatus, Payout,
    PayoutEvent, PayoutStatus, SendState, classify_existing, decide, next_check_delay,
};
pub use request::{InvoiceRef, MAX_BODY_BYTES, PayoutRequest, ValidationError};
