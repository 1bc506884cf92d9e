//! The LeanX endpoints: envelope and `data` shapes.

use leanx_sim::control::Outcome;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn envelope_has_leanx_fields_and_varies_empty_and_null() {
    let s = start().await;
    let a = s.call("overall-balance", None).await;
    let b = s.call("overall-balance", None).await;
    for v in [&a, &b] {
        assert_eq!(v["app_version"], "/api/v1");
        let ts = v["talk_to_server_before"].as_str().unwrap();
        chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.6f").unwrap();
        assert_eq!(ts.len(), 26, "microseconds, no zone: {ts}");
        assert!(v["request_id"].is_string(), "an undocumented extra field");
    }
    assert_ne!(a["token"], b["token"]);
    assert_ne!(a["breakdown_errors"], b["breakdown_errors"]);
    for field in ["token", "breakdown_errors"] {
        let seen = [&a[field], &b[field]];
        assert!(seen.contains(&&Value::Null) && seen.contains(&&json!("")));
    }
}

#[tokio::test]
async fn create_answers_status_and_invoice_no() {
    let s = start().await;
    let v = s.create("INV-1", "13.00").await;
    assert_eq!(v["response_code"], 2000);
    assert_eq!(v["data"]["status"], "SUCCESS");
    let inv = v["data"]["invoice_no"].as_str().unwrap();
    let re = inv
        .strip_prefix("PAYOUT-")
        .unwrap()
        .strip_suffix("-LEANX")
        .unwrap();
    let (hex4, digits) = re.split_once(':').unwrap();
    assert_eq!(hex4.len(), 4);
    assert!(hex4.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()));
}

#[tokio::test]
async fn transaction_has_every_leanx_field() {
    let s = start().await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    let inv = s.create_ok("INV-1", "13.00").await;
    let v = s.get(&inv).await;
    assert_eq!(v["response_code"], 2000);
    let d = &v["data"];
    for f in [
        "payout_invoice_no",
        "merchant_invoice_id",
        "id",
        "payout_account_number",
        "transaction_fee",
        "account_id",
        "record_status",
        "updated_at",
        "switch_invoice_id",
        "transaction_invoice_no",
        "transaction_status",
        "value",
        "switch_transaction_fee",
        "api_key",
        "created_at",
    ] {
        assert!(!d[f].is_null(), "missing {f}: {d}");
    }
    assert_eq!(d["payout_invoice_no"], inv.as_str());
    assert_eq!(d["merchant_invoice_id"], "INV-1");
    assert_eq!(d["payout_account_number"], ACCOUNT);
    assert_eq!(d["transaction_status"], "PENDING");
    assert!(d["value"].is_number());
    let updated = d["updated_at"].as_str().unwrap();
    chrono::NaiveDateTime::parse_from_str(updated, "%Y-%m-%dT%H:%M:%S").unwrap();
    assert_eq!(updated.len(), 19, "no zone, no micros: {updated}");
}

#[tokio::test]
async fn overall_balance_reflects_payouts() {
    let s = start().await;
    let before = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&before, "prefund_balance"), "1000000.00");
    s.create_ok("INV-1", "13.05").await;
    let after = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&after, "prefund_balance"), "999986.95");
    let v: Value = serde_json::from_str(&after).unwrap();
    assert!(v["data"]["transaction_balance"]["value"].is_number());
    assert_eq!(v["data"]["total_transaction_as_of_today"], 1);
}

#[tokio::test]
async fn unknown_endpoint_is_forbidden() {
    let s = start().await;
    let v = s.call("create-payout", None).await;
    assert_ne!(v["response_code"], 2000);
    assert_eq!(v["description"], "Requested endpoint is forbidden");
}
