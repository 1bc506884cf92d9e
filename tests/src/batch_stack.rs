//! A stack for batch payouts end to end (tests/batches.rs, tests/batch_5000.rs): the whole
//! stack of [`crate::stack`], with `tools/event-runner`'s queue mapping as Lambda's SQS trigger
//! of `send-batch-items`, and the reads a batch test makes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dynamodb;
use crate::reliability::make_due;
use crate::stack::{Answer, Stack, StackOptions};
use async_trait::async_trait;
use event_runner::{Invoke, QueueMapping, QueueSettings};
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub struct ViaEmulator(pub Arc<Stack>);

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
pub const SENDERS: usize = 2;

/// How a wait for a complete batch settles its open items.
#[derive(Clone, Copy)]
pub enum Reconcile {
    /// Not at all: callbacks settle them.
    No,
    /// Each open item made due, then a reconciler run (for items whose answer was lost).
    MakingOpenItemsDue,
    /// A reconciler run every few seconds, taking the items as they fall due.
    WhenDue,
}

pub struct BatchStack {
    pub stack: Arc<Stack>,
    runners: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for BatchStack {
    fn drop(&mut self) {
        for runner in &self.runners {
            runner.abort();
        }
    }
}

pub async fn moto_config() -> aws_config::SdkConfig {
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
    pub async fn start(mut options: StackOptions) -> BatchStack {
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

    pub async fn submit(&self, body: &Value) -> Answer {
        self.stack
            .post_json("/payout-batches", body.to_string())
            .await
    }

    pub async fn batch(&self, batch_ref: &str) -> Answer {
        self.stack
            .get_path(&format!("/payout-batches/{batch_ref}"))
            .await
    }

    /// Waits until the batch is complete (or `limit` passes), running the reconciler meanwhile
    /// as `reconcile` says.
    pub async fn wait_complete(
        &self,
        batch_ref: &str,
        limit: Duration,
        reconcile: Reconcile,
    ) -> Value {
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
    pub async fn settle_open_items(&self, batch_ref: &str) {
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
    pub async fn all_items(&self, batch_ref: &str) -> Vec<Value> {
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
    pub fn errors(&self) -> String {
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
    pub async fn sends_per_ref(&self) -> BTreeMap<String, u64> {
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
pub fn batch(batch_ref: &str, prefix: &str, count: usize) -> (Value, Decimal) {
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

pub fn decimal(v: &Value) -> Decimal {
    v.as_str()
        .expect("an amount string")
        .parse()
        .expect("a decimal")
}
