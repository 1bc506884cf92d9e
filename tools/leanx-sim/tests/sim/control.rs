//! The call log and the `/__sim/` control API.

use leanx_sim::control::Outcome;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn counts_per_endpoint_and_per_ref() {
    let s = start().await;
    s.create_ok("INV-1", "1.00").await;
    s.create_ok("INV-1", "1.00").await;
    s.create_ok("INV-2", "1.00").await;
    s.call("overall-balance", None).await;
    let counts = s.ctl.counts().await.unwrap();
    assert_eq!(counts["create-payout-invoice"], 3);
    assert_eq!(s.ctl.count("overall-balance").await.unwrap(), 1);
    assert_eq!(s.ctl.count("check-verification-bank").await.unwrap(), 0);
    assert_eq!(s.ctl.create_calls_for_ref("INV-1").await.unwrap(), 2);
    assert_eq!(s.ctl.create_calls_for_ref("INV-2").await.unwrap(), 1);
}

#[tokio::test]
async fn call_log_keeps_bodies_exact_and_never_the_auth_token() {
    let s = start().await;
    s.create_ok("INV-1", "13.05").await;
    let calls = s.ctl.calls().await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].endpoint, "create-payout-invoice");
    assert!(calls[0].outcome.contains("2000"));
    assert!(
        calls[0]
            .body
            .as_ref()
            .unwrap()
            .get()
            .contains("\"amount\":13.05")
    );
    let all = reqwest::get(format!("{}/__sim/calls", s.sim.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = s.cfg.auth_token.split('|').nth(2).unwrap();
    assert!(!all.contains(secret));
}

#[tokio::test]
async fn reset_clears_payouts_balance_and_log() {
    let s = start().await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.create_ok("INV-1", "100.00").await;
    s.ctl.reset().await.unwrap();
    assert!(s.ctl.payouts().await.unwrap().is_empty());
    assert!(s.ctl.calls().await.unwrap().is_empty());
    s.create_ok("INV-2", "1.00").await;
    s.wait_status("INV-2", "SUCCESS").await;
    let p = s.ctl.payout("INV-2").await.unwrap().unwrap();
    assert_eq!(p.amount, Decimal::new(100, 2));
}

#[tokio::test]
async fn set_balance_replaces_the_pool_balance() {
    let s = start().await;
    s.ctl.set_balance(Decimal::new(1234, 2)).await.unwrap();
    let text = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&text, "prefund_balance"), "12.34");
    assert_eq!(s.create("INV-1", "10.35").await["response_code"], 4570);
}

#[tokio::test]
async fn control_bodies_are_read_as_json_whatever_the_content_type() {
    let s = start().await;
    let resp = s
        .http
        .post(format!("{}/__sim/balance", s.sim.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"prefund_balance":"42.00"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&text, "prefund_balance"), "42.00");
}

#[tokio::test]
async fn unknown_control_routes_and_methods_answer_404() {
    let s = start().await;
    let base = s.sim.base_url();
    let unknown = s
        .http
        .get(format!("{base}/__sim/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "unknown control endpoint");
    let wrong_method = s
        .http
        .delete(format!("{base}/__sim/calls"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 404);
}

#[tokio::test]
async fn control_paths_take_a_trailing_slash_and_encoded_ids() {
    let s = start().await;
    let base = s.sim.base_url();
    let health = s
        .http
        .get(format!("{base}/__sim/health/"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    s.create_ok("ORDER:2026/1", "1.00").await;
    let p = s.ctl.payout("ORDER:2026/1").await.unwrap().unwrap();
    assert_eq!(p.external_invoice_ref.as_deref(), Some("ORDER:2026/1"));
}
