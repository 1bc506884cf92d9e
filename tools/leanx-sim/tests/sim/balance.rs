//! `overall-balance` and the payout pool: exact numbers, debits, refunds, the RM 2.00 floor.

use std::time::Duration;

use leanx_sim::SimConfig;
use leanx_sim::control::{FaultKind, Outcome, Times};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::support::*;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn pool(s: &Sim) -> String {
    raw_data_field(
        &s.call_text("overall-balance", None).await,
        "prefund_balance",
    )
}

#[tokio::test]
async fn the_pool_starts_at_the_configured_prefund_balance() {
    let s = start_with(SimConfig {
        initial_prefund_balance: dec("393.63"),
        ..SimConfig::default()
    })
    .await;
    assert_eq!(pool(&s).await, "393.63");
    assert_eq!(s.ctl.balance().await.unwrap(), dec("393.63"));
}

#[tokio::test]
async fn an_accepted_payout_takes_exactly_its_amount_from_the_pool() {
    let s = start().await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.create_ok("INV-1", "0.10").await;
    s.create_ok("INV-2", "0.20").await;
    assert_eq!(pool(&s).await, "999999.70");
}

#[tokio::test]
async fn a_failed_payout_is_refunded_and_a_refused_one_never_debited() {
    let s = start_with(SimConfig {
        initial_prefund_balance: dec("20.00"),
        ..SimConfig::default()
    })
    .await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.create_ok("INV-1", "10.01").await;
    assert_eq!(s.create("INV-2", "8.00").await["response_code"], 4570);
    assert_eq!(pool(&s).await, "9.99");
    s.ctl.settle("INV-1", "FAILED").await.unwrap();
    assert_eq!(pool(&s).await, "20.00");
}

#[tokio::test]
async fn a_successful_payout_stays_debited() {
    let s = start().await;
    let inv = s.create_ok("INV-1", "13.05").await;
    s.wait_status(&inv, "SUCCESS").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(pool(&s).await, "999986.95");
}

#[tokio::test]
async fn transaction_balance_sums_todays_successes_exactly() {
    let s = start().await;
    for (r, amount) in [("INV-1", "13.05"), ("INV-2", "0.10")] {
        let inv = s.create_ok(r, amount).await;
        s.wait_status(&inv, "SUCCESS").await;
    }
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.create_ok("INV-3", "7.00").await;
    let text = s.call_text("overall-balance", None).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    let tb = serde_json::to_string(&v["data"]["transaction_balance"]).unwrap();
    assert!(text.contains(r#""value":13.15"#), "{tb} in {text}");
    assert_eq!(v["data"]["total_transaction_as_of_today"], 3);
    assert!(v["data"]["total_transaction_as_of_today"].is_u64());
}

#[tokio::test]
async fn the_pool_can_be_set_and_read_through_control() {
    let s = start().await;
    s.ctl.set_balance(dec("2.50")).await.unwrap();
    assert_eq!(s.ctl.balance().await.unwrap(), dec("2.50"));
    assert_eq!(s.create("INV-1", "0.51").await["response_code"], 4570);
    s.create_ok("INV-2", "0.50").await;
    assert_eq!(pool(&s).await, "2.00");
}

#[tokio::test]
async fn faults_apply_to_the_balance() {
    let s = start().await;
    s.ctl
        .inject_fault("overall-balance", FaultKind::MalformedJson, Times::Count(1))
        .await
        .unwrap();
    let text = s
        .post("overall-balance")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert_eq!(pool(&s).await, "1000000.00");
}
