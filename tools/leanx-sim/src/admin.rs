//! Server side of the `/__sim/` scenario-control API (JSON, no auth: local use only).

use std::sync::Arc;
use std::time::Duration;

use hyper::{Method, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::control::{CallbackFaults, FaultSpec, Outcome, SettleRequest};
use crate::server::{SimBody, json_response};
use crate::state::{SettleError, Shared};

fn ok(v: Value) -> Response<SimBody> {
    json_response(200, &v)
}

fn error(status: u16, msg: impl Into<String>) -> Response<SimBody> {
    json_response(status, &json!({ "error": msg.into() }))
}

fn to_json(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A client error: status and message.
type Bad = (u16, String);

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Bad> {
    serde_json::from_slice(body).map_err(|e| (400, format!("bad request body: {e}")))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

pub(crate) fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    rest: &str,
    body: &[u8],
) -> Response<SimBody> {
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let result = match (method.as_str(), segments.as_slice()) {
        ("GET", ["health"]) => Ok(ok(json!({ "ok": true }))),
        ("GET", ["outcome"]) => {
            let inner = shared.lock();
            Ok(ok(json!({
                "default": to_json(&inner.default_outcome),
                "accounts": to_json(&inner.account_outcomes),
            })))
        }
        ("POST", ["outcome"]) => parse::<Outcome>(body).map(|o| {
            shared.lock().default_outcome = o.clone();
            ok(to_json(&o))
        }),
        ("POST", ["outcome", account]) => parse::<Outcome>(body).map(|o| {
            shared
                .lock()
                .account_outcomes
                .insert(decode(account), o.clone());
            ok(to_json(&o))
        }),
        ("DELETE", ["outcome", account]) => {
            shared.lock().account_outcomes.remove(&decode(account));
            Ok(ok(json!({ "ok": true })))
        }
        ("POST", ["settle-delay"]) => {
            #[derive(Deserialize)]
            struct Delay {
                ms: u64,
            }
            parse::<Delay>(body).map(|d| {
                shared.lock().settle_delay = Duration::from_millis(d.ms);
                ok(json!({ "ms": d.ms }))
            })
        }
        ("GET", ["faults"]) => Ok(ok(to_json(&shared.lock().faults.list()))),
        ("POST", ["faults"]) => parse::<FaultSpec>(body).map(|f| {
            let mut inner = shared.lock();
            inner.faults.add(f);
            ok(to_json(&inner.faults.list()))
        }),
        ("DELETE", ["faults"]) => {
            shared.lock().faults.clear();
            Ok(ok(json!([])))
        }
        ("GET", ["callback-faults"]) => Ok(ok(to_json(&shared.lock().callback_faults))),
        ("POST", ["callback-faults"]) => parse::<CallbackFaults>(body).map(|f| {
            shared.lock().callback_faults = f.clone();
            ok(to_json(&f))
        }),
        ("POST", ["settle"]) => parse::<SettleRequest>(body).map(|req| {
            if req.status != "SUCCESS" && req.status != "FAILED" {
                return error(400, "status must be SUCCESS or FAILED");
            }
            match shared.settle(&req.id, &req.status, req.error_description) {
                Ok(p) => ok(to_json(&p)),
                Err(SettleError::NotFound) => error(404, "no such payout"),
                Err(SettleError::AlreadyFinal(s)) => error(409, format!("payout is already {s}")),
            }
        }),
        ("GET", ["calls"]) => Ok(ok(to_json(&shared.lock().calls()))),
        ("GET", ["counts"]) => Ok(ok(to_json(&shared.lock().counts))),
        ("GET", ["counts", "by-ref"]) => Ok(ok(to_json(&shared.lock().ref_counts()))),
        ("GET", ["payouts"]) => Ok(ok(to_json(&shared.lock().payouts))),
        ("GET", ["payouts", id]) => {
            let mut inner = shared.lock();
            Ok(match inner.find_mut(&decode(id)) {
                Some(p) => ok(to_json(p)),
                None => error(404, "no such payout"),
            })
        }
        ("POST", ["balance"]) => {
            #[derive(Deserialize)]
            struct Balance {
                prefund_balance: Decimal,
            }
            parse::<Balance>(body).map(|b| {
                shared.lock().balance = b.prefund_balance;
                ok(json!({ "prefund_balance": b.prefund_balance }))
            })
        }
        ("POST", ["reset"]) => {
            shared.reset();
            Ok(ok(json!({ "ok": true })))
        }
        _ => Err((404, "unknown control endpoint".to_string())),
    };
    result.unwrap_or_else(|(status, msg)| error(status, msg))
}
