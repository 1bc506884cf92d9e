//! `POST /payout-batches`: validate every item, claim the batch's ref, record every item as a
//! PENDING payout under the batch's claim and queue it for `send-batch-items`.
//!
//! Nothing is sent here. Items are recorded 250 at a time, each conditional on its ref being
//! free, and each chunk is queued as soon as it is recorded; the batch is marked accepted last.
//! If this dies half-way, the same request again finds its batch still accepting, finds its
//! recorded items as its own, and records and queues the rest: no item is recorded twice, and
//! an item queued twice is still sent once (the send path's recovery point decides).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};
use tracing::{Instrument, error, info, warn};

use crate::crashpoint::{CrashPoint, reached};
use crate::domain::{
    Batch, BatchInvalid, BatchRequest, BatchState, BatchTally, ExistingItem, ItemError,
    MAX_BATCH_BODY_BYTES, Payout, PayoutRequest, PayoutStatus, SendState, batch,
    classify_existing_item,
};
use crate::store::{BatchClaim, BatchStore, ItemWrite, PayoutStore, SaveOutcome, StoreError};

/// A queued item: which payout to send, of which batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedItemMessage {
    pub batch_ref: String,
    pub external_invoice_ref: String,
}

/// One queue message: a few items of one batch ([`ITEMS_PER_MESSAGE`]), sent in turn by one
/// `send-batch-items` invocation. Fewer, fuller messages cost fewer queue requests; few enough
/// that an invocation sends them all within its timeout even if LeanX answers each at its
/// slowest (10 s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedItems {
    pub batch_ref: String,
    pub external_invoice_refs: Vec<String>,
}

impl QueuedItems {
    pub fn items(&self) -> impl Iterator<Item = QueuedItemMessage> + '_ {
        self.external_invoice_refs
            .iter()
            .map(|r| QueuedItemMessage {
                batch_ref: self.batch_ref.clone(),
                external_invoice_ref: r.clone(),
            })
    }
}

/// Items per queue message.
pub const ITEMS_PER_MESSAGE: usize = 5;

#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    #[error("the send queue is unavailable: {0}")]
    Unavailable(String),
}

/// The queue a batch's items wait in until `send-batch-items` sends them (SQS when deployed).
/// At least once: a duplicate message is harmless.
#[async_trait]
pub trait ItemQueue: Send + Sync {
    async fn enqueue(&self, messages: &[QueuedItems]) -> Result<(), QueueError>;
}

/// A batch and what its items add up to now.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchProgress {
    pub batch: Batch,
    pub tally: BatchTally,
}

impl BatchProgress {
    pub fn is_complete(&self) -> bool {
        self.batch.is_complete(&self.tally)
    }
}

