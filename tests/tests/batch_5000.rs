//! A whole payroll of 5,000 items over the real local stack (docs/api.md "POST
//! /payout-batches"), in a test binary of its own: it keeps the local stand-in busy for minutes,
//! and nothing else should wait on it meanwhile.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use leanx_sim::control::CallbackFaults;
use payouts_e2e::batch_stack::{BatchStack, Reconcile, batch, decimal};
use payouts_e2e::stack::StackOptions;
use rust_decimal::Decimal;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_5000_item_batch_sends_each_item_once_replays_send_nothing_and_it_adds_up_exactly() {
    // 5,000 conditional puts and 500 queue sends take DynamoDB about a second; moto, one Python
    // process also serving the sends, takes far longer than API Gateway's 30 s. And moto answers
    // a Query on an index by reading the whole table, so 5,000 callbacks (each looks its payout
    // up by invoice number) would cost it 25 million item reads: LeanX's callbacks are dropped
    // here, and the reconciler (1,000 a run) finds each payout SUCCESS, as it would any payout
    // whose callback never came.
    let options = StackOptions {
        invocation_timeout: Duration::from_secs(300),
        function_env: vec![
            (
                "reconcile-payouts".into(),
                "RECONCILE_BATCH".into(),
                "1000".into(),
            ),
            (
                "reconcile-payouts".into(),
                "RECONCILE_CONCURRENCY".into(),
                "16".into(),
            ),
        ],
        ..StackOptions::default()
    };
    let stack = BatchStack::start(options).await;
    stack
        .stack
        .sim()
        .set_callback_faults(CallbackFaults {
            duplicate: 1,
            delay_ms: 0,
            drop: true,
        })
        .await
        .expect("callbacks dropped");
    let (body, total) = batch("PAYROLL-5000", "P5K", 5_000);
    let started = Instant::now();
    let accepted = stack.submit(&body).await;
    assert_eq!(
        accepted.status,
        202,
        "{:?}\n{}",
        accepted.body,
        stack.errors()
    );
    eprintln!("5,000 items accepted in {:?}", started.elapsed());
    assert_eq!(accepted.body["item_count"], 5_000);
    assert_eq!(decimal(&accepted.body["total_amount"]), total);

    // The same batch, three times at once, while its items are being sent.
    let replays = futures::future::join_all((0..3).map(|_| stack.submit(&body))).await;
    for replay in &replays {
        assert_eq!(replay.status, 200, "{:?}", replay.body);
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    }

    let done = stack
        .wait_complete("PAYROLL-5000", Duration::from_secs(900), Reconcile::WhenDue)
        .await;
    eprintln!("5,000 items final in {:?}", started.elapsed());
    assert_eq!(done["counts"]["SUCCEEDED"], 5_000, "{done}");
    let amounts: Decimal = ["PENDING", "PROCESSING", "SUCCEEDED", "FAILED"]
        .iter()
        .map(|s| decimal(&done["amounts"][*s]))
        .sum();
    assert_eq!(amounts, total);
    assert_eq!(decimal(&done["amounts"]["SUCCEEDED"]), total);

    let sends = stack.sends_per_ref().await;
    assert_eq!(sends.len(), 5_000, "every item reached LeanX");
    let twice: Vec<_> = sends.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");

    let items = stack.all_items("PAYROLL-5000").await;
    assert_eq!(items.len(), 5_000);
    let refs: Vec<&str> = items
        .iter()
        .map(|i| i["external_invoice_ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs[0], "P5K-0");
    assert_eq!(refs[4_999], "P5K-4999", "the batch's own order");
    assert_eq!(refs.iter().collect::<BTreeSet<_>>().len(), 5_000);

    let csv = stack
        .stack
        .http
        .get(stack.stack.url("/payout-batches/PAYROLL-5000/items"))
        .header("accept", "text/csv")
        .send()
        .await
        .expect("the CSV");
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 5_001, "the header and one row per item");
    assert!(lines[1].starts_with("P5K-0,1.00,Siti Aminah,******0000,SUCCEEDED,"));
    assert!(
        !text.contains("8011400000"),
        "a full account number in the CSV"
    );

    // Moto keeps every table in one Python process: this one (5,000 payouts and their stream)
    // would slow every test that runs after it.
    stack
        .stack
        .store
        .client()
        .delete_table()
        .table_name(&stack.stack.table)
        .send()
        .await
        .expect("the batch's table deleted");
}
