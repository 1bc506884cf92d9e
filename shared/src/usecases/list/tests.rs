use chrono::Duration;

use super::*;
use crate::domain::{PayoutRequest, PayoutStatus};
use crate::testing::{InMemoryStore, payout_body, t0};

const KEY: &[u8] = b"hash-key";

fn lister(store: &Arc<InMemoryStore>) -> ListPayouts {
    ListPayouts {
        store: store.clone(),
        cursor_key: CursorKey::derive(KEY),
    }
}

/// `count` payouts, one a minute from t0, the i-th FAILED when i is a multiple of 3.
fn store_with(count: usize) -> Arc<InMemoryStore> {
    let store = Arc::new(InMemoryStore::new());
    for i in 0..count {
        let request = PayoutRequest::from_json(&payout_body(&format!("INV-{i:03}"))).unwrap();
        let at = t0() + Duration::minutes(i as i64);
        let mut payout = Payout::new_pending(&request, "o".into(), at, Duration::seconds(30));
        if i % 3 == 0 {
            payout.status = PayoutStatus::Failed;
        }
        store.put(payout);
    }
    store
}

fn refs(page: &PayoutPage) -> Vec<String> {
    page.payouts
        .iter()
        .map(|p| p.external_invoice_ref.to_string())
        .collect()
}

async fn all_pages(list: &ListPayouts, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query: Vec<(&str, &str)> = pairs.to_vec();
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let page = list.run(query, t0()).await.unwrap();
        seen.extend(refs(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn pages_walk_every_payout_once_newest_first() {
    let store = store_with(7);
    let seen = all_pages(&lister(&store), &[("limit", "3")]).await;
    let expected: Vec<String> = (0..7).rev().map(|i| format!("INV-{i:03}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn the_last_page_has_no_next_cursor() {
    let store = store_with(3);
    let page = lister(&store).run([("limit", "3")], t0()).await.unwrap();
    assert_eq!(page.payouts.len(), 3);
    assert_eq!(page.next_cursor, None);
}

#[tokio::test]
async fn a_status_filter_keeps_only_that_status_across_pages() {
    let store = store_with(10);
    let seen = all_pages(&lister(&store), &[("status", "FAILED"), ("limit", "2")]).await;
    assert_eq!(seen, ["INV-009", "INV-006", "INV-003", "INV-000"]);
}

#[tokio::test]
async fn created_from_is_inclusive_and_created_to_exclusive() {
    let store = store_with(5);
    let from = (t0() + Duration::minutes(1)).to_rfc3339();
    let to = (t0() + Duration::minutes(3)).to_rfc3339();
    let page = lister(&store)
        .run(
            [("created_from", from.as_str()), ("created_to", to.as_str())],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(refs(&page), ["INV-002", "INV-001"]);
}

#[tokio::test]
async fn a_bad_parameter_is_refused_naming_it_and_nothing_is_read() {
    let store = store_with(2);
    let Err(ListError::Invalid(error)) = lister(&store).run([("limit", "0")], t0()).await else {
        panic!("limit=0 accepted");
    };
    assert_eq!(error.field.as_deref(), Some("limit"));
}

#[tokio::test]
async fn a_cursor_used_with_other_filters_is_refused_naming_cursor() {
    let store = store_with(5);
    let list = lister(&store);
    let first = list.run([("limit", "2")], t0()).await.unwrap();
    let cursor = first.next_cursor.expect("a second page");
    let Err(ListError::Invalid(error)) = list
        .run(
            [("limit", "2"), ("status", "FAILED"), ("cursor", &cursor)],
            t0(),
        )
        .await
    else {
        panic!("a cursor for other filters was accepted");
    };
    assert_eq!(error.field.as_deref(), Some("cursor"));
}

#[tokio::test]
async fn a_cursor_from_another_key_is_refused_naming_cursor() {
    let store = store_with(5);
    let cursor = ListPayouts {
        store: store.clone(),
        cursor_key: CursorKey::derive(b"another deployment"),
    }
    .run([("limit", "2")], t0())
    .await
    .unwrap()
    .next_cursor
    .expect("a second page");
    let Err(ListError::Invalid(error)) = lister(&store)
        .run([("limit", "2"), ("cursor", cursor.as_str())], t0())
        .await
    else {
        panic!("a foreign cursor was accepted");
    };
    assert_eq!(error.field.as_deref(), Some("cursor"));
}

#[tokio::test]
async fn the_page_size_may_change_between_pages() {
    let store = store_with(6);
    let list = lister(&store);
    let first = list.run([("limit", "2")], t0()).await.unwrap();
    let cursor = first.next_cursor.clone().unwrap();
    let rest = list
        .run([("limit", "10"), ("cursor", cursor.as_str())], t0())
        .await
        .unwrap();
    assert_eq!(refs(&first), ["INV-005", "INV-004"]);
    assert_eq!(refs(&rest), ["INV-003", "INV-002", "INV-001", "INV-000"]);
}

#[tokio::test]
async fn an_item_that_does_not_decode_is_skipped_and_the_page_still_answers() {
    let store = store_with(2);
    store.put_undecodable("PAYOUT#BROKEN");
    let page = lister(&store).run([], t0()).await.unwrap();
    assert_eq!(refs(&page), ["INV-001", "INV-000"]);
}
