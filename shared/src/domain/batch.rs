//! `POST /payout-batches`: the batch body (validated all or nothing, every invalid item listed),
//! the batch as kept, what its items add up to, and what a queued item's send amounts to.
//!
//! A batch's items are ordinary payouts: each is recorded PENDING under a claim the batch holds
//! ([`batch_claim_owner`]) until the queue sends it through the same at-most-once path as
//! `POST /payouts`. Nothing here is paid twice because nothing here sends: the send recovery
//! point of `payout.rs` still decides, per item.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::payout::{Payout, PayoutStatus, SendState};
use super::request::{InvoiceRef, PayoutRequest, RawFields, ValidationError, json_string};

/// API.md: a batch body is at most 6 MB.
pub const MAX_BATCH_BODY_BYTES: usize = 6 * 1024 * 1024;
/// API.md: up to 5,000 items per batch.
pub const MAX_BATCH_ITEMS: usize = 5_000;

/// An item failed a field rule of `POST /payouts`.
pub const ITEM_INVALID: &str = "invalid_request";
/// An item repeats the `external_invoice_ref` of an earlier item of the same batch.
pub const ITEM_DUPLICATE_REF: &str = "duplicate_external_invoice_ref";
/// An item's ref already exists as a payout with another body.
pub const ITEM_CONFLICT: &str = "idempotency_conflict";
/// An item's ref already exists as a payout of another batch.
pub const ITEM_IN_OTHER_BATCH: &str = "in_another_batch";

/// The merchant's key for a batch: the rules of `external_invoice_ref`, refused as `batch_ref`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchRef(String);

impl BatchRef {
    pub fn parse(text: &str) -> Result<BatchRef, ValidationError> {
        InvoiceRef::parse(text).map_err(|_| {
            ValidationError::field(
                "batch_ref",
                "batch_ref must be 1-64 characters of A-Z a-z 0-9 - _ . :",
            )
        })?;
        Ok(BatchRef(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BatchRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One refused item: where it is, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    /// The item's position in `items`, from 0.
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `invalid_request`, `duplicate_external_invoice_ref`, `idempotency_conflict` or
    /// `in_another_batch`.
    pub code: &'static str,
    pub message: String,
}

/// Why a batch body was refused: the body itself, or these items (all of them, in order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchInvalid {
    #[error(transparent)]
    Body(#[from] ValidationError),
    #[error("{} of the batch's items are invalid; nothing was recorded", .0.len())]
    Items(Vec<ItemError>),
}

/// A valid batch: its key and its payouts, in the merchant's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRequest {
    pub batch_ref: BatchRef,
    pub items: Vec<PayoutRequest>,
}

const BATCH_FIELDS: [&str; 2] = ["batch_ref", "items"];

impl BatchRequest {
    /// Parses a `POST /payout-batches` body (the caller has bounded its size). Every item is
    /// checked with the rules of `POST /payouts`, and every refusal is listed, not only the
    /// first: a payroll of 5,000 lines is fixed in one pass.
    pub fn from_json(body: &[u8]) -> Result<BatchRequest, BatchInvalid> {
        let entries = RawFields::from_unlimited_body(body)?;
        let fields = entries.slots(BATCH_FIELDS)?;
        let required = |i: usize| {
            fields[i].filter(|raw| raw.get() != "null").ok_or_else(|| {
                ValidationError::field(BATCH_FIELDS[i], format!("{} is required", BATCH_FIELDS[i]))
            })
        };
        let batch_ref = BatchRef::parse(&json_string("batch_ref", required(0)?)?)?;
        let items: Vec<&RawValue> = serde_json::from_str(required(1)?.get()).map_err(|_| {
            ValidationError::field("items", "items must be an array of POST /payouts bodies")
        })?;
        if items.is_empty() || items.len() > MAX_BATCH_ITEMS {
            return Err(ValidationError::field(
                "items",
                format!("items must hold 1-{MAX_BATCH_ITEMS} payouts"),
            )
            .into());
        }
        let mut errors = Vec::new();
        let mut parsed = Vec::with_capacity(items.len());
        let mut first_index: HashMap<String, usize> = HashMap::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match PayoutRequest::from_batch_item(item) {
                Ok(request) => {
                    let reference = request.external_invoice_ref.as_str().to_owned();
                    if let Some(first) = first_index.get(&reference) {
                        errors.push(ItemError {
                            index,
                            field: Some("external_invoice_ref".into()),
                            code: ITEM_DUPLICATE_REF,
                            message: format!(
                                "external_invoice_ref {reference} is also item {first} of this batch"
                            ),
                        });
                    } else {
                        first_index.insert(reference, index);
                        parsed.push(request);
                    }
                }
                Err(error) => errors.push(ItemError {
                    index,
                    field: error.field,
                    code: ITEM_INVALID,
                    message: error.message,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(BatchInvalid::Items(errors));
        }
        Ok(BatchRequest {
            batch_ref,
            items: parsed,
        })
    }

    /// A stable hash of the batch: its ref and each item's canonical fingerprint, in order. The
    /// same batch sent again (any key order, spacing, amount spelling) hashes the same.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(b"batch-v1\n");
        hash.update(self.batch_ref.as_str().as_bytes());
        for item in &self.items {
            hash.update(b"\n");
            hash.update(item.fingerprint().as_bytes());
        }
        hex::encode(hash.finalize())
    }

    /// The sum of the items' amounts, exact.
    pub fn total_amount(&self) -> Decimal {
        self.items.iter().map(|i| i.amount.as_decimal()).sum()
    }
}

/// Whether a batch's items are all recorded and queued yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchState {
    /// The batch is claimed; its items are being recorded and queued (a retry of the same
    /// request finishes the job if this one dies).
    Accepting,
    /// Every item is recorded and queued.
    Accepted,
}

/// A batch as kept: what was asked, once. Its progress is its items' ([`BatchTally`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_ref: BatchRef,
    pub fingerprint: String,
    pub item_count: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_amount: Decimal,
    pub created_at: DateTime<Utc>,
    pub state: BatchState,
    /// Kept once every item is final (a final status never changes): later reads are one
    /// GetItem instead of a Query over the items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_tally: Option<BatchTally>,
}

impl Batch {
    pub fn new(request: &BatchRequest, now: DateTime<Utc>) -> Batch {
        Batch {
            batch_ref: request.batch_ref.clone(),
            fingerprint: request.fingerprint(),
            item_count: request.items.len() as u32,
            total_amount: request.total_amount(),
            created_at: now,
            state: BatchState::Accepting,
            final_tally: None,
        }
    }

