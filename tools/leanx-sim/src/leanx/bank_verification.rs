//! `check-verification-bank`: who holds an account, as scripted through `/__sim/accounts`.

use serde_json::json;
use serde_json::value::RawValue;

use super::body::{fields, req_int, req_str};
use super::{Refusal, payout_services};
use crate::control::AccountScript;
use crate::state::Simulator;
use crate::wire::raw;

/// `CreditorName` of accounts nobody scripted: the name the project's tests pay.
pub(crate) const DEFAULT_HOLDER: &str = "JOHN DOE";

fn holder(bic: &str, account: &str, name: &str) -> Box<RawValue> {
    raw(&json!({
        "Success": true,
        "Result": {
            "OrgnThirdPartyBankBICCode": bic,
            "OrgnThirdPartyAccountNo": account,
            "CreditorName": name,
        }
    }))
}

fn not_found() -> Box<RawValue> {
    raw(&json!({ "Success": false, "Result": null }))
}

pub(super) fn check(sim: &Simulator, body: &[u8]) -> Result<Box<RawValue>, Refusal> {
    let f = fields(body)?;
    let service_id = req_int(&f, "payout_service_id")?;
    let account = req_str(&f, "third_party_account_no")?;
    let service = payout_services::usable(service_id)?;
    let script = sim.lock().bank_accounts.get(&account).cloned();
    match script {
        Some(AccountScript::Holder { holder_name, bic }) => Ok(holder(
            bic.as_deref().unwrap_or(service.bic),
            &account,
            &holder_name,
        )),
        Some(AccountScript::NotFound) => Ok(not_found()),
        Some(AccountScript::Refuse {
            response_code,
            description,
        }) => Err(Refusal {
            code: response_code,
            description,
            breakdown: Some(format!("account {account} not found")),
        }),
        None if !(5..=34).contains(&account.len())
            || !account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(not_found())
        }
        None => Ok(holder(service.bic, &account, DEFAULT_HOLDER)),
    }
}
