//! Server side of the `/__sim/` scenario-control API (JSON, no auth: local use only), as an
//! axum router. Bodies are read as JSON whatever their content type, so `curl -d` works.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::control::{AccountScript, CallbackFaults, FaultSpec, Outcome, SettleRequest};
use crate::settlement::{self, SettleError};
use crate::state::Simulator;

type Sim = State<Arc<Simulator>>;

/// A refused control request: `{"error": "..."}` with this status.
struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

/// A JSON body, whatever the `content-type` says.
struct JsonBody<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ControlError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ControlError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ControlError(StatusCode::BAD_REQUEST, e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ControlError(StatusCode::BAD_REQUEST, format!("bad request body: {e}")))
    }
}

fn to_json(v: &impl serde::Serialize) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

fn ok() -> Json<Value> {
    Json(json!({ "ok": true }))
}

pub(crate) fn router(sim: Arc<Simulator>) -> Router {
    let unknown =
        || async { ControlError(StatusCode::NOT_FOUND, "unknown control endpoint".into()) };
    let routes = Router::new()
        .route("/health", get(|| async { ok() }))
        .route("/outcome", get(outcomes).post(set_default_outcome))
        .route(
            "/outcome/{account}",
            post(set_account_outcome).delete(clear_account_outcome),
        )
        .route("/settle-delay", post(set_settle_delay))
        .route("/faults", get(faults).post(add_fault).delete(clear_faults))
        .route(
            "/callback-faults",
            get(callback_faults).post(set_callback_faults),
        )
        .route("/settle", post(settle))
        .route("/calls", get(calls))
        .route("/counts", get(counts))
        .route("/counts/by-ref", get(counts_by_ref))
        .route("/payouts", get(payouts))
        .route("/payouts/{id}", get(payout))
        .route("/payouts/{id}/status", post(set_transaction_status))
        .route("/accounts", get(bank_accounts))
        .route(
            "/accounts/{account}",
            post(script_bank_account).delete(clear_bank_account),
        )
        .route("/balance", get(balance).post(set_balance))
        .route("/reset", post(reset));
    Router::new()
        .nest("/__sim", routes)
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .with_state(sim)
}

async fn outcomes(State(sim): Sim) -> Json<Value> {
    let state = sim.lock();
    Json(json!({
        "default": to_json(&state.default_outcome).0,
        "accounts": to_json(&state.account_outcomes).0,
    }))
}

async fn set_default_outcome(State(sim): Sim, JsonBody(o): JsonBody<Outcome>) -> Json<Value> {
    sim.lock().default_outcome = o.clone();
    to_json(&o)
}

async fn set_account_outcome(
    State(sim): Sim,
    Path(account): Path<String>,
    JsonBody(o): JsonBody<Outcome>,
) -> Json<Value> {
    sim.lock().account_outcomes.insert(account, o.clone());
    to_json(&o)
}

async fn clear_account_outcome(State(sim): Sim, Path(account): Path<String>) -> Json<Value> {
    sim.lock().account_outcomes.remove(&account);
    ok()
}

#[derive(Deserialize)]
struct SettleDelay {
    ms: u64,
}

async fn set_settle_delay(State(sim): Sim, JsonBody(d): JsonBody<SettleDelay>) -> Json<Value> {
    sim.lock().settle_delay = Duration::from_millis(d.ms);
    Json(json!({ "ms": d.ms }))
}

async fn faults(State(sim): Sim) -> Json<Value> {
    to_json(&sim.lock().faults.pending())
}

async fn add_fault(State(sim): Sim, JsonBody(f): JsonBody<FaultSpec>) -> Json<Value> {
    let mut state = sim.lock();
    state.faults.add(f);
    to_json(&state.faults.pending())
}

async fn clear_faults(State(sim): Sim) -> Json<Value> {
    sim.lock().faults.clear();
    Json(json!([]))
}

async fn callback_faults(State(sim): Sim) -> Json<Value> {
    to_json(&sim.lock().callback_faults)
}

async fn set_callback_faults(
    State(sim): Sim,
    JsonBody(f): JsonBody<CallbackFaults>,
) -> Json<Value> {
    sim.lock().callback_faults = f.clone();
    to_json(&f)
}

async fn settle(
    State(sim): Sim,
    JsonBody(req): JsonBody<SettleRequest>,
) -> Result<Json<Value>, ControlError> {
    if req.status != "SUCCESS" && req.status != "FAILED" {
        return Err(ControlError(
            StatusCode::BAD_REQUEST,
            "status must be SUCCESS or FAILED".into(),
        ));
    }
    match settlement::settle(&sim, &req.id, &req.status, req.error_description) {
        Ok(p) => Ok(to_json(&p)),
        Err(SettleError::NotFound) => Err(no_such_payout()),
        Err(SettleError::AlreadyFinal(s)) => Err(ControlError(
            StatusCode::CONFLICT,
            format!("payout is already {s}"),
        )),
    }
}

fn no_such_payout() -> ControlError {
    ControlError(StatusCode::NOT_FOUND, "no such payout".into())
}

async fn calls(State(sim): Sim) -> Json<Value> {
    to_json(&sim.lock().log.records())
}

async fn counts(State(sim): Sim) -> Json<Value> {
    to_json(&sim.lock().log.per_endpoint)
}

async fn counts_by_ref(State(sim): Sim) -> Json<Value> {
    to_json(&sim.lock().ref_counts())
}

async fn payouts(State(sim): Sim) -> Json<Value> {
    to_json(&sim.lock().payouts)
}

async fn payout(State(sim): Sim, Path(id): Path<String>) -> Result<Json<Value>, ControlError> {
    let mut state = sim.lock();
    let p = state.find_payout_mut(&id).ok_or_else(no_such_payout)?;
    Ok(to_json(p))
}

#[derive(Deserialize)]
struct Balance {
    prefund_balance: Decimal,
}

async fn set_balance(State(sim): Sim, JsonBody(b): JsonBody<Balance>) -> Json<Value> {
    sim.lock().balance = b.prefund_balance;
    Json(json!({ "prefund_balance": b.prefund_balance }))
}

#[derive(Deserialize)]
struct SetStatus {
    transaction_status: String,
}

/// Puts a raw `transaction_status` on a payout: no settlement, callback or refund.
async fn set_transaction_status(
    State(sim): Sim,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetStatus>,
) -> Result<Json<Value>, ControlError> {
    if body.transaction_status.is_empty() {
        return Err(ControlError(
            StatusCode::BAD_REQUEST,
            "transaction_status must not be empty".into(),
        ));
    }
    let mut state = sim.lock();
    let p = state.find_payout_mut(&id).ok_or_else(no_such_payout)?;
    p.transaction_status = body.transaction_status;
    p.updated_at = crate::wire::now();
    Ok(to_json(p))
}

async fn bank_accounts(State(sim): Sim) -> Json<Value> {
    to_json(&sim.lock().bank_accounts)
}

async fn script_bank_account(
    State(sim): Sim,
    Path(account): Path<String>,
    JsonBody(script): JsonBody<AccountScript>,
) -> Json<Value> {
    sim.lock().bank_accounts.insert(account, script.clone());
    to_json(&script)
}

async fn clear_bank_account(State(sim): Sim, Path(account): Path<String>) -> Json<Value> {
    sim.lock().bank_accounts.remove(&account);
    ok()
}

async fn balance(State(sim): Sim) -> Json<Value> {
    Json(json!({ "prefund_balance": sim.lock().balance }))
}

async fn reset(State(sim): Sim) -> Json<Value> {
    sim.reset();
    ok()
}
