//! How a payout and an unmatched callback are laid out as DynamoDB items (the table's layout is
//! in `schema.rs`; the store's calls in `dynamo.rs`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::schema::{
    BATCH_PK, BATCH_PK_PREFIX, BATCH_SK, BATCH_SK_DIGITS, DUE_AT, DUE_AT_FORMAT, DUE_PK,
    DUE_PK_OPEN, INVOICE_NO, LIST_MONTH_FORMAT, LIST_PK, LIST_PK_PREFIX, LIST_SK, PAYOUT_PK_PREFIX,
    PAYOUT_SK, PK, SK, UNMATCHED_PK,
};
use super::{StoreError, UnmatchedCallback};
use crate::domain::Payout;

pub(super) type Item = HashMap<String, AttributeValue>;

/// `2026-11-23T10:15:02.113Z`: fixed width, so string order is time order.
pub fn fixed_width_time(at: DateTime<Utc>) -> String {
    at.format(DUE_AT_FORMAT).to_string()
}

pub(super) fn string_attribute(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn payout_pk(external_invoice_ref: &str) -> String {
    format!("{PAYOUT_PK_PREFIX}{external_invoice_ref}")
}

/// `by_created`'s partition for payouts created in `at`'s month: `PAYOUT#2026-11`.
pub(super) fn list_pk(at: DateTime<Utc>) -> String {
    format!("{LIST_PK_PREFIX}{}", at.format(LIST_MONTH_FORMAT))
}

/// `by_created`'s sort key: creation time, then the ref, so that it is unique and time-ordered.
pub(super) fn list_sk(created_at: DateTime<Utc>, external_invoice_ref: &str) -> String {
    format!("{}#{external_invoice_ref}", fixed_width_time(created_at))
}

/// `by_batch`'s partition for a batch's items, and the batch record's `pk`: `BATCH#<ref>`.
pub(super) fn batch_pk(batch_ref: &str) -> String {
    format!("{BATCH_PK_PREFIX}{batch_ref}")
}

/// `by_batch`'s sort key: the item's index, fixed-width (`000017`).
pub(super) fn batch_sk(index: u32) -> String {
    format!("{index:0width$}", width = BATCH_SK_DIGITS)
}

pub(super) fn payout_key(external_invoice_ref: &str) -> Item {
    HashMap::from([
        (
            PK.to_owned(),
            string_attribute(payout_pk(external_invoice_ref)),
        ),
        (SK.to_owned(), string_attribute(PAYOUT_SK)),
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
    // Every write is a whole item, so a payout stored before `by_created` existed joins the
    // index on its next write.
    item.insert(
        LIST_PK.to_owned(),
        string_attribute(list_pk(payout.created_at)),
    );
    item.insert(
        LIST_SK.to_owned(),
        string_attribute(list_sk(
            payout.created_at,
            payout.external_invoice_ref.as_str(),
        )),
    );
    // Only open payouts wait for a check; a final one drops out of the index.
    if let (false, Some(at)) = (payout.status.is_final(), payout.next_check_at) {
        item.insert(DUE_PK.to_owned(), string_attribute(DUE_PK_OPEN));
        item.insert(DUE_AT.to_owned(), string_attribute(fixed_width_time(at)));
    }
    // A batch's items, and only they, are on `by_batch`.
    if let (Some(batch_ref), Some(index)) = (&payout.batch_ref, payout.batch_index) {
        item.insert(BATCH_PK.to_owned(), string_attribute(batch_pk(batch_ref)));
        item.insert(BATCH_SK.to_owned(), string_attribute(batch_sk(index)));
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
    for derived in [PK, SK, DUE_PK, DUE_AT, LIST_PK, LIST_SK, BATCH_PK, BATCH_SK] {
        item.remove(derived);
    }
    from_item(item).map_err(|e| StoreError::Corrupt(format!("{pk}: {e}")))
}

/// How an unmatched callback is stored. Its invoice number is renamed so that it can never
/// appear in the `by_invoice_no` index, which must only ever point at payouts.
#[derive(Serialize, Deserialize)]
pub(super) struct UnmatchedItem {
    pk: String,
    sk: String,
    id: String,
    received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback_invoice_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback_external_invoice_ref: Option<String>,
    #[serde(default)]
    reason: String,
    /// The verified claims ([`CallbackClaims`]) as JSON text.
    claims_json: String,
}

impl UnmatchedItem {
    pub(super) fn from_callback(callback: &UnmatchedCallback) -> Result<UnmatchedItem, StoreError> {
        Ok(UnmatchedItem {
            pk: UNMATCHED_PK.to_owned(),
            sk: format!("{}#{}", fixed_width_time(callback.received_at), callback.id),
            id: callback.id.clone(),
            received_at: callback.received_at,
            callback_invoice_no: Some(callback.claims.invoice_no.clone()),
            callback_external_invoice_ref: callback.claims.external_invoice_ref.clone(),
            reason: callback.reason.clone(),
            claims_json: serde_json::to_string(&callback.claims)
                .map_err(|e| StoreError::Corrupt(format!("unmatched callback claims: {e}")))?,
        })
    }

    pub(super) fn into_callback(self) -> Result<UnmatchedCallback, StoreError> {
        let claims = serde_json::from_str(&self.claims_json)
            .map_err(|e| StoreError::Corrupt(format!("unmatched callback {}: {e}", self.id)))?;
        Ok(UnmatchedCallback {
            id: self.id,
            received_at: self.received_at,
            reason: self.reason,
            claims,
        })
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
        assert_eq!(item.get(PK), Some(&string_attribute("PAYOUT#INV-1")));
        assert_eq!(item.get(SK), Some(&string_attribute("PAYOUT")));
        assert_eq!(item.get("amount"), Some(&string_attribute("13.00")));
        assert_eq!(item.get(DUE_PK), Some(&string_attribute("OPEN")));
        assert!(!item.contains_key(INVOICE_NO));
        assert_eq!(payout_from_item(item).expect("reads back"), p);
    }

    #[test]
    fn every_payout_is_on_the_listing_index_under_its_creation_month() {
        let mut p = payout();
        p.status = crate::domain::PayoutStatus::Succeeded;
        let item = payout_to_item(&p).expect("maps");
        assert_eq!(item.get(LIST_PK), Some(&string_attribute("PAYOUT#2027-01")));
        assert_eq!(
            item.get(LIST_SK),
            Some(&string_attribute("2027-01-15T08:00:00.000Z#INV-1"))
        );
    }

    #[test]
    fn a_batch_item_is_on_the_batch_index_in_its_place_and_reads_back() {
        let p = payout().joined_batch("PAYROLL-1", 17, payout().created_at);
        let item = payout_to_item(&p).expect("maps");
        assert_eq!(
            item.get(BATCH_PK),
            Some(&string_attribute("BATCH#PAYROLL-1"))
        );
        assert_eq!(item.get(BATCH_SK), Some(&string_attribute("000017")));
        assert_eq!(payout_from_item(item).expect("reads back"), p);
        assert!(
            !payout_to_item(&payout())
                .expect("maps")
                .contains_key(BATCH_PK)
        );
    }

    #[test]
    fn final_payout_has_no_due_attributes() {
        let mut p = payout();
        p.status = crate::domain::PayoutStatus::Succeeded;
        let item = payout_to_item(&p).expect("maps");
        assert!(!item.contains_key(DUE_PK) && !item.contains_key(DUE_AT));
    }
}
