use chrono::Duration;

use super::*;
use crate::domain::{PayoutRequest, PayoutStatus};
use crate::testing::{InMemoryStore, ScriptedProvider, payout_body, t0};

const HASH_KEY: &str = "test-hash-key";

fn token(claims: serde_json::Value) -> Vec<u8> {
    crate::leanx::hs256::install();
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({ "output": claims }),
        &jsonwebtoken::EncodingKey::from_secret(HASH_KEY.as_bytes()),
    )
    .unwrap();
    serde_json::to_vec(&serde_json::json!({ "data": jwt })).unwrap()
}

fn success(ext_ref: &str, invoice_no: &str, amount: &str) -> Vec<u8> {
    token(serde_json::json!({
        "invoice_no": invoice_no, "invoice_status": "SUCCESS", "amount": amount,
        "client_data": { "virtual_pool_reference": "VA-1", "external_invoice_ref": ext_ref,
                         "recipient_reference": "Salary Nov" }
    }))
}

fn pending_sent() -> Payout {
    let request = PayoutRequest::from_json(&payout_body("INV-1")).unwrap();
    Payout::new_pending(&request, "o".into(), t0(), Duration::seconds(30))
        .start_send(t0(), Duration::seconds(30))
}

fn processing() -> Payout {
    let mut p = pending_sent();
    p.status = PayoutStatus::Processing;
    p.invoice_no = Some("PAYOUT-1".into());
    p
}

fn world(payout: Payout) -> (Arc<InMemoryStore>, Arc<ScriptedProvider>, TakeCallback) {
    let store = Arc::new(InMemoryStore::new());
    store.put(payout);
    let leanx = Arc::new(ScriptedProvider::new());
    let take = TakeCallback {
        store: store.clone(),
        provider: leanx.clone(),
        hash_key: Secret::new(HASH_KEY.to_owned()),
        virtual_pool_reference: "VA-1".into(),
    };
    (store, leanx, take)
}

fn now() -> DateTime<Utc> {
    t0() + Duration::seconds(5)
}

#[tokio::test]
async fn a_matching_success_settles_the_payout() {
    let (store, _, take) = world(processing());
    let outcome = take
        .run(&success("INV-1", "PAYOUT-1", "13.00"), now())
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        CallbackOutcome::Applied(Applied::Moved(_))
    ));
    assert_eq!(
        store.stored("INV-1").unwrap().status,
        PayoutStatus::Succeeded
    );
}

