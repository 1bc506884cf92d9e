//! `auth-token` and request signing.

use leanx_sim::SimConfig;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn missing_auth_token_is_refused() {
    let s = start().await;
    let resp = s.http.post(s.url("overall-balance")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["response_code"], 5698);
    assert_eq!(v["description"], "INVALID_TOKEN");
}

#[tokio::test]
async fn other_merchant_uuid_is_refused_invalid_uuid() {
    let s = start().await;
    let v: Value = s
        .http
        .post(s.url("overall-balance"))
        .header(
            "auth-token",
            "LP-PROD0001-MM|11111111-2222-4333-8444-555555555555|abcdef",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["response_code"], 5699);
    assert_eq!(v["description"], "INVALID_UUID");
}

async fn signed_call(s: &Sim, ts: i64, tamper: bool) -> Value {
    let path = "/api/v1/merchant/overall-balance";
    let ts = ts.to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut sig = sign(&s.cfg, path, &ts, &nonce);
    if tamper {
        sig.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
    }
    s.post("overall-balance?ignored=1")
        .header("x-timestamp", ts)
        .header("x-nonce", nonce)
        .header("x-signature", sig)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn signing() -> SimConfig {
    SimConfig {
        require_signature: true,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn valid_signature_is_accepted() {
    let s = start_with(signing()).await;
    let v = signed_call(&s, chrono::Utc::now().timestamp(), false).await;
    assert_eq!(v["response_code"], 2000, "{v}");
}

#[tokio::test]
async fn wrong_signature_is_refused() {
    let s = start_with(signing()).await;
    let v = signed_call(&s, chrono::Utc::now().timestamp(), true).await;
    assert_eq!(v["response_code"], 5697);
}

#[tokio::test]
async fn missing_signature_is_refused_when_required() {
    let s = start_with(signing()).await;
    let v = s.call("overall-balance", None).await;
    assert_eq!(v["response_code"], 5697);
}

#[tokio::test]
async fn stale_signature_timestamp_is_refused() {
    let s = start_with(signing()).await;
    let v = signed_call(&s, chrono::Utc::now().timestamp() - 301, false).await;
    assert_eq!(v["response_code"], 5696);
}
