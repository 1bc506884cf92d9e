//! In-memory stand-ins for the ports, for fast tests of every use case's branches: a store
//! with the same conditional-write semantics as DynamoDB's (a write lands only on the version
//! and status it was decided from), the recipient verifications, and a LeanX whose answers are
//! scripted in order. The DynamoDB and simulator tests prove the real adapters; these prove the
//! rules.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Batch, BatchRef, BatchState, BatchTally, InvoiceRef, ListPosition, Payout,
    RecipientVerification,
};
use crate::leanx::{
    AcceptedPayout, Balance, BankVerification, CreatePayoutInvoice, LeanxError, PayoutService,
    PayoutTransaction,
};
use crate::store::{
    BatchClaim, BatchItemsRequest, BatchStore, ClaimOutcome, DuePayouts, ItemWrite, ListRequest,
    ListedPage, PayoutListing, PayoutStore, RecipientVerifications, SaveOutcome, StoreError,
    UndecodableItem, UnmatchedCallback,
};
use crate::usecases::{
    BankAccountCheck, ItemQueue, PayoutProvider, PayoutServiceCatalog, PoolBalance, QueueError,
    QueuedItemMessage, QueuedItems,
};

type Interference = Box<dyn FnOnce(&mut Payout) + Send>;

/// A payout table in memory.
#[derive(Default)]
pub struct InMemoryStore {
    payouts: Mutex<BTreeMap<String, Payout>>,
    unmatched: Mutex<Vec<UnmatchedCallback>>,
    /// Applied to the stored payout just before the next save is checked: another writer
    /// winning the race at that exact moment.
    before_next_save: Mutex<Option<Interference>>,
    saves: Mutex<usize>,
    undecodable: Mutex<Vec<UndecodableItem>>,
    batches: Mutex<BTreeMap<String, Batch>>,
    /// Items `record_items` may still write before failing as an unreachable store.
    item_writes_left: Mutex<Option<usize>>,
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

