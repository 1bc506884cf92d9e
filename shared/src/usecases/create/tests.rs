use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::domain::{PayoutStatus, SendState};
use crate::testing::{InMemoryStore, ScriptedProvider, payout_body, t0};

fn accepted(invoice_no: &str) -> Result<AcceptedPayout, LeanxError> {
    Ok(AcceptedPayout {
        status: Some("SUCCESS".into()),
        invoice_no: invoice_no.into(),
    })
}

fn create(store: &Arc<InMemoryStore>, provider: &Arc<ScriptedProvider>) -> CreatePayout {
    CreatePayout {
        store: store.clone(),
        provider: provider.clone(),
        destination: PayoutDestination {
            virtual_pool_reference: "VA-1".into(),
            callback_url: "http://127.0.0.1/callbacks/leanx".into(),
        },
        timings: Timings::default(),
    }
}

fn world() -> (Arc<InMemoryStore>, Arc<ScriptedProvider>) {
    (
        Arc::new(InMemoryStore::new()),
        Arc::new(ScriptedProvider::new()),
    )
}

#[tokio::test]
async fn a_new_payout_is_sent_once_and_answers_processing() {
    let (store, leanx) = world();
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0())
        .await
        .unwrap();
    let CreateOutcome::Created(payout) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(payout.status, PayoutStatus::Processing);
    assert_eq!(payout.invoice_no.as_deref(), Some("PAYOUT-1"));
    assert_eq!(leanx.sent(), vec!["INV-1"]);
}

#[tokio::test]
async fn the_same_request_again_is_replayed_without_a_second_send() {
    let (store, leanx) = world();
    leanx.answer_create(accepted("PAYOUT-1"));
    let uc = create(&store, &leanx);
    uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    let again = uc
        .run(&payout_body("INV-1"), t0() + Duration::seconds(1))
        .await
        .unwrap();
    assert!(matches!(again, CreateOutcome::Replayed(p) if p.status == PayoutStatus::Processing));
    assert_eq!(leanx.sent().len(), 1);
}

#[tokio::test]
async fn another_body_under_the_same_ref_is_a_conflict() {
    let (store, leanx) = world();
    leanx.answer_create(accepted("PAYOUT-1"));
    let uc = create(&store, &leanx);
    uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    let other = String::from_utf8(payout_body("INV-1"))
        .unwrap()
        .replace("13.00", "14.00");
    assert_eq!(
        uc.run(other.as_bytes(), t0()).await.unwrap(),
        CreateOutcome::Conflict
    );
    assert_eq!(leanx.sent().len(), 1);
}

#[tokio::test]
async fn a_repeat_while_the_claim_is_live_is_in_progress() {
    let (store, leanx) = world();
    let claim = Payout::new_pending(
        &PayoutRequest::from_json(&payout_body("INV-1")).unwrap(),
        "other".into(),
        t0(),
        Duration::seconds(30),
    );
    store.put(claim);
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0() + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CreateOutcome::InProgress {
            retry_after_seconds: 25
        }
    );
    assert!(leanx.sent().is_empty());
}

#[tokio::test]
async fn a_known_refusal_fails_the_payout_with_its_code() {
    let (store, leanx) = world();
    leanx.answer_create(Err(ScriptedProvider::refusal("4566", "FAILED")));
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0())
        .await
        .unwrap();
    let CreateOutcome::Created(payout) = outcome else {
        panic!()
    };
    assert_eq!(payout.status, PayoutStatus::Failed);
    assert_eq!(payout.failure.unwrap().code, "leanx_4566");
}

#[tokio::test]
async fn an_unknown_refusal_code_leaves_the_payout_pending_with_its_send_started() {
    let (store, leanx) = world();
    leanx.answer_create(Err(ScriptedProvider::refusal("9999", "UNKNOWN")));
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0())
        .await
        .unwrap();
    let CreateOutcome::Created(payout) = outcome else {
        panic!()
    };
    assert_eq!(payout.status, PayoutStatus::Pending);
    assert_eq!(payout.send_state, SendState::Started);
    assert_eq!(payout.failure, None);
}

#[tokio::test]
async fn a_lost_answer_stays_pending_and_is_never_sent_again() {
    let (store, leanx) = world();
    leanx.answer_create(Err(LeanxError::OutcomeUnknown("timeout".into())));
    let uc = create(&store, &leanx);
    let first = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(matches!(first, CreateOutcome::Created(p) if p.status == PayoutStatus::Pending));
    let retry = uc
        .run(&payout_body("INV-1"), t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert!(matches!(retry, CreateOutcome::Replayed(_)));
    assert_eq!(leanx.sent().len(), 1);
}

#[tokio::test]
async fn a_send_that_never_left_answers_not_sent_and_the_retry_sends_once() {
    let (store, leanx) = world();
    for _ in 0..3 {
        leanx.answer_create(Err(LeanxError::NotSent("connection refused".into())));
    }
    let uc = create(&store, &leanx);
    let first = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(matches!(first, CreateOutcome::NotSent { .. }), "{first:?}");
    let stored = store.stored("INV-1").unwrap();
    assert_eq!(stored.send_state, SendState::NotStarted);
    leanx.answer_create(accepted("PAYOUT-1"));
    let retry = uc
        .run(&payout_body("INV-1"), t0() + Duration::seconds(2))
        .await
        .unwrap();
    assert!(
        matches!(&retry, CreateOutcome::Created(p) if p.status == PayoutStatus::Processing),
        "{retry:?}"
    );
    // three attempts that never left, then the one real send
    assert_eq!(leanx.sent().len(), 4);
}

#[tokio::test]
async fn a_body_over_16_kib_is_refused_before_anything_is_written() {
    let (store, leanx) = world();
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert!(matches!(
        create(&store, &leanx).run(&big, t0()).await,
        Err(CreateError::TooLarge)
    ));
    assert_eq!(store.saves(), 0);
}
