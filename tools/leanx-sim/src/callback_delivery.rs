//! Posting the success callback to a payout's `client_callback_url`: retried with backoff,
//! shaped by the callback faults, every attempt logged.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::callback_jwt::SuccessCallback;
use crate::control::SimPayout;
use crate::state::Simulator;

/// The callback LeanX would send for this (successful) payout; `balance` is the pool after it.
fn success_callback(p: &SimPayout, balance: Decimal) -> SuccessCallback {
    SuccessCallback {
        invoice_no: p.invoice_no.clone(),
        amount: p.amount,
        payout_service_id: p.payout_service_id,
        client_callback_url: p.client_callback_url.clone(),
        virtual_pool_reference: p.virtual_pool_reference.clone(),
        external_invoice_ref: p.external_invoice_ref.clone(),
        recipient_reference: p.recipient_reference.clone(),
        bank_reference_no: p.bank_reference_no.clone(),
        display_name: p.recipient_name.to_uppercase(),
        account_no: p.third_party_account_no.clone(),
        balance,
    }
}

/// Sends the callback in the background, honouring the callback faults.
pub(crate) fn send(sim: &Arc<Simulator>, payout: &SimPayout, balance: Decimal) {
    let faults = sim.lock().callback_faults.clone();
    let body = match success_callback(payout, balance).body(&sim.config.hash_key) {
        Ok(body) => body,
        Err(e) => {
            sim.log_callback(payout, b"", None, None, format!("failed: jwt: {e}"));
            return;
        }
    };
    if faults.drop {
        sim.log_callback(
            payout,
            body.as_bytes(),
            None,
            None,
            "dropped (fault)".into(),
        );
        return;
    }
    let me = Arc::clone(sim);
    let payout = payout.clone();
    sim.spawn_bg(async move {
        for _ in 0..faults.duplicate.max(1) {
            if faults.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
            }
            deliver(&me, &payout, &body).await;
        }
    });
}

/// One delivery: the first attempt plus `callback_retries` retries on error or non-2xx.
async fn deliver(sim: &Simulator, payout: &SimPayout, body: &str) {
    let attempts = sim.config.callback_retries + 1;
    let mut backoff = sim.config.callback_backoff;
    for attempt in 1..=attempts {
        let result = sim
            .http
            .post(&payout.client_callback_url)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(10))
            .body(body.to_string())
            .send()
            .await;
        let (status, outcome, ok) = match result {
            Ok(resp) if resp.status().is_success() => (
                Some(resp.status().as_u16()),
                format!("delivered {}", resp.status().as_u16()),
                true,
            ),
            Ok(resp) => (
                Some(resp.status().as_u16()),
                format!("failed: http {}", resp.status().as_u16()),
                false,
            ),
            Err(e) => (None, format!("failed: {e}"), false),
        };
        sim.log_callback(payout, body.as_bytes(), Some(attempt), status, outcome);
        if ok {
            return;
        }
        if attempt < attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}
