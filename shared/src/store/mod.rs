//! Payout state, and the recipient verifications kept beside it: the narrow ports the use cases
//! use, and their DynamoDB adapters (one table).
//!
//! The domain decides every new state ([`crate::domain::decide`] and the transitions on
//! [`crate::domain::Payout`]); the store only persists it, conditionally on the payout being
//! exactly as it was read (its `version`), so that two racing writers can never both win.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Batch, BatchRef, BatchTally, CallbackClaims, InvoiceRef, ListFilter, ListPosition, Payout,
    PayoutStatus, RecipientVerification,
};

mod batches;
pub mod dynamo;
mod items;
mod listing;
pub mod schema;
mod verifications;

pub use dynamo::DynamoPayoutStore;
// The stream images of publish-events are payout items too.
pub use items::{payout_from_item, payout_to_item};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB could not be reached or answered an error: nothing is known to have changed.
    #[error("payout store unavailable: {0}")]
    Unavailable(String),
    /// A stored item did not map back to a payout.
    #[error("corrupt payout item: {0}")]
    Corrupt(String),
}

/// The result of claiming a ref.
// One value per store call, moved straight to the caller: boxing the payout would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// This request holds the new claim.
    Created,
    /// The ref was already claimed: here is the payout as stored.
    Exists(Payout),
}

/// The result of a conditional replace.
#[allow(clippy::large_enum_variant)] // as above
#[derive(Debug, Clone, PartialEq)]
pub enum SaveOutcome {
    Saved,
    /// Someone else changed the payout first: here it is as it now stands (None if it vanished).
    Stale(Option<Payout>),
}

/// A verified LeanX callback that was not applied, kept for an operator: it matched no payout,
/// or disagreed with the one it named (`reason` says which). Its id is derived from the token,
/// so a replayed callback is the same record, never a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedCallback {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub claims: CallbackClaims,
}

/// A stored item on an index that does not decode as a payout: skipped, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndecodableItem {
    /// The item's key (`pk`), to find it with.
    pub key: String,
    pub reason: String,
}

/// Open payouts due for a check, and the due items that could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DuePayouts {
    pub payouts: Vec<Payout>,
    pub undecodable: Vec<UndecodableItem>,
}

#[async_trait]
pub trait PayoutStore: Send + Sync {
    /// Claims `payout.external_invoice_ref` with a new PENDING payout, unless the ref exists.
    async fn create_pending(&self, payout: &Payout) -> Result<ClaimOutcome, StoreError>;

    /// Writes `next` only if the stored payout is still `current` (same version and status).
    /// Every change after creation goes through here: the send recovery point
    /// (`Payout::start_send`), claim take-over and release, status transitions with their
    /// history entry, and reconciler bookkeeping.
    async fn save(&self, current: &Payout, next: &Payout) -> Result<SaveOutcome, StoreError>;

    async fn get(&self, external_invoice_ref: &InvoiceRef) -> Result<Option<Payout>, StoreError>;

    async fn find_by_invoice_no(&self, invoice_no: &str) -> Result<Option<Payout>, StoreError>;

    /// Open payouts whose next check is due at or before `now`, oldest first, at most `limit`;
    /// read from a sparse index that final payouts drop out of (no Scan). An item that does not
    /// decode is returned as such, so that one bad item never stops the others.
    async fn due_for_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<DuePayouts, StoreError>;

    /// Keeps an unmatched callback; a second record with the same id changes nothing.
    async fn record_unmatched_callback(
        &self,
        callback: &UnmatchedCallback,
    ) -> Result<(), StoreError>;

    async fn unmatched_callbacks(&self, limit: usize)
    -> Result<Vec<UnmatchedCallback>, StoreError>;
}

/// One page of `GET /payouts` to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    pub filter: ListFilter,
    /// Resume strictly after this payout (the previous page's last).
    pub after: Option<ListPosition>,
    pub limit: usize,
    /// Where a listing with no upper bound starts looking.
    pub now: DateTime<Utc>,
}

/// At most `limit` payouts, newest first, and whether any more match after them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedPage {
    pub payouts: Vec<Payout>,
    pub more: bool,
    /// Items read on the way that do not decode as payouts: skipped, reported.
    pub undecodable: Vec<UndecodableItem>,
}

/// Listing payouts, newest first: the one read `list-payouts` makes. Its own port, so that the
/// function holding it can do nothing else (and its role can only Query the listing index).
#[async_trait]
pub trait PayoutListing: Send + Sync {
    async fn list(&self, request: &ListRequest) -> Result<ListedPage, StoreError>;
}

/// The recipient verifications of `POST /recipient-verifications`, kept 30 days so that the
/// recipient policy of `POST /payouts` can rely on them.
#[async_trait]
pub trait RecipientVerifications: Send + Sync {
    /// Keeps `verification`, and makes it its account's latest unless a later one is already
    /// kept (two verifications racing never leave the older one as the latest).
    async fn save(&self, verification: &RecipientVerification) -> Result<(), StoreError>;

    /// The latest verification kept for this account at this bank, fresh or not (the caller
    /// decides what is fresh); one read.
    async fn latest_for(
        &self,
        payout_service_id: u32,
        third_party_account_no: &str,
    ) -> Result<Option<RecipientVerification>, StoreError>;
}

/// The result of claiming a batch's ref.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchClaim {
    Created,
    /// A batch with this ref exists: here it is.
    Exists(Batch),
}

/// One item's write in [`BatchStore::record_items`].
#[allow(clippy::large_enum_variant)] // as ClaimOutcome
#[derive(Debug, Clone, PartialEq)]
pub enum ItemWrite {
    Written,
    /// Its ref was already taken: the payout as stored.
    Exists(Payout),
}

/// One page of a batch's items to read, in the batch's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItemsRequest {
    pub batch_ref: BatchRef,
    pub status: Option<PayoutStatus>,
    /// Resume strictly after the item at this index.
    pub after_index: Option<u32>,
    pub limit: usize,
}

/// Batches and their items (`POST /payout-batches` and its reads). The items are payouts like
/// any other ([`PayoutStore`] changes them); this port records them many at a time, and reads
/// a batch's items from the `by_batch` index (never a Scan).
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// Claims `batch.batch_ref`, unless a batch with that ref exists.
    async fn create_batch(&self, batch: &Batch) -> Result<BatchClaim, StoreError>;

    async fn get_batch(&self, batch_ref: &BatchRef) -> Result<Option<Batch>, StoreError>;

    /// Every item is recorded and queued (idempotent).
    async fn mark_accepted(&self, batch_ref: &BatchRef) -> Result<(), StoreError>;

    /// Keeps the tally of a complete batch, whose items' statuses can no longer change.
    async fn keep_final_tally(
        &self,
        batch_ref: &BatchRef,
        tally: &BatchTally,
    ) -> Result<(), StoreError>;

    /// The payouts with these refs that exist, read consistently, in no particular order.
    async fn get_payouts(&self, refs: &[InvoiceRef]) -> Result<Vec<Payout>, StoreError>;

    /// Records each new payout unless its ref exists (conditional, many per request); for
    /// each, in order: written, or the payout already stored under its ref.
    async fn record_items(&self, items: &[Payout]) -> Result<Vec<ItemWrite>, StoreError>;

    /// What the batch's recorded items add up to, per status.
    async fn tally(&self, batch_ref: &BatchRef) -> Result<BatchTally, StoreError>;

    /// At most `limit` items in the batch's order, and whether more match after them.
    async fn batch_items(&self, request: &BatchItemsRequest) -> Result<ListedPage, StoreError>;
}
