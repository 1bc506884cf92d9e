//! The banks and e-wallets a payout can go to (`list-payout-services`). LeanX's real ids and
//! references are not public: these are the simulator's, Maybank at 23 as in LeanX's examples.

use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::{Refusal, code};
use crate::wire::raw;

/// One entry of `SWITCH_PAYOUT_WEBPAY`.
pub(super) struct PayoutService {
    pub id: i64,
    /// The registered name, upper-case as LeanX lists it.
    pub name: &'static str,
    pub unique_reference: &'static str,
    /// `DUITNOW_ACCOUNT` (bank) or `EWALLET` (the simulator's guess at the values).
    pub payment_service: &'static str,
    /// What `check-verification-bank` answers as `OrgnThirdPartyBankBICCode`.
    pub bic: &'static str,
    /// Listed as `INACTIVE`: payouts and verifications to it are refused.
    pub active: bool,
}

const fn service(
    id: i64,
    name: &'static str,
    unique_reference: &'static str,
    payment_service: &'static str,
    bic: &'static str,
    active: bool,
) -> PayoutService {
    PayoutService {
        id,
        name,
        unique_reference,
        payment_service,
        bic,
        active,
    }
}

const BANK: &str = "DUITNOW_ACCOUNT";
const EWALLET: &str = "EWALLET";

#[rustfmt::skip]
const SERVICES: &[PayoutService] = &[
    service(23, "MALAYAN BANKING BERHAD", "PAYOUT_MAYBANK_WEBPAY", BANK, "MBBEMYKL", true),
    service(24, "CIMB BANK BERHAD", "PAYOUT_CIMB_WEBPAY", BANK, "CIBBMYKL", true),
    service(25, "PUBLIC BANK BERHAD", "PAYOUT_PUBLIC_BANK_WEBPAY", BANK, "PBBEMYKL", true),
    service(26, "RHB BANK BERHAD", "PAYOUT_RHB_WEBPAY", BANK, "RHBBMYKL", true),
    service(27, "HONG LEONG BANK BERHAD", "PAYOUT_HONG_LEONG_WEBPAY", BANK, "HLBBMYKL", true),
    service(28, "AMBANK (M) BERHAD", "PAYOUT_AMBANK_WEBPAY", BANK, "ARBKMYKL", true),
    service(29, "BANK ISLAM MALAYSIA BERHAD", "PAYOUT_BANK_ISLAM_WEBPAY", BANK, "BIMBMYKL", true),
    service(30, "BANK SIMPANAN NASIONAL", "PAYOUT_BSN_WEBPAY", BANK, "BSNAMYK1", true),
    service(31, "AFFIN BANK BERHAD", "PAYOUT_AFFIN_WEBPAY", BANK, "PHBMMYKL", false),
    service(40, "TOUCH N GO EWALLET", "PAYOUT_TNG_EWALLET_WEBPAY", EWALLET, "TNGDMYNB", true),
    service(41, "BOOST", "PAYOUT_BOOST_WEBPAY", EWALLET, "BOOSMYK2", true),
    service(42, "GRABPAY", "PAYOUT_GRABPAY_WEBPAY", EWALLET, "GRABMYK2", true),
];

/// The service a payout or verification names, if it is listed and ACTIVE.
pub(super) fn usable(id: i64) -> Result<&'static PayoutService, Refusal> {
    match SERVICES.iter().find(|s| s.id == id) {
        Some(s) if s.active => Ok(s),
        Some(s) => Err(Refusal {
            code: code::INVALID_SERVICE,
            description: "INVALID_PAYOUT_SERVICE".into(),
            breakdown: Some(format!("payout service {} is INACTIVE", s.id)),
        }),
        None => Err(Refusal {
            code: code::INVALID_SERVICE,
            description: "INVALID_PAYOUT_SERVICE".into(),
            breakdown: None,
        }),
    }
}

#[derive(Serialize)]
struct Entry {
    payout_service_id: i64,
    payment_model_reference: &'static str,
    unique_reference: &'static str,
    payment_service: &'static str,
    name: &'static str,
    // Not in LEANX.md's list: clients must ignore fields they do not know.
    bic_code: &'static str,
    record_status: &'static str,
}

/// `data` of `list-payout-services`.
pub(super) fn list() -> Box<RawValue> {
    let items: Vec<Entry> = SERVICES
        .iter()
        .map(|s| Entry {
            payout_service_id: s.id,
            payment_model_reference: "B2C",
            unique_reference: s.unique_reference,
            payment_service: s.payment_service,
            name: s.name,
            bic_code: s.bic,
            record_status: if s.active { "ACTIVE" } else { "INACTIVE" },
        })
        .collect();
    raw(
        &json!({ "list": { "data": [ { "SWITCH_PAYOUT_WEBPAY": items } ], "total": SERVICES.len() } }),
    )
}
