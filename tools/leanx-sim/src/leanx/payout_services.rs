//! The banks and e-wallets a payout can go to (`list-payout-services`).

use serde_json::{Value, json};

use crate::wire::raw;

/// One entry of `SWITCH_PAYOUT_WEBPAY`.
pub(super) struct PayoutService {
    pub id: i64,
    pub name: &'static str,
    pub bic: &'static str,
    /// `DUITNOW_ACCOUNT` (bank) or `EWALLET`.
    pub payment_service: &'static str,
}

const fn service(
    id: i64,
    name: &'static str,
    bic: &'static str,
    payment_service: &'static str,
) -> PayoutService {
    PayoutService {
        id,
        name,
        bic,
        payment_service,
    }
}

const SERVICES: &[PayoutService] = &[
    service(1, "Maybank", "MBBEMYKL", "DUITNOW_ACCOUNT"),
    service(2, "CIMB Bank", "CIBBMYKL", "DUITNOW_ACCOUNT"),
    service(3, "Public Bank", "PBBEMYKL", "DUITNOW_ACCOUNT"),
    service(4, "RHB Bank", "RHBBMYKL", "DUITNOW_ACCOUNT"),
    service(5, "Hong Leong Bank", "HLBBMYKL", "DUITNOW_ACCOUNT"),
    service(6, "AmBank", "ARBKMYKL", "DUITNOW_ACCOUNT"),
    service(7, "Bank Islam", "BIMBMYKL", "DUITNOW_ACCOUNT"),
    service(8, "Bank Rakyat", "BKRMMYKL", "DUITNOW_ACCOUNT"),
    service(9, "Bank Simpanan Nasional", "BSNAMYK1", "DUITNOW_ACCOUNT"),
    service(10, "Affin Bank", "PHBMMYKL", "DUITNOW_ACCOUNT"),
    service(11, "Alliance Bank", "MFBBMYKL", "DUITNOW_ACCOUNT"),
    service(12, "OCBC Bank", "OCBCMYKL", "DUITNOW_ACCOUNT"),
    service(13, "HSBC Bank", "HBMBMYKL", "DUITNOW_ACCOUNT"),
    service(14, "UOB Bank", "UOVBMYKL", "DUITNOW_ACCOUNT"),
    service(15, "Standard Chartered", "SCBLMYKX", "DUITNOW_ACCOUNT"),
    service(16, "Bank Muamalat", "BMMBMYKL", "DUITNOW_ACCOUNT"),
    service(17, "Agrobank", "AGOBMYK1", "DUITNOW_ACCOUNT"),
    service(18, "Al Rajhi Bank", "RJHIMYKL", "DUITNOW_ACCOUNT"),
    service(19, "MBSB Bank", "AFBQMYKL", "DUITNOW_ACCOUNT"),
    service(20, "Kuwait Finance House", "KFHOMYKL", "DUITNOW_ACCOUNT"),
    service(21, "Citibank", "CITIMYKL", "DUITNOW_ACCOUNT"),
    service(22, "Bank of China", "BKCHMYKL", "DUITNOW_ACCOUNT"),
    service(23, "Touch 'n Go eWallet", "TNGDMYNB", "EWALLET"),
    service(24, "Boost", "BOOSMYK2", "EWALLET"),
    service(25, "GrabPay", "GRABMYK2", "EWALLET"),
    service(26, "ShopeePay", "SHPEMYK2", "EWALLET"),
    service(27, "MAE by Maybank", "MBBEMYKL", "EWALLET"),
    service(28, "BigPay", "BIGPMYK2", "EWALLET"),
    service(29, "AEON Bank", "AEONMYK2", "DUITNOW_ACCOUNT"),
    service(30, "GXBank", "GXSPMYKL", "DUITNOW_ACCOUNT"),
];

pub(super) fn find(id: i64) -> Option<&'static PayoutService> {
    SERVICES.iter().find(|s| s.id == id)
}

/// `data` of `list-payout-services`.
pub(super) fn list() -> Box<serde_json::value::RawValue> {
    let items: Vec<Value> = SERVICES
        .iter()
        .map(|s| {
            json!({
                "payout_service_id": s.id,
                "payment_model_reference": "B2C",
                "unique_reference": format!("SWITCH_PAYOUT_WEBPAY_{:03}", s.id),
                "payment_service": s.payment_service,
                "name": s.name,
                "bic_code": s.bic,
                "record_status": "ACTIVE",
            })
        })
        .collect();
    raw(
        &json!({ "list": { "data": [ { "SWITCH_PAYOUT_WEBPAY": items } ], "total": SERVICES.len() } }),
    )
}