/// What an acceptance did.
#[derive(Debug, Clone, PartialEq)]
pub enum AcceptOutcome {
    /// Every item recorded and queued (this request did it, or finished what an earlier one
    /// began).
    Accepted(BatchProgress),
    /// The same batch again, already accepted: as it stands.
    Replayed(BatchProgress),
    /// Another batch was sent under this `batch_ref`.
    Conflict,
    /// These items' refs exist as payouts with another body, or in another batch. Nothing was
    /// recorded (unless a payout took one of the refs while this batch was being recorded: then
    /// the items before it are, and the batch stays accepting).
    ItemConflicts(Vec<ItemError>),
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("body must be at most 6 MB")]
    TooLarge,
    #[error(transparent)]
    Invalid(#[from] BatchInvalid),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Clone)]
pub struct AcceptBatch {
    pub payouts: Arc<dyn PayoutStore>,
    pub batches: Arc<dyn BatchStore>,
    pub queue: Arc<dyn ItemQueue>,
    /// How long an item may wait in the queue under the batch's claim (`Timings`).
    pub queue_ttl: Duration,
}

/// Items recorded, then queued, together: queued as soon as recorded, so sending starts early.
const ITEMS_PER_CHUNK: usize = 250;
/// SQS's batch size.
const MESSAGES_PER_SEND: usize = 10;
/// SendMessageBatch requests in flight at once.
const QUEUE_SENDS_IN_FLIGHT: usize = 4;
/// How many times an item's join is re-tried after losing a race on the payout.
const MAX_JOIN_ATTEMPTS: usize = 8;

impl AcceptBatch {
    pub async fn run(&self, body: &[u8], now: DateTime<Utc>) -> Result<AcceptOutcome, AcceptError> {
        if body.len() > MAX_BATCH_BODY_BYTES {
            return Err(AcceptError::TooLarge);
        }
        let request = BatchRequest::from_json(body)?;
        let span = tracing::info_span!(
            "accept_batch",
            batch_ref = %request.batch_ref,
            items = request.items.len()
        );
        self.accept(request, now).instrument(span).await
    }

    async fn accept(
        &self,
        request: BatchRequest,
        now: DateTime<Utc>,
    ) -> Result<AcceptOutcome, AcceptError> {
        let batch = Batch::new(&request, now);
        if let Some(stored) = self.batches.get_batch(&batch.batch_ref).await? {
            if let Some(answer) = self.answer_existing(&stored, &batch).await? {
                return Ok(answer);
            }
        }
        // Every existing ref is judged before anything is recorded.
        let refs: Vec<_> = request
            .items
            .iter()
            .map(|i| i.external_invoice_ref.clone())
            .collect();
        let existing: HashMap<String, Payout> = self
            .batches
            .get_payouts(&refs)
            .await?
            .into_iter()
            .map(|p| (p.external_invoice_ref.to_string(), p))
            .collect();
        let conflicts: Vec<ItemError> = request
            .items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| {
                let stored = existing.get(item.external_invoice_ref.as_str())?;
                item_conflict(index, item, stored, &request)
            })
            .collect();
        if !conflicts.is_empty() {
            return Ok(AcceptOutcome::ItemConflicts(conflicts));
        }
        match self.batches.create_batch(&batch).await? {
            BatchClaim::Created => info!("batch claimed"),
            BatchClaim::Exists(stored) => {
                if let Some(answer) = self.answer_existing(&stored, &batch).await? {
                    return Ok(answer);
                }
                info!("batch found still accepting: finishing it");
            }
        }
        let mut items: Vec<Payout> = Vec::with_capacity(request.items.len());
        let mut conflicts = Vec::new();
        let half = request.items.len().div_ceil(2);
        let mut half_reached = false;
        for (chunk_number, chunk) in request.items.chunks(ITEMS_PER_CHUNK).enumerate() {
            let first = chunk_number * ITEMS_PER_CHUNK;
            let recorded = self
                .record_chunk(&request, first, chunk, &existing, now, &mut conflicts)
                .await?;
            let queued: Vec<String> = recorded
                .iter()
                .filter(|p| {
                    p.status == PayoutStatus::Pending && p.send_state == SendState::NotStarted
                })
                .map(|p| p.external_invoice_ref.to_string())
                .collect();
            let messages: Vec<QueuedItems> = queued
                .chunks(ITEMS_PER_MESSAGE)
                .map(|refs| QueuedItems {
                    batch_ref: request.batch_ref.to_string(),
                    external_invoice_refs: refs.to_vec(),
                })
                .collect();
            let sends: Vec<_> = messages
                .chunks(MESSAGES_PER_SEND)
                .map(|messages| self.queue.enqueue(messages))
                .collect();
            futures::stream::iter(sends)
                .buffer_unordered(QUEUE_SENDS_IN_FLIGHT)
                .try_collect::<Vec<()>>()
                .await
                .inspect_err(|e| {
                    // Logged here: the HTTP answer (a 503) carries no cause.
                    error!(error = %e, "items not queued; the batch stays accepting until retried");
                })?;
            items.extend(recorded);
            if !half_reached && items.len() >= half {
                half_reached = true;
                reached(CrashPoint::AcceptBatchHalfRecorded);
            }
        }
        if !conflicts.is_empty() {
            warn!(
                conflicts = conflicts.len(),
                "refs taken by other payouts while the batch was recorded; batch left accepting"
            );
            return Ok(AcceptOutcome::ItemConflicts(conflicts));
        }
        self.batches.mark_accepted(&batch.batch_ref).await?;
        info!(
            items = items.len(),
            "batch accepted: every item recorded and queued"
        );
        let mut accepted = batch;
        accepted.state = BatchState::Accepted;
        Ok(AcceptOutcome::Accepted(BatchProgress {
            tally: BatchTally::of(&items),
            batch: accepted,
        }))
    }

    /// A batch already kept under this ref: a conflict, a replay, or (`None`) one still being
    /// accepted, which this request finishes.
    async fn answer_existing(
        &self,
        stored: &Batch,
        asked: &Batch,
    ) -> Result<Option<AcceptOutcome>, StoreError> {
        if stored.fingerprint != asked.fingerprint {
            return Ok(Some(AcceptOutcome::Conflict));
        }
        if stored.state != BatchState::Accepted {
            return Ok(None);
        }
        let tally = match &stored.final_tally {
            Some(tally) => tally.clone(),
            None => self.batches.tally(&stored.batch_ref).await?,
        };
        Ok(Some(AcceptOutcome::Replayed(BatchProgress {
            batch: stored.clone(),
            tally,
        })))
    }

    /// Records one chunk: new items written (conditional on their ref being free), existing
    /// ones joined or recognised as ours. Returns every item of the chunk as it now stands.
    async fn record_chunk(
        &self,
        request: &BatchRequest,
        first: usize,
        chunk: &[PayoutRequest],
        existing: &HashMap<String, Payout>,
        now: DateTime<Utc>,
        conflicts: &mut Vec<ItemError>,
    ) -> Result<Vec<Payout>, StoreError> {
        let batch_ref = request.batch_ref.as_str();
        let mut standing: Vec<Option<Payout>> = vec![None; chunk.len()];
        let mut new_items = Vec::new();
        let mut new_positions = Vec::new();
        for (offset, item) in chunk.iter().enumerate() {
            let index = (first + offset) as u32;
            match existing.get(item.external_invoice_ref.as_str()) {
                Some(stored) => standing[offset] = Some(stored.clone()),
                None => {
                    new_items.push(Payout::new_batch_item(
                        item,
                        batch_ref,
                        index,
                        now,
                        self.queue_ttl,
                    ));
                    new_positions.push(offset);
                }
            }
        }
        let writes = self.batches.record_items(&new_items).await?;
        for ((offset, written), write) in new_positions.into_iter().zip(new_items).zip(writes) {
            standing[offset] = Some(match write {
                ItemWrite::Written => written,
                ItemWrite::Exists(stored) => stored,
            });
        }
        let mut recorded = Vec::with_capacity(chunk.len());
        for (offset, (item, stored)) in chunk.iter().zip(standing).enumerate() {
            let index = first + offset;
            let Some(stored) = stored else { continue };
            if stored.batch_ref.as_deref() == Some(batch_ref)
                && stored.batch_index == Some(index as u32)
                && stored.fingerprint == item.fingerprint()
            {
                recorded.push(stored);
                continue;
            }
            if let Some(conflict) = item_conflict(index, item, &stored, request) {
                conflicts.push(conflict);
                continue;
            }
            recorded.push(self.join(stored, batch_ref, index as u32, now).await?);
        }
        Ok(recorded)
    }

    /// A payout made by `POST /payouts` with the same body joins the batch (never re-sent).
    async fn join(
        &self,
        mut stored: Payout,
        batch_ref: &str,
        index: u32,
        now: DateTime<Utc>,
    ) -> Result<Payout, StoreError> {
        for _ in 0..MAX_JOIN_ATTEMPTS {
            if stored.batch_ref.as_deref() == Some(batch_ref) {
                return Ok(stored);
            }
            let joined = stored.joined_batch(batch_ref, index, now);
            match self.payouts.save(&stored, &joined).await? {
                SaveOutcome::Saved => {
                    info!(external_invoice_ref = %joined.external_invoice_ref, "existing payout joined the batch");
                    return Ok(joined);
                }
                SaveOutcome::Stale(Some(now_stored)) => stored = now_stored,
                SaveOutcome::Stale(None) => {
                    return Err(StoreError::Corrupt("payout vanished while joining".into()));
                }
            }
        }
        Err(StoreError::Unavailable("join contention".into()))
    }
}

/// An existing payout under an item's ref that the item cannot join, as the item's error.
fn item_conflict(
    index: usize,
    item: &PayoutRequest,
    stored: &Payout,
    request: &BatchRequest,
) -> Option<ItemError> {
    let reference = item.external_invoice_ref.as_str();
    match classify_existing_item(stored, item, &request.batch_ref) {
        ExistingItem::Ours | ExistingItem::Joins => None,
        ExistingItem::Conflict => Some(ItemError {
            index,
            field: Some("external_invoice_ref".into()),
            code: batch::ITEM_CONFLICT,
            message: format!(
                "a payout with external_invoice_ref {reference} exists with another body"
            ),
        }),
        ExistingItem::InOtherBatch(other) => Some(ItemError {
            index,
            field: Some("external_invoice_ref".into()),
            code: batch::ITEM_IN_OTHER_BATCH,
            message: format!("the payout {reference} is already an item of batch {other}"),
        }),
    }
}

#[cfg(test)]
mod tests;
