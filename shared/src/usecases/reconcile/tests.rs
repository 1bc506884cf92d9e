use chrono::Duration;

use super::*;
use crate::domain::PayoutRequest;
use crate::testing::{InMemoryStore, ScriptedProvider, payout_body, t0};

fn timings() -> Timings {
    Timings {
        claim_ttl: Duration::seconds(30),
        grace_period: Duration::seconds(900),
        refresh_after: Duration::seconds(5),
        not_found_lookups_required: 3,
        not_found_lookup_spacing: Duration::seconds(60),
        batch_queue_ttl: Duration::hours(6),
    }
}

fn reconciler(store: &Arc<InMemoryStore>, leanx: &Arc<ScriptedProvider>) -> Reconciler {
    Reconciler {
        store: store.clone(),
        provider: leanx.clone(),
        timings: timings(),
        limits: ReconcileLimits::default(),
        not_found_codes: vec!["4004".into()],
    }
}

fn world() -> (Arc<InMemoryStore>, Arc<ScriptedProvider>) {
    (
        Arc::new(InMemoryStore::new()),
        Arc::new(ScriptedProvider::new()),
    )
}

/// A claim whose holder died before sending.
fn abandoned() -> Payout {
    let request = PayoutRequest::from_json(&payout_body("INV-1")).unwrap();
    Payout::new_pending(&request, "dead".into(), t0(), Duration::seconds(30))
}

/// A payout whose send started and whose answer was lost.
fn sent_unanswered() -> Payout {
    abandoned().start_send(t0(), Duration::seconds(30))
}

fn not_found() -> Result<PayoutTransaction, LeanxError> {
    Err(ScriptedProvider::refusal("4004", "TRANSACTION_NOT_FOUND"))
}

fn status(store: &InMemoryStore) -> PayoutStatus {
    store.stored("INV-1").unwrap().status
}

#[tokio::test]
async fn an_abandoned_claim_that_never_sent_ends_not_received_after_the_grace_period() {
    let (store, leanx) = world();
    store.put(abandoned());
    let r = reconciler(&store, &leanx);
    r.run(t0() + Duration::seconds(60)).await.unwrap();
    assert_eq!(
        status(&store),
        PayoutStatus::Pending,
        "inside the grace period"
    );
    r.run(t0() + Duration::seconds(901)).await.unwrap();
    let p = store.stored("INV-1").unwrap();
    assert_eq!(p.failure.unwrap().code, "not_received_by_provider");
    assert_eq!(leanx.lookups_made(), 0, "never sent: nothing to ask");
}

#[tokio::test]
async fn a_verdict_on_an_abandoned_claim_is_dropped_when_a_retry_took_it_over_meanwhile() {
    let (store, leanx) = world();
    store.put(abandoned());
    // Between the reconciler's read and its write, the merchant's retry takes over the claim,
    // marks the send started and sends it.
    store.interfere_before_next_save(|p| {
        p.version += 2;
        p.claim_owner = "retry".into();
        p.send_state = SendState::Started;
        p.send_started_at = Some(p.created_at + Duration::seconds(900));
    });
    reconciler(&store, &leanx)
        .run(t0() + Duration::seconds(901))
        .await
        .unwrap();
    let p = store.stored("INV-1").unwrap();
    assert_eq!(p.status, PayoutStatus::Pending);
    assert_eq!(p.failure, None);
}

