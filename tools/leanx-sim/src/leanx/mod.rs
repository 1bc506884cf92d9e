//! The LeanX endpoints: auth, validation and the `data` shapes of LEANX.md, answered in
//! LeanX's envelope. Pure request -> answer logic; transport and faults live in `http`.

mod auth;
mod balance;
mod bank_verification;
mod body;
mod create;
mod payout_services;
mod transaction_list;
mod transactions;

use std::sync::Arc;
use std::time::Duration;

use hyper::{HeaderMap, Method};
use serde::Serialize;
use serde_json::{Value, json, value::RawValue};

use crate::control::Outcome;
use crate::state::Simulator;
use crate::wire::{micros, now};

pub(crate) use body::external_invoice_ref;

pub(crate) const PREFIX: &str = "/api/v1/merchant/";

/// Refusal codes. LeanX's table is not public: apart from 4566 and 5699 these are the
/// simulator's own choices (docs/simulator.md lists them).
pub(crate) mod code {
    pub const SUCCESS: i64 = 2000;
    pub const FAILED: i64 = 4566;
    pub const INVALID_POOL: i64 = 4568;
    pub const INVALID_SERVICE: i64 = 4569;
    pub const INSUFFICIENT_POOL: i64 = 4570;
    pub const FORBIDDEN: i64 = 4003;
    pub const NOT_FOUND: i64 = 4004;
    pub const INVALID_UUID: i64 = 5699;
    pub const INVALID_TOKEN: i64 = 5698;
    pub const INVALID_SIGNATURE: i64 = 5697;
    pub const SIGNATURE_EXPIRED: i64 = 5696;
    pub const UNKNOWN: i64 = 9999;
}

/// The endpoints the simulator answers (the path after `/api/v1/merchant/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    ListPayoutServices,
    CreatePayoutInvoice,
    GetPayoutTransactionById,
    CheckVerificationBank,
    OverallBalance,
    PayoutTransactionList,
}

impl Endpoint {
    fn from_name(name: &str) -> Option<Endpoint> {
        Some(match name {
            "list-payout-services" => Endpoint::ListPayoutServices,
            "create-payout-invoice" => Endpoint::CreatePayoutInvoice,
            "get-payout-transaction-by-id" => Endpoint::GetPayoutTransactionById,
            "check-verification-bank" => Endpoint::CheckVerificationBank,
            "overall-balance" => Endpoint::OverallBalance,
            "payout-transaction-list" => Endpoint::PayoutTransactionList,
            _ => return None,
        })
    }
}

/// A non-2000 answer: code, description and an optional `breakdown_errors` text.
pub(crate) struct Refusal {
    pub code: i64,
    pub description: String,
    pub breakdown: Option<String>,
}

fn refuse(code: i64, description: &str) -> Refusal {
    Refusal {
        code,
        description: description.to_string(),
        breakdown: None,
    }
}

/// 4566 FAILED with the reason in `breakdown_errors`.
fn failed(why: impl Into<String>) -> Refusal {
    Refusal {
        code: code::FAILED,
        description: "FAILED".into(),
        breakdown: Some(why.into()),
    }
}

/// A created payout whose scenario outcome must be applied once the answer is out.
pub(crate) struct Created {
    pub invoice_no: String,
    pub outcome: Outcome,
    pub delay: Duration,
}

/// One handled call: the code answered, the envelope, and the payout it created, if any.
pub(crate) struct Answered {
    pub code: i64,
    pub body: Vec<u8>,
    pub created: Option<Created>,
}

#[derive(Serialize)]
struct Envelope {
    response_code: i64,
    description: String,
    app_version: &'static str,
    talk_to_server_before: String,
    data: Box<RawValue>,
    breakdown_errors: Value,
    token: Value,
    // Not in LeanX's docs: clients must ignore fields they do not know.
    request_id: String,
}

/// LeanX's envelope around `data`.
pub(crate) fn envelope(
    sim: &Simulator,
    code: i64,
    description: &str,
    data: Box<RawValue>,
    breakdown: Option<String>,
) -> Vec<u8> {
    let seq = {
        let mut state = sim.lock();
        state.answers += 1;
        state.answers
    };
    // Real LeanX sends both "" and null here; alternate so clients must accept both.
    let (empty_breakdown, token) = if seq % 2 == 0 {
        (json!(""), Value::Null)
    } else {
        (Value::Null, json!(""))
    };
    let env = Envelope {
        response_code: code,
        description: description.to_string(),
        app_version: "/api/v1",
        talk_to_server_before: micros(now()),
        data,
        breakdown_errors: breakdown.map_or(empty_breakdown, Value::String),
        token,
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    serde_json::to_vec(&env).unwrap_or_default()
}

/// The envelope of a refusal (`data: null`).
pub(crate) fn refusal_envelope(sim: &Simulator, refusal: Refusal) -> Vec<u8> {
    envelope(
        sim,
        refusal.code,
        &refusal.description,
        RawValue::NULL.to_owned(),
        refusal.breakdown,
    )
}

/// Handles one call to `endpoint` (the path after `/api/v1/merchant/`).
pub(crate) fn answer(
    sim: &Arc<Simulator>,
    method: &Method,
    endpoint: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Answered {
    match route(sim, method, endpoint, headers, query, body) {
        Ok((data, created)) => Answered {
            code: code::SUCCESS,
            body: envelope(sim, code::SUCCESS, "SUCCESS", data, None),
            created,
        },
        Err(r) => Answered {
            code: r.code,
            body: refusal_envelope(sim, r),
            created: None,
        },
    }
}

fn route(
    sim: &Arc<Simulator>,
    method: &Method,
    endpoint: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<(Box<RawValue>, Option<Created>), Refusal> {
    let known = Endpoint::from_name(endpoint).filter(|_| method == Method::POST);
    let Some(known) = known else {
        return Err(refuse(code::FORBIDDEN, "Requested endpoint is forbidden"));
    };
    auth::check(&sim.config, method, &format!("{PREFIX}{endpoint}"), headers)?;
    let data = match known {
        Endpoint::CreatePayoutInvoice => return create::create(sim, body),
        Endpoint::ListPayoutServices => payout_services::list(),
        Endpoint::GetPayoutTransactionById => transactions::by_id(sim, query)?,
        Endpoint::CheckVerificationBank => bank_verification::check(sim, body)?,
        Endpoint::OverallBalance => balance::overall(sim),
        Endpoint::PayoutTransactionList => transaction_list::list(sim, query, body)?,
    };
    Ok((data, None))
}
