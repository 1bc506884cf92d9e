//! Lambda's event source mappings, locally (`make dev`, the tests): what AWS does between the
//! table's stream, the webhook queue and the functions, done by polling, with the same rules:
//!
//! - **stream → `publish-events`** ([`StreamMapping`]): GetRecords per shard, in order, in
//!   batches; a function error retries the batch (bisecting it once retries are exhausted, down
//!   to one record, which then goes to the on-failure destination); a reported
//!   `batchItemFailures` sequence number checkpoints before it and retries from it.
//! - **queue → `deliver-webhooks`** ([`QueueMapping`]): ReceiveMessage up to 10; the messages the
//!   function did not report as failed are deleted; a failed one stays, invisible for as long as
//!   the function set (its back-off), and the queue's redrive policy dead-letters it in the end.
//! - EventBridge's rule (bus → queue) is moto's own: PutEvents on the bus delivers to the queue
//!   target, so the runner does not route events itself.
//!
//! The functions are invoked through [`Invoke`]: over Lambda's Invoke API ([`HttpInvoke`],
//! e.g. `cargo lambda watch`), or any other way (the tests use the Lambda emulator).
//! [`receiver`] is a local merchant endpoint that verifies and prints each delivery.

pub mod local;
mod queue;
pub mod receiver;

pub use queue::{QueueMapping, QueueSettings};

use std::collections::{BTreeMap, HashMap, VecDeque};

use async_trait::async_trait;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use leanx_payouts::pipeline::BatchResponse;
use serde_json::{Value, json};

pub const REGION: &str = "us-east-1";

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("{operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
    #[error("table {0} has no stream (create it with a stream: store/schema.rs)")]
    NoStream(String),
}

pub(crate) fn aws<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E, R>) -> RunnerError {
    move |e| RunnerError::Aws {
        operation,
        message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
    }
}

/// How a function is invoked: its JSON result, or why the invocation failed (function error,
/// crash, timeout).
#[async_trait]
pub trait Invoke: Send + Sync {
    async fn invoke(&self, function: &str, event: Value) -> Result<Value, String>;
}

/// Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`), as `cargo lambda
/// watch` serves it.
pub struct HttpInvoke {
    pub base_url: String,
    pub http: reqwest::Client,
}

#[async_trait]
impl Invoke for HttpInvoke {
    async fn invoke(&self, function: &str, event: Value) -> Result<Value, String> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.base_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .json(&event)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let unhandled = response.headers().contains_key("x-amz-function-error");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() || unhandled || body.get("errorType").is_some() {
            return Err(format!("{function} failed ({status}): {body}"));
        }
        Ok(body)
    }
}

/// The failures a function reported; an answer that is not a batch response reports none.
pub(crate) fn failures(answer: &Value) -> Vec<String> {
    serde_json::from_value::<BatchResponse>(answer.clone())
        .map(|r| {
            r.batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect()
        })
        .unwrap_or_default()
}

/// Where a batch failed: the position of the first record to retry, or `None` (all handed
/// over). A function error fails the whole batch; so does a sequence number not in the batch,
/// as Lambda treats it.
pub fn failed_position(sequence_numbers: &[&str], answer: &Result<Value, String>) -> Option<usize> {
    match answer {
        Ok(answer) => failures(answer).first().map(|sequence| {
            sequence_numbers
                .iter()
                .position(|s| s == sequence)
                .unwrap_or(0)
        }),
        Err(_) => Some(0),
    }
}

/// What the stream mapping does after invoking a batch of `taken` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The first `n` records are done: the shard's position moves past them.
    Advance(usize),
    /// The same records again.
    Retry,
    /// Retries exhausted: the same records again, in batches of at most this many.
    Bisect(usize),
    /// Retries exhausted on a single record: it goes to the on-failure destination.
    DeadLetterFirst,
}

