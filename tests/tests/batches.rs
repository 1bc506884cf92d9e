//! Batch payouts end to end (docs/api.md "POST /payout-batches"): the real functions under the
//! Lambda emulator, the table and the batch queue on moto, `tools/event-runner`'s queue mapping
//! as Lambda's SQS trigger of `send-batch-items`, and the LeanX simulator over real HTTP, which
//! counts every send.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use event_runner::{Invoke, QueueMapping, QueueSettings};
use leanx_payouts::domain::{NOT_RECEIVED_BY_PROVIDER, PayoutStatus};
use leanx_sim::control::{CallbackFaults, FaultKind, Outcome, Times};
use payouts_e2e::dynamodb;
use payouts_e2e::reliability::{check_history, make_due};
use payouts_e2e::stack::{Answer, Stack, StackOptions};
use rust_decimal::Decimal;
use serde_json::{Value, json};

struct ViaEmulator(Arc<Stack>);

#[async_trait]
impl Invoke for ViaEmulator {
    async fn invoke(&self, function: &str, event: Value) -> Result<Value, String> {
        self.0
            .emulator
            .invoke_raw(function, event)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Lambda's SQS trigger runs this many `send-batch-items` at once (its maximum concurrency).
const SENDERS: usize = 2;

/// How a wait for a complete batch settles its open items.
#[derive(Clone, Copy)]
enum Reconcile {
    /// Not at all: callbacks settle them.
    No,
    /// Each open item made due, then a reconciler run (for items whose answer was lost).
    MakingOpenItemsDue,
    /// A reconciler run every few seconds, taking the items as they fall due.
    WhenDue,
}

struct BatchStack {
    stack: Arc<Stack>,
    runners: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for BatchStack {
    fn drop(&mut self) {
        for runner in &self.runners {
            runner.abort();
        }
    }
}

async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(dynamodb::local_endpoint().await)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "batches-test",
        ))
        .load()
        .await
}

