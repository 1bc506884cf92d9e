//! `get-payout-transaction-by-id` under scripted refusals and raw statuses.

use std::time::Duration;

use leanx_sim::control::{FaultKind, Outcome, Times};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_refuse_fault_answers_its_envelope_for_n_lookups_then_the_payout() {
    let s = start().await;
    let inv = s.create_ok("INV-1", "1.00").await;
    s.ctl
        .inject_fault(
            "get-payout-transaction-by-id",
            FaultKind::Refuse {
                response_code: 4290,
                description: "TOO_MANY_REQUESTS".into(),
            },
            Times::Count(2),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let v = s.get(&inv).await;
        assert_eq!(
            (v["response_code"].clone(), v["description"].clone()),
            (json!(4290), json!("TOO_MANY_REQUESTS"))
        );
        assert!(v["data"].is_null());
    }
    assert_eq!(s.get(&inv).await["response_code"], 2000);
    let calls = s.ctl.calls().await.unwrap();
    let faulted: Vec<_> = calls.iter().filter_map(|c| c.fault.as_deref()).collect();
    assert_eq!(faulted, ["refuse 4290", "refuse 4290"]);
}

#[tokio::test]
async fn a_refuse_fault_can_answer_maintenance_on_any_endpoint() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "*",
            FaultKind::Refuse {
                response_code: 5000,
                description: "MAINTENANCE".into(),
            },
            Times::Always,
        )
        .await
        .unwrap();
    assert_eq!(s.call("overall-balance", None).await["response_code"], 5000);
    assert_eq!(s.create("INV-1", "1.00").await["response_code"], 5000);
    assert!(
        s.ctl.payouts().await.unwrap().is_empty(),
        "a refused create is not recorded"
    );
}

#[tokio::test]
async fn a_scripted_raw_status_is_reported_verbatim() {
    let s = start().await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    let inv = s.create_ok("INV-1", "1.00").await;
    let p = s
        .ctl
        .set_transaction_status("INV-1", "REVERSED")
        .await
        .unwrap();
    assert_eq!(p.transaction_status, "REVERSED");
    assert_eq!(s.status_of(&inv).await, "REVERSED");
    s.ctl.set_transaction_status(&inv, "Success").await.unwrap();
    assert_eq!(s.status_of("INV-1").await, "Success");
    assert!(
        s.ctl.callbacks().await.unwrap().is_empty(),
        "no callback for a raw status"
    );
}

#[tokio::test]
async fn a_raw_status_for_an_unknown_payout_is_404() {
    let s = start().await;
    assert!(
        s.ctl
            .set_transaction_status("NO-SUCH", "REVERSED")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_raw_status_outcome_applies_after_the_settle_delay() {
    let s = start().await;
    s.ctl
        .set_settle_delay(Duration::from_millis(200))
        .await
        .unwrap();
    s.ctl
        .set_outcome(Outcome::RawStatus {
            transaction_status: "PROCESSING".into(),
        })
        .await
        .unwrap();
    let inv = s.create_ok("INV-1", "1.00").await;
    assert_eq!(s.status_of(&inv).await, "PENDING");
    s.wait_status(&inv, "PROCESSING").await;
}

#[tokio::test]
async fn an_unknown_id_is_answered_4004_transaction_not_found() {
    let s = start().await;
    let v = s.get("INV-NEVER-SENT").await;
    assert_eq!(v["response_code"], 4004);
    assert_eq!(v["description"], "TRANSACTION_NOT_FOUND");
    assert!(v["data"].is_null());
}
