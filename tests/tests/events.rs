//! The event pipeline end to end (docs/api.md "Events"): the real functions under the Lambda
//! emulator, the table's stream, EventBridge and SQS on moto, `tools/event-runner` as Lambda's
//! event source mappings, and a merchant endpoint that verifies every delivery.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use event_runner::local::{LocalPipeline, QueueShape, set_up};
use event_runner::receiver::{Inbox, Received, serve, verify};
use event_runner::{Invoke, QueueMapping, QueueSettings, StreamMapping, StreamSettings};
use futures::StreamExt as _;
use leanx_payouts::domain::{Payout, PayoutStatus};
use leanx_payouts::events::EventType;
use leanx_payouts::events::signing::SigningKeys;
use leanx_sim::SimConfig;
use leanx_sim::control::{FaultKind, Outcome, Times};
use payouts_e2e::dynamodb;
use payouts_e2e::reliability::{check_history, make_due};
use payouts_e2e::stack::{Stack, StackOptions, payout_body};
use serde_json::Value;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The functions under the emulator, invoked as Lambda's event source mappings would.
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

struct Pipeline {
    stack: Arc<Stack>,
    local: LocalPipeline,
    inbox: Arc<Inbox>,
    /// The merchant endpoint's socket, bound for the whole test so no other process can take
    /// its port while it is "down" (then every connection is accepted and closed at once).
    receiver_socket: std::sync::Mutex<Option<std::net::TcpListener>>,
    refusing: tokio::task::JoinHandle<()>,
    sqs: aws_sdk_sqs::Client,
    runner: tokio::task::JoinHandle<()>,
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
            "events-test",
        ))
        .load()
        .await
}

/// How a test wires the pipeline's functions, beyond the defaults.
#[derive(Default)]
struct Wiring {
    /// `publish-events` crashes once, right after its first put.
    crash_publish_once: bool,
    /// `publish-events` puts on this bus instead of the pipeline's.
    publish_to_bus: Option<String>,
    /// `deliver-webhooks` reads its secret from Secrets Manager by this ARN (and is given no
    /// `MERCHANT_WEBHOOK_SECRET`).
    secret_arn: Option<String>,
}

