//! The event pipeline end to end (issue 13 item 5): how long from a payout's status change to
//! the merchant's endpoint. The table's stream, the bus with its rule and the webhook queue on
//! moto (`event_runner::local::set_up`, as template.yaml declares them in AWS); the release
//! `create-payout`, `leanx-callback`, `publish-events` and `deliver-webhooks` under one emulator;
//! `event_runner`'s stream and queue mappings invoking them as Lambda's event source mappings
//! would; a local receiver verifying every delivery. Each payout is created (PENDING, then
//! PROCESSING) and then LeanX's success callback arrives (SUCCEEDED): three status changes,
//! three events. An event's latency is its arrival at the receiver minus its history entry's
//! `at` (= the event's `created_at`), both read from this machine's clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use event_runner::local::{QueueShape, set_up};
use event_runner::receiver::{Inbox, serve};
use event_runner::{Invoke, QueueMapping, QueueSettings, StreamMapping, StreamSettings};
use lambda_emulator::Emulator;
use leanx_payouts::domain::InvoiceRef;
use leanx_payouts::events::EventType;
use leanx_payouts::events::signing::SigningKeys;
use leanx_payouts::store::PayoutStore;
use serde_json::Value;

use crate::BenchResult;
use crate::args::Args;
use crate::world::{Ledger, Op, World, fresh_table};

/// The binaries this phase runs besides `create-payout` and `leanx-callback`.
pub const PIPELINE_FUNCTIONS: [&str; 2] = ["publish-events", "deliver-webhooks"];
/// The merchant's signing secret in this phase (made up: the receiver is local).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The local stream mapping reads the stream again after this pause when it found nothing.
pub const STREAM_POLL: Duration = Duration::from_millis(100);
/// The local queue mapping receives again after this pause when the queue was empty.
pub const QUEUE_POLL: Duration = Duration::from_millis(50);
/// How long to wait, after the last status change, for every event to arrive.
const DRAIN: Duration = Duration::from_secs(60);

/// What the phase measured.
pub struct EventLatency {
    pub payouts: usize,
    /// History entries of those payouts: the events the merchant must get.
    pub expected: usize,
    /// History entries no event arrived for within [`DRAIN`].
    pub lost: usize,
    /// Deliveries of an event already received (at least once delivery).
    pub duplicates: usize,
    /// Status change → arrival, one per distinct event received.
    pub latencies: Vec<Duration>,
}

/// The functions under the emulator, invoked as Lambda's event source mappings would.
pub(crate) struct ViaEmulator<'a>(pub(crate) &'a Emulator);

#[async_trait]
impl Invoke for ViaEmulator<'_> {
    async fn invoke(&self, function: &str, event: Value) -> Result<Value, String> {
        self.0
            .invoke_raw(function, event)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The SDK configuration for the local stand-in (moto serves SQS, EventBridge and the stream
/// on the DynamoDB endpoint).
pub(crate) async fn moto_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "lambda-bench",
        ))
        .load()
        .await
}

