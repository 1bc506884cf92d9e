//! Scenario outcomes, settlement and the success callback.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use leanx_sim::SimConfig;
use leanx_sim::control::{CallbackFaults, Outcome};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn success_settles_and_posts_verifiable_jwt_callback() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    let body = create_body("INV-CB", "13.05", ACCOUNT, &rx.url);
    let v = s.call("create-payout-invoice", Some(body)).await;
    let inv = v["data"]["invoice_no"].as_str().unwrap().to_string();
    s.wait_status(&inv, "SUCCESS").await;
    let got = rx.wait_for(1).await;
    assert_eq!(got[0]["response_code"], 2100);
    let claims = decode_jwt(got[0]["data"].as_str().unwrap(), &s.cfg.hash_key);
    let o = &claims["output"];
    assert!(claims.get("exp").is_none() && claims.get("iat").is_none());
    assert_eq!(o["invoice_no"], inv.as_str());
    assert_eq!(o["invoice_status"], "SUCCESS");
    assert_eq!(o["invoice_status_id"], 2);
    assert_eq!(o["amount"], "13.05");
    assert_eq!(o["payout_service_id"], 23);
    assert_eq!(o["client_callback_url"], rx.url.as_str());
    assert_eq!(o["error_description"], json!([]));
    assert_eq!(o["client_data"]["virtual_pool_reference"], POOL);
    assert_eq!(o["client_data"]["external_invoice_ref"], "INV-CB");
    assert_eq!(o["client_data"]["recipient_reference"], "Salary Nov");
    assert_eq!(o["bank_response"]["Success"], true);
    assert_eq!(o["bank_response"]["Result"]["PaymentStatus"], "ACSP");
    assert!(o["bank_response"]["Result"]["BankReferenceNo"].is_string());
    assert!(o["bank_response"]["Result"]["DisplayName"].is_string());
    assert!(o["payout_payment"]["item"]["balance"].is_number());
    assert!(o["client_transaction_details"].is_null());
}

#[tokio::test]
async fn callback_jwt_does_not_verify_with_another_key() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
    )
    .await;
    let got = rx.wait_for(1).await;
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    let wrong = DecodingKey::from_secret(b"not-the-hash-key");
    assert!(jsonwebtoken::decode::<Value>(got[0]["data"].as_str().unwrap(), &wrong, &v).is_err());
}

#[tokio::test]
async fn failed_settles_with_error_refund_and_no_callback() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_outcome(Outcome::Failed {
            error_description: Some("ACCOUNT CLOSED".into()),
        })
        .await
        .unwrap();
    let v = s
        .call(
            "create-payout-invoice",
            Some(create_body("INV-F", "13.00", ACCOUNT, &rx.url)),
        )
        .await;
    let inv = v["data"]["invoice_no"].as_str().unwrap().to_string();
    s.wait_status(&inv, "FAILED").await;
    assert_eq!(
        s.get(&inv).await["data"]["error_description"],
        "ACCOUNT CLOSED"
    );
    let text = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&text, "prefund_balance"), "1000000.00");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.bodies().is_empty());
    assert!(s.ctl.callbacks().await.unwrap().is_empty());
}

#[tokio::test]
async fn pending_stays_until_forced_success() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-P", "5.00", ACCOUNT, &rx.url)),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(s.status_of("INV-P").await, "PENDING");
    assert!(rx.bodies().is_empty());
    let p = s.ctl.settle("INV-P", "SUCCESS").await.unwrap();
    assert_eq!(p.transaction_status, "SUCCESS");
    assert_eq!(s.status_of("INV-P").await, "SUCCESS");
    rx.wait_for(1).await;
}

#[tokio::test]
async fn pending_approval_stays_until_forced_failed() {
    let s = start().await;
    s.ctl
        .set_outcome(Outcome::StatusPendingApproval)
        .await
        .unwrap();
    s.create_ok("INV-A", "5.00").await;
    s.wait_status("INV-A", "STATUS_PENDING_APPROVAL").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.status_of("INV-A").await, "STATUS_PENDING_APPROVAL");
    s.ctl.settle("INV-A", "FAILED").await.unwrap();
    assert_eq!(s.status_of("INV-A").await, "FAILED");
    assert!(
        s.ctl.settle("INV-A", "SUCCESS").await.is_err(),
        "final stays final"
    );
}

