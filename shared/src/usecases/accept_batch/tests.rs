use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::domain::batch::{ITEM_CONFLICT, ITEM_IN_OTHER_BATCH};
use crate::testing::{InMemoryQueue, InMemoryStore, batch_body, payout_body, t0};

fn accept(store: &Arc<InMemoryStore>, queue: &Arc<InMemoryQueue>) -> AcceptBatch {
    AcceptBatch {
        payouts: store.clone(),
        batches: store.clone(),
        queue: queue.clone(),
        queue_ttl: Duration::hours(6),
    }
}

fn world() -> (Arc<InMemoryStore>, Arc<InMemoryQueue>) {
    (
        Arc::new(InMemoryStore::new()),
        Arc::new(InMemoryQueue::new()),
    )
}

fn queued_refs(queue: &InMemoryQueue) -> Vec<String> {
    queue
        .messages()
        .into_iter()
        .map(|m| m.external_invoice_ref)
        .collect()
}

#[tokio::test]
async fn an_accepted_batch_records_every_item_pending_under_its_claim_and_queues_each() {
    let (store, queue) = world();
    let outcome = accept(&store, &queue)
        .run(&batch_body("PAYROLL-1", "S", 250), t0())
        .await
        .unwrap();
    let AcceptOutcome::Accepted(progress) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(progress.batch.item_count, 250);
    assert_eq!(progress.tally.count(PayoutStatus::Pending), 250);
    // 1 + 2 + … + 250 ringgit, exactly.
    assert_eq!(
        progress.batch.total_amount,
        rust_decimal::Decimal::from(31_375)
    );
    assert_eq!(progress.tally.total_amount(), progress.batch.total_amount);
    assert!(!progress.is_complete());
    let item = store.stored("S-249").unwrap();
    assert_eq!(item.status, PayoutStatus::Pending);
    assert_eq!(item.send_state, SendState::NotStarted);
    assert_eq!(item.claim_owner, "batch:PAYROLL-1");
    assert_eq!(
        (item.batch_ref.as_deref(), item.batch_index),
        (Some("PAYROLL-1"), Some(249))
    );
    let queued = queued_refs(&queue);
    assert_eq!(queued.len(), 250);
    assert_eq!(queued[0], "S-0");
    assert!(
        queue
            .queue_messages()
            .iter()
            .all(|m| m.external_invoice_refs.len() <= ITEMS_PER_MESSAGE),
        "a few items per message"
    );
    assert_eq!(queue.queue_messages().len(), 50);
    assert_eq!(
        store.stored_batch("PAYROLL-1").unwrap().state,
        BatchState::Accepted
    );
}

#[tokio::test]
async fn the_same_batch_again_is_a_replay_that_records_and_queues_nothing() {
    let (store, queue) = world();
    let body = batch_body("PAYROLL-1", "S", 30);
    accept(&store, &queue).run(&body, t0()).await.unwrap();
    let outcome = accept(&store, &queue)
        .run(&body, t0() + Duration::seconds(5))
        .await
        .unwrap();
    assert!(
        matches!(outcome, AcceptOutcome::Replayed(ref p) if p.tally.items == 30),
        "{outcome:?}"
    );
    assert_eq!(queue.messages().len(), 30);
}

#[tokio::test]
async fn another_batch_under_the_same_ref_is_a_conflict_and_records_nothing() {
    let (store, queue) = world();
    accept(&store, &queue)
        .run(&batch_body("PAYROLL-1", "S", 3), t0())
        .await
        .unwrap();
    let outcome = accept(&store, &queue)
        .run(&batch_body("PAYROLL-1", "T", 3), t0())
        .await
        .unwrap();
    assert_eq!(outcome, AcceptOutcome::Conflict);
    assert!(store.stored("T-0").is_none());
    assert_eq!(queue.messages().len(), 3);
}

#[tokio::test]
async fn an_item_whose_ref_exists_with_another_body_is_named_and_nothing_is_recorded() {
    let (store, queue) = world();
    // S-1 exists as a payout of RM 13.00; the batch's S-1 is RM 2.00.
    let existing = crate::domain::PayoutRequest::from_json(&payout_body("S-1")).unwrap();
    store.put(crate::domain::Payout::new_pending(
        &existing,
        "o".into(),
        t0(),
        Duration::seconds(30),
    ));
    let outcome = accept(&store, &queue)
        .run(&batch_body("PAYROLL-1", "S", 3), t0())
        .await
        .unwrap();
    let AcceptOutcome::ItemConflicts(items) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(items.len(), 1);
    assert_eq!((items[0].index, items[0].code), (1, ITEM_CONFLICT));
    assert!(store.stored("S-0").is_none() && store.stored_batch("PAYROLL-1").is_none());
    assert!(queue.messages().is_empty());
}