/// Lambda's rules for a stream batch: progress checkpoints; a batch failing at its first record
/// is retried `maximum_retry_attempts` times, then bisected, and a lone record dead-lettered.
pub fn next_step(
    taken: usize,
    failed_at: Option<usize>,
    retries_so_far: u32,
    maximum_retry_attempts: u32,
) -> Next {
    match failed_at {
        None => Next::Advance(taken),
        Some(position) if position > 0 => Next::Advance(position),
        Some(_) if retries_so_far < maximum_retry_attempts => Next::Retry,
        Some(_) if taken > 1 => Next::Bisect(taken.div_ceil(2)),
        Some(_) => Next::DeadLetterFirst,
    }
}

/// The stream mapping's settings (template.yaml's `PublishEvents` event source mapping).
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub function: String,
    pub batch_size: usize,
    /// Retries of a batch before it is bisected (and a single record dead-lettered).
    pub maximum_retry_attempts: u32,
    /// Where a record that exhausted its retries is reported (an SQS queue URL).
    pub on_failure_queue_url: Option<String>,
}

/// One shard's position and the records read but not yet handed over successfully.
struct Shard {
    iterator: Option<String>,
    buffer: VecDeque<Value>,
    attempts: u32,
    limit: usize,
}

pub struct StreamMapping {
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    stream_arn: String,
    settings: StreamSettings,
    shards: BTreeMap<String, Shard>,
}

impl StreamMapping {
    pub async fn new(
        config: &aws_config::SdkConfig,
        table: &str,
        settings: StreamSettings,
    ) -> Result<StreamMapping, RunnerError> {
        let described = aws_sdk_dynamodb::Client::new(config)
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| RunnerError::Aws {
                operation: "DescribeTable",
                message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            })?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| RunnerError::NoStream(table.to_owned()))?
            .to_owned();
        Ok(StreamMapping {
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            stream_arn,
            settings,
            shards: BTreeMap::new(),
        })
    }

    /// Finds shards not yet known and starts reading them from their oldest record.
    async fn discover(&mut self) -> Result<(), RunnerError> {
        let described = self
            .streams
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(aws("DescribeStream"))?;
        let ids: Vec<String> = described
            .stream_description()
            .map(|d| {
                d.shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            if self.shards.contains_key(&id) {
                continue;
            }
            let iterator = self
                .streams
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(aws("GetShardIterator"))?
                .shard_iterator()
                .map(str::to_owned);
            self.shards.insert(
                id,
                Shard {
                    iterator,
                    buffer: VecDeque::new(),
                    attempts: 0,
                    limit: self.settings.batch_size.max(1),
                },
            );
        }
        Ok(())
    }

    /// One round over every shard: read what is new, hand one batch per shard to the function.
    /// Returns how many records were handed over successfully.
    pub async fn poll_once(&mut self, invoke: &dyn Invoke) -> Result<usize, RunnerError> {
        self.discover().await?;
        let mut done = 0;
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            self.read(&id).await?;
            done += self.hand_over(&id, invoke).await?;
        }
        Ok(done)
    }

    async fn read(&mut self, id: &str) -> Result<(), RunnerError> {
        let Some(shard) = self.shards.get_mut(id) else {
            return Ok(());
        };
        if shard.buffer.len() >= self.settings.batch_size {
            return Ok(());
        }
        let Some(iterator) = shard.iterator.clone() else {
            return Ok(());
        };
        let out = self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(1000)
            .send()
            .await
            .map_err(aws("GetRecords"))?;
        shard.iterator = out.next_shard_iterator().map(str::to_owned);
        let arn = self.stream_arn.clone();
        shard
            .buffer
            .extend(out.records().iter().map(|r| lambda_record(r, &arn)));
        Ok(())
    }

    async fn hand_over(&mut self, id: &str, invoke: &dyn Invoke) -> Result<usize, RunnerError> {
        let settings = self.settings.clone();
        let Some(shard) = self.shards.get_mut(id) else {
            return Ok(0);
        };
        if shard.buffer.is_empty() {
            return Ok(0);
        }
        let take = shard.limit.min(shard.buffer.len());
        let batch: Vec<Value> = shard.buffer.iter().take(take).cloned().collect();
        let answer = invoke
            .invoke(&settings.function, json!({ "Records": batch }))
            .await;
        if let Err(error) = &answer {
            eprintln!(
                "event-runner: {} failed on a stream batch: {error}",
                settings.function
            );
        }
        let sequences: Vec<&str> = batch
            .iter()
            .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default())
            .collect();
        let failed_at = failed_position(&sequences, &answer);
        let step = next_step(
            take,
            failed_at,
            shard.attempts,
            settings.maximum_retry_attempts,
        );
        match step {
            Next::Advance(done) => {
                shard.buffer.drain(..done);
                shard.attempts = 0;
                shard.limit = settings.batch_size.max(1);
                return Ok(done);
            }
            Next::Retry => {
                shard.attempts += 1;
                return Ok(0);
            }
            Next::Bisect(limit) => {
                shard.attempts = 0;
                shard.limit = limit;
                return Ok(0);
            }
            Next::DeadLetterFirst => shard.attempts = 0,
        }
        if let Some(record) = shard.buffer.pop_front() {
            let info = json!({
                "requestContext": { "condition": "RetryAttemptsExhausted", "functionArn": settings.function },
                "DDBStreamBatchInfo": {
                    "shardId": id,
                    "startSequenceNumber": record["dynamodb"]["SequenceNumber"],
                    "endSequenceNumber": record["dynamodb"]["SequenceNumber"],
                    "batchSize": 1,
                    "streamArn": self.stream_arn,
                },
            });
            eprintln!("event-runner: stream record dead-lettered: {info}");
            if let Some(url) = &settings.on_failure_queue_url {
                self.sqs
                    .send_message()
                    .queue_url(url)
                    .message_body(info.to_string())
                    .send()
                    .await
                    .map_err(aws("SendMessage"))?;
            }
        }
        shard.limit = settings.batch_size.max(1);
        Ok(0)
    }

    /// How many records are read but not yet handed over.
    pub fn backlog(&self) -> usize {
        self.shards.values().map(|s| s.buffer.len()).sum()
    }
}

