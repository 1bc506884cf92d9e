//! [`RecipientVerifications`] on the payouts table (layout in [`super::schema`]):
//!
//! - `pk = "VERIFICATION#<payout_service_id>#<account>"`, `sk = "LATEST"`: the account's latest
//!   verification, so that `POST /payouts` reads it with one GetItem;
//! - same `pk`, `sk = "RV#<verification_id>"`: every verification, as made;
//!
//! both with `expires_at_epoch` (Unix seconds, 30 days on), the table's TTL attribute, so
//! DynamoDB deletes them once they can no longer be relied on.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::dynamo::{DynamoPayoutStore, unavailable};
use super::items::{Item, fixed_width_time, string_attribute};
use super::schema::{
    PK, SK, VERIFICATION_ID_SK_PREFIX, VERIFICATION_LATEST_SK, VERIFICATION_PK_PREFIX,
};
use super::{RecipientVerifications, StoreError};
use crate::domain::{NameVerdict, RecipientVerification};

/// The partition of one account at one bank.
pub fn verification_pk(payout_service_id: u32, third_party_account_no: &str) -> String {
    format!("{VERIFICATION_PK_PREFIX}{payout_service_id}#{third_party_account_no}")
}

/// A verification as stored: its fields, its keys, the fixed-width time that orders two of
/// them, and the TTL attribute.
#[derive(Debug, Serialize, Deserialize)]
struct VerificationItem {
    pk: String,
    sk: String,
    verification_id: String,
    payout_service_id: u32,
    third_party_account_no: String,
    account_holder_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bank_bic: Option<String>,
    name_match: NameVerdict,
    name_score: Decimal,
    verified_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// [`fixed_width_time`] of `verified_at`: string order is time order.
    verified_at_key: String,
    expires_at_epoch: i64,
}

impl VerificationItem {
    fn new(v: &RecipientVerification, sk: String) -> VerificationItem {
        VerificationItem {
            pk: verification_pk(v.payout_service_id, &v.third_party_account_no),
            sk,
            verification_id: v.verification_id.clone(),
            payout_service_id: v.payout_service_id,
            third_party_account_no: v.third_party_account_no.clone(),
            account_holder_name: v.account_holder_name.clone(),
            bank_bic: v.bank_bic.clone(),
            name_match: v.name_match,
            name_score: v.name_score,
            verified_at: v.verified_at,
            expires_at: v.expires_at,
            verified_at_key: fixed_width_time(v.verified_at),
            expires_at_epoch: v.expires_at.timestamp(),
        }
    }

    fn into_verification(self) -> RecipientVerification {
        RecipientVerification {
            verification_id: self.verification_id,
            payout_service_id: self.payout_service_id,
            third_party_account_no: self.third_party_account_no,
            account_holder_name: self.account_holder_name,
            bank_bic: self.bank_bic,
            name_match: self.name_match,
            name_score: self.name_score,
            verified_at: self.verified_at,
            expires_at: self.expires_at,
        }
    }

    fn to_item(&self) -> Result<Item, StoreError> {
        to_item(self).map_err(|e| StoreError::Corrupt(format!("verification item: {e}")))
    }
}

#[async_trait]
impl RecipientVerifications for DynamoPayoutStore {
    async fn save(&self, verification: &RecipientVerification) -> Result<(), StoreError> {
        let record = VerificationItem::new(
            verification,
            format!(
                "{VERIFICATION_ID_SK_PREFIX}{}",
                verification.verification_id
            ),
        );
        self.client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(record.to_item()?))
            .send()
            .await
            .map_err(|e| unavailable("PutItem (verification)", &e))?;
        let latest = VerificationItem::new(verification, VERIFICATION_LATEST_SK.to_owned());
        let result = self
            .client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(latest.to_item()?))
            .condition_expression("attribute_not_exists(#pk) OR #key <= :key")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#key", "verified_at_key")
            .expression_attribute_values(":key", string_attribute(latest.verified_at_key.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A later verification of the account is already its latest: keep that one.
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable("PutItem (latest verification)", &e)),
        }
    }

    async fn latest_for(
        &self,
        payout_service_id: u32,
        third_party_account_no: &str,
    ) -> Result<Option<RecipientVerification>, StoreError> {
        let output = self
            .client()
            .get_item()
            .table_name(self.table_name())
            .key(
                PK,
                string_attribute(verification_pk(payout_service_id, third_party_account_no)),
            )
            .key(SK, string_attribute(VERIFICATION_LATEST_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem (latest verification)", &e))?;
        output
            .item
            .map(|item| {
                from_item::<VerificationItem>(item)
                    .map(VerificationItem::into_verification)
                    .map_err(|e| StoreError::Corrupt(format!("verification item: {e}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::EXPIRES_AT_EPOCH;
    use chrono::TimeZone;

    #[test]
    fn an_item_carries_its_keys_ttl_and_round_trips() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let v = RecipientVerification::new(
            23,
            "8011408168",
            "JOHN DOE",
            Some("MBBEMYKL"),
            Some("John Doe"),
            at,
        );
        let stored = VerificationItem::new(&v, VERIFICATION_LATEST_SK.into());
        let item = stored.to_item().unwrap();
        assert_eq!(
            item[PK],
            string_attribute("VERIFICATION#23#8011408168".to_owned())
        );
        assert_eq!(item[SK], string_attribute("LATEST".to_owned()));
        assert_eq!(
            item[EXPIRES_AT_EPOCH],
            aws_sdk_dynamodb::types::AttributeValue::N(
                (at + chrono::Duration::days(30)).timestamp().to_string()
            )
        );
        let back = from_item::<VerificationItem>(item)
            .unwrap()
            .into_verification();
        assert_eq!(back, v);
    }
}
