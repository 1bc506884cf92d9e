//! The pure domain: amounts, requests, payouts and their state machine. No I/O here.

pub mod amount;
pub mod name_match;
pub mod payout;
pub mod recipient;
pub mod request;

pub use amount::{Amount, AmountError};
pub use name_match::{NameMatch, NameVerdict, match_names};
pub use payout::{
    Change, Decision, ExistingClaim, Failure, HistoryEntry, LeanxTransactionStatus, Payout,
    PayoutEvent, PayoutStatus, SendState, classify_existing, decide, next_check_delay,
};
pub use recipient::{
    PartialMatch, PolicyDecision, Recipient, RecipientPolicy, RecipientPolicyError,
    RecipientVerification, VerificationMode,
};
pub use request::{InvoiceRef, MAX_BODY_BYTES, PayoutRequest, ValidationError};