impl Pipeline {
    /// The stack with its pipeline; the merchant endpoint is not listening yet.
    async fn start(mut options: StackOptions, wiring: Wiring) -> Pipeline {
        let endpoint = dynamodb::local_endpoint().await;
        let config = moto_config().await;
        let prefix = format!("events-{}", uuid::Uuid::new_v4().simple());
        let local = set_up(
            &config,
            &prefix,
            &QueueShape {
                visibility_timeout_seconds: 5,
                max_receive_count: 100,
            },
        )
        .await
        .expect("the pipeline's resources on moto");
        let receiver_socket = std::net::TcpListener::bind("127.0.0.1:0").expect("loopback");
        let receiver_port = receiver_socket.local_addr().expect("addr").port();
        let refusing = {
            let down = receiver_socket
                .try_clone()
                .expect("a second handle on the socket");
            down.set_nonblocking(true).expect("non-blocking");
            let down = tokio::net::TcpListener::from_std(down).expect("a tokio listener");
            tokio::spawn(async move {
                loop {
                    if let Ok((connection, _)) = down.accept().await {
                        drop(connection);
                    }
                }
            })
        };
        let mut publish = vec![
            (
                "EVENT_BUS_NAME",
                wiring
                    .publish_to_bus
                    .clone()
                    .unwrap_or_else(|| local.bus_name.clone()),
            ),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", endpoint.clone()),
        ];
        if wiring.crash_publish_once {
            let marker = std::env::temp_dir().join(format!("{prefix}-crash-once"));
            publish.push(("PAYOUTS_CRASH_POINT", "publish_after_first_put".into()));
            publish.push(("PAYOUTS_CRASH_ONCE", marker.display().to_string()));
        }
        let mut deliver = vec![
            (
                "MERCHANT_WEBHOOK_URL",
                format!("http://127.0.0.1:{receiver_port}/hooks"),
            ),
            ("WEBHOOK_QUEUE_URL", local.webhook_queue_url.clone()),
            ("WEBHOOK_RETRY_BASE_SECONDS", "1".to_owned()),
            ("AWS_ENDPOINT_URL_SQS", endpoint.clone()),
        ];
        match &wiring.secret_arn {
            Some(arn) => {
                deliver.push(("MERCHANT_WEBHOOK_SECRET_ARN", arn.clone()));
                // The SDK's variable is named after the service id, "Secrets Manager".
                deliver.push(("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint.clone()));
            }
            None => deliver.push(("MERCHANT_WEBHOOK_SECRET", SECRET.to_owned())),
        }
        for (function, vars) in [("publish-events", publish), ("deliver-webhooks", deliver)] {
            for (name, value) in vars {
                options
                    .function_env
                    .push((function.to_owned(), name.to_owned(), value));
            }
        }
        let stack = Arc::new(Stack::start_with(options).await);
        let mut stream = StreamMapping::new(
            &config,
            &stack.table,
            StreamSettings {
                function: "publish-events".into(),
                batch_size: 100,
                maximum_retry_attempts: 5,
                on_failure_queue_url: Some(local.stream_dlq_url.clone()),
            },
        )
        .await
        .expect("the table has a stream");
        let queue = QueueMapping::new(
            &config,
            QueueSettings {
                function: "deliver-webhooks".into(),
                queue_url: local.webhook_queue_url.clone(),
                batch_size: 10,
            },
        )
        .await
        .expect("the webhook queue");
        let invoke = ViaEmulator(stack.clone());
        let runner = tokio::spawn(async move {
            let stream_loop = async {
                loop {
                    match stream.poll_once(&invoke).await {
                        Ok(0) => tokio::time::sleep(Duration::from_millis(100)).await,
                        Ok(_) => {}
                        Err(e) => panic!("stream mapping: {e}"),
                    }
                }
            };
            let queue_loop = async {
                loop {
                    queue
                        .poll_once(&invoke, Duration::from_millis(0))
                        .await
                        .expect("queue mapping");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            tokio::join!(stream_loop, queue_loop);
        });
        Pipeline {
            stack,
            local,
            inbox: Arc::new(Inbox::default()),
            receiver_socket: std::sync::Mutex::new(Some(receiver_socket)),
            refusing,
            sqs: aws_sdk_sqs::Client::new(&config),
            runner,
        }
    }

    /// The merchant endpoint starts listening, verifying with `secret`.
    async fn receiver_up(&self) {
        self.refusing.abort();
        let socket = self
            .receiver_socket
            .lock()
            .unwrap()
            .take()
            .expect("the receiver comes up once");
        socket.set_nonblocking(true).expect("non-blocking");
        let listener = tokio::net::TcpListener::from_std(socket).expect("a tokio listener");
        let keys = SigningKeys::parse(SECRET).expect("valid secret");
        tokio::spawn(serve(listener, keys, self.inbox.clone()));
    }

    async fn queue_depth(&self, url: &str) -> u64 {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .expect("queue attributes");
        let count = |name: aws_sdk_sqs::types::QueueAttributeName| {
            attributes
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

/// What a payout's history says the merchant must have been told: (type, created_at) in order.
fn expected_events(payout: &Payout) -> Vec<(String, String)> {
    payout
        .history
        .iter()
        .map(|entry| {
            (
                EventType::of(entry.to).as_str().to_owned(),
                entry
                    .at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )
        })
        .collect()
}

/// The distinct events received, per payout, in `data.version` order.
fn received_by_payout(deliveries: &[Received]) -> BTreeMap<String, Vec<(u64, String, String)>> {
    let mut seen = BTreeSet::new();
    let mut by_payout: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    for d in deliveries {
        if !seen.insert(d.webhook_id.clone()) {
            continue;
        }
        let e = &d.event;
        by_payout
            .entry(
                e["data"]["external_invoice_ref"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned(),
            )
            .or_default()
            .push((
                e["data"]["version"].as_u64().unwrap_or(0),
                e["type"].as_str().unwrap_or("?").to_owned(),
                e["created_at"].as_str().unwrap_or("?").to_owned(),
            ));
    }
    for events in by_payout.values_mut() {
        events.sort();
    }
    by_payout
}

fn body(reference: &str, account: &str) -> Value {
    let mut body = payout_body(reference);
    body["third_party_account_no"] = Value::String(account.to_owned());
    body
}

const SUCCEEDS: &str = "8011408168";
const REFUSED: &str = "9999900001";
const FAILS_QUIETLY: &str = "9999900002";

/// Every path (callback success, refusal, failure found by the reconciler, never received), a
/// few hundred payouts, while the endpoint is down, then answers 500, and while publish-events
/// crashes mid-batch: each payout's history is exactly the events the endpoint took.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_status_change_reaches_the_merchant_once_despite_outages_and_a_crash() {
    const PER_PATH: usize = 60;
    let pipeline = Pipeline::start(
        StackOptions {
            claim_ttl_seconds: 1,
            grace_period_seconds: 2,
            refresh_after_seconds: 3600,
            instances: 2,
            sim: SimConfig {
                require_signature: true,
                initial_prefund_balance: rust_decimal::Decimal::new(10_000_000_000, 2),
                ..SimConfig::default()
            },
            ..StackOptions::default()
        },
        Wiring {
            crash_publish_once: true,
            ..Wiring::default()
        },
    )
    .await;
    let stack = pipeline.stack.clone();
    let started = Instant::now();
    let sim = stack.sim();

    // Never received: LeanX fails before recording these creates.
    sim.inject_fault(
        "create-payout-invoice",
        FaultKind::Http500Before,
        Times::Count(PER_PATH as u32),
    )
    .await
    .unwrap();
    for i in 0..PER_PATH {
        stack.create(&body(&format!("EV-LOST-{i}"), SUCCEEDS)).await;
    }
    sim.set_account_outcome(
        REFUSED,
        Outcome::Refuse {
            response_code: 4566,
            description: "FAILED".into(),
        },
    )
    .await
    .unwrap();
    sim.set_account_outcome(
        FAILS_QUIETLY,
        Outcome::Failed {
            error_description: Some("ACCOUNT CLOSED".into()),
        },
    )
    .await
    .unwrap();
    let mut requests = Vec::new();
    for i in 0..PER_PATH {
        requests.push(body(&format!("EV-OK-{i}"), SUCCEEDS));
        requests.push(body(&format!("EV-REFUSED-{i}"), REFUSED));
        requests.push(body(&format!("EV-FAILS-{i}"), FAILS_QUIETLY));
    }
    futures::stream::iter(requests.iter().map(|b| stack.create(b)))
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    let refs: Vec<String> = ["EV-LOST", "EV-OK", "EV-REFUSED", "EV-FAILS"]
        .iter()
        .flat_map(|p| (0..PER_PATH).map(move |i| format!("{p}-{i}")))
        .collect();

    // The endpoint was down so far; now it answers 500 for a while, then takes deliveries.
    pipeline.inbox.fail_with.store(500, Ordering::SeqCst);
    pipeline.receiver_up().await;
    let fail_until = Instant::now() + Duration::from_secs(3);

    let deadline = started + Duration::from_secs(200);
    let expected_total = loop {
        // 500s for at least 3 s, and until one was answered.
        if Instant::now() > fail_until && pipeline.inbox.failed.load(Ordering::SeqCst) > 0 {
            pipeline.inbox.fail_with.store(0, Ordering::SeqCst);
        }
        let mut open = 0;
        let mut total = 0;
        for r in &refs {
            let p = stack.stored(r).await.expect("stored");
            total += p.history.len();
            if !p.status.is_final() {
                open += 1;
                make_due(&stack, r).await;
            }
        }
        if open > 0 {
            stack.reconcile().await;
        }
        let received = received_by_payout(&pipeline.inbox.deliveries());
        let got: usize = received.values().map(Vec::len).sum();
        if open == 0 && got >= total {
            break total;
        }
        assert!(
            Instant::now() < deadline,
            "{open} payouts open, {got} of {total} events received"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    let deliveries = pipeline.inbox.deliveries();
    let received = received_by_payout(&deliveries);
    let mut statuses = std::collections::HashMap::new();
    for r in &refs {
        let payout = stack.stored(r).await.unwrap();
        check_history(&payout).unwrap();
        *statuses.entry(payout.status).or_insert(0) += 1;
        let told: Vec<(String, String)> = received
            .get(r)
            .map(|events| {
                events
                    .iter()
                    .map(|(_, t, at)| (t.clone(), at.clone()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            told,
            expected_events(&payout),
            "{r}: events differ from its history"
        );
        let versions: Vec<u64> = received[r].iter().map(|(v, _, _)| *v).collect();
        assert_eq!(
            versions.last(),
            Some(&payout.version),
            "{r}: last event is the current version"
        );
    }
    assert_eq!(received.len(), refs.len());
    assert_eq!(
        received.values().map(Vec::len).sum::<usize>(),
        expected_total
    );
    assert_eq!(statuses.get(&PayoutStatus::Succeeded), Some(&PER_PATH));
    assert_eq!(statuses.get(&PayoutStatus::Failed), Some(&(3 * PER_PATH)));

    // A redelivery carries the same id and the same event: receivers dedupe by webhook-id.
    let mut first_body: BTreeMap<&str, &str> = BTreeMap::new();
    for d in &deliveries {
        let first = first_body.entry(&d.webhook_id).or_insert(&d.body);
        let (a, b): (Value, Value) = (
            serde_json::from_str(first).unwrap(),
            serde_json::from_str(&d.body).unwrap(),
        );
        assert_eq!(a, b, "{} redelivered with another event", d.webhook_id);
    }
    // The faults really happened: the crash re-published a batch, the 500s were answered.
    assert!(
        stack
            .logs()
            .iter()
            .any(|l| l.contains("payouts crash point publish_after_first_put reached")),
        "publish-events never crashed"
    );
    assert!(
        deliveries.iter().any(|d| d.duplicate),
        "no redelivery was seen"
    );
    assert!(
        pipeline.inbox.failed.load(Ordering::SeqCst) > 0,
        "the 500s were never hit"
    );
    assert_eq!(
        pipeline.queue_depth(&pipeline.local.stream_dlq_url).await,
        0
    );
    assert_eq!(
        pipeline.queue_depth(&pipeline.local.webhook_dlq_url).await,
        0
    );
}

/// With the endpoint up, each event arrives within 5 s of its status change (docs/api.md;
/// locally the runner polls the stream every 100 ms and the queue every 50 ms; on AWS the
/// stream mapping's polling, EventBridge and the SQS mapping add their own sub-second delays).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_the_endpoint_within_five_seconds_of_its_status_change() {
    let pipeline = Pipeline::start(StackOptions::default(), Wiring::default()).await;
    pipeline.receiver_up().await;
    for i in 0..5 {
        pipeline
            .stack
            .create(&payout_body(&format!("EV-FAST-{i}")))
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while received_by_payout(&pipeline.inbox.deliveries())
        .values()
        .map(Vec::len)
        .sum::<usize>()
        < 15
    {
        assert!(Instant::now() < deadline, "deliveries did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut latencies: Vec<i64> = pipeline
        .inbox
        .deliveries()
        .iter()
        .filter(|d| !d.duplicate)
        .map(|d| {
            let changed =
                chrono::DateTime::parse_from_rfc3339(d.event["created_at"].as_str().unwrap())
                    .unwrap();
            (d.received_at - changed.with_timezone(&chrono::Utc)).num_milliseconds()
        })
        .collect();
    latencies.sort_unstable();
    println!(
        "status change -> merchant endpoint: median {} ms, max {} ms over {} events",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        latencies.len()
    );
    assert!(latencies[latencies.len() - 1] < 5_000, "{latencies:?}");
}

/// The deliveries verify with the `standardwebhooks` PyPI package (an independent
/// implementation of the standard), and not with another secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_verify_with_the_standardwebhooks_package_and_a_wrong_secret_is_refused() {
    let pipeline = Pipeline::start(StackOptions::default(), Wiring::default()).await;
    pipeline.receiver_up().await;
    for i in 0..3 {
        pipeline
            .stack
            .create(&payout_body(&format!("EV-PY-{i}")))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while pipeline.inbox.deliveries().len() < 6 {
        assert!(Instant::now() < deadline, "deliveries did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deliveries: Vec<Value> = pipeline
        .inbox
        .deliveries()
        .iter()
        .map(|d| {
            serde_json::json!({
                "headers": {
                    "webhook-id": d.webhook_id,
                    "webhook-timestamp": d.timestamp.to_string(),
                    "webhook-signature": d.signature,
                },
                "body": d.body,
            })
        })
        .collect();
    let file = std::env::temp_dir().join(format!("deliveries-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, serde_json::to_string(&deliveries).unwrap()).unwrap();
    let python = dynamodb::script_path()
        .parent()
        .and_then(|scripts| scripts.parent())
        .expect("repository root")
        .join(".venv/bin/python");
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
deliveries = json.load(open(sys.argv[1]))
right, wrong = Webhook(sys.argv[2]), Webhook(sys.argv[3])
for d in deliveries:
    right.verify(d["body"], d["headers"])
    try:
        wrong.verify(d["body"], d["headers"])
    except WebhookVerificationError:
        continue
    sys.exit("verified with the wrong secret: " + d["headers"]["webhook-id"])
print(len(deliveries))
"#;
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            script,
            &file.display().to_string(),
            SECRET,
            "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/dynamodb-local.sh install sets up .venv)",
                python.display()
            )
        });
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "standardwebhooks refused a delivery: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        deliveries.len().to_string()
    );
}

/// A second secret, as during a rotation.
const ROTATED: &str = "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==";

/// Polls until `done` holds, failing after `seconds`.
async fn wait_for(seconds: u64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `deliver-webhooks` given only `MERCHANT_WEBHOOK_SECRET_ARN` reads its secret from Secrets
/// Manager (moto): a rotation value of two space-separated secrets signs every delivery twice,
/// once with each, and each verifies on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_with_the_secret_read_from_secrets_manager_by_its_arn() {
    let secrets = aws_sdk_secretsmanager::Client::new(&moto_config().await);
    let arn = secrets
        .create_secret()
        .name(format!(
            "merchant-webhook-{}",
            uuid::Uuid::new_v4().simple()
        ))
        .secret_string(format!("{ROTATED} {SECRET}"))
        .send()
        .await
        .expect("the secret on moto")
        .arn()
        .expect("its ARN")
        .to_owned();
    let pipeline = Pipeline::start(
        StackOptions::default(),
        Wiring {
            secret_arn: Some(arn),
            ..Wiring::default()
        },
    )
    .await;
    pipeline.receiver_up().await;
    for i in 0..2 {
        pipeline
            .stack
            .create(&payout_body(&format!("EV-SM-{i}")))
            .await;
    }
    wait_for(60, "four verified deliveries", async || {
        pipeline.inbox.deliveries().len() >= 4
    })
    .await;
    let (old, new) = (
        SigningKeys::parse(SECRET).unwrap(),
        SigningKeys::parse(ROTATED).unwrap(),
    );
    for d in pipeline.inbox.deliveries() {
        let signatures: Vec<&str> = d.signature.split(' ').collect();
        assert_eq!(signatures.len(), 2, "{}: {}", d.webhook_id, d.signature);
        for keys in [&old, &new] {
            let verified: Vec<bool> = signatures
                .iter()
                .map(|s| verify(keys, &d.webhook_id, d.timestamp, &d.body, s))
                .collect();
            assert_eq!(
                verified.iter().filter(|v| **v).count(),
                1,
                "{}: exactly one signature per secret",
                d.webhook_id
            );
        }
    }
}

/// `publish-events` cannot put on its bus (it names one that does not exist): its stream
/// mapping retries, bisects and sends each failing record's pointer to the on-failure queue, and
/// the merchant hears nothing. `payouts-admin replay-stream-failures` reads those records back
/// from the stream and publishes their events: every status change then reaches the merchant,
/// with the ids `publish-events` gives them, and the queue is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_failures_are_read_back_from_the_stream_and_republished_by_payouts_admin() {
    let pipeline = Pipeline::start(
        StackOptions::default(),
        Wiring {
            publish_to_bus: Some("no-such-bus".into()),
            ..Wiring::default()
        },
    )
    .await;
    pipeline.receiver_up().await;
    let refs: Vec<String> = (0..2).map(|i| format!("EV-STREAM-{i}")).collect();
    for r in &refs {
        pipeline.stack.create(&payout_body(r)).await;
    }
    let stack = pipeline.stack.clone();
    wait_for(60, "every payout final", async || {
        for r in &refs {
            if !stack.stored(r).await.expect("stored").status.is_final() {
                return false;
            }
        }
        true
    })
    .await;
    let mut histories = BTreeMap::new();
    for r in &refs {
        histories.insert(r.clone(), expected_events(&stack.stored(r).await.unwrap()));
    }
    let changes: usize = histories.values().map(Vec::len).sum();
    // One write per status change: one pointer per change.
    let dlq = pipeline.local.stream_dlq_url.clone();
    wait_for(120, "a pointer per status change", async || {
        pipeline.queue_depth(&dlq).await >= changes as u64
    })
    .await;
    assert!(
        pipeline.inbox.deliveries().is_empty(),
        "nothing was published"
    );

    let endpoint = dynamodb::local_endpoint().await;
    let admin = |args: &[&str]| {
        std::process::Command::new(lambda_emulator::target_binary("payouts-admin"))
            .args(args)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("payouts-admin runs (cargo build --workspace --bins)")
    };

    let listed = admin(&["stream-failures", "--dlq-url", &dlq]);
    assert!(listed.status.success());
    let pointers: Vec<Value> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(
        pointers.len(),
        changes,
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );

    let out = admin(&[
        "replay-stream-failures",
        "--dlq-url",
        &dlq,
        "--event-bus-name",
        &pipeline.local.bus_name,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "payouts-admin: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut republished_ids = BTreeSet::new();
    for line in stdout.lines() {
        let outcome: Value = serde_json::from_str(line).expect("one JSON object a line");
        assert_eq!(outcome["outcome"], "republished", "{line}");
        for id in outcome["event_ids"].as_array().unwrap() {
            republished_ids.insert(id.as_str().unwrap().to_owned());
        }
    }
    assert_eq!(republished_ids.len(), changes);

    wait_for(60, "every event delivered", async || {
        received_by_payout(&pipeline.inbox.deliveries())
            .values()
            .map(Vec::len)
            .sum::<usize>()
            >= changes
    })
    .await;
    let received = received_by_payout(&pipeline.inbox.deliveries());
    for (r, expected) in &histories {
        let told: Vec<(String, String)> = received[r]
            .iter()
            .map(|(_, t, at)| (t.clone(), at.clone()))
            .collect();
        assert_eq!(&told, expected, "{r}: events differ from its history");
    }
    let delivered_ids: BTreeSet<String> = pipeline
        .inbox
        .deliveries()
        .iter()
        .map(|d| d.webhook_id.clone())
        .collect();
    assert_eq!(delivered_ids, republished_ids);
    assert_eq!(pipeline.queue_depth(&dlq).await, 0);

    // A pointer to records the stream no longer holds: reported, kept, exit code 1.
    let gone = serde_json::json!({ "DDBStreamBatchInfo": {
        "streamArn": pointers[0]["stream_arn"],
        "shardId": pointers[0]["shard_id"],
        "startSequenceNumber": "999999999999999999999999999999",
        "endSequenceNumber": "999999999999999999999999999999",
        "batchSize": 1,
    }});
    pipeline
        .sqs
        .send_message()
        .queue_url(&dlq)
        .message_body(gone.to_string())
        .send()
        .await
        .unwrap();
    let out = admin(&[
        "replay-stream-failures",
        "--dlq-url",
        &dlq,
        "--event-bus-name",
        &pipeline.local.bus_name,
    ]);
    assert!(!out.status.success());
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(outcome["outcome"], "expired");
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired"));
    assert_eq!(pipeline.queue_depth(&dlq).await, 1, "the pointer is kept");
}
