//! The batch half of `InMemoryStore`: batches and their items, in the same table.

use async_trait::async_trait;

use super::InMemoryStore;
use crate::domain::{Batch, BatchRef, BatchState, BatchTally, InvoiceRef, Payout};
use crate::store::{BatchClaim, BatchItemsRequest, BatchStore, ItemWrite, ListedPage, StoreError};

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
