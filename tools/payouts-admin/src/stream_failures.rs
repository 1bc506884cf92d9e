//! The stream mapping's on-failure destination (docs/operations.md "Events: stream failures"):
//! when `publish-events` exhausts its retries on stream records, Lambda sends a *pointer* to
//! this queue — the stream, the shard and the range of sequence numbers — never the records.
//!
//! Replay reads those records back from the stream while it still holds them (24 hours) and
//! publishes their events with `publish-events`' own code ([`Publisher`]), so each event has
//! the id it would have had: a receiver that already got it dedupes it by `webhook-id`.
//!
//! After 24 hours the records are gone, and so is what the pointer could name: it holds no
//! payout key. Events cannot be rebuilt from the table instead: an event's id and `data.version`
//! come from the write that made the change, and a payout item keeps only its latest version,
//! so rebuilt events would carry new ids (duplicates no receiver could recognise) and today's
//! payout. The payouts' histories remain the truth; the merchant reads them through the API.

use std::collections::BTreeSet;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use leanx_payouts::events::events_of_change;
use leanx_payouts::pipeline::publish::{EventBridgeSink, Publisher, payout_images};
use serde_json::{Value, json};

/// How long a pointer being replayed stays hidden: the read and the puts happen meanwhile.
const HIDE_SECONDS: i32 = 60;
/// GetRecords pages in a row that may come back empty before the range is taken as read.
const EMPTY_PAGES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum StreamFailureError {
    #[error("{operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
    #[error("the stream records were read back but not all their events were published: {0}")]
    NotPublished(String),
}

fn aws<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E, R>) -> StreamFailureError {
    move |e| StreamFailureError::Aws {
        operation,
        message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
    }
}

/// One pointer (Lambda's `DDBStreamBatchInfo`), as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pointer {
    pub stream_arn: String,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub batch_size: u64,
    /// When the first and last records reached the stream (absent from the local runner's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_record_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_record_at: Option<String>,
}

/// The pointer a message holds (`None`: not a stream failure, e.g. a webhook event).
pub fn pointer(body: &str) -> Option<Pointer> {
    let body: Value = serde_json::from_str(body).ok()?;
    let info = body.get("DDBStreamBatchInfo")?;
    let text = |name: &str| info[name].as_str().map(str::to_owned);
    Some(Pointer {
        stream_arn: text("streamArn")?,
        shard_id: text("shardId")?,
        start_sequence_number: text("startSequenceNumber")?,
        end_sequence_number: text("endSequenceNumber")?,
        batch_size: info["batchSize"].as_u64().unwrap_or(0),
        first_record_at: text("approximateArrivalOfFirstRecord"),
        last_record_at: text("approximateArrivalOfLastRecord"),
    })
}

/// Sequence numbers are decimal strings of up to 40 digits: compared as numbers.
fn sequence_key(sequence: &str) -> (usize, &str) {
    let digits = sequence.trim_start_matches('0');
    (digits.len(), digits)
}

/// What became of one pointer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Replay {
    /// Its records were read back and their events published (and the pointer deleted).
    Republished {
        pointer: Pointer,
        records: usize,
        event_ids: Vec<String>,
    },
    /// The stream no longer holds (all of) its records: nothing published, the pointer kept.
    Expired { pointer: Pointer, reason: String },
}

/// The records a pointer names, in the Lambda shape `publish-events` takes; `Err(reason)` when
/// the stream no longer holds them all.
async fn read_back(
    streams: &aws_sdk_dynamodbstreams::Client,
    p: &Pointer,
) -> Result<Result<Vec<Value>, String>, StreamFailureError> {
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&p.stream_arn)
        .shard_id(&p.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&p.start_sequence_number)
        .send()
        .await;
    let mut iterator = match iterator {
        Ok(out) => out.shard_iterator().map(str::to_owned),
        Err(e) => {
            let gone = e.as_service_error().is_some_and(|s| {
                s.is_trimmed_data_access_exception() || s.is_resource_not_found_exception()
            });
            if gone {
                return Ok(Err(format!(
                    "the stream no longer holds them ({})",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                )));
            }
            return Err(aws("GetShardIterator")(e));
        }
    };
    let end = sequence_key(&p.end_sequence_number);
    let mut records = Vec::new();
    let mut empty = 0;
    'pages: while let Some(current) = iterator.take() {
        let out = streams
            .get_records()
            .shard_iterator(current)
            .send()
            .await
            .map_err(aws("GetRecords"))?;
        if out.records().is_empty() {
            empty += 1;
            if empty >= EMPTY_PAGES {
                break;
            }
        } else {
            empty = 0;
        }
        for record in out.records() {
            let sequence = record
                .dynamodb()
                .and_then(|c| c.sequence_number())
                .unwrap_or_default();
            if sequence_key(sequence) > end {
                break 'pages;
            }
            records.push(event_runner::lambda_record(record, &p.stream_arn));
        }
        iterator = out.next_shard_iterator().map(str::to_owned);
    }
    let first = records
        .first()
        .and_then(|r| r["dynamodb"]["SequenceNumber"].as_str());
    if first != Some(p.start_sequence_number.as_str()) {
        return Ok(Err(format!(
            "the stream no longer holds record {} (its first record there: {})",
            p.start_sequence_number,
            first.unwrap_or("none")
        )));
    }
    Ok(Ok(records))
}

