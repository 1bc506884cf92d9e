//! What a verified LeanX success callback claims, as typed facts, and when those facts agree
//! with a stored payout. The callback use case and the operator's replay both use this one
//! rule; a callback that disagrees is never applied (it is kept for an operator instead).

use serde::{Deserialize, Serialize};

use super::payout::Payout;
use super::request::amount_from_json;

/// The claims of a verified callback that matter to matching, as LeanX sent them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackClaims {
    pub invoice_no: String,
    pub invoice_status: String,
    /// The amount's JSON text as LeanX sent it (`"13.00"` or `13.00`).
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub external_invoice_ref: Option<String>,
    #[serde(default)]
    pub virtual_pool_reference: Option<String>,
    #[serde(default)]
    pub recipient_reference: Option<String>,
    #[serde(default)]
    pub third_party_account_no: Option<String>,
    /// As text: LeanX sends a number, but its docs show strings elsewhere.
    #[serde(default)]
    pub payout_service_id: Option<String>,
}

impl CallbackClaims {
    pub fn is_success(&self) -> bool {
        self.invoice_status.eq_ignore_ascii_case("SUCCESS")
    }

    /// Why these claims must not settle `payout`, if they disagree with it. Fails closed: an
    /// amount that is missing or does not parse is a disagreement. `pool` is this service's
    /// payout pool, compared when both sides name one.
    pub fn disagreement(&self, payout: &Payout, pool: &str) -> Option<String> {
        if let Some(known) = payout.invoice_no.as_deref()
            && known != self.invoice_no
        {
            return Some(format!(
                "invoice_no {} differs from the payout's {known}",
                self.invoice_no
            ));
        }
        let amount = self.amount.as_deref().and_then(|text| {
            let raw = serde_json::value::RawValue::from_string(text.to_owned()).ok()?;
            amount_from_json(&raw).ok()
        });
        if amount != Some(payout.amount) {
            return Some(format!(
                "amount {} differs from the payout's {}",
                self.amount.as_deref().unwrap_or("(none)"),
                payout.amount
            ));
        }
        let differs = |claimed: &Option<String>, ours: &str| {
            claimed
                .as_deref()
                .is_some_and(|c| !c.is_empty() && !ours.is_empty() && c != ours)
        };
        if differs(
            &self.external_invoice_ref,
            payout.external_invoice_ref.as_str(),
        ) {
            return Some("external_invoice_ref differs from the payout's".into());
        }
        if differs(&self.virtual_pool_reference, pool) {
            return Some("virtual_pool_reference is not this service's pool".into());
        }
        if differs(&self.recipient_reference, &payout.recipient_reference) {
            return Some("recipient_reference differs from the payout's".into());
        }
        if differs(&self.third_party_account_no, &payout.third_party_account_no) {
            return Some("account number differs from the payout's".into());
        }
        if differs(
            &self.payout_service_id,
            &payout.payout_service_id.to_string(),
        ) {
            return Some("payout_service_id differs from the payout's".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PayoutStatus;
    use crate::domain::payout::sample_payout;

    fn claims() -> CallbackClaims {
        CallbackClaims {
            invoice_no: "PAYOUT-1".into(),
            invoice_status: "SUCCESS".into(),
            amount: Some("\"13.00\"".into()),
            external_invoice_ref: Some("INV-1".into()),
            virtual_pool_reference: Some("VA-1".into()),
            recipient_reference: Some("R".into()),
            third_party_account_no: None,
            payout_service_id: Some("23".into()),
        }
    }

    fn processing() -> Payout {
        let mut p = sample_payout(PayoutStatus::Processing);
        p.invoice_no = Some("PAYOUT-1".into());
        p
    }

    #[test]
    fn claims_that_agree_have_no_disagreement() {
        assert_eq!(claims().disagreement(&processing(), "VA-1"), None);
    }

    #[test]
    fn a_numeric_amount_with_the_same_value_agrees() {
        let c = CallbackClaims {
            amount: Some("13.0".into()),
            ..claims()
        };
        assert_eq!(c.disagreement(&processing(), "VA-1"), None);
    }

    #[test]
    fn another_invoice_no_disagrees() {
        let c = CallbackClaims {
            invoice_no: "PAYOUT-2".into(),
            ..claims()
        };
        assert!(c.disagreement(&processing(), "VA-1").is_some());
    }

    #[test]
    fn an_unparsable_or_missing_amount_disagrees() {
        for amount in [Some("\"13.0.0\"".to_owned()), Some("\"abc\"".into()), None] {
            let c = CallbackClaims {
                amount: amount.clone(),
                ..claims()
            };
            assert!(
                c.disagreement(&processing(), "VA-1").is_some(),
                "{amount:?}"
            );
        }
    }

    #[test]
    fn another_amount_disagrees() {
        let c = CallbackClaims {
            amount: Some("\"13.01\"".into()),
            ..claims()
        };
        assert!(c.disagreement(&processing(), "VA-1").is_some());
    }

    #[test]
    fn another_pool_disagrees_but_an_unconfigured_pool_is_not_compared() {
        let c = CallbackClaims {
            virtual_pool_reference: Some("VA-OTHER".into()),
            ..claims()
        };
        assert!(c.disagreement(&processing(), "VA-1").is_some());
        assert_eq!(c.disagreement(&processing(), ""), None);
    }

    #[test]
    fn another_recipient_reference_account_or_service_disagrees() {
        let variants = [
            CallbackClaims {
                recipient_reference: Some("Other".into()),
                ..claims()
            },
            CallbackClaims {
                third_party_account_no: Some("1111111111".into()),
                ..claims()
            },
            CallbackClaims {
                payout_service_id: Some("24".into()),
                ..claims()
            },
            CallbackClaims {
                external_invoice_ref: Some("INV-2".into()),
                ..claims()
            },
        ];
        for c in variants {
            assert!(c.disagreement(&processing(), "VA-1").is_some(), "{c:?}");
        }
    }
}
