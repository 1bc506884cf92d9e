//! GET /payouts over real HTTP against the local stack: the real `list-payouts` binary under
//! the Lambda emulator's API Gateway front, a fresh moto table, the LeanX simulator.

use leanx_sim::control::Outcome;
use payouts_e2e::stack::{Answer, Stack, payout_body};
use serde_json::Value;

fn refs(answer: &Answer) -> Vec<String> {
    answer.body["payouts"]
        .as_array()
        .unwrap_or_else(|| panic!("no payouts in {}", answer.body))
        .iter()
        .map(|p| p["external_invoice_ref"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates `refs` one after another (so created_at follows their order); their created_at.
async fn create_all(stack: &Stack, refs: &[String]) -> Vec<String> {
    let mut created = Vec::new();
    for r in refs {
        let answer = stack.create(&payout_body(r)).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        created.push(answer.body["created_at"].as_str().unwrap().to_owned());
    }
    created
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i:02}")).collect()
}

/// Walks every page of `query` (which must end with `limit=N`), the refs in order.
async fn walk(stack: &Stack, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next = format!("?{query}");
    loop {
        let page = stack.list(&next).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(refs(&page));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => next = format!("?{query}&cursor={cursor}"),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn pages_walk_every_payout_exactly_once_newest_first() {
    let stack = Stack::start().await;
    let made = numbered("INV-LIST", 7);
    create_all(&stack, &made).await;
    let seen = walk(&stack, "limit=3").await;
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn status_and_creation_time_filter_the_listing() {
    let stack = Stack::start().await;
    stack.sim().set_outcome(Outcome::Pending).await.unwrap();
    let open = numbered("INV-OPEN", 3);
    let created = create_all(&stack, &open).await;
    stack
        .sim()
        .set_outcome(Outcome::Refuse {
            response_code: 4566,
            description: "FAILED".into(),
        })
        .await
        .unwrap();
    let refused = numbered("INV-REFUSED", 2);
    create_all(&stack, &refused).await;

    let failed = walk(&stack, "status=FAILED&limit=1").await;
    assert_eq!(failed, ["INV-REFUSED-01", "INV-REFUSED-00"]);
    let processing = walk(&stack, "status=PROCESSING&limit=100").await;
    assert_eq!(processing, ["INV-OPEN-02", "INV-OPEN-01", "INV-OPEN-00"]);

    // From the second open payout (inclusive) to the third (exclusive).
    let range = format!(
        "created_from={}&created_to={}&limit=10",
        created[1].replace('+', "%2B"),
        created[2].replace('+', "%2B")
    );
    assert_eq!(walk(&stack, &range).await, ["INV-OPEN-01"]);
}

#[tokio::test]
async fn every_bad_parameter_is_a_400_naming_it() {
    let stack = Stack::start().await;
    for (query, field) in [
        ("?status=DONE", "status"),
        ("?created_from=last-week", "created_from"),
        ("?created_to=2026-11-31T00:00:00Z", "created_to"),
        (
            "?created_from=2026-11-02T00:00:00Z&created_to=2026-11-01T00:00:00Z",
            "created_to",
        ),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=many", "limit"),
        ("?cursor=", "cursor"),
        ("?cursor=bm90LWEtY3Vyc29y.AAAA", "cursor"),
        ("?stauts=FAILED", "stauts"),
    ] {
        let answer = stack.list(query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(answer.error_code(), Some("invalid_request"), "{query}");
        assert_eq!(answer.error_field(), Some(field), "{query}");
    }
}

#[tokio::test]
async fn a_tampered_or_foreign_filter_cursor_is_a_400_naming_cursor() {
    let stack = Stack::start().await;
    create_all(&stack, &numbered("INV-CUR", 3)).await;
    let first = stack.list("?limit=1").await;
    let cursor = first.body["next_cursor"].as_str().expect("a next page");

    // The same cursor under other filters.
    let foreign = stack
        .list(&format!("?limit=1&status=FAILED&cursor={cursor}"))
        .await;
    assert_eq!(
        (foreign.status, foreign.error_field()),
        (400, Some("cursor"))
    );

    // One character of its position changed.
    let (position, tag) = cursor.split_once('.').unwrap();
    let mut bytes = position.as_bytes().to_vec();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{}.{tag}", String::from_utf8(bytes).unwrap());
    let answer = stack.list(&format!("?limit=1&cursor={tampered}")).await;
    assert_eq!((answer.status, answer.error_field()), (400, Some("cursor")));

    // The genuine one still works.
    let next = stack.list(&format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(refs(&next), ["INV-CUR-01"]);
}

#[tokio::test]
async fn listing_never_calls_leanx() {
    let stack = Stack::start().await;
    stack.sim().set_outcome(Outcome::Pending).await.unwrap();
    create_all(&stack, &numbered("INV-QUIET", 2)).await;
    let calls_before = stack.sim().calls().await.unwrap().len();
    let answer = stack.list("?limit=5").await;
    assert_eq!(refs(&answer), ["INV-QUIET-01", "INV-QUIET-00"]);
    assert_eq!(answer.body["next_cursor"], Value::Null);
    assert_eq!(stack.sim().calls().await.unwrap().len(), calls_before);
}
