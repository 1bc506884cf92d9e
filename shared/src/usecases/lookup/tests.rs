use chrono::Duration;

use super::*;
use crate::domain::PayoutStatus;
use crate::leanx::LeanxError;
use crate::testing::{InMemoryStore, ScriptedProvider, payout_body, t0};

fn lookup(store: &Arc<InMemoryStore>, leanx: &Arc<ScriptedProvider>) -> LookupPayout {
    LookupPayout {
        store: store.clone(),
        provider: leanx.clone(),
        timings: Timings::default(),
    }
}

fn sent() -> Payout {
    let request = crate::domain::PayoutRequest::from_json(&payout_body("INV-1")).unwrap();
    Payout::new_pending(&request, "o".into(), t0(), Duration::seconds(30))
        .start_send(t0(), Duration::seconds(30))
}

#[tokio::test]
async fn an_unknown_ref_is_not_found() {
    let store = Arc::new(InMemoryStore::new());
    let leanx = Arc::new(ScriptedProvider::new());
    assert_eq!(
        lookup(&store, &leanx).run("INV-9", t0()).await.unwrap(),
        LookupOutcome::NotFound
    );
}

#[tokio::test]
async fn a_bad_ref_is_refused() {
    let store = Arc::new(InMemoryStore::new());
    let leanx = Arc::new(ScriptedProvider::new());
    assert!(matches!(
        lookup(&store, &leanx).run("a/b", t0()).await,
        Err(LookupError::InvalidRef(_))
    ));
}

#[tokio::test]
async fn an_open_payout_that_is_not_fresh_is_refreshed_from_leanx() {
    let store = Arc::new(InMemoryStore::new());
    let leanx = Arc::new(ScriptedProvider::new());
    store.put(sent());
    leanx.answer_lookup(Ok(ScriptedProvider::transaction(
        "SUCCESS",
        Some("PAYOUT-1"),
    )));
    let outcome = lookup(&store, &leanx)
        .run("INV-1", t0() + Duration::seconds(10))
        .await
        .unwrap();
    assert!(matches!(outcome, LookupOutcome::Found(p) if p.status == PayoutStatus::Succeeded));
}

#[tokio::test]
async fn a_fresh_payout_is_answered_without_asking_leanx() {
    let store = Arc::new(InMemoryStore::new());
    let leanx = Arc::new(ScriptedProvider::new());
    store.put(sent());
    lookup(&store, &leanx)
        .run("INV-1", t0() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(leanx.lookups_made(), 0);
}

#[tokio::test]
async fn leanx_down_answers_the_stored_state() {
    let store = Arc::new(InMemoryStore::new());
    let leanx = Arc::new(ScriptedProvider::new());
    store.put(sent());
    leanx.answer_lookup(Err(LeanxError::NotSent("refused".into())));
    let outcome = lookup(&store, &leanx)
        .run("INV-1", t0() + Duration::seconds(10))
        .await
        .unwrap();
    assert!(matches!(outcome, LookupOutcome::Found(p) if p.status == PayoutStatus::Pending));
}

#[tokio::test]
async fn a_not_found_answer_on_a_lookup_never_ends_the_payout() {
    let store = Arc::new(InMemoryStore::new());
    let leanx = Arc::new(ScriptedProvider::new());
    store.put(sent());
    leanx.answer_lookup(Err(ScriptedProvider::refusal(
        "4004",
        "TRANSACTION_NOT_FOUND",
    )));
    let outcome = lookup(&store, &leanx)
        .run("INV-1", t0() + Duration::hours(2))
        .await
        .unwrap();
    assert!(matches!(outcome, LookupOutcome::Found(p) if p.status == PayoutStatus::Pending));
}