#[tokio::test]
async fn an_unparsable_amount_is_kept_unmatched_and_never_applied() {
    let (store, _, take) = world(processing());
    let outcome = take
        .run(&success("INV-1", "PAYOUT-1", "13.0.0"), now())
        .await
        .unwrap();
    assert!(
        matches!(outcome, CallbackOutcome::KeptUnmatched { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        store.stored("INV-1").unwrap().status,
        PayoutStatus::Processing
    );
    assert_eq!(store.kept_callbacks().len(), 1);
}

#[tokio::test]
async fn a_callback_for_a_payout_leanx_never_recorded_is_not_applied() {
    // LeanX's answer was lost, so no invoice_no is stored; LeanX says it does not know it.
    let (store, leanx, take) = world(pending_sent());
    leanx.answer_lookup(Err(ScriptedProvider::refusal(
        "4004",
        "TRANSACTION_NOT_FOUND",
    )));
    let outcome = take
        .run(&success("INV-1", "PAYOUT-X", "13.00"), now())
        .await
        .unwrap();
    assert!(
        matches!(outcome, CallbackOutcome::KeptUnmatched { .. }),
        "{outcome:?}"
    );
    assert_eq!(store.stored("INV-1").unwrap().status, PayoutStatus::Pending);
    assert_eq!(leanx.lookups_made(), 1);
}

#[tokio::test]
async fn a_callback_for_a_payout_without_invoice_no_is_applied_once_leanx_confirms_it() {
    let (store, leanx, take) = world(pending_sent());
    leanx.answer_lookup(Ok(ScriptedProvider::transaction(
        "SUCCESS",
        Some("PAYOUT-1"),
    )));
    take.run(&success("INV-1", "PAYOUT-1", "13.00"), now())
        .await
        .unwrap();
    let p = store.stored("INV-1").unwrap();
    assert_eq!(p.status, PayoutStatus::Succeeded);
    assert_eq!(p.invoice_no.as_deref(), Some("PAYOUT-1"));
}

#[tokio::test]
async fn a_replayed_token_is_kept_once() {
    let (store, _, take) = world(processing());
    let forged_amount = success("INV-1", "PAYOUT-1", "99.00");
    for _ in 0..3 {
        take.run(&forged_amount, now()).await.unwrap();
    }
    assert_eq!(store.kept_callbacks().len(), 1);
}

#[tokio::test]
async fn a_callback_naming_another_pool_is_not_applied() {
    let (store, _, take) = world(processing());
    let body = token(serde_json::json!({
        "invoice_no": "PAYOUT-1", "invoice_status": "SUCCESS", "amount": "13.00",
        "client_data": { "virtual_pool_reference": "VA-OTHER", "external_invoice_ref": "INV-1" }
    }));
    let outcome = take.run(&body, now()).await.unwrap();
    assert!(matches!(outcome, CallbackOutcome::KeptUnmatched { .. }));
    assert_eq!(
        store.stored("INV-1").unwrap().status,
        PayoutStatus::Processing
    );
}

#[tokio::test]
async fn a_forged_token_is_rejected() {
    let (_, _, mut take) = world(processing());
    take.hash_key = Secret::new("another-key".to_owned());
    let result = take
        .run(&success("INV-1", "PAYOUT-1", "13.00"), now())
        .await;
    assert!(matches!(result, Err(CallbackRejected::Untrusted(_))));
}

fn kept(ext_ref: Option<&str>, invoice_no: &str, status: &str, amount: &str) -> UnmatchedCallback {
    UnmatchedCallback {
        id: "cb-1".into(),
        received_at: t0(),
        reason: "no payout".into(),
        claims: CallbackClaims {
            invoice_no: invoice_no.into(),
            invoice_status: status.into(),
            amount: Some(amount.into()),
            external_invoice_ref: ext_ref.map(str::to_owned),
            virtual_pool_reference: None,
            recipient_reference: None,
            third_party_account_no: None,
            payout_service_id: None,
        },
    }
}

#[tokio::test]
async fn a_kept_success_is_replayed_when_found_by_ref_or_invoice_no() {
    for callback in [
        kept(Some("INV-1"), "PAYOUT-1", "SUCCESS", r#""13.00""#),
        kept(None, "PAYOUT-1", "SUCCESS", "13.00"),
    ] {
        let (store, _, _) = world(processing());
        let outcome = replay_kept_callback(store.as_ref(), &callback, "VA-1", now())
            .await
            .unwrap();
        assert!(
            matches!(outcome, ReplayOutcome::Applied(Applied::Moved(_))),
            "{outcome:?}"
        );
        assert_eq!(
            store.stored("INV-1").unwrap().status,
            PayoutStatus::Succeeded
        );
    }
}

#[tokio::test]
async fn a_kept_callback_that_still_disagrees_is_not_replayed() {
    for callback in [
        kept(Some("INV-1"), "PAYOUT-1", "SUCCESS", r#""13.01""#),
        kept(Some("INV-1"), "PAYOUT-2", "SUCCESS", r#""13.00""#),
        kept(Some("INV-1"), "PAYOUT-1", "FAILED", r#""13.00""#),
        kept(Some("INV-NONE"), "PAYOUT-9", "SUCCESS", r#""13.00""#),
    ] {
        let (store, _, _) = world(processing());
        let outcome = replay_kept_callback(store.as_ref(), &callback, "VA-1", now())
            .await
            .unwrap();
        assert!(matches!(outcome, ReplayOutcome::Refused(_)), "{callback:?}");
        assert_eq!(
            store.stored("INV-1").unwrap().status,
            PayoutStatus::Processing
        );
    }
}