    fn batch_items_sorted(&self, batch_ref: &BatchRef) -> Vec<Payout> {
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
impl BatchStore for InMemoryStore {
    async fn create_batch(&self, batch: &Batch) -> Result<BatchClaim, StoreError> {
        let mut batches = self.batches.lock().unwrap();
        if let Some(existing) = batches.get(batch.batch_ref.as_str()) {
            return Ok(BatchClaim::Exists(existing.clone()));
        }
        batches.insert(batch.batch_ref.to_string(), batch.clone());
        Ok(BatchClaim::Created)
    }

    async fn get_batch(&self, batch_ref: &BatchRef) -> Result<Option<Batch>, StoreError> {
        Ok(self.stored_batch(batch_ref.as_str()))
    }

    async fn mark_accepted(&self, batch_ref: &BatchRef) -> Result<(), StoreError> {
        if let Some(batch) = self.batches.lock().unwrap().get_mut(batch_ref.as_str()) {
            batch.state = BatchState::Accepted;
        }
        Ok(())
    }

    async fn keep_final_tally(
        &self,
        batch_ref: &BatchRef,
        tally: &BatchTally,
    ) -> Result<(), StoreError> {
        if let Some(batch) = self.batches.lock().unwrap().get_mut(batch_ref.as_str()) {
            batch.final_tally = Some(tally.clone());
        }
        Ok(())
    }

    async fn get_payouts(&self, refs: &[InvoiceRef]) -> Result<Vec<Payout>, StoreError> {
        Ok(refs
            .iter()
            .filter_map(|r| self.stored(r.as_str()))
            .collect())
    }

    async fn record_items(&self, items: &[Payout]) -> Result<Vec<ItemWrite>, StoreError> {
        let mut writes = Vec::with_capacity(items.len());
        for item in items {
            {
                let mut left = self.item_writes_left.lock().unwrap();
                match left.as_mut() {
                    Some(0) => return Err(StoreError::Unavailable("scripted outage".into())),
                    Some(n) => *n -= 1,
                    None => {}
                }
            }
            let mut payouts = self.payouts.lock().unwrap();
            let key = item.external_invoice_ref.to_string();
            match payouts.get(&key) {
                Some(existing) => writes.push(ItemWrite::Exists(existing.clone())),
                None => {
                    payouts.insert(key, item.clone());
                    writes.push(ItemWrite::Written);
                }
            }
        }
        Ok(writes)
    }

    async fn tally(&self, batch_ref: &BatchRef) -> Result<BatchTally, StoreError> {
        Ok(BatchTally::of(&self.batch_items_sorted(batch_ref)))
    }

    async fn batch_items(&self, request: &BatchItemsRequest) -> Result<ListedPage, StoreError> {
        let mut matching: Vec<Payout> = self
            .batch_items_sorted(&request.batch_ref)
            .into_iter()
            .filter(|p| request.status.is_none_or(|s| s == p.status))
            .filter(|p| {
                request
                    .after_index
                    .is_none_or(|after| p.batch_index.is_some_and(|i| i > after))
            })
            .collect();
        let more = matching.len() > request.limit;
        matching.truncate(request.limit);
        Ok(ListedPage {
            payouts: matching,
            more,
            undecodable: vec![],
        })
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

/// Recipient verifications in memory: the latest per account (as DynamoDB's `LATEST` item, a
/// later one never replaced by an earlier), and every one saved.
#[derive(Default)]
pub struct InMemoryVerifications {
    latest: Mutex<BTreeMap<(u32, String), RecipientVerification>>,
    saved: Mutex<Vec<RecipientVerification>>,
    /// When set, every call fails as DynamoDB unreachable.
    down: Mutex<bool>,
}

impl InMemoryVerifications {
    pub fn new() -> InMemoryVerifications {
        InMemoryVerifications::default()
    }

    /// Every verification saved, in order.
    pub fn saved(&self) -> Vec<RecipientVerification> {
        self.saved.lock().unwrap().clone()
    }

    /// Makes every later call fail as an unreachable store.
    pub fn go_down(&self) {
        *self.down.lock().unwrap() = true;
    }

    fn check_up(&self) -> Result<(), StoreError> {
        if *self.down.lock().unwrap() {
            return Err(StoreError::Unavailable("scripted outage".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl RecipientVerifications for InMemoryVerifications {
    async fn save(&self, verification: &RecipientVerification) -> Result<(), StoreError> {
        self.check_up()?;
        self.saved.lock().unwrap().push(verification.clone());
        let key = (
            verification.payout_service_id,
            verification.third_party_account_no.clone(),
        );
        let mut latest = self.latest.lock().unwrap();
        if latest
            .get(&key)
            .is_none_or(|kept| kept.verified_at <= verification.verified_at)
        {
            latest.insert(key, verification.clone());
        }
        Ok(())
    }

    async fn latest_for(
        &self,
        payout_service_id: u32,
        third_party_account_no: &str,
    ) -> Result<Option<RecipientVerification>, StoreError> {
        self.check_up()?;
        Ok(self
            .latest
            .lock()
            .unwrap()
            .get(&(payout_service_id, third_party_account_no.to_owned()))
            .cloned())
    }
}

/// The batch queue in memory: every message enqueued, in order.
#[derive(Default)]
pub struct InMemoryQueue {
    messages: Mutex<Vec<QueuedItems>>,
    down: Mutex<bool>,
}

impl InMemoryQueue {
    pub fn new() -> InMemoryQueue {
        InMemoryQueue::default()
    }

    /// Every item enqueued, in order, whatever message carried it.
    pub fn messages(&self) -> Vec<QueuedItemMessage> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .flat_map(|m| m.items().collect::<Vec<_>>())
            .collect()
    }

    /// The queue messages themselves.
    pub fn queue_messages(&self) -> Vec<QueuedItems> {
        self.messages.lock().unwrap().clone()
    }

    /// Every later enqueue fails as SQS unreachable.
    pub fn go_down(&self) {
        *self.down.lock().unwrap() = true;
    }
}

#[async_trait]
impl ItemQueue for InMemoryQueue {
    async fn enqueue(&self, messages: &[QueuedItems]) -> Result<(), QueueError> {
        if *self.down.lock().unwrap() {
            return Err(QueueError::Unavailable("scripted outage".into()));
        }
        self.messages.lock().unwrap().extend_from_slice(messages);
        Ok(())
    }
}

/// A `POST /payout-batches` body of `count` items `<prefix>-0`, `<prefix>-1`, … of RM 1.00
/// more each (RM 1.00, 2.00, …).
pub fn batch_body(batch_ref: &str, prefix: &str, count: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "external_invoice_ref": format!("{prefix}-{i}"), "payout_service_id": 23,
                "amount": format!("{}.00", i + 1), "recipient_name": "John Doe",
                "third_party_account_no": "8011408168", "recipient_reference": "Salary Nov"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "batch_ref": batch_ref, "items": items }))
        .expect("a JSON body")
}

/// A valid `POST /payouts` body for `external_invoice_ref`, RM 13.00 to account 8011408168.
pub fn payout_body(external_invoice_ref: &str) -> Vec<u8> {
    format!(
        r#"{{"external_invoice_ref":"{external_invoice_ref}","payout_service_id":23,"amount":"13.00","recipient_name":"John Doe","third_party_account_no":"8011408168","recipient_reference":"Salary Nov"}}"#
    )
    .into_bytes()
}

/// A fixed instant to start tests from.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant")
}

/// A LeanX whose answers are scripted, in order, per call; it records every send.
#[derive(Default)]
pub struct ScriptedProvider {
    creates: Mutex<VecDeque<Result<AcceptedPayout, LeanxError>>>,
    lookups: Mutex<VecDeque<Result<PayoutTransaction, LeanxError>>>,
    listings: Mutex<VecDeque<Result<Vec<PayoutTransaction>, LeanxError>>>,
    listings_made: Mutex<usize>,
    sent: Mutex<Vec<String>>,
    lookups_made: Mutex<usize>,
    verifications: Mutex<VecDeque<Result<BankVerification, LeanxError>>>,
    verified: Mutex<Vec<(u32, String)>>,
    services: Mutex<VecDeque<Result<Vec<PayoutService>, LeanxError>>>,
    service_lists: Mutex<usize>,
    balances: Mutex<VecDeque<Result<Balance, LeanxError>>>,
}

impl ScriptedProvider {
    pub fn new() -> ScriptedProvider {
        ScriptedProvider::default()
    }

    /// The next `create-payout-invoice` answers this.
    pub fn answer_create(&self, answer: Result<AcceptedPayout, LeanxError>) -> &Self {
        self.creates.lock().unwrap().push_back(answer);
        self
    }

    /// The next `get-payout-transaction-by-id` answers this.
    pub fn answer_lookup(&self, answer: Result<PayoutTransaction, LeanxError>) -> &Self {
        self.lookups.lock().unwrap().push_back(answer);
        self
    }

    /// The next `payout-transaction-list` search answers this. Unscripted, it lists nothing.
    pub fn answer_listing(&self, answer: Result<Vec<PayoutTransaction>, LeanxError>) -> &Self {
        self.listings.lock().unwrap().push_back(answer);
        self
    }

    pub fn listings_made(&self) -> usize {
        *self.listings_made.lock().unwrap()
    }

    /// The next `check-verification-bank` answers this.
    pub fn answer_verification(&self, answer: Result<BankVerification, LeanxError>) -> &Self {
        self.verifications.lock().unwrap().push_back(answer);
        self
    }

    /// The next `check-verification-bank` finds `holder` at the account asked about.
    pub fn answer_holder(&self, holder: &str) -> &Self {
        self.answer_verification(Ok(BankVerification::Found {
            account_holder_name: holder.into(),
            bank_bic: Some("MBBEMYKL".into()),
            account_no: String::new(),
        }))
    }

    /// Every `check-verification-bank` asked, as (payout_service_id, account).
    pub fn verified(&self) -> Vec<(u32, String)> {
        self.verified.lock().unwrap().clone()
    }

    /// The next `list-payout-services` answers this.
    pub fn answer_services(&self, answer: Result<Vec<PayoutService>, LeanxError>) -> &Self {
        self.services.lock().unwrap().push_back(answer);
        self
    }

    /// How many times `list-payout-services` was asked.
    pub fn service_lists(&self) -> usize {
        *self.service_lists.lock().unwrap()
    }

    /// The next `overall-balance` answers this.
    pub fn answer_balance(&self, answer: Result<Balance, LeanxError>) -> &Self {
        self.balances.lock().unwrap().push_back(answer);
        self
    }

    /// The refs of every create that was attempted, in order (a `NotSent` answer included).
    pub fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }

    pub fn lookups_made(&self) -> usize {
        *self.lookups_made.lock().unwrap()
    }

    /// A lookup answer with this `transaction_status` and invoice number.
    pub fn transaction(status: &str, invoice_no: Option<&str>) -> PayoutTransaction {
        serde_json::from_value(serde_json::json!({
            "transaction_status": status,
            "payout_invoice_no": invoice_no,
        }))
        .expect("a valid transaction")
    }

    /// LeanX's refusal with this code.
    pub fn refusal(code: &str, description: &str) -> LeanxError {
        LeanxError::Refused {
            response_code: code.into(),
            description: description.into(),
        }
    }
}

#[async_trait]
impl PayoutProvider for ScriptedProvider {
    async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError> {
        self.sent
            .lock()
            .unwrap()
            .push(payout.external_invoice_ref.to_owned());
        self.creates
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(LeanxError::OutcomeUnknown("no scripted answer".into())))
    }

    async fn get_payout_transaction(&self, _id: &str) -> Result<PayoutTransaction, LeanxError> {
        *self.lookups_made.lock().unwrap() += 1;
        self.lookups
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(LeanxError::OutcomeUnknown("no scripted answer".into())))
    }

    async fn list_payout_transactions_by_ref(
        &self,
        _external_invoice_ref: &str,
        _created_on_or_after: chrono::NaiveDate,
        _until: chrono::NaiveDate,
    ) -> Result<Vec<PayoutTransaction>, LeanxError> {
        *self.listings_made.lock().unwrap() += 1;
        self.listings
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(vec![]))
    }
}