/// Makes messages visible again at once: what a pass only looked at (or kept) is there for the
/// next command, not hidden for the rest of its visibility timeout.
async fn show_again(
    sqs: &aws_sdk_sqs::Client,
    dlq_url: &str,
    receipts: Vec<String>,
) -> Result<(), StreamFailureError> {
    for receipt in receipts {
        sqs.change_message_visibility()
            .queue_url(dlq_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(aws("ChangeMessageVisibility"))?;
    }
    Ok(())
}

/// Every pointer in the queue, without changing it.
pub async fn list(
    sqs: &aws_sdk_sqs::Client,
    dlq_url: &str,
) -> Result<Vec<Pointer>, StreamFailureError> {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    let mut receipts = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(5)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(aws("ReceiveMessage"))?;
        let fresh: Vec<_> = out
            .messages()
            .iter()
            .filter(|m| m.message_id().is_some_and(|id| seen.insert(id.to_owned())))
            .collect();
        if fresh.is_empty() {
            show_again(sqs, dlq_url, receipts).await?;
            return Ok(found);
        }
        found.extend(fresh.iter().filter_map(|m| m.body().and_then(pointer)));
        receipts.extend(
            fresh
                .iter()
                .filter_map(|m| m.receipt_handle().map(str::to_owned)),
        );
    }
}

/// Replays every pointer in the queue: each one's records read back and their events put on
/// `publisher`'s bus; a replayed pointer is deleted, an expired one kept (and reported).
pub async fn replay(
    sqs: &aws_sdk_sqs::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    publisher: &Publisher<EventBridgeSink>,
    dlq_url: &str,
) -> Result<Vec<Replay>, StreamFailureError> {
    let mut done = Vec::new();
    let mut seen = BTreeSet::new();
    let mut kept = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(HIDE_SECONDS)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(aws("ReceiveMessage"))?;
        let fresh: Vec<_> = out
            .messages()
            .iter()
            .filter(|m| m.message_id().is_some_and(|id| seen.insert(id.to_owned())))
            .collect();
        if fresh.is_empty() {
            show_again(sqs, dlq_url, kept).await?;
            return Ok(done);
        }
        for message in fresh {
            let Some(receipt) = message.receipt_handle() else {
                continue;
            };
            let Some(p) = message.body().and_then(pointer) else {
                kept.push(receipt.to_owned());
                continue;
            };
            let records = match read_back(streams, &p).await? {
                Ok(records) => records,
                Err(reason) => {
                    kept.push(receipt.to_owned());
                    done.push(Replay::Expired { pointer: p, reason });
                    continue;
                }
            };
            let event: aws_lambda_events::event::dynamodb::Event =
                serde_json::from_value(json!({ "Records": records }))
                    .map_err(|e| StreamFailureError::NotPublished(e.to_string()))?;
            let mut event_ids = Vec::new();
            for record in &event.records {
                if let Ok(Some((old, new))) = payout_images(record) {
                    event_ids.extend(
                        events_of_change(old.as_ref(), new.as_ref())
                            .into_iter()
                            .map(|e| e.id),
                    );
                }
            }
            let records = event.records.len();
            let answer = publisher.run(event).await;
            if let Some(failed) = answer.batch_item_failures.first() {
                return Err(StreamFailureError::NotPublished(format!(
                    "from sequence number {} of shard {}; the pointer stays in the queue",
                    failed.item_identifier, p.shard_id
                )));
            }
            sqs.delete_message()
                .queue_url(dlq_url)
                .receipt_handle(receipt)
                .send()
                .await
                .map_err(aws("DeleteMessage"))?;
            done.push(Replay::Republished {
                pointer: p,
                records,
                event_ids,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_is_lambdas_stream_batch_info() {
        let body = r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},
            "DDBStreamBatchInfo":{"shardId":"shardId-1","startSequenceNumber":"100",
            "endSequenceNumber":"300","batchSize":2,"streamArn":"arn:aws:dynamodb:x:1:table/t/stream/s",
            "approximateArrivalOfFirstRecord":"2026-12-01T10:00:00Z",
            "approximateArrivalOfLastRecord":"2026-12-01T10:00:01Z"}}"#;
        let p = pointer(body).unwrap();
        assert_eq!(p.shard_id, "shardId-1");
        assert_eq!(
            (
                p.start_sequence_number.as_str(),
                p.end_sequence_number.as_str()
            ),
            ("100", "300")
        );
        assert_eq!(p.batch_size, 2);
        assert_eq!(p.first_record_at.as_deref(), Some("2026-12-01T10:00:00Z"));
    }

    #[test]
    fn a_webhook_event_is_not_a_pointer() {
        assert_eq!(pointer(r#"{"detail":{"id":"evt_1"}}"#), None);
        assert_eq!(pointer("not json"), None);
    }

    #[test]
    fn sequence_numbers_compare_as_numbers_not_text() {
        assert!(sequence_key("900") < sequence_key("1000"));
        assert!(sequence_key("000123") == sequence_key("123"));
        assert!(
            sequence_key("49000000000000000000000000000000000000002")
                > sequence_key("4900000000000000000000000000000000000001")
        );
    }
}
