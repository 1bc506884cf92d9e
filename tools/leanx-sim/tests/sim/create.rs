//! `create-payout-invoice` validation and `get-payout-transaction-by-id` lookups.

use leanx_sim::SimConfig;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn string_payout_service_id_is_refused_4566() {
    let s = start().await;
    let body = create_body_with("INV-1", "13.00", ACCOUNT, "http://x/cb", "\"23\"");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4566);
    assert_eq!(v["description"], "FAILED");
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn string_amount_is_refused_4566() {
    let s = start().await;
    let v = s.create("INV-1", "\"13.00\"").await;
    assert_eq!(v["response_code"], 4566);
}

#[tokio::test]
async fn amount_with_three_decimals_is_refused() {
    let s = start().await;
    let v = s.create("INV-1", "13.005").await;
    assert_eq!(v["response_code"], 4566);
}

#[tokio::test]
async fn missing_required_field_is_refused() {
    let s = start().await;
    let body = create_body("INV-1", "13.00", ACCOUNT, "http://x/cb")
        .replace("\"recipient_name\":\"John Doe\",", "");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4566);
}

#[tokio::test]
async fn wrong_pool_is_refused() {
    let s = start().await;
    let body =
        create_body("INV-1", "13.00", ACCOUNT, "http://x/cb").replace(POOL, "VA-OTHER-PAYOUT");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4568);
}

#[tokio::test]
async fn unknown_payout_service_is_refused() {
    let s = start().await;
    let body = create_body_with("INV-1", "13.00", ACCOUNT, "http://x/cb", "999");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4569);
}

#[tokio::test]
async fn exact_amounts_round_trip() {
    let s = start_with(SimConfig {
        initial_prefund_balance: Decimal::new(20_000_000_000, 2),
        ..SimConfig::default()
    })
    .await;
    for amount in ["13.05", "99999999.99", "0.10"] {
        let inv = s.create_ok(&format!("INV-{amount}"), amount).await;
        let text = s.get_text(&inv).await;
        assert_eq!(raw_data_field(&text, "value"), amount);
    }
}

#[tokio::test]
async fn pool_must_keep_two_ringgit() {
    let s = start_with(SimConfig {
        initial_prefund_balance: Decimal::new(1500, 2),
        ..SimConfig::default()
    })
    .await;
    let v = s.create("INV-1", "13.01").await;
    assert_eq!(v["response_code"], 4570);
    s.create_ok("INV-2", "13.00").await;
    let text = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&text, "prefund_balance"), "2.00");
}

#[tokio::test]
async fn same_ref_twice_creates_two_payouts() {
    let s = start().await;
    let a = s.create_ok("INV-1", "13.00").await;
    let b = s.create_ok("INV-1", "13.00").await;
    assert_ne!(a, b);
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 2);
}

#[tokio::test]
async fn lookup_by_invoice_no_with_colon() {
    let s = start().await;
    let inv = s.create_ok("INV-1", "13.00").await;
    assert!(inv.contains(':'));
    let v = s.get(&inv).await;
    assert_eq!(v["data"]["payout_invoice_no"], inv.as_str());
}

#[tokio::test]
async fn lookup_by_external_ref_url_encoded() {
    let s = start().await;
    let inv = s.create_ok("ORDER:2026:0001", "13.00").await;
    let text = s.get_text("ORDER:2026:0001").await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["payout_invoice_no"], inv.as_str());
    assert_eq!(v["data"]["merchant_invoice_id"], "ORDER:2026:0001");
    let calls = s.ctl.calls().await.unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c.query.as_deref() == Some("_id=ORDER%3A2026%3A0001"))
    );
}

#[tokio::test]
async fn unknown_id_is_refused_4004() {
    let s = start().await;
    let v = s.get("NO-SUCH-REF").await;
    assert_eq!(v["response_code"], 4004);
}