/// Unscripted calls answer as a LeanX that cannot be reached.
fn unscripted<T>() -> Result<T, LeanxError> {
    Err(LeanxError::NotSent("no scripted answer".into()))
}

#[async_trait]
impl BankAccountCheck for ScriptedProvider {
    async fn check_verification_bank(
        &self,
        payout_service_id: u32,
        account_no: &str,
    ) -> Result<BankVerification, LeanxError> {
        self.verified
            .lock()
            .unwrap()
            .push((payout_service_id, account_no.to_owned()));
        let answer = self.verifications.lock().unwrap().pop_front();
        match answer.unwrap_or_else(unscripted) {
            Ok(BankVerification::Found {
                account_holder_name,
                bank_bic,
                ..
            }) => Ok(BankVerification::Found {
                account_holder_name,
                bank_bic,
                account_no: account_no.to_owned(),
            }),
            other => other,
        }
    }
}

#[async_trait]
impl PayoutServiceCatalog for ScriptedProvider {
    async fn list_payout_services(&self) -> Result<Vec<PayoutService>, LeanxError> {
        *self.service_lists.lock().unwrap() += 1;
        let answer = self.services.lock().unwrap().pop_front();
        answer.unwrap_or_else(unscripted)
    }
}

#[async_trait]
impl PoolBalance for ScriptedProvider {
    async fn overall_balance(&self) -> Result<Balance, LeanxError> {
        let answer = self.balances.lock().unwrap().pop_front();
        answer.unwrap_or_else(unscripted)
    }
}