#[tokio::test]
async fn a_payout_made_alone_with_the_same_body_joins_the_batch_without_a_second_send() {
    let (store, queue) = world();
    // The batch's item 0 is RM 1.00 to John Doe: make the same payout alone, already sent.
    let body = batch_body("PAYROLL-1", "S", 2);
    let request = BatchRequest::from_json(&body).unwrap();
    let alone = crate::domain::Payout::new_pending(
        &request.items[0],
        "o".into(),
        t0(),
        Duration::seconds(30),
    )
    .start_send(t0(), Duration::seconds(30));
    store.put(alone);
    let outcome = accept(&store, &queue).run(&body, t0()).await.unwrap();
    assert!(matches!(outcome, AcceptOutcome::Accepted(_)), "{outcome:?}");
    let joined = store.stored("S-0").unwrap();
    assert_eq!(
        (joined.batch_ref.as_deref(), joined.batch_index),
        (Some("PAYROLL-1"), Some(0))
    );
    assert_eq!(
        joined.send_state,
        SendState::Started,
        "its send is untouched"
    );
    assert_eq!(
        queued_refs(&queue),
        ["S-1"],
        "a sent payout is never queued"
    );
}

#[tokio::test]
async fn a_payout_already_in_another_batch_is_named_not_joined() {
    let (store, queue) = world();
    accept(&store, &queue)
        .run(&batch_body("PAYROLL-1", "S", 2), t0())
        .await
        .unwrap();
    let outcome = accept(&store, &queue)
        .run(&batch_body("PAYROLL-2", "S", 2), t0())
        .await
        .unwrap();
    let AcceptOutcome::ItemConflicts(items) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(items.iter().all(|i| i.code == ITEM_IN_OTHER_BATCH));
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn an_acceptance_that_died_half_way_is_finished_by_the_retry_with_no_item_twice() {
    let (store, queue) = world();
    let body = batch_body("PAYROLL-1", "S", 600);
    // Two chunks of 250 recorded and queued; the third dies.
    store.fail_item_writes_after(500);
    let died = accept(&store, &queue).run(&body, t0()).await;
    assert!(matches!(died, Err(AcceptError::Store(_))), "{died:?}");
    assert_eq!(
        store.stored_batch("PAYROLL-1").unwrap().state,
        BatchState::Accepting
    );
    assert_eq!(
        queue.messages().len(),
        500,
        "the recorded chunks were queued"
    );
    store.fail_item_writes_after(usize::MAX);
    let outcome = accept(&store, &queue)
        .run(&body, t0() + Duration::seconds(30))
        .await
        .unwrap();
    let AcceptOutcome::Accepted(progress) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(progress.tally.items, 600);
    let items: Vec<_> = store
        .all_payouts()
        .into_iter()
        .filter(|p| p.batch_ref.is_some())
        .collect();
    assert_eq!(items.len(), 600);
    // The first 500 kept their first recording (created at t0), the rest were made by the retry.
    assert_eq!(store.stored("S-0").unwrap().created_at, t0());
    // Re-queued items are harmless (the send path sends each once); none is missing.
    let queued: std::collections::BTreeSet<String> = queued_refs(&queue).into_iter().collect();
    assert_eq!(queued.len(), 600);
}

#[tokio::test]
async fn invalid_items_are_all_listed_and_nothing_is_recorded_or_queued() {
    let (store, queue) = world();
    let body =
        br#"{"batch_ref":"B","items":[{"external_invoice_ref":"A"},{"external_invoice_ref":"B"}]}"#;
    let result = accept(&store, &queue).run(body, t0()).await;
    let Err(AcceptError::Invalid(BatchInvalid::Items(items))) = result else {
        panic!("{result:?}")
    };
    assert_eq!(items.len(), 2);
    assert!(store.stored_batch("B").is_none() && queue.messages().is_empty());
}

#[tokio::test]
async fn a_body_over_six_megabytes_is_refused_before_it_is_read() {
    let (store, queue) = world();
    let body = vec![b' '; MAX_BATCH_BODY_BYTES + 1];
    let result = accept(&store, &queue).run(&body, t0()).await;
    assert!(matches!(result, Err(AcceptError::TooLarge)), "{result:?}");
}

#[tokio::test]
async fn a_queue_outage_fails_the_acceptance_and_the_retry_finishes_it() {
    let (store, queue) = world();
    let body = batch_body("PAYROLL-1", "S", 5);
    queue.go_down();
    let result = accept(&store, &queue).run(&body, t0()).await;
    assert!(matches!(result, Err(AcceptError::Queue(_))), "{result:?}");
    let queue = Arc::new(InMemoryQueue::new());
    let outcome = accept(&store, &queue).run(&body, t0()).await.unwrap();
    assert!(matches!(outcome, AcceptOutcome::Accepted(_)));
    assert_eq!(queue.messages().len(), 5);
}
