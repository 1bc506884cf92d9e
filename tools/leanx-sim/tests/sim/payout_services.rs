//! `list-payout-services`: the banks and e-wallets, and the services a payout may use.

use leanx_sim::control::{FaultKind, Times};
use serde_json::Value;

use crate::support::*;

async fn services(s: &Sim) -> Vec<Value> {
    let v = s.call("list-payout-services", None).await;
    assert_eq!(v["response_code"], 2000, "{v}");
    v["data"]["list"]["data"][0]["SWITCH_PAYOUT_WEBPAY"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn maybank_is_service_23_under_its_registered_name() {
    let s = start().await;
    let all = services(&s).await;
    let maybank = all.iter().find(|i| i["payout_service_id"] == 23).unwrap();
    assert_eq!(maybank["name"], "MALAYAN BANKING BERHAD");
    assert_eq!(maybank["unique_reference"], "PAYOUT_MAYBANK_WEBPAY");
    assert_eq!(maybank["payment_model_reference"], "B2C");
    assert_eq!(maybank["record_status"], "ACTIVE");
}

#[tokio::test]
async fn every_service_has_leanx_fields_and_a_unique_id_and_reference() {
    let s = start().await;
    let all = services(&s).await;
    assert!((8..=15).contains(&all.len()), "{}", all.len());
    for i in &all {
        assert!(i["payout_service_id"].is_u64(), "{i}");
        assert_eq!(i["payment_model_reference"], "B2C");
        for field in ["unique_reference", "payment_service", "name"] {
            assert!(
                i[field].as_str().is_some_and(|v| !v.is_empty()),
                "{field}: {i}"
            );
        }
    }
    let mut ids: Vec<u64> = all
        .iter()
        .map(|i| i["payout_service_id"].as_u64().unwrap())
        .collect();
    let mut refs: Vec<&str> = all
        .iter()
        .map(|i| i["unique_reference"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    refs.sort();
    refs.dedup();
    assert_eq!((ids.len(), refs.len()), (all.len(), all.len()));
}

#[tokio::test]
async fn banks_and_ewallets_are_listed_and_exactly_one_is_inactive() {
    let s = start().await;
    let all = services(&s).await;
    let kinds: Vec<&str> = all
        .iter()
        .map(|i| i["payment_service"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"DUITNOW_ACCOUNT") && kinds.contains(&"EWALLET"));
    let inactive: Vec<_> = all
        .iter()
        .filter(|i| i["record_status"] == "INACTIVE")
        .collect();
    assert_eq!(inactive.len(), 1, "{inactive:?}");
    assert!(
        all.iter()
            .all(|i| ["ACTIVE", "INACTIVE"].contains(&i["record_status"].as_str().unwrap()))
    );
}

#[tokio::test]
async fn a_payout_to_the_inactive_service_is_refused() {
    let s = start().await;
    let all = services(&s).await;
    let inactive = all
        .iter()
        .find(|i| i["record_status"] == "INACTIVE")
        .unwrap();
    let id = inactive["payout_service_id"].to_string();
    let body = create_body_with("INV-1", "5.00", ACCOUNT, "http://x/cb", &id);
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4569, "{v}");
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn faults_apply_to_the_service_list() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "list-payout-services",
            FaultKind::Http500Before,
            Times::Count(1),
        )
        .await
        .unwrap();
    let resp = s.post("list-payout-services").send().await.unwrap();
    assert_eq!(resp.status(), 500);
    assert!(!services(&s).await.is_empty());
    assert_eq!(s.ctl.count("list-payout-services").await.unwrap(), 2);
}
