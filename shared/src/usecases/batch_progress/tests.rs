use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::domain::PayoutStatus;
use crate::testing::{InMemoryQueue, InMemoryStore, batch_body, t0};
use crate::usecases::{AcceptBatch, AcceptOutcome};

async fn accepted(store: &Arc<InMemoryStore>, count: usize) {
    let outcome = AcceptBatch {
        payouts: store.clone(),
        batches: store.clone(),
        queue: Arc::new(InMemoryQueue::new()),
        queue_ttl: Duration::hours(6),
    }
    .run(&batch_body("B-1", "S", count), t0())
    .await
    .unwrap();
    assert!(matches!(outcome, AcceptOutcome::Accepted(_)));
}

fn settle(store: &InMemoryStore, reference: &str, status: PayoutStatus) {
    let mut payout = store.stored(reference).unwrap();
    payout.status = status;
    store.put(payout);
}

fn items(store: &Arc<InMemoryStore>) -> ListBatchItems {
    ListBatchItems {
        batches: store.clone(),
        cursor_key: CursorKey::derive(b"hash key"),
    }
}

#[tokio::test]
async fn counts_and_amounts_follow_the_items_and_complete_needs_every_item_final() {
    let store = Arc::new(InMemoryStore::new());
    accepted(&store, 3).await;
    let get = GetBatch {
        batches: store.clone(),
    };
    settle(&store, "S-0", PayoutStatus::Succeeded);
    settle(&store, "S-1", PayoutStatus::Failed);
    let progress = get.run("B-1").await.unwrap();
    assert_eq!(progress.tally.count(PayoutStatus::Succeeded), 1);
    assert_eq!(
        progress.tally.amount(PayoutStatus::Failed),
        rust_decimal::Decimal::from(2)
    );
    assert_eq!(progress.tally.count(PayoutStatus::Pending), 1);
    assert!(!progress.is_complete());
    assert!(store.stored_batch("B-1").unwrap().final_tally.is_none());
    settle(&store, "S-2", PayoutStatus::Succeeded);
    let progress = get.run("B-1").await.unwrap();
    assert!(progress.is_complete());
    assert_eq!(progress.tally.total_amount(), progress.batch.total_amount);
    assert_eq!(
        store.stored_batch("B-1").unwrap().final_tally,
        Some(progress.tally),
        "a complete batch's tally is kept"
    );
}

#[tokio::test]
async fn an_unknown_batch_is_not_found_and_a_bad_ref_names_batch_ref() {
    let store = Arc::new(InMemoryStore::new());
    let get = GetBatch { batches: store };
    assert!(matches!(
        get.run("NOPE").await,
        Err(BatchReadError::NotFound)
    ));
    let Err(BatchReadError::Invalid(e)) = get.run("bad ref").await else {
        panic!("expected a refusal")
    };
    assert_eq!(e.field.as_deref(), Some("batch_ref"));
}

#[tokio::test]
async fn items_are_paged_in_the_batchs_order_and_the_cursor_resumes_after_the_last() {
    let store = Arc::new(InMemoryStore::new());
    accepted(&store, 5).await;
    let list = items(&store);
    let first = list.page("B-1", [("limit", "2")]).await.unwrap();
    let refs = |page: &BatchItemsPage| -> Vec<String> {
        page.payouts
            .iter()
            .map(|p| p.external_invoice_ref.to_string())
            .collect()
    };
    assert_eq!(refs(&first), ["S-0", "S-1"]);
    let cursor = first.next_cursor.clone().unwrap();
    let second = list
        .page("B-1", [("limit", "2"), ("cursor", cursor.as_str())])
        .await
        .unwrap();
    assert_eq!(refs(&second), ["S-2", "S-3"]);
    let last = list
        .page(
            "B-1",
            [
                ("limit", "2"),
                ("cursor", second.next_cursor.as_deref().unwrap()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(refs(&last), ["S-4"]);
    assert!(last.next_cursor.is_none());
}

#[tokio::test]
async fn a_cursor_of_another_filter_or_a_made_up_one_is_refused_naming_cursor() {
    let store = Arc::new(InMemoryStore::new());
    accepted(&store, 3).await;
    let list = items(&store);
    let page = list.page("B-1", [("limit", "1")]).await.unwrap();
    let cursor = page.next_cursor.unwrap();
    for pairs in [
        vec![
            ("limit", "1"),
            ("status", "PENDING"),
            ("cursor", cursor.as_str()),
        ],
        vec![("cursor", "bm9wZQ.bm9wZQ")],
    ] {
        let Err(BatchReadError::Invalid(e)) = list.page("B-1", pairs).await else {
            panic!("expected a refusal")
        };
        assert_eq!(e.field.as_deref(), Some("cursor"));
    }
}

#[tokio::test]
async fn the_status_filter_lists_only_items_in_that_status() {
    let store = Arc::new(InMemoryStore::new());
    accepted(&store, 4).await;
    settle(&store, "S-2", PayoutStatus::Failed);
    let page = items(&store)
        .page("B-1", [("status", "FAILED")])
        .await
        .unwrap();
    assert_eq!(page.payouts.len(), 1);
    assert_eq!(page.payouts[0].external_invoice_ref.as_str(), "S-2");
}

#[tokio::test]
async fn the_whole_batch_is_read_for_csv_and_a_cursor_is_refused_there() {
    let store = Arc::new(InMemoryStore::new());
    accepted(&store, 7).await;
    let all = items(&store).all("B-1", []).await.unwrap();
    assert_eq!(all.len(), 7);
    let Err(BatchReadError::Invalid(e)) = items(&store).all("B-1", [("cursor", "x")]).await else {
        panic!("expected a refusal")
    };
    assert_eq!(e.field.as_deref(), Some("cursor"));
}
