//! `check-verification-bank`: who holds an account.

use serde_json::json;
use serde_json::value::RawValue;

use super::body::{fields, req_int, req_str};
use super::{Refusal, code, payout_services, refuse};
use crate::wire::raw;

pub(super) fn check(body: &[u8]) -> Result<Box<RawValue>, Refusal> {
    let f = fields(body)?;
    let service_id = req_int(&f, "payout_service_id")?;
    let account = req_str(&f, "third_party_account_no")?;
    let Some(service) = payout_services::find(service_id) else {
        return Err(refuse(code::INVALID_SERVICE, "INVALID_PAYOUT_SERVICE"));
    };
    if !(5..=34).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(raw(&json!({ "Success": false, "Result": null })));
    }
    let last4 = &account[account.len() - 4..];
    Ok(raw(&json!({
        "Success": true,
        "Result": {
            "OrgnThirdPartyBankBICCode": service.bic,
            "OrgnThirdPartyAccountNo": account,
            "CreditorName": format!("SIM RECIPIENT {last4}"),
        }
    })))
}