/// A stream record as Lambda hands it to the function (also what `payouts-admin
/// replay-stream-failures` re-publishes records read back from the stream as).
pub fn lambda_record(record: &aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> Value {
    let change = record.dynamodb();
    let item = |m: Option<&HashMap<String, StreamValue>>| m.map(item_json);
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change
            .and_then(|c| c.approximate_creation_date_time())
            .map_or(0.0, |t| t.as_secs_f64()),
        "Keys": item(change.and_then(|c| c.keys())).unwrap_or(json!({})),
        "SequenceNumber": change.and_then(|c| c.sequence_number()),
        "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or(0),
        "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|v| v.as_str().to_owned()),
    });
    if let Some(new) = item(change.and_then(|c| c.new_image())) {
        dynamodb["NewImage"] = new;
    }
    if let Some(old) = item(change.and_then(|c| c.old_image())) {
        dynamodb["OldImage"] = old;
    }
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str().to_owned()),
        "eventVersion": record.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or(REGION),
        "eventSourceARN": stream_arn,
        "dynamodb": dynamodb,
    })
}

fn item_json(item: &HashMap<String, StreamValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect(),
    )
}

fn value_json(value: &StreamValue) -> Value {
    use base64::Engine as _;
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match value {
        StreamValue::S(s) => json!({ "S": s }),
        StreamValue::N(n) => json!({ "N": n }),
        StreamValue::Bool(b) => json!({ "BOOL": b }),
        StreamValue::Null(_) => json!({ "NULL": true }),
        StreamValue::B(b) => json!({ "B": b64(b) }),
        StreamValue::Ss(v) => json!({ "SS": v }),
        StreamValue::Ns(v) => json!({ "NS": v }),
        StreamValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        StreamValue::M(m) => json!({ "M": item_json(m) }),
        StreamValue::L(l) => json!({ "L": l.iter().map(value_json).collect::<Vec<_>>() }),
        _ => json!({ "NULL": true }),
    }
}

#[cfg(test)]
mod tests;
