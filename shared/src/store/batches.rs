//! [`BatchStore`] on DynamoDB: the batch record, its items recorded many at a time (each a
//! conditional put on its ref being free), and its progress read from the `by_batch` index.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValuesOnConditionCheckFailure,
};
use rust_decimal::Decimal;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::dynamo::{page_limit, unavailable};
use super::items::{Item, batch_pk, batch_sk, payout_from_item, payout_key, string_attribute};
use super::schema::{BATCH_PK, BATCH_RECORD_SK, BATCH_SK, BY_BATCH, PK, SK};
use super::{
    BatchClaim, BatchItemsRequest, BatchStore, ClaimOutcome, DynamoPayoutStore, ItemWrite,
    ListedPage, PayoutStore, StoreError, UndecodableItem,
};
use crate::domain::{Batch, BatchRef, BatchTally, InvoiceRef, Payout, PayoutStatus};

/// Conditional PutItems in flight at once while recording a batch's items.
const ITEM_WRITES_IN_FLIGHT: usize = 16;
/// DynamoDB's limit of keys per BatchGetItem.
const KEYS_PER_BATCH_GET: usize = 100;
/// Items a filtered items Query evaluates at once (see `listing.rs`: Limit applies before the
/// filter).
const FILTERED_QUERY_LIMIT: usize = 200;

fn batch_key(batch_ref: &BatchRef) -> Item {
    HashMap::from([
        (
            PK.to_owned(),
            string_attribute(batch_pk(batch_ref.as_str())),
        ),
        (SK.to_owned(), string_attribute(BATCH_RECORD_SK)),
    ])
}

fn batch_to_item(batch: &Batch) -> Result<Item, StoreError> {
    let mut item: Item = to_item(batch)
        .map_err(|e| StoreError::Corrupt(format!("batch does not map to an item: {e}")))?;
    item.extend(batch_key(&batch.batch_ref));
    Ok(item)
}

fn batch_from_item(mut item: Item) -> Result<Batch, StoreError> {
    item.remove(PK);
    item.remove(SK);
    from_item(item).map_err(|e| StoreError::Corrupt(format!("batch item: {e}")))
}

impl DynamoPayoutStore {
    async fn write_item(&self, item: &Payout) -> Result<ItemWrite, StoreError> {
        match PayoutStore::create_pending(self, item).await? {
            ClaimOutcome::Created => Ok(ItemWrite::Written),
            ClaimOutcome::Exists(stored) => Ok(ItemWrite::Exists(stored)),
        }
    }

    async fn batch_get(&self, refs: &[InvoiceRef]) -> Result<Vec<Payout>, StoreError> {
        let keys: Vec<Item> = refs.iter().map(|r| payout_key(r.as_str())).collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Corrupt(format!("batch get: {e}")))?,
        );
        let mut payouts = Vec::with_capacity(refs.len());
        let mut rounds = 0u32;
        while let Some(keys) = request.take() {
            rounds += 1;
            let output = self
                .client()
                .batch_get_item()
                .request_items(self.table_name(), keys)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", &e))?;
            if let Some(found) = output.responses().and_then(|r| r.get(self.table_name())) {
                for item in found {
                    payouts.push(payout_from_item(item.clone())?);
                }
            }
            // Throttled keys come back unprocessed: asked again, backing off.
            if let Some(left) = output
                .unprocessed_keys()
                .and_then(|u| u.get(self.table_name()))
                .filter(|k| !k.keys().is_empty())
            {
                if rounds > 8 {
                    return Err(StoreError::Unavailable(
                        "DynamoDB BatchGetItem: keys left unprocessed".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(10 << rounds)).await;
                request = Some(left.clone());
            }
        }
        Ok(payouts)
    }

    /// One Query page of the batch's items (or of their status and amount only).
    fn batch_query(
        &self,
        batch_ref: &BatchRef,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client()
            .query()
            .table_name(self.table_name())
            .index_name(BY_BATCH)
            .key_condition_expression("#bpk = :batch")
            .expression_attribute_names("#bpk", BATCH_PK)
            .expression_attribute_values(":batch", string_attribute(batch_pk(batch_ref.as_str())))
    }
}

fn text_of<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(text)) => Some(text),
        _ => None,
    }
}

