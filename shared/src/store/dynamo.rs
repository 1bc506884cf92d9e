//! [`PayoutStore`] on DynamoDB: one item per payout (its history inside), conditional writes.
//!
//! The table's layout is [`super::schema`]. Every write that changes a payout is a single
//! conditional PutItem of the whole next state, so status, version, history and the sparse
//! index attributes change together or not at all; a lost race is answered with the winning
//! item from the same request (`ReturnValuesOnConditionCheckFailure = ALL_OLD`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use chrono::{DateTime, Utc};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::items::{
    Item, UnmatchedItem, fixed_width_time, payout_from_item, payout_key, payout_to_item,
    string_attribute,
};
use super::schema::{
    BY_INVOICE_NO, DUE_AT, DUE_FOR_CHECK, DUE_PK, DUE_PK_OPEN, INVOICE_NO, PAYOUT_PK_PREFIX, PK,
    SK, UNMATCHED_PK,
};
use super::{
    ClaimOutcome, DuePayouts, PayoutStore, SaveOutcome, StoreError, UndecodableItem,
    UnmatchedCallback,
};
use crate::domain::{InvoiceRef, Payout};

/// Longest SDK error text passed on: enough to diagnose, short enough never to carry an item.
const MAX_ERROR_CHARS: usize = 300;

/// The DynamoDB client for the environment: region and credentials from the usual chain, and
/// `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`) for a local server.
pub async fn dynamodb_client_from_env() -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Client::new(&config)
}

/// The payout store on one DynamoDB table laid out as [`super::schema::TABLE`].
#[derive(Debug, Clone)]
pub struct DynamoPayoutStore {
    client: Client,
    table_name: String,
}