    /// Complete: accepted, every item recorded, none open.
    pub fn is_complete(&self, tally: &BatchTally) -> bool {
        self.state == BatchState::Accepted
            && tally.items == self.item_count
            && tally.open_items() == 0
    }
}

/// What a batch's items add up to, per status: counts, and exact amounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchTally {
    pub items: u32,
    pub counts: [u32; 4],
    #[serde(with = "decimal_strings")]
    pub amounts: [Decimal; 4],
}

impl BatchTally {
    pub fn add(&mut self, status: PayoutStatus, amount: Decimal) {
        let slot = status_slot(status);
        self.items += 1;
        self.counts[slot] += 1;
        self.amounts[slot] += amount;
    }

    pub fn of<'a>(payouts: impl IntoIterator<Item = &'a Payout>) -> BatchTally {
        let mut tally = BatchTally::default();
        for payout in payouts {
            tally.add(payout.status, payout.amount.as_decimal());
        }
        tally
    }

    pub fn count(&self, status: PayoutStatus) -> u32 {
        self.counts[status_slot(status)]
    }

    pub fn amount(&self, status: PayoutStatus) -> Decimal {
        self.amounts[status_slot(status)]
    }

    pub fn open_items(&self) -> u32 {
        self.count(PayoutStatus::Pending) + self.count(PayoutStatus::Processing)
    }

    pub fn total_amount(&self) -> Decimal {
        self.amounts.iter().copied().sum()
    }
}

fn status_slot(status: PayoutStatus) -> usize {
    match status {
        PayoutStatus::Pending => 0,
        PayoutStatus::Processing => 1,
        PayoutStatus::Succeeded => 2,
        PayoutStatus::Failed => 3,
    }
}

/// Amounts kept as exact strings (`"1300.00"`), never as numbers that could pass a float.
mod decimal_strings {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(amounts: &[Decimal; 4], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(4))?;
        for amount in amounts {
            seq.serialize_element(&amount.to_string())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[Decimal; 4], D::Error> {
        let texts = <[String; 4]>::deserialize(d)?;
        let mut amounts = [Decimal::ZERO; 4];
        for (slot, text) in amounts.iter_mut().zip(texts) {
            *slot = text.parse().map_err(serde::de::Error::custom)?;
        }
        Ok(amounts)
    }
}

/// Who holds the claim of a batch's queued items: the batch itself, so that whichever
/// invocation the queue hands an item to acts for it.
pub fn batch_claim_owner(batch_ref: &str) -> String {
    format!("batch:{batch_ref}")
}

/// What an existing payout amounts to for a batch item with the same ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExistingItem {
    /// Already this batch's item (a retried acceptance): nothing to record.
    Ours,
    /// The same payout, made by `POST /payouts`: it joins the batch, never sent twice.
    Joins,
    /// Another body under the ref.
    Conflict,
    /// The same payout, already an item of another batch.
    InOtherBatch(String),
}

pub fn classify_existing_item(
    existing: &Payout,
    request: &PayoutRequest,
    batch_ref: &BatchRef,
) -> ExistingItem {
    if existing.fingerprint != request.fingerprint() {
        return ExistingItem::Conflict;
    }
    match &existing.batch_ref {
        None => ExistingItem::Joins,
        Some(theirs) if theirs == batch_ref.as_str() => ExistingItem::Ours,
        Some(theirs) => ExistingItem::InOtherBatch(theirs.clone()),
    }
}

/// What a queued item's delivery amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueuedItem {
    /// Under the batch's claim, never sent: send it.
    Send,
    /// Its claim expired before anything was sent (e.g. a send that never left released it):
    /// take the claim over and send.
    TakeOver,
    /// Someone else (a `POST /payouts` of the same body) holds a live claim: ask again later.
    Wait { retry_after_seconds: u64 },
    /// Sent already, or final: nothing more to do, ever.
    Done,
}

pub fn classify_queued_item(payout: &Payout, now: DateTime<Utc>) -> QueuedItem {
    if payout.status != PayoutStatus::Pending || payout.send_state == SendState::Started {
        return QueuedItem::Done;
    }
    let batch_owned = payout
        .batch_ref
        .as_deref()
        .is_some_and(|b| payout.claim_owner == batch_claim_owner(b));
    if batch_owned && payout.claim_expires_at > now {
        return QueuedItem::Send;
    }
    if payout.claim_expires_at <= now {
        return QueuedItem::TakeOver;
    }
    QueuedItem::Wait {
        retry_after_seconds: (payout.claim_expires_at - now).num_seconds().clamp(1, 30) as u64,
    }
}

#[cfg(test)]
mod tests;
