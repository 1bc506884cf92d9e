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
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::schema::{
    BY_INVOICE_NO, DUE_AT, DUE_AT_FORMAT, DUE_FOR_CHECK, DUE_PK, DUE_PK_OPEN, INVOICE_NO,
    PAYOUT_PK_PREFIX, PAYOUT_SK, PK, SK, UNMATCHED_PK,
};
use super::{CreateOutcome, PayoutStore, SaveOutcome, StoreError, UnmatchedCallback};
use crate::domain::{InvoiceRef, Payout};

type Item = HashMap<String, AttributeValue>;

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

/// `2026-11-23T10:15:02.113Z`: fixed width, so string order is time order.
pub fn fixed_width_time(at: DateTime<Utc>) -> String {
    at.format(DUE_AT_FORMAT).to_string()
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn payout_pk(external_invoice_ref: &str) -> String {
    format!("{PAYOUT_PK_PREFIX}{external_invoice_ref}")
}

fn payout_key(external_invoice_ref: &str) -> Item {
    HashMap::from([
        (PK.to_owned(), s(payout_pk(external_invoice_ref))),
        (SK.to_owned(), s(PAYOUT_SK)),
    ])
}

/// A payout as its item: every field, plus the keys and the sparse index attributes that apply.
pub fn payout_to_item(payout: &Payout) -> Result<Item, StoreError> {
    let mut item: Item = to_item(payout)
        .map_err(|e| StoreError::Corrupt(format!("payout does not map to an item: {e}")))?;
    // A GSI key attribute must be absent or a non-empty string: NULL or "" is refused.
    let bad_invoice_no = match item.get(INVOICE_NO) {
        Some(AttributeValue::S(text)) => text.is_empty(),
        Some(_) => true,
        None => false,
    };
    if bad_invoice_no {
        item.remove(INVOICE_NO);
    }
    item.extend(payout_key(payout.external_invoice_ref.as_str()));
    // Only open payouts wait for a check; a final one drops out of the index.
    if let (false, Some(at)) = (payout.status.is_final(), payout.next_check_at) {
        item.insert(DUE_PK.to_owned(), s(DUE_PK_OPEN));
        item.insert(DUE_AT.to_owned(), s(fixed_width_time(at)));
    }
    Ok(item)
}

/// The payout an item holds.
pub fn payout_from_item(mut item: Item) -> Result<Payout, StoreError> {
    let pk = match item.get(PK) {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => String::new(),
    };
    if !pk.starts_with(PAYOUT_PK_PREFIX) {
        return Err(StoreError::Corrupt(format!("item {pk:?} is not a payout")));
    }
    for derived in [PK, SK, DUE_PK, DUE_AT] {
        item.remove(derived);
    }
    from_item(item).map_err(|e| StoreError::Corrupt(format!("{pk}: {e}")))
}

/// How an unmatched callback is stored. Its invoice number is renamed so that it can never
/// appear in the `by_invoice_no` index, which must only ever point at payouts.
#[derive(Serialize, Deserialize)]
struct UnmatchedItem {
    pk: String,
    sk: String,
    id: String,
    received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback_invoice_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback_external_invoice_ref: Option<String>,
    claims_json: String,
}

impl UnmatchedItem {
    fn from_callback(callback: &UnmatchedCallback) -> UnmatchedItem {
        UnmatchedItem {
            pk: UNMATCHED_PK.to_owned(),
            sk: format!("{}#{}", fixed_width_time(callback.received_at), callback.id),
            id: callback.id.clone(),
            received_at: callback.received_at,
            callback_invoice_no: callback.invoice_no.clone(),
            callback_external_invoice_ref: callback.external_invoice_ref.clone(),
            claims_json: callback.claims_json.clone(),
        }
    }

    fn into_callback(self) -> UnmatchedCallback {
        UnmatchedCallback {
            id: self.id,
            received_at: self.received_at,
            invoice_no: self.callback_invoice_no,
            external_invoice_ref: self.callback_external_invoice_ref,
            claims_json: self.claims_json,
        }
    }
}

/// An SDK failure as [`StoreError::Unavailable`]. The SDK's text names the error and the
/// endpoint, never credentials; it is still capped so no echoed value can run on.
fn unavailable<E, R>(operation: &str, err: &SdkError<E, R>) -> StoreError
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
fn page_limit(remaining: usize) -> i32 {
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
    async fn create_pending(&self, payout: &Payout) -> Result<CreateOutcome, StoreError> {
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
            ConditionalPut::Written => Ok(CreateOutcome::Created),
            // Our own put landed and its answer was lost; the SDK's retry then failed the
            // condition against it. The claim (unique owner, exact timestamps) is ours.
            ConditionalPut::Refused(Some(stored)) if stored == *payout => {
                Ok(CreateOutcome::Created)
            }
            ConditionalPut::Refused(Some(stored)) => Ok(CreateOutcome::Exists(stored)),
            // Only a server without ALL_OLD support gets here: read it instead.
            ConditionalPut::Refused(None) => match self.get(&payout.external_invoice_ref).await? {
                Some(stored) => Ok(CreateOutcome::Exists(stored)),
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
            .expression_attribute_values(":status", s(current.status.as_str()))
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
                        .expression_attribute_values(":n", s(invoice_no))
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
    ) -> Result<Vec<Payout>, StoreError> {
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
                        .expression_attribute_values(":open", s(DUE_PK_OPEN))
                        .expression_attribute_values(":now", s(now.clone()))
                        .scan_index_forward(true)
                },
                limit,
                "Query (due_for_check)",
            )
            .await?;
        items.into_iter().map(payout_from_item).collect()
    }

    async fn record_unmatched_callback(
        &self,
        callback: &UnmatchedCallback,
    ) -> Result<(), StoreError> {
        let item: Item = to_item(UnmatchedItem::from_callback(callback)).map_err(|e| {
            StoreError::Corrupt(format!("unmatched callback does not map to an item: {e}"))
        })?;
        // Unconditional: a redelivered callback with the same id and time is the same record.
        self.client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable("PutItem (unmatched callback)", &e))?;
        Ok(())
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
                        .expression_attribute_values(":pk", s(UNMATCHED_PK))
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
                    .map(UnmatchedItem::into_callback)
                    .map_err(|e| StoreError::Corrupt(format!("unmatched callback item: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PayoutRequest;
    use chrono::Duration;

    fn payout() -> Payout {
        let request = PayoutRequest::from_json(
            br#"{"external_invoice_ref":"INV-1","payout_service_id":23,"amount":"13.00",
                "recipient_name":"John","third_party_account_no":"8011408168","recipient_reference":"R"}"#,
        )
        .expect("valid request");
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid time");
        Payout::new_pending(&request, "owner".into(), now, Duration::seconds(30))
    }

    #[test]
    fn fixed_width_time_keeps_trailing_zeros() {
        let at = DateTime::from_timestamp(1_800_000_000, 100_000_000).expect("valid time");
        assert_eq!(fixed_width_time(at), "2027-01-15T08:00:00.100Z");
        let whole = DateTime::from_timestamp(1_800_000_000, 0).expect("valid time");
        assert_eq!(fixed_width_time(whole), "2027-01-15T08:00:00.000Z");
    }

    #[test]
    fn item_round_trips_and_carries_keys() {
        let p = payout();
        let item = payout_to_item(&p).expect("maps");
        assert_eq!(item.get(PK), Some(&s("PAYOUT#INV-1")));
        assert_eq!(item.get(SK), Some(&s("PAYOUT")));
        assert_eq!(item.get("amount"), Some(&s("13.00")));
        assert_eq!(item.get(DUE_PK), Some(&s("OPEN")));
        assert!(!item.contains_key(INVOICE_NO));
        assert_eq!(payout_from_item(item).expect("reads back"), p);
    }

    #[test]
    fn final_payout_has_no_due_attributes() {
        let mut p = payout();
        p.status = crate::domain::PayoutStatus::Succeeded;
        let item = payout_to_item(&p).expect("maps");
        assert!(!item.contains_key(DUE_PK) && !item.contains_key(DUE_AT));
    }
}