impl BatchStack {
    async fn start(mut options: StackOptions) -> BatchStack {
        let config = moto_config().await;
        for (function, name, value) in [
            // Fast for the test; the pacing itself is the bench's to measure.
            ("send-batch-items", "BATCH_SEND_RATE", "2000".into()),
            (
                "send-batch-items",
                "BATCH_SEND_CONCURRENCY",
                SENDERS.to_string(),
            ),
        ] {
            options
                .function_env
                .push((function.into(), name.into(), value));
        }
        options.instances = options.instances.max(SENDERS);
        let stack = Arc::new(Stack::start_with(options).await);
        let queue_url = stack.batch_queue_url.clone();
        let mut runners = Vec::new();
        for _ in 0..SENDERS {
            let mapping = QueueMapping::new(
                &config,
                QueueSettings {
                    function: "send-batch-items".into(),
                    queue_url: queue_url.clone(),
                    // As template.yaml's mapping: one message (five items) per invocation.
                    batch_size: 1,
                },
            )
            .await
            .expect("the queue mapping");
            let invoke = ViaEmulator(stack.clone());
            runners.push(tokio::spawn(async move {
                loop {
                    if mapping
                        .poll_once(&invoke, Duration::from_millis(200))
                        .await
                        .is_err()
                    {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }));
        }
        BatchStack { stack, runners }
    }

    async fn submit(&self, body: &Value) -> Answer {
        self.stack
            .post_json("/payout-batches", body.to_string())
            .await
    }

    async fn batch(&self, batch_ref: &str) -> Answer {
        self.stack
            .get_path(&format!("/payout-batches/{batch_ref}"))
            .await
    }

    /// Waits until the batch is complete (or `limit` passes), running the reconciler meanwhile
    /// as `reconcile` says.
    async fn wait_complete(&self, batch_ref: &str, limit: Duration, reconcile: Reconcile) -> Value {
        let started = Instant::now();
        loop {
            let answer = self.batch(batch_ref).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            if answer.body["complete"] == true {
                return answer.body;
            }
            assert!(
                started.elapsed() < limit,
                "batch {batch_ref} not complete after {limit:?}: {}",
                answer.body
            );
            match reconcile {
                Reconcile::No => tokio::time::sleep(Duration::from_millis(500)).await,
                Reconcile::MakingOpenItemsDue => self.settle_open_items(batch_ref).await,
                Reconcile::WhenDue => {
                    self.stack.reconcile().await;
                    tokio::time::sleep(Duration::from_secs(8)).await;
                }
            }
        }
    }

    /// One reconciler round over the batch's open items, made due at once.
    async fn settle_open_items(&self, batch_ref: &str) {
        for item in self.all_items(batch_ref).await {
            let status = item["status"].as_str().unwrap_or_default();
            if status == "PENDING" || status == "PROCESSING" {
                make_due(&self.stack, item["external_invoice_ref"].as_str().unwrap()).await;
            }
        }
        self.stack.reconcile().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Every item, page by page (100 at a time) with the cursors the service issues.
    async fn all_items(&self, batch_ref: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/payout-batches/{batch_ref}/items?limit=100&cursor={c}"),
                None => format!("/payout-batches/{batch_ref}/items?limit=100"),
            };
            let page = self.stack.get_path(&path).await;
            assert_eq!(page.status, 200, "{:?}", page.body);
            items.extend(page.body["payouts"].as_array().cloned().unwrap_or_default());
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    /// The functions' error log lines, for a failure's message.
    fn errors(&self) -> String {
        self.stack
            .logs()
            .into_iter()
            .filter(|l| {
                l.contains("\"ERROR\"")
                    || (l.contains("\"WARN\"") && !l.starts_with("send-batch-items"))
            })
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `create-payout-invoice` calls the simulator received, per ref.
    async fn sends_per_ref(&self) -> BTreeMap<String, u64> {
        let mut sends = BTreeMap::new();
        for call in self.stack.sim().calls().await.expect("the simulator's log") {
            if call.endpoint != "create-payout-invoice" {
                continue;
            }
            if let Some(reference) = call
                .body_json()
                .and_then(|b| b["external_invoice_ref"].as_str().map(str::to_owned))
            {
                *sends.entry(reference).or_insert(0) += 1;
            }
        }
        sends
    }
}

/// A batch of `count` items `<prefix>-<i>`, amounts varied (RM 1.00–20.99), and its exact
/// total.
fn batch(batch_ref: &str, prefix: &str, count: usize) -> (Value, Decimal) {
    let mut total = Decimal::ZERO;
    let items: Vec<Value> = (0..count)
        .map(|i| {
            let amount = format!("{}.{:02}", 1 + i % 20, i % 100);
            total += amount.parse::<Decimal>().unwrap();
            json!({
                "external_invoice_ref": format!("{prefix}-{i}"),
                "payout_service_id": 23,
                "amount": amount,
                "recipient_name": "Siti Aminah",
                "third_party_account_no": format!("80114{:05}", i),
                "recipient_reference": "Payroll Nov"
            })
        })
        .collect();
    (json!({ "batch_ref": batch_ref, "items": items }), total)
}

fn decimal(v: &Value) -> Decimal {
    v.as_str()
        .expect("an amount string")
        .parse()
        .expect("a decimal")
}

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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acceptance_killed_half_way_is_finished_by_the_retry_with_no_item_twice() {
    let marker = std::env::temp_dir().join(format!(
        "batch-crash-once-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let options = StackOptions {
        function_env: vec![
            (
                "create-payout-batch".into(),
                "PAYOUTS_CRASH_POINT".into(),
                "accept_batch_half_recorded".into(),
            ),
            (
                "create-payout-batch".into(),
                "PAYOUTS_CRASH_ONCE".into(),
                marker.display().to_string(),
            ),
        ],
        ..StackOptions::default()
    };
    let stack = BatchStack::start(StackOptions {
        invocation_timeout: Duration::from_secs(120),
        ..options
    })
    .await;
    let (body, total) = batch("PAYROLL-KILLED", "KIL", 1_000);
    let killed = stack.submit(&body).await;
    assert!(killed.status >= 500, "the acceptance died: {killed:?}");
    assert!(marker.exists(), "the crash point was reached");
    let half = stack.batch("PAYROLL-KILLED").await;
    assert_eq!(half.body["complete"], false);

    let retried = stack.submit(&body).await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    let done = stack
        .wait_complete("PAYROLL-KILLED", Duration::from_secs(300), Reconcile::No)
        .await;
    assert_eq!(done["counts"]["SUCCEEDED"], 1_000, "{done}");
    assert_eq!(decimal(&done["amounts"]["SUCCEEDED"]), total);
    let sends = stack.sends_per_ref().await;
    assert_eq!(sends.len(), 1_000);
    assert!(sends.values().all(|n| *n == 1), "an item was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leanx_faults_on_a_tenth_of_the_items_end_each_one_as_leanx_has_it() {
    let options = StackOptions {
        grace_period_seconds: 2,
        ..StackOptions::default()
    };
    let stack = BatchStack::start(options).await;
    let sim = stack.stack.sim();
    // 30 of 300 sends meet a fault: answers lost after LeanX recorded the payout, refusals
    // before it did, dropped connections both sides; and LeanX fails some payouts itself
    // (which it never pushes: only the reconciler finds them).
    for (kind, times) in [
        (FaultKind::Http500After, 8),
        (FaultKind::Http500Before, 6),
        (FaultKind::DropAfter, 8),
        (FaultKind::DropBefore, 8),
    ] {
        sim.inject_fault("create-payout-invoice", kind, Times::Count(times))
            .await
            .expect("a fault");
    }
    for i in (0..300).step_by(37) {
        sim.set_account_outcome(
            &format!("80114{:05}", i),
            Outcome::Failed {
                error_description: Some("account closed".into()),
            },
        )
        .await
        .expect("an account outcome");
    }
    let (body, total) = batch("PAYROLL-FAULTS", "FLT", 300);
    let accepted = stack.submit(&body).await;
    assert_eq!(
        accepted.status,
        202,
        "{:?}\n{}",
        accepted.body,
        stack.errors()
    );
    let done = stack
        .wait_complete(
            "PAYROLL-FAULTS",
            Duration::from_secs(300),
            Reconcile::MakingOpenItemsDue,
        )
        .await;
    let amounts: Decimal = ["SUCCEEDED", "FAILED"]
        .iter()
        .map(|s| decimal(&done["amounts"][*s]))
        .sum();
    assert_eq!(amounts, total, "{done}");

    let sends = stack.sends_per_ref().await;
    assert!(sends.values().all(|n| *n == 1), "an item was sent twice");
    let held: BTreeMap<String, String> = sim
        .payouts()
        .await
        .expect("the simulator's payouts")
        .into_iter()
        .filter_map(|p| {
            Some((
                p.external_invoice_ref.clone()?,
                p.transaction_status.clone(),
            ))
        })
        .collect();
    for i in 0..300 {
        let reference = format!("FLT-{i}");
        let payout = stack.stack.stored(&reference).await.expect("stored");
        check_history(&payout).unwrap_or_else(|e| panic!("{reference}: {e}"));
        match held.get(&reference).map(String::as_str) {
            Some("SUCCESS") => assert_eq!(payout.status, PayoutStatus::Succeeded, "{reference}"),
            Some("FAILED") => assert_eq!(payout.status, PayoutStatus::Failed, "{reference}"),
            Some(other) => panic!("{reference}: LeanX still holds it as {other}"),
            None => {
                assert_eq!(payout.status, PayoutStatus::Failed, "{reference}");
                assert_eq!(
                    payout.failure.as_ref().map(|f| f.code.as_str()),
                    Some(NOT_RECEIVED_BY_PROVIDER),
                    "{reference}: LeanX never held it"
                );
            }
        }
    }
}

#[tokio::test]
async fn invalid_items_are_all_listed_and_a_taken_ref_is_named_and_nothing_is_recorded() {
    let stack = BatchStack::start(StackOptions::default()).await;
    let (mut body, _) = batch("PAYROLL-BAD", "BAD", 4);
    body["items"][1]["amount"] = json!("0.001");
    body["items"][3]["external_invoice_ref"] = json!("BAD-0");
    let refused = stack.submit(&body).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.error_code(), Some("invalid_request"));
    let items = refused.body["error"]["items"].as_array().unwrap();
    let listed: Vec<(u64, &str)> = items
        .iter()
        .map(|i| (i["index"].as_u64().unwrap(), i["field"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [(1, "amount"), (3, "external_invoice_ref")]);
    assert_eq!(stack.batch("PAYROLL-BAD").await.status, 404);
    assert!(stack.stack.stored("BAD-0").await.is_none());

    // A payout made alone under one of the refs, with another body.
    let mut alone = payouts_e2e::stack::payout_body("TAKEN-1");
    alone["amount"] = json!("99.00");
    assert_eq!(stack.stack.create(&alone).await.status, 201);
    let (body, _) = batch("PAYROLL-TAKEN", "TAKEN", 3);
    let conflict = stack.submit(&body).await;
    assert_eq!(conflict.status, 409, "{:?}", conflict.body);
    assert_eq!(conflict.body["error"]["items"][0]["index"], 1);
    assert!(stack.stack.stored("TAKEN-0").await.is_none());
    assert_eq!(stack.batch("PAYROLL-TAKEN").await.status, 404);
}
