//! The merchant's read resources (API.md "Additions"): payout services, recipient
//! verifications and the balance, as clients see them.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{NameVerdict, RecipientVerification};
use crate::leanx::{Balance, PayoutService};

/// Money and scores as exact strings with at least two decimals (`26.05`, `393.60`, `1.00`);
/// never rounded: a value LeanX gives with more decimals keeps them.
pub fn two_decimals(value: Decimal) -> String {
    let mut value = value;
    if value.scale() < 2 {
        value.rescale(2);
    }
    value.to_string()
}

fn millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One entry of `GET /payout-services`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PayoutService)]
pub struct PayoutServiceView {
    pub payout_service_id: i64,
    pub name: String,
    pub unique_reference: String,
    pub payment_service: String,
    pub active: bool,
}

impl From<&PayoutService> for PayoutServiceView {
    fn from(s: &PayoutService) -> Self {
        PayoutServiceView {
            payout_service_id: s.payout_service_id,
            name: s.name.clone(),
            unique_reference: s.unique_reference.clone(),
            payment_service: s.payment_service.clone(),
            active: s.active,
        }
    }
}

/// `GET /payout-services`' body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PayoutServices)]
pub struct PayoutServicesView {
    pub payout_services: Vec<PayoutServiceView>,
}

/// `POST /recipient-verifications`' body. The account number is shown in full, as the
/// merchant sent it (API.md); logs mask it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = RecipientVerification)]
pub struct VerificationView {
    pub verification_id: String,
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u64)]
    pub payout_service_id: u32,
    pub third_party_account_no: String,
    pub account_holder_name: String,
    pub bank_bic: Option<String>,
    #[schema(value_type = NameVerdict)]
    pub name_match: &'static str,
    /// 0.00-1.00.
    #[schema(pattern = r"^[01]\.[0-9]{2}$", example = "1.00")]
    pub name_score: String,
    #[schema(format = DateTime)]
    pub verified_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

impl From<&RecipientVerification> for VerificationView {
    fn from(v: &RecipientVerification) -> Self {
        VerificationView {
            verification_id: v.verification_id.clone(),
            payout_service_id: v.payout_service_id,
            third_party_account_no: v.third_party_account_no.clone(),
            account_holder_name: v.account_holder_name.clone(),
            bank_bic: v.bank_bic.clone(),
            name_match: v.name_match.as_str(),
            name_score: two_decimals(v.name_score),
            verified_at: millis(v.verified_at),
            expires_at: millis(v.expires_at),
        }
    }
}

/// `GET /balance`' body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Balance)]
pub struct BalanceView {
    #[schema(value_type = String, pattern = "^MYR$", example = "MYR")]
    pub currency: &'static str,
    /// An exact decimal string, at least two decimals.
    #[schema(pattern = r"^-?[0-9]+\.[0-9]{2,}$", example = "26.05")]
    pub transaction_balance: String,
    #[schema(pattern = r"^-?[0-9]+\.[0-9]{2,}$", example = "393.63")]
    pub prefund_balance: String,
    pub total_transaction_as_of_today: i64,
}

impl From<&Balance> for BalanceView {
    fn from(b: &Balance) -> Self {
        BalanceView {
            currency: "MYR",
            transaction_balance: two_decimals(b.transaction_balance),
            prefund_balance: two_decimals(b.prefund_balance),
            total_transaction_as_of_today: b.total_transaction_as_of_today,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact_with_two_decimals() {
        assert_eq!(two_decimals(Decimal::new(2605, 2)), "26.05");
        assert_eq!(two_decimals(Decimal::new(3936, 1)), "393.60");
        assert_eq!(two_decimals(Decimal::new(0, 0)), "0.00");
        assert_eq!(two_decimals(Decimal::new(12345, 3)), "12.345");
    }

    #[test]
    fn the_balance_reads_as_api_md_shows_it() {
        let view = BalanceView::from(&Balance {
            transaction_balance: Decimal::new(2605, 2),
            prefund_balance: Decimal::new(39363, 2),
            total_transaction_as_of_today: 0,
        });
        assert_eq!(
            serde_json::to_value(view).unwrap(),
            serde_json::json!({ "currency": "MYR", "transaction_balance": "26.05",
                "prefund_balance": "393.63", "total_transaction_as_of_today": 0 })
        );
    }
}