/// `args.events` payouts through the whole pipeline, on a table of their own (its stream holds
/// nothing else).
pub async fn event_latency(args: &Args, world: &World) -> BenchResult<EventLatency> {
    let endpoint = args.dynamodb_endpoint.clone();
    let config = moto_config(&endpoint).await;
    let (store, table) = fresh_table(&endpoint).await?;
    let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    // The deployed queue's shape, but a short visibility: nothing fails here, and a stray
    // failure must not hide an event for two minutes.
    let local = set_up(
        &config,
        &prefix,
        &QueueShape {
            visibility_timeout_seconds: 5,
            max_receive_count: 13,
        },
    )
    .await
    .map_err(|e| format!("the pipeline's resources on moto: {e}"))?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("receiver: {e}"))?;
    let receiver_url = format!(
        "http://{}/hooks",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let inbox = Arc::new(Inbox::default());
    let keys = SigningKeys::parse(SECRET).map_err(|e| e.to_string())?;
    let receiver = tokio::spawn(serve(listener, keys, inbox.clone()));

    let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let emulator = world
        .emulator_of(
            args,
            &table,
            &[
                (Op::Create.function(), Vec::new()),
                (Op::Callback.function(), Vec::new()),
                (
                    "publish-events",
                    vars(&[
                        ("EVENT_BUS_NAME", &local.bus_name),
                        ("AWS_ENDPOINT_URL_EVENTBRIDGE", &endpoint),
                    ]),
                ),
                (
                    "deliver-webhooks",
                    vars(&[
                        ("MERCHANT_WEBHOOK_URL", &receiver_url),
                        ("MERCHANT_WEBHOOK_SECRET", SECRET),
                        ("WEBHOOK_QUEUE_URL", &local.webhook_queue_url),
                        ("AWS_ENDPOINT_URL_SQS", &endpoint),
                    ]),
                ),
            ],
            1,
            Duration::from_secs(30),
        )
        .await?;
    let mut stream = StreamMapping::new(
        &config,
        &table,
        StreamSettings {
            function: "publish-events".into(),
            batch_size: 100,
            maximum_retry_attempts: 3,
            on_failure_queue_url: Some(local.stream_dlq_url.clone()),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let queue = QueueMapping::new(
        &config,
        QueueSettings {
            function: "deliver-webhooks".into(),
            queue_url: local.webhook_queue_url.clone(),
            batch_size: 10,
        },
    )
    .await
    .map_err(|e| e.to_string())?;

    let invoke = ViaEmulator(&emulator);
    let mappings = async {
        let stream_loop = async {
            loop {
                match stream.poll_once(&invoke).await {
                    Ok(0) => tokio::time::sleep(STREAM_POLL).await,
                    Ok(_) => {}
                    Err(e) => return format!("stream mapping: {e}"),
                }
            }
        };
        let queue_loop = async {
            loop {
                match queue.poll_once(&invoke, Duration::ZERO).await {
                    Ok(0) => tokio::time::sleep(QUEUE_POLL).await,
                    Ok(_) => {}
                    Err(e) => return format!("queue mapping: {e}"),
                }
            }
        };
        tokio::select! {
            e = stream_loop => e,
            e = queue_loop => e,
        }
    };
    let mut ledger = Ledger::new();
    let drive = async {
        for _ in 0..args.events {
            world.op(&emulator, &mut ledger, Op::Create).await?;
            world.op(&emulator, &mut ledger, Op::Callback).await?;
        }
        let mut expected: HashMap<(String, String, String), usize> = HashMap::new();
        for (external_ref, _) in &ledger.created {
            let parsed = InvoiceRef::parse(external_ref).map_err(|e| e.to_string())?;
            let payout = store
                .get(&parsed)
                .await
                .map_err(|e| format!("reading back {external_ref}: {e}"))?
                .ok_or_else(|| format!("{external_ref} was not stored"))?;
            for entry in &payout.history {
                let key = (
                    external_ref.clone(),
                    EventType::of(entry.to).as_str().to_owned(),
                    entry
                        .at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                );
                *expected.entry(key).or_default() += 1;
            }
        }
        let total: usize = expected.values().sum();
        let deadline = Instant::now() + DRAIN;
        while distinct(&inbox) < total && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        BenchResult::Ok((expected, total))
    };
    let outcome = tokio::select! {
        e = mappings => Err(e),
        done = drive => done,
    };
    emulator.shutdown().await;
    receiver.abort();
    let (mut expected, total) = outcome?;

    let mut seen = std::collections::HashSet::new();
    let mut latencies = Vec::new();
    let mut duplicates = 0;
    let mut received = 0;
    for d in inbox.deliveries() {
        if !seen.insert(d.webhook_id.clone()) {
            duplicates += 1;
            continue;
        }
        let e = &d.event;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let key = (
            text(&e["data"]["external_invoice_ref"]),
            text(&e["type"]),
            text(&e["created_at"]),
        );
        let Some(left) = expected.get_mut(&key).filter(|n| **n > 0) else {
            return Err(format!("an event no status change explains: {}", d.body));
        };
        *left -= 1;
        received += 1;
        let changed = chrono::DateTime::parse_from_rfc3339(&key.2)
            .map_err(|e| format!("created_at {}: {e}", key.2))?;
        let latency = d.received_at - changed.with_timezone(&chrono::Utc);
        latencies.push(latency.to_std().unwrap_or_default());
    }
    Ok(EventLatency {
        payouts: ledger.created.len(),
        expected: total,
        lost: total - received,
        duplicates,
        latencies,
    })
}

fn distinct(inbox: &Inbox) -> usize {
    inbox
        .deliveries()
        .iter()
        .map(|d| d.webhook_id.clone())
        .collect::<std::collections::HashSet<_>>()
        .len()
}
