//! `payouts-admin dead-letters` and `replay-dead-letters` against SQS on the local moto server
//! (`AWS_ENDPOINT_URL_DYNAMODB`, as scripts/with-local-dynamodb.sh and `make test` set it;
//! otherwise scripts/dynamodb-local.sh starts or reuses one).

use std::path::PathBuf;
use std::process::{Command, Output};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

fn local_endpoint() -> String {
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        && !url.trim().is_empty()
    {
        return url.trim().to_owned();
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dynamodb-local.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["start", "--free-port"])
        .output()
        .expect("scripts/dynamodb-local.sh runs");
    assert!(
        out.status.success(),
        "moto did not start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("the endpoint, last")
        .trim()
        .to_owned()
}

fn sqs(endpoint: &str) -> Client {
    Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "test"))
            .endpoint_url(endpoint)
            .build(),
    )
}

async fn new_queue(sqs: &Client, purpose: &str) -> String {
    let name = format!("{purpose}-{}", std::process::id());
    let name = format!("{name}-{}", chrono::Utc::now().timestamp_micros());
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("a queue on moto")
        .queue_url()
        .expect("its url")
        .to_owned()
}

/// A webhook event as the rule delivers it: the EventBridge envelope.
fn dead_lettered_event(id: &str, reference: &str) -> String {
    json!({ "source": "leanx-payouts", "detail-type": "payout.failed", "detail": {
        "id": id, "type": "payout.failed",
        "data": { "external_invoice_ref": reference, "version": 3 } } })
    .to_string()
}

fn admin(endpoint: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_payouts-admin"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("payouts-admin runs");
    assert!(
        out.status.success(),
        "payouts-admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The `event_id`s of the JSON lines a command printed, sorted.
fn event_ids(out: &Output) -> Vec<String> {
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON object a line");
            v["event_id"].as_str().expect("an event_id").to_owned()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn listing_dead_letters_leaves_them_for_a_replay_straight_after() {
    let endpoint = local_endpoint();
    let sqs = sqs(&endpoint);
    let dlq = new_queue(&sqs, "webhook-dlq").await;
    let delivery = new_queue(&sqs, "webhook").await;
    for (id, reference) in [("evt_1", "INV-1"), ("evt_2", "INV-2")] {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(dead_lettered_event(id, reference))
            .send()
            .await
            .expect("a dead letter");
    }

    let listed = admin(&endpoint, &["dead-letters", "--dlq-url", &dlq]);
    assert_eq!(event_ids(&listed), ["evt_1", "evt_2"]);

    let replayed = admin(
        &endpoint,
        &[
            "replay-dead-letters",
            "--dlq-url",
            &dlq,
            "--queue-url",
            &delivery,
        ],
    );
    assert_eq!(
        event_ids(&replayed),
        ["evt_1", "evt_2"],
        "the listing hid the messages from the replay"
    );
    let mut delivered = Vec::new();
    while delivered.len() < 2 {
        let out = sqs
            .receive_message()
            .queue_url(&delivery)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("the delivery queue");
        assert!(!out.messages().is_empty(), "moved: {delivered:?}");
        delivered.extend(out.messages().iter().filter_map(|m| m.body()).map(|b| {
            let v: Value = serde_json::from_str(b).expect("the envelope, unchanged");
            v["detail"]["id"].as_str().unwrap_or_default().to_owned()
        }));
    }
    delivered.sort();
    assert_eq!(delivered, ["evt_1", "evt_2"]);

    for queue in [dlq, delivery] {
        sqs.delete_queue().queue_url(queue).send().await.ok();
    }
}

#[tokio::test]
async fn a_replay_of_one_payouts_events_leaves_the_others_for_the_next_replay() {
    let endpoint = local_endpoint();
    let sqs = sqs(&endpoint);
    let dlq = new_queue(&sqs, "webhook-dlq-ref").await;
    let delivery = new_queue(&sqs, "webhook-ref").await;
    for (id, reference) in [("evt_1", "INV-1"), ("evt_2", "INV-2")] {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(dead_lettered_event(id, reference))
            .send()
            .await
            .expect("a dead letter");
    }
    let replay = |only: &[&str]| {
        let mut args = vec![
            "replay-dead-letters",
            "--dlq-url",
            &dlq,
            "--queue-url",
            &delivery,
        ];
        args.extend_from_slice(only);
        admin(&endpoint, &args)
    };

    assert_eq!(event_ids(&replay(&["--ref", "INV-1"])), ["evt_1"]);
    assert_eq!(event_ids(&replay(&[])), ["evt_2"]);

    for queue in [dlq, delivery] {
        sqs.delete_queue().queue_url(queue).send().await.ok();
    }
}