impl DynamoPayoutStore {
    pub fn new(client: Client, table_name: impl Into<String>) -> DynamoPayoutStore {
        DynamoPayoutStore {
            client,
            table_name: table_name.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Items marking an unmatched callback's token as seen: `pk = "UNMATCHED_ID#<id>"`.
const UNMATCHED_ID_PK_PREFIX: &str = "UNMATCHED_ID#";
const UNMATCHED_ID_SK: &str = "SEEN";

/// Whether a transaction was cancelled only because a condition failed (the marker existed).
fn is_condition_cancelled<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

/// An SDK failure as [`StoreError::Unavailable`]. The SDK's text names the error and the
/// endpoint, never credentials; it is still capped so no echoed value can run on.
pub(super) fn unavailable<E, R>(operation: &str, err: &SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = DisplayErrorContext(err).to_string();
    let mut capped: String = text.chars().take(MAX_ERROR_CHARS).collect();
    if capped.len() < text.len() {
        capped.push('…');
    }
    StoreError::Unavailable(format!("DynamoDB {operation}: {capped}"))
}

/// A conditional PutItem's result, read once for both conditional writes: written, or refused
/// with the payout stored at that moment (ALL_OLD; `None` when nothing is stored).
#[allow(clippy::large_enum_variant)] // one per call, moved straight on (see store/mod.rs)
enum ConditionalPut {
    Written,
    Refused(Option<Payout>),
}

fn conditional_put<R: std::fmt::Debug>(
    operation: &str,
    result: Result<aws_sdk_dynamodb::operation::put_item::PutItemOutput, SdkError<PutItemError, R>>,
) -> Result<ConditionalPut, StoreError> {
    match result {
        Ok(_) => Ok(ConditionalPut::Written),
        Err(SdkError::ServiceError(e))
            if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
        {
            let stored = match e.into_err() {
                PutItemError::ConditionalCheckFailedException(c) => c.item,
                _ => None,
            };
            Ok(ConditionalPut::Refused(
                stored.map(payout_from_item).transpose()?,
            ))
        }
        Err(e) => Err(unavailable(operation, &e)),
    }
}

/// DynamoDB refuses a Limit of 0 and wants an i32.
pub(super) fn page_limit(remaining: usize) -> i32 {
    i32::try_from(remaining).unwrap_or(i32::MAX)
}

impl DynamoPayoutStore {
    /// Reads every page of a query until `limit` items are in hand or none are left.
    async fn query_all(
        &self,
        build: impl Fn() -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        limit: usize,
        operation: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        while items.len() < limit {
            let page = build()
                .limit(page_limit(limit - items.len()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable(operation, &e))?;
            items.extend(page.items().iter().take(limit - items.len()).cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(items)
    }
}

#[async_trait]
impl PayoutStore for DynamoPayoutStore {
    async fn create_pending(&self, payout: &Payout) -> Result<ClaimOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(payout_to_item(payout)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional_put("PutItem (create)", result)? {
            ConditionalPut::Written => Ok(ClaimOutcome::Created),
            // Our own put landed and its answer was lost; the SDK's retry then failed the
            // condition against it. The claim (unique owner, exact timestamps) is ours.
            ConditionalPut::Refused(Some(stored)) if stored == *payout => Ok(ClaimOutcome::Created),
            ConditionalPut::Refused(Some(stored)) => Ok(ClaimOutcome::Exists(stored)),
            // Only a server without ALL_OLD support gets here: read it instead.
            ConditionalPut::Refused(None) => match self.get(&payout.external_invoice_ref).await? {
                Some(stored) => Ok(ClaimOutcome::Exists(stored)),
                None => Err(StoreError::Unavailable(format!(
                    "payout {} existed at create but is gone",
                    payout.external_invoice_ref
                ))),
            },
        }
    }

    async fn save(&self, current: &Payout, next: &Payout) -> Result<SaveOutcome, StoreError> {
        if next.external_invoice_ref != current.external_invoice_ref {
            return Err(StoreError::Corrupt(format!(
                "refusing to save {} over {}",
                next.external_invoice_ref, current.external_invoice_ref
            )));
        }
        if current.version.checked_add(1) != Some(next.version) {
            return Err(StoreError::Corrupt(format!(
                "refusing to save version {} over version {} of {}",
                next.version, current.version, current.external_invoice_ref
            )));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(payout_to_item(next)?))
            .condition_expression(
                "attribute_exists(#pk) AND #version = :version AND #status = :status",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":version", AttributeValue::N(current.version.to_string()))
            .expression_attribute_values(":status", string_attribute(current.status.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional_put("PutItem (save)", result)? {
            ConditionalPut::Written => Ok(SaveOutcome::Saved),
            // Our own write landed and its answer was lost before the SDK retried it.
            ConditionalPut::Refused(Some(stored)) if stored == *next => Ok(SaveOutcome::Saved),
            // No item back means none is stored (ALL_OLD returns whatever was there).
            ConditionalPut::Refused(stored) => Ok(SaveOutcome::Stale(stored)),
        }
    }

    async fn get(&self, external_invoice_ref: &InvoiceRef) -> Result<Option<Payout>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(payout_key(external_invoice_ref.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
        output.item.map(payout_from_item).transpose()
    }

    async fn find_by_invoice_no(&self, invoice_no: &str) -> Result<Option<Payout>, StoreError> {
        if invoice_no.is_empty() {
            return Ok(None);
        }
        let keys = self
            .query_all(
                || {
                    self.client
                        .query()
                        .table_name(&self.table_name)
                        .index_name(BY_INVOICE_NO)
                        .key_condition_expression("#n = :n")
                        .expression_attribute_names("#n", INVOICE_NO)
                        .expression_attribute_values(":n", string_attribute(invoice_no))
                },
                2,
                "Query (by_invoice_no)",
            )
            .await?;
        if keys.len() > 1 {
            tracing::warn!(
                invoice_no,
                "more than one payout holds this invoice_no; using the first"
            );
        }
        let Some(AttributeValue::S(pk)) = keys.first().and_then(|k| k.get(PK)) else {
            return Ok(None);
        };
        let Some(external_invoice_ref) = pk.strip_prefix(PAYOUT_PK_PREFIX) else {
            return Err(StoreError::Corrupt(format!(
                "index by_invoice_no points at {pk:?}"
            )));
        };
        let external_invoice_ref = InvoiceRef::parse(external_invoice_ref).map_err(|e| {
            StoreError::Corrupt(format!("index by_invoice_no points at {pk:?}: {e}"))
        })?;
        // The index is eventually consistent; the payout itself is read consistently.
        self.get(&external_invoice_ref).await
    }

    async fn due_for_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<DuePayouts, StoreError> {
        // Read from the index, which is eventually consistent: a just-changed payout may show
        // its old state here, which only costs the caller a Stale on its conditional save.
        let now = fixed_width_time(now);
        let items = self
            .query_all(
                || {
                    self.client
                        .query()
                        .table_name(&self.table_name)
                        .index_name(DUE_FOR_CHECK)
                        .key_condition_expression("#due_pk = :open AND #due_at <= :now")
                        .expression_attribute_names("#due_pk", DUE_PK)
                        .expression_attribute_names("#due_at", DUE_AT)
                        .expression_attribute_values(":open", string_attribute(DUE_PK_OPEN))
                        .expression_attribute_values(":now", string_attribute(now.clone()))
                        .scan_index_forward(true)
                },
                limit,
                "Query (due_for_check)",
            )
            .await?;
        let mut due = DuePayouts::default();
        for item in items {
            let key = match item.get(PK) {
                Some(AttributeValue::S(pk)) => pk.clone(),
                _ => "(no pk)".to_owned(),
            };
            match payout_from_item(item) {
                Ok(payout) => due.payouts.push(payout),
                Err(e) => due.undecodable.push(UndecodableItem {
                    key,
                    reason: e.to_string(),
                }),
            }
        }
        Ok(due)
    }

    async fn record_unmatched_callback(
        &self,
        callback: &UnmatchedCallback,
    ) -> Result<(), StoreError> {
        let item: Item = to_item(UnmatchedItem::from_callback(callback)?).map_err(|e| {
            StoreError::Corrupt(format!("unmatched callback does not map to an item: {e}"))
        })?;
        // One transaction: the listing item, and a marker keyed by the token's id alone that
        // must not exist yet. A replayed token fails the marker's condition and so records
        // nothing: one record per token, however often LeanX (or anyone) replays it.
        let marker: Item = HashMap::from([
            (
                PK.to_owned(),
                string_attribute(format!("{UNMATCHED_ID_PK_PREFIX}{}", callback.id)),
            ),
            (SK.to_owned(), string_attribute(UNMATCHED_ID_SK.to_owned())),
        ]);
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table_name)
                            .set_item(Some(marker))
                            .condition_expression("attribute_not_exists(#pk)")
                            .expression_attribute_names("#pk", PK)
                            .build()
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table_name)
                            .set_item(Some(item))
                            .build()
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_cancelled(&e) => Ok(()),
            Err(e) => Err(unavailable("TransactWriteItems (unmatched callback)", &e)),
        }
    }

    async fn unmatched_callbacks(
        &self,
        limit: usize,
    ) -> Result<Vec<UnmatchedCallback>, StoreError> {
        let items = self
            .query_all(
                || {
                    self.client
                        .query()
                        .table_name(&self.table_name)
                        .key_condition_expression("#pk = :pk")
                        .expression_attribute_names("#pk", PK)
                        .expression_attribute_values(":pk", string_attribute(UNMATCHED_PK))
                        .scan_index_forward(false)
                },
                limit,
                "Query (unmatched callbacks)",
            )
            .await?;
        items
            .into_iter()
            .map(|item| {
                from_item::<UnmatchedItem>(item)
                    .map_err(|e| StoreError::Corrupt(format!("unmatched callback item: {e}")))?
                    .into_callback()
            })
            .collect()
    }
}
