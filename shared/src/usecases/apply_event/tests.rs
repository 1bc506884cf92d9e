use chrono::Duration;

use super::*;
use crate::domain::payout::sample_payout;
use crate::domain::{LeanxTransactionStatus, PayoutEvent};
use crate::testing::InMemoryStore;

fn now() -> DateTime<Utc> {
    sample_payout(PayoutStatus::Pending).created_at + Duration::seconds(10)
}

#[tokio::test]
async fn a_verdict_is_dropped_when_the_payout_changed_after_it_was_judged() {
    let store = InMemoryStore::new();
    let abandoned = sample_payout(PayoutStatus::Pending);
    store.put(abandoned.clone());
    // The merchant's retry takes the claim over and marks the send started first.
    store.interfere_before_next_save(|p| {
        p.version += 2;
        p.claim_owner = "retry".into();
        p.send_state = SendState::Started;
    });
    let event = PayoutEvent::NotReceivedByProvider {
        judged_send_state: SendState::NotStarted,
    };
    let applied = apply_event(
        &store,
        abandoned.clone(),
        &event,
        &Evidence::judged_on(&abandoned),
        now(),
    )
    .await
    .unwrap();
    assert!(matches!(applied, Applied::Dropped(_)), "{applied:?}");
    assert_eq!(store.stored("INV-1").unwrap().status, PayoutStatus::Pending);
}

#[tokio::test]
async fn a_leanx_fact_is_decided_again_on_the_fresh_copy_after_a_lost_race() {
    let store = InMemoryStore::new();
    let p = sample_payout(PayoutStatus::Pending);
    store.put(p.clone());
    store.interfere_before_next_save(|p| p.version += 1);
    let event = PayoutEvent::CallbackSucceeded {
        invoice_no: "PAYOUT-1".into(),
    };
    let applied = apply_event(&store, p, &event, &Evidence::LeanxFact, now())
        .await
        .unwrap();
    assert!(matches!(applied, Applied::Moved(p) if p.status == PayoutStatus::Succeeded));
}

#[tokio::test]
async fn a_contradicted_final_payout_keeps_its_status_and_is_marked_once() {
    let store = InMemoryStore::new();
    let failed = sample_payout(PayoutStatus::Failed);
    store.put(failed.clone());
    let event = PayoutEvent::CallbackSucceeded {
        invoice_no: "PAYOUT-1".into(),
    };
    let first = apply_event(&store, failed, &event, &Evidence::LeanxFact, now())
        .await
        .unwrap();
    let Applied::Contradicted(marked) = first else {
        panic!("{first:?}")
    };
    assert_eq!(marked.status, PayoutStatus::Failed);
    let attention = marked.attention.clone().unwrap();
    assert_eq!(
        (attention.code.as_str(), attention.reported.as_str()),
        ("contradicted_by_leanx", "SUCCESS")
    );
    assert_eq!(store.stored("INV-1").unwrap(), marked);
    let saves = store.saves();
    let again = apply_event(&store, marked, &event, &Evidence::LeanxFact, now())
        .await
        .unwrap();
    assert!(matches!(again, Applied::Contradicted(_)));
    assert_eq!(
        store.saves(),
        saves,
        "a second contradiction writes nothing"
    );
}

#[tokio::test]
async fn duplicate_news_changes_nothing() {
    let store = InMemoryStore::new();
    let done = sample_payout(PayoutStatus::Succeeded);
    store.put(done.clone());
    let event = PayoutEvent::LeanxReported {
        status: LeanxTransactionStatus::Success,
        invoice_no: None,
    };
    let applied = apply_event(&store, done, &event, &Evidence::LeanxFact, now())
        .await
        .unwrap();
    assert!(matches!(applied, Applied::Unchanged(_)));
    assert_eq!(store.saves(), 0);
}