#[async_trait]
impl BatchStore for DynamoPayoutStore {
    async fn create_batch(&self, batch: &Batch) -> Result<BatchClaim, StoreError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(batch_to_item(batch)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(BatchClaim::Created),
            Err(error) => match error.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                    refused,
                ) => match refused.item {
                    Some(item) => Ok(BatchClaim::Exists(batch_from_item(item)?)),
                    None => match self.get_batch(&batch.batch_ref).await? {
                        Some(stored) => Ok(BatchClaim::Exists(stored)),
                        None => Err(StoreError::Unavailable(
                            "the batch existed at create but is gone".into(),
                        )),
                    },
                },
                other => Err(StoreError::Unavailable(format!(
                    "DynamoDB PutItem (batch): {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(other)
                        .to_string()
                        .chars()
                        .take(300)
                        .collect::<String>()
                ))),
            },
        }
    }

    async fn get_batch(&self, batch_ref: &BatchRef) -> Result<Option<Batch>, StoreError> {
        let output = self
            .client()
            .get_item()
            .table_name(self.table_name())
            .set_key(Some(batch_key(batch_ref)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem (batch)", &e))?;
        output.item.map(batch_from_item).transpose()
    }

    async fn mark_accepted(&self, batch_ref: &BatchRef) -> Result<(), StoreError> {
        self.client()
            .update_item()
            .table_name(self.table_name())
            .set_key(Some(batch_key(batch_ref)))
            .update_expression("SET #state = :accepted")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":accepted", string_attribute("ACCEPTED"))
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem (batch accepted)", &e))?;
        Ok(())
    }

    async fn keep_final_tally(
        &self,
        batch_ref: &BatchRef,
        tally: &BatchTally,
    ) -> Result<(), StoreError> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(tally)
            .map_err(|e| StoreError::Corrupt(format!("batch tally: {e}")))?;
        self.client()
            .update_item()
            .table_name(self.table_name())
            .set_key(Some(batch_key(batch_ref)))
            .update_expression("SET #tally = :tally")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#tally", "final_tally")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":tally", value)
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem (batch final tally)", &e))?;
        Ok(())
    }

    async fn get_payouts(&self, refs: &[InvoiceRef]) -> Result<Vec<Payout>, StoreError> {
        let mut payouts = Vec::new();
        for chunk in refs.chunks(KEYS_PER_BATCH_GET) {
            payouts.extend(self.batch_get(chunk).await?);
        }
        Ok(payouts)
    }

    /// Each item is its own conditional PutItem (the claim of `POST /payouts`), many in flight:
    /// BatchWriteItem cannot be conditional, so it could overwrite a payout made meanwhile under
    /// the same ref; and a transaction would buy nothing (each item stands alone, and a retry
    /// of the acceptance finishes what a crash left) at twice the write cost.
    async fn record_items(&self, items: &[Payout]) -> Result<Vec<ItemWrite>, StoreError> {
        use futures::StreamExt as _;
        let writes: Vec<_> = items.iter().map(|item| self.write_item(item)).collect();
        futures::stream::iter(writes)
            .buffered(ITEM_WRITES_IN_FLIGHT)
            .collect::<Vec<Result<ItemWrite, StoreError>>>()
            .await
            .into_iter()
            .collect()
    }

    async fn tally(&self, batch_ref: &BatchRef) -> Result<BatchTally, StoreError> {
        let mut tally = BatchTally::default();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .batch_query(batch_ref)
                .projection_expression("#status, amount")
                .expression_attribute_names("#status", "status")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query (by_batch tally)", &e))?;
            for item in output.items() {
                let status = text_of(item, "status").and_then(|s| {
                    PayoutStatus::ALL
                        .into_iter()
                        .find(|known| known.as_str() == s)
                });
                let amount = text_of(item, "amount").and_then(|a| a.parse::<Decimal>().ok());
                match (status, amount) {
                    (Some(status), Some(amount)) => tally.add(status, amount),
                    _ => {
                        return Err(StoreError::Corrupt(format!(
                            "an item of batch {batch_ref} has no readable status or amount"
                        )));
                    }
                }
            }
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(tally),
            }
        }
    }

    async fn batch_items(&self, request: &BatchItemsRequest) -> Result<ListedPage, StoreError> {
        // One more than the page: whether it exists says if there is a next page.
        let want = request.limit + 1;
        let mut page = ListedPage::default();
        let mut start: Option<Item> = None;
        loop {
            let missing = want - page.payouts.len();
            let mut query = self
                .batch_query(&request.batch_ref)
                .limit(page_limit(match request.status {
                    Some(_) => missing.max(FILTERED_QUERY_LIMIT),
                    None => missing,
                }))
                .set_exclusive_start_key(start.take());
            if let Some(after) = request.after_index {
                query = query
                    .key_condition_expression("#bpk = :batch AND #bsk > :after")
                    .expression_attribute_names("#bsk", BATCH_SK)
                    .expression_attribute_values(":after", string_attribute(batch_sk(after)));
            }
            if let Some(status) = request.status {
                query = query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", string_attribute(status.as_str()));
            }
            let output = query
                .send()
                .await
                .map_err(|e| unavailable("Query (by_batch)", &e))?;
            for item in output.items() {
                if page.payouts.len() == want {
                    break;
                }
                let key = text_of(item, PK).unwrap_or("(no pk)").to_owned();
                match payout_from_item(item.clone()) {
                    Ok(payout) => page.payouts.push(payout),
                    Err(e) => page.undecodable.push(UndecodableItem {
                        key,
                        reason: e.to_string(),
                    }),
                }
            }
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() && page.payouts.len() < want => {
                    start = Some(key.clone())
                }
                _ => break,
            }
        }
        page.more = page.payouts.len() > request.limit;
        page.payouts.truncate(request.limit);
        Ok(page)
    }
}
