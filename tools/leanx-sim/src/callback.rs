//! The success callback: an HS256 JWT (no exp/iat, as LeanX sends it) posted to the payout's
//! `client_callback_url`, retried with backoff, every attempt logged.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json, value::RawValue};

use crate::control::SimPayout;
use crate::handlers::money;
use crate::state::Shared;

#[derive(Serialize)]
struct Claims {
    output: Output,
}

#[derive(Serialize)]
struct Output {
    invoice_no: String,
    invoice_status: &'static str,
    invoice_status_id: u8,
    amount: String,
    payout_service_id: i64,
    client_callback_url: String,
    error_description: Vec<String>,
    client_data: Value,
    bank_response: Value,
    payout_payment: PayoutPayment,
    client_transaction_details: Option<Value>,
}

#[derive(Serialize)]
struct PayoutPayment {
    item: Item,
}

#[derive(Serialize)]
struct Item {
    // Raw so the balance stays an exact JSON number.
    balance: Box<RawValue>,
    currency: &'static str,
}

/// The JWT LeanX would send for this (successful) payout.
pub(crate) fn jwt(hash_key: &str, p: &SimPayout, balance: Decimal) -> Result<String, String> {
    let claims = Claims {
        output: Output {
            invoice_no: p.invoice_no.clone(),
            invoice_status: "SUCCESS",
            invoice_status_id: 2,
            amount: format!("{:.2}", p.amount),
            payout_service_id: p.payout_service_id,
            client_callback_url: p.client_callback_url.clone(),
            error_description: Vec::new(),
            client_data: json!({
                "virtual_pool_reference": p.virtual_pool_reference,
                "external_invoice_ref": p.external_invoice_ref,
                "recipient_reference": p.recipient_reference,
            }),
            bank_response: json!({
                "Success": true,
                "Result": {
                    "PaymentStatus": "ACSP",
                    "BankReferenceNo": p.bank_reference_no,
                    "DisplayName": p.recipient_name.to_uppercase(),
                    "CreditorAccountNo": p.third_party_account_no,
                }
            }),
            payout_payment: PayoutPayment {
                item: Item {
                    balance: money(balance),
                    currency: "MYR",
                },
            },
            client_transaction_details: None,
        },
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(hash_key.as_bytes()),
    )
    .map_err(|e| e.to_string())
}

/// Sends the callback in the background, honouring the callback faults.
pub(crate) fn send(shared: &Arc<Shared>, payout: &SimPayout, balance: Decimal) {
    let faults = shared.lock().callback_faults.clone();
    let token = match jwt(&shared.config.hash_key, payout, balance) {
        Ok(t) => t,
        Err(e) => {
            shared.log_callback(payout, b"", None, None, format!("failed: jwt: {e}"));
            return;
        }
    };
    let body = json!({ "data": token, "response_code": 2100 }).to_string();
    if faults.drop {
        shared.log_callback(
            payout,
            body.as_bytes(),
            None,
            None,
            "dropped (fault)".into(),
        );
        return;
    }
    let me = Arc::clone(shared);
    let payout = payout.clone();
    shared.spawn_bg(async move {
        for _ in 0..faults.duplicate.max(1) {
            if faults.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
            }
            deliver(&me, &payout, &body).await;
        }
    });
}

/// One delivery: the first attempt plus `callback_retries` retries on error or non-2xx.
async fn deliver(shared: &Shared, payout: &SimPayout, body: &str) {
    let attempts = shared.config.callback_retries + 1;
    let mut backoff = shared.config.callback_backoff;
    for attempt in 1..=attempts {
        let result = shared
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
        shared.log_callback(payout, body.as_bytes(), Some(attempt), status, outcome);
        if ok {
            return;
        }
        if attempt < attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}
