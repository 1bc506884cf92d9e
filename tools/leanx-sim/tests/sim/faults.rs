//! Faults on LeanX endpoints.

use std::time::Duration;

use leanx_sim::control::{FaultKind, Times};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn fault_latency_delays_then_answers() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "overall-balance",
            FaultKind::Latency { ms: 300 },
            Times::Count(1),
        )
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let v = s.call("overall-balance", None).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["response_code"], 2000);
}

#[tokio::test]
async fn a_payout_whose_client_gave_up_still_settles() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Latency { ms: 300 },
            Times::Count(1),
        )
        .await
        .unwrap();
    let impatient = s
        .post("create-payout-invoice")
        .timeout(Duration::from_millis(100))
        .header("content-type", "application/json")
        .body(create_body(
            "INV-GAVE-UP",
            "1.00",
            ACCOUNT,
            "http://127.0.0.1:9/cb",
        ))
        .send()
        .await;
    assert!(impatient.is_err(), "the client timed out");
    let calls = s.ctl.calls().await.unwrap();
    let create = calls
        .iter()
        .find(|c| c.endpoint == "create-payout-invoice")
        .unwrap();
    assert_eq!(
        create.fault.as_deref(),
        Some("latency 300ms"),
        "the log says it was faulted"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.wait_status("INV-GAVE-UP", "SUCCESS").await;
}

#[tokio::test]
async fn fault_http_500_before_records_nothing() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Http500Before,
            Times::Count(1),
        )
        .await
        .unwrap();
    let resp = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert!(s.ctl.payouts().await.unwrap().is_empty());
    assert_eq!(s.ctl.create_calls_for_ref("INV-1").await.unwrap(), 1);
}

#[tokio::test]
async fn fault_http_500_after_records_the_payout() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Http500After,
            Times::Count(1),
        )
        .await
        .unwrap();
    let resp = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
    assert_eq!(s.get("INV-1").await["response_code"], 2000);
}

#[tokio::test]
async fn fault_hang_records_and_never_answers() {
    let s = start().await;
    s.ctl
        .inject_fault("create-payout-invoice", FaultKind::Hang, Times::Count(1))
        .await
        .unwrap();
    let r = s
        .post("create-payout-invoice")
        .timeout(Duration::from_millis(400))
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
}

#[tokio::test]
async fn dropping_the_sim_closes_a_hung_connection() {
    let s = start().await;
    s.ctl
        .inject_fault("overall-balance", FaultKind::Hang, Times::Count(1))
        .await
        .unwrap();
    let req = s
        .post("overall-balance")
        .timeout(Duration::from_secs(5))
        .send();
    let pending = tokio::spawn(req);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = std::time::Instant::now();
    s.sim.shutdown().await;
    let r = pending.await.unwrap();
    assert!(r.is_err());
    assert!(t.elapsed() < Duration::from_secs(2));
}

async fn assert_connection_dropped(s: &Sim) {
    let r = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_timeout() && e.status().is_none(), "{e:?}");
}

#[tokio::test]
async fn fault_drop_before_closes_without_response_or_payout() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::DropBefore,
            Times::Count(1),
        )
        .await
        .unwrap();
    assert_connection_dropped(&s).await;
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn fault_drop_after_closes_without_response_but_records() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::DropAfter,
            Times::Count(1),
        )
        .await
        .unwrap();
    assert_connection_dropped(&s).await;
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
    s.wait_status("INV-1", "SUCCESS").await;
}

#[tokio::test]
async fn fault_malformed_json_answers_200_non_json_after_recording() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::MalformedJson,
            Times::Count(1),
        )
        .await
        .unwrap();
    let resp = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
}

#[tokio::test]
async fn fault_unknown_code_answers_9999_without_recording() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::UnknownCode,
            Times::Count(1),
        )
        .await
        .unwrap();
    let v = s.create("INV-1", "1.00").await;
    assert_eq!(v["response_code"], 9999);
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn fault_is_consumed_by_the_next_n_calls() {
    let s = start().await;
    s.ctl
        .inject_fault("overall-balance", FaultKind::UnknownCode, Times::Count(2))
        .await
        .unwrap();
    let codes: Vec<Value> = futures_codes(&s, 3).await;
    assert_eq!(codes, vec![json!(9999), json!(9999), json!(2000)]);
}

#[tokio::test]
async fn fault_always_applies_until_cleared() {
    let s = start().await;
    s.ctl
        .inject_fault("*", FaultKind::UnknownCode, Times::Always)
        .await
        .unwrap();
    assert_eq!(futures_codes(&s, 3).await, vec![json!(9999); 3]);
    s.ctl.clear_faults().await.unwrap();
    assert_eq!(futures_codes(&s, 1).await, vec![json!(2000)]);
}

async fn futures_codes(s: &Sim, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(s.call("overall-balance", None).await["response_code"].clone());
    }
    out
}