#[tokio::test]
async fn refuse_outcome_refuses_and_records_nothing() {
    let s = start().await;
    s.ctl
        .set_outcome(Outcome::Refuse {
            response_code: 4599,
            description: "DAILY_LIMIT".into(),
        })
        .await
        .unwrap();
    let v = s.create("INV-R", "5.00").await;
    assert_eq!(v["response_code"], 4599);
    assert_eq!(v["description"], "DAILY_LIMIT");
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn account_outcome_overrides_default() {
    let s = start().await;
    s.ctl
        .set_account_outcome(
            "1234567890",
            Outcome::Failed {
                error_description: None,
            },
        )
        .await
        .unwrap();
    let body = create_body("INV-X", "5.00", "1234567890", "http://127.0.0.1:9/cb");
    s.call("create-payout-invoice", Some(body)).await;
    s.create_ok("INV-Y", "5.00").await;
    s.wait_status("INV-X", "FAILED").await;
    s.wait_status("INV-Y", "SUCCESS").await;
}

#[tokio::test]
async fn settle_delay_keeps_payout_pending_until_it_passes() {
    let s = start().await;
    s.ctl
        .set_settle_delay(Duration::from_millis(400))
        .await
        .unwrap();
    s.create_ok("INV-D", "5.00").await;
    assert_eq!(s.status_of("INV-D").await, "PENDING");
    s.wait_status("INV-D", "SUCCESS").await;
}

#[tokio::test]
async fn callback_is_retried_until_receiver_accepts() {
    let s = start().await;
    let rx = receiver(vec![500, 503]).await;
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
    )
    .await;
    rx.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let attempts = s.ctl.callbacks().await.unwrap();
    let statuses: Vec<_> = attempts
        .iter()
        .map(|c| (c.attempt, c.http_status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some(1), Some(500)),
            (Some(2), Some(503)),
            (Some(3), Some(200))
        ]
    );
    assert_eq!(rx.bodies().len(), 3);
}

#[tokio::test]
async fn callback_to_unreachable_receiver_is_logged_per_attempt() {
    let s = start_with(SimConfig {
        callback_retries: 2,
        callback_backoff: Duration::from_millis(10),
        ..SimConfig::default()
    })
    .await;
    s.create_ok("INV-1", "1.00").await;
    for _ in 0..100 {
        if s.ctl.callbacks().await.unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let attempts = s.ctl.callbacks().await.unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|c| c.outcome.starts_with("failed")));
}

#[tokio::test]
async fn callback_fault_duplicate_sends_each_callback_n_times() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_callback_faults(CallbackFaults {
            duplicate: 3,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
    )
    .await;
    let got = rx.wait_for(3).await;
    assert!(got.iter().all(|b| b == &got[0]));
}

#[tokio::test]
async fn callback_fault_drop_never_sends() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_callback_faults(CallbackFaults {
            drop: true,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    let v = s
        .call(
            "create-payout-invoice",
            Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
        )
        .await;
    s.wait_status(v["data"]["invoice_no"].as_str().unwrap(), "SUCCESS")
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(rx.bodies().is_empty());
}

#[tokio::test]
async fn callback_fault_delay_holds_the_callback() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_callback_faults(CallbackFaults {
            delay_ms: 500,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    let v = s
        .call(
            "create-payout-invoice",
            Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
        )
        .await;
    s.wait_status(v["data"]["invoice_no"].as_str().unwrap(), "SUCCESS")
        .await;
    assert!(rx.bodies().is_empty());
    rx.wait_for(1).await;
}

#[tokio::test]
async fn the_exported_success_callback_is_an_hs256_jwt_of_leanx_claims() {
    let mut cb = leanx_sim::SuccessCallback::new("PAYOUT-AB12:101010-LEANX", "INV-9", dec("13.05"));
    cb.balance = dec("999986.95");
    let token = cb.jwt("the-hash-key").unwrap();
    let claims = decode_jwt(&token, "the-hash-key");
    assert!(claims.get("exp").is_none() && claims.get("iat").is_none());
    let o = &claims["output"];
    assert_eq!(o["invoice_no"], "PAYOUT-AB12:101010-LEANX");
    assert_eq!(o["invoice_status"], "SUCCESS");
    assert_eq!(o["invoice_status_id"], 2);
    assert_eq!(o["amount"], "13.05");
    assert_eq!(o["payout_service_id"], 23);
    assert_eq!(o["client_data"]["external_invoice_ref"], "INV-9");
    assert_eq!(o["client_data"]["virtual_pool_reference"], POOL);
    assert_eq!(o["bank_response"]["Result"]["PaymentStatus"], "ACSP");
    assert!(
        cb.claims_json().contains(r#""balance":999986.95"#),
        "the balance is an exact JSON number: {}",
        cb.claims_json()
    );
}

#[tokio::test]
async fn the_exported_success_callback_body_is_what_the_sim_posts() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    let v = s
        .call(
            "create-payout-invoice",
            Some(create_body("INV-SAME", "13.05", ACCOUNT, &rx.url)),
        )
        .await;
    let inv = v["data"]["invoice_no"].as_str().unwrap().to_string();
    let got = rx.wait_for(1).await;
    let payout = s.ctl.payout(&inv).await.unwrap().unwrap();
    let cb = leanx_sim::SuccessCallback {
        client_callback_url: rx.url.clone(),
        bank_reference_no: payout.bank_reference_no.clone(),
        balance: dec("999986.95"),
        ..leanx_sim::SuccessCallback::new(&inv, "INV-SAME", dec("13.05"))
    };
    let expected: Value = serde_json::from_str(&cb.body(&s.cfg.hash_key).unwrap()).unwrap();
    assert_eq!(got[0], expected);
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}