#[tokio::test]
async fn one_not_found_answer_never_ends_a_payout() {
    let (store, leanx) = world();
    store.put(sent_unanswered());
    leanx.answer_lookup(not_found());
    reconciler(&store, &leanx)
        .run(t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(status(&store), PayoutStatus::Pending);
    assert_eq!(store.stored("INV-1").unwrap().not_found_lookups, 1);
}

#[tokio::test]
async fn several_not_found_answers_over_the_grace_period_end_it_not_received() {
    let (store, leanx) = world();
    store.put(sent_unanswered());
    let r = reconciler(&store, &leanx);
    let start = t0() + Duration::seconds(60);
    for at in [0, 300, 600, 900] {
        leanx.answer_lookup(not_found());
        r.run(start + Duration::seconds(at)).await.unwrap();
        if at < 900 {
            assert_eq!(status(&store), PayoutStatus::Pending, "at +{at}s");
        }
    }
    let p = store.stored("INV-1").unwrap();
    assert_eq!(p.status, PayoutStatus::Failed);
    assert_eq!(p.failure.unwrap().code, "not_received_by_provider");
}

#[tokio::test]
async fn an_unrecognised_refusal_is_never_evidence_of_absence() {
    let (store, leanx) = world();
    store.put(sent_unanswered());
    let r = reconciler(&store, &leanx);
    for i in 0..6 {
        leanx.answer_lookup(Err(ScriptedProvider::refusal("4290", "TOO_MANY_REQUESTS")));
        r.run(t0() + Duration::seconds(60 + 300 * i)).await.unwrap();
    }
    let p = store.stored("INV-1").unwrap();
    assert_eq!(p.status, PayoutStatus::Pending);
    assert_eq!(p.not_found_lookups, 0);
}

#[tokio::test]
async fn a_processing_payout_is_never_declared_not_received() {
    let (store, leanx) = world();
    let mut p = sent_unanswered();
    p.status = PayoutStatus::Processing;
    p.invoice_no = Some("PAYOUT-1".into());
    store.put(p);
    let r = reconciler(&store, &leanx);
    for i in 0..6 {
        leanx.answer_lookup(not_found());
        r.run(t0() + Duration::seconds(60 + 600 * i)).await.unwrap();
    }
    assert_eq!(status(&store), PayoutStatus::Processing);
}

#[tokio::test]
async fn a_failure_leanx_reports_is_settled() {
    let (store, leanx) = world();
    store.put(sent_unanswered());
    leanx.answer_lookup(Ok(ScriptedProvider::transaction(
        "FAILED",
        Some("PAYOUT-1"),
    )));
    let report = reconciler(&store, &leanx)
        .run(t0() + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
    assert_eq!(
        store.stored("INV-1").unwrap().failure.unwrap().code,
        "leanx_failed"
    );
}

#[tokio::test]
async fn an_unknown_status_proves_leanx_holds_it_but_never_settles_it() {
    let (store, leanx) = world();
    store.put(sent_unanswered());
    leanx.answer_lookup(Ok(ScriptedProvider::transaction(
        "Success",
        Some("PAYOUT-1"),
    )));
    reconciler(&store, &leanx)
        .run(t0() + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(status(&store), PayoutStatus::Processing);
}

#[tokio::test]
async fn an_undecodable_item_is_skipped_and_the_others_are_still_settled() {
    let (store, leanx) = world();
    store.put_undecodable("PAYOUT#BROKEN");
    store.put(sent_unanswered());
    leanx.answer_lookup(Ok(ScriptedProvider::transaction(
        "SUCCESS",
        Some("PAYOUT-1"),
    )));
    let report = reconciler(&store, &leanx)
        .run(t0() + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(report.undecodable, 1);
    assert_eq!(report.succeeded, 1);
    assert_eq!(status(&store), PayoutStatus::Succeeded);
}

#[tokio::test]
async fn a_payout_leanx_lists_is_never_declared_not_received() {
    let (store, leanx) = world();
    store.put(sent_unanswered());
    let r = reconciler(&store, &leanx);
    let start = t0() + Duration::seconds(60);
    leanx.answer_listing(Ok(vec![ScriptedProvider::transaction(
        "PENDING",
        Some("PAYOUT-1"),
    )]));
    for at in [0, 300, 600, 900] {
        leanx.answer_lookup(not_found());
        r.run(start + Duration::seconds(at)).await.unwrap();
    }
    let p = store.stored("INV-1").unwrap();
    assert_eq!(p.status, PayoutStatus::Processing, "{p:?}");
    assert_eq!(leanx.listings_made(), 1);
}

#[tokio::test]
async fn a_list_that_cannot_be_read_is_no_evidence_of_absence() {
    let (store, leanx) = world();
    store.put(sent_unanswered());
    let r = reconciler(&store, &leanx);
    let start = t0() + Duration::seconds(60);
    leanx.answer_listing(Err(LeanxError::Malformed("unknown shape".into())));
    for at in [0, 300, 600, 900] {
        leanx.answer_lookup(not_found());
        r.run(start + Duration::seconds(at)).await.unwrap();
    }
    assert_eq!(status(&store), PayoutStatus::Pending);
    assert_eq!(leanx.listings_made(), 1);
}
