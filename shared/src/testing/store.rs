//! The payout table in memory, with DynamoDB's conditional-write semantics: a write lands
//! only on the version and status it was decided from. Its batch half is in `batch_store`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Batch, BatchRef, InvoiceRef, ListPosition, Payout};
use crate::store::{
    ClaimOutcome, DuePayouts, ListRequest, ListedPage, PayoutListing, PayoutStore, SaveOutcome,
    StoreError, UndecodableItem, UnmatchedCallback,
};

type Interference = Box<dyn FnOnce(&mut Payout) + Send>;

/// A payout table in memory.
#[derive(Default)]
pub struct InMemoryStore {
    pub(super) payouts: Mutex<BTreeMap<String, Payout>>,
    unmatched: Mutex<Vec<UnmatchedCallback>>,
    /// Applied to the stored payout just before the next save is checked: another writer
    /// winning the race at that exact moment.
    before_next_save: Mutex<Option<Interference>>,
    saves: Mutex<usize>,
    undecodable: Mutex<Vec<UndecodableItem>>,
    pub(super) batches: Mutex<BTreeMap<String, Batch>>,
    /// Items `record_items` may still write before failing as an unreachable store.
    pub(super) item_writes_left: Mutex<Option<usize>>,
}

impl InMemoryStore {
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }

    /// Stores `payout` as it is (a test's starting state).
    pub fn put(&self, payout: Payout) {
        self.payouts
            .lock()
            .unwrap()
            .insert(payout.external_invoice_ref.to_string(), payout);
    }

    pub fn stored(&self, external_invoice_ref: &str) -> Option<Payout> {
        self.payouts
            .lock()
            .unwrap()
            .get(external_invoice_ref)
            .cloned()
    }

    /// Makes another writer change the stored payout right before the next save is checked.
    pub fn interfere_before_next_save(&self, change: impl FnOnce(&mut Payout) + Send + 'static) {
        *self.before_next_save.lock().unwrap() = Some(Box::new(change));
    }

    pub fn kept_callbacks(&self) -> Vec<UnmatchedCallback> {
        self.unmatched.lock().unwrap().clone()
    }

    /// A due item that will not decode (a corrupt row on the due index).
    pub fn put_undecodable(&self, key: &str) {
        self.undecodable.lock().unwrap().push(UndecodableItem {
            key: key.into(),
            reason: "missing field `status`".into(),
        });
    }

    /// Conditional writes attempted (landed or not).
    pub fn saves(&self) -> usize {
        *self.saves.lock().unwrap()
    }

    /// `record_items` writes `items` more items, then fails as DynamoDB unreachable (an
    /// acceptance dying half-way).
    pub fn fail_item_writes_after(&self, items: usize) {
        *self.item_writes_left.lock().unwrap() = Some(items);
    }

    /// Every payout stored, by ref.
    pub fn all_payouts(&self) -> Vec<Payout> {
        self.payouts.lock().unwrap().values().cloned().collect()
    }

    pub fn stored_batch(&self, batch_ref: &str) -> Option<Batch> {
        self.batches.lock().unwrap().get(batch_ref).cloned()
    }

    pub(super) fn batch_items_sorted(&self, batch_ref: &BatchRef) -> Vec<Payout> {
        let mut items: Vec<Payout> = self
            .payouts
            .lock()
            .unwrap()
            .values()
            .filter(|p| p.batch_ref.as_deref() == Some(batch_ref.as_str()))
            .cloned()
            .collect();
        items.sort_by_key(|p| p.batch_index);
        items
    }
}

#[async_trait]
impl PayoutStore for InMemoryStore {
    async fn create_pending(&self, payout: &Payout) -> Result<ClaimOutcome, StoreError> {
        let mut payouts = self.payouts.lock().unwrap();
        let key = payout.external_invoice_ref.to_string();
        if let Some(existing) = payouts.get(&key) {
            return Ok(ClaimOutcome::Exists(existing.clone()));
        }
        payouts.insert(key, payout.clone());
        Ok(ClaimOutcome::Created)
    }

    async fn save(&self, current: &Payout, next: &Payout) -> Result<SaveOutcome, StoreError> {
        *self.saves.lock().unwrap() += 1;
        let interference = self.before_next_save.lock().unwrap().take();
        let mut payouts = self.payouts.lock().unwrap();
        let key = current.external_invoice_ref.to_string();
        let Some(stored) = payouts.get_mut(&key) else {
            return Ok(SaveOutcome::Stale(None));
        };
        if let Some(change) = interference {
            change(stored);
        }
        if stored.version != current.version || stored.status != current.status {
            return Ok(SaveOutcome::Stale(Some(stored.clone())));
        }
        *stored = next.clone();
        Ok(SaveOutcome::Saved)
    }

    async fn get(&self, external_invoice_ref: &InvoiceRef) -> Result<Option<Payout>, StoreError> {
        Ok(self.stored(external_invoice_ref.as_str()))
    }

    async fn find_by_invoice_no(&self, invoice_no: &str) -> Result<Option<Payout>, StoreError> {
        Ok(self
            .payouts
            .lock()
            .unwrap()
            .values()
            .find(|p| p.invoice_no.as_deref() == Some(invoice_no))
            .cloned())
    }

    async fn due_for_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<DuePayouts, StoreError> {
        let mut due: Vec<Payout> = self
            .payouts
            .lock()
            .unwrap()
            .values()
            .filter(|p| !p.status.is_final() && p.next_check_at.is_some_and(|at| at <= now))
            .cloned()
            .collect();
        due.sort_by_key(|p| p.next_check_at);
        due.truncate(limit);
        Ok(DuePayouts {
            payouts: due,
            undecodable: self.undecodable.lock().unwrap().clone(),
        })
    }

    async fn record_unmatched_callback(
        &self,
        callback: &UnmatchedCallback,
    ) -> Result<(), StoreError> {
        let mut kept = self.unmatched.lock().unwrap();
        if !kept.iter().any(|c| c.id == callback.id) {
            kept.push(callback.clone());
        }
        Ok(())
    }

    async fn unmatched_callbacks(
        &self,
        limit: usize,
    ) -> Result<Vec<UnmatchedCallback>, StoreError> {
        let mut kept = self.unmatched.lock().unwrap().clone();
        kept.sort_by_key(|c| std::cmp::Reverse(c.received_at));
        kept.truncate(limit);
        Ok(kept)
    }
}

#[async_trait]
impl PayoutListing for InMemoryStore {
    async fn list(&self, request: &ListRequest) -> Result<ListedPage, StoreError> {
        let mut matching: Vec<Payout> = self
            .payouts
            .lock()
            .unwrap()
            .values()
            .filter(|p| request.filter.admits(p))
            .filter(|p| {
                request
                    .after
                    .as_ref()
                    .is_none_or(|after| ListPosition::of(p) < *after)
            })
            .cloned()
            .collect();
        matching.sort_by_key(|p| std::cmp::Reverse(ListPosition::of(p)));
        let more = matching.len() > request.limit;
        matching.truncate(request.limit);
        Ok(ListedPage {
            payouts: matching,
            more,
            undecodable: self.undecodable.lock().unwrap().clone(),
        })
    }
}
