//! Dead-lettered webhook events (docs/operations.md "Events: dead letters and replay"): list
//! them, and move them back to the delivery queue, all or one payout's. Each message is the
//! EventBridge envelope the rule delivered; its `detail` is the event.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use serde_json::Value;

/// How long a listed (not moved) message stays hidden while the listing goes on (so that the
/// pass moves on through the queue); it is made visible again as soon as the pass ends.
const LIST_HIDE_SECONDS: i32 = 5;
/// SQS's batch size.
const ENTRIES_PER_BATCH: usize = 10;
/// How long a message being moved stays hidden: the send and delete happen meanwhile.
const MOVE_HIDE_SECONDS: i32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("SQS {operation} failed: {message}")]
    Sqs {
        operation: &'static str,
        message: String,
    },
}

fn sqs<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E, R>) -> DeadLetterError {
    move |e| DeadLetterError::Sqs {
        operation,
        message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
    }
}

/// One dead-lettered event, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub external_invoice_ref: String,
    pub version: u64,
}

/// The event a dead-lettered message holds (`None`: not an event, e.g. a stream failure record).
pub fn dead_letter(body: &str) -> Option<DeadLetter> {
    let body: Value = serde_json::from_str(body).ok()?;
    let event = body.get("detail").unwrap_or(&body);
    Some(DeadLetter {
        event_id: event["id"].as_str()?.to_owned(),
        event_type: event["type"].as_str()?.to_owned(),
        external_invoice_ref: event["data"]["external_invoice_ref"].as_str()?.to_owned(),
        version: event["data"]["version"].as_u64()?,
    })
}

/// Reads the queue once through (a message seen again ends the pass). Returns the latest
/// receipt handle of every message received: a message received again (its hiding ran out
/// during a long pass) is hidden under its new one.
async fn each_message(
    client: &Client,
    queue_url: &str,
    hide_seconds: i32,
    mut take: impl AsyncFnMut(&aws_sdk_sqs::types::Message) -> Result<(), DeadLetterError>,
) -> Result<Vec<String>, DeadLetterError> {
    let mut seen = BTreeSet::new();
    let mut receipts = BTreeMap::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(hide_seconds)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(sqs("ReceiveMessage"))?;
        let messages = out.messages();
        for m in messages {
            if let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) {
                receipts.insert(id.to_owned(), receipt.to_owned());
            }
        }
        let fresh: Vec<_> = messages
            .iter()
            .filter(|m| m.message_id().is_some_and(|id| seen.insert(id.to_owned())))
            .collect();
        if fresh.is_empty() {
            return Ok(receipts.into_values().collect());
        }
        for message in fresh {
            take(message).await?;
        }
    }
}

/// Makes messages visible again at once: what a pass only looked at is there for the next
/// command (a replay straight after a listing), not hidden for the rest of its timeout.
async fn show_again(
    client: &Client,
    queue_url: &str,
    receipts: &[String],
) -> Result<(), DeadLetterError> {
    for chunk in receipts.chunks(ENTRIES_PER_BATCH) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, receipt)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .build()
                    .map_err(|e| DeadLetterError::Sqs {
                        operation: "ChangeMessageVisibilityBatch",
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // An entry that fails names a message no longer hidden under that receipt (its hiding
        // ran out, or it was deleted): nothing to undo.
        client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sqs("ChangeMessageVisibilityBatch"))?;
    }
    Ok(())
}

/// Every dead-lettered event (messages that are not events are skipped), leaving the queue as
/// it was: every message visible again once listed.
pub async fn list(client: &Client, dlq_url: &str) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let mut found = Vec::new();
    let receipts = each_message(client, dlq_url, LIST_HIDE_SECONDS, async |m| {
        if let Some(letter) = m.body().and_then(dead_letter) {
            found.push(letter);
        }
        Ok(())
    })
    .await?;
    show_again(client, dlq_url, &receipts).await?;
    Ok(found)
}

/// Moves dead-lettered events (all, or `only_ref`'s) back to the delivery queue, unchanged:
/// same event, same id. Returns the events moved.
pub async fn replay(
    client: &Client,
    dlq_url: &str,
    queue_url: &str,
    only_ref: Option<&str>,
) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let mut moved = Vec::new();
    let mut skipped = Vec::new();
    each_message(client, dlq_url, MOVE_HIDE_SECONDS, async |m| {
        let letter = m.body().and_then(dead_letter);
        let wanted = letter
            .as_ref()
            .is_some_and(|l| only_ref.is_none_or(|r| l.external_invoice_ref == r));
        let (Some(letter), true, Some(body), Some(receipt)) =
            (letter, wanted, m.body(), m.receipt_handle())
        else {
            if let Some(receipt) = m.receipt_handle() {
                skipped.push(receipt.to_owned());
            }
            return Ok(());
        };
        client
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(sqs("SendMessage"))?;
        client
            .delete_message()
            .queue_url(dlq_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(sqs("DeleteMessage"))?;
        moved.push(letter);
        Ok(())
    })
    .await?;
    // What was not asked for is visible again at once.
    show_again(client, dlq_url, &skipped).await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_is_the_event_in_the_eventbridge_envelope() {
        let body = r#"{"source":"leanx-payouts","detail-type":"payout.failed","detail":
            {"id":"evt_1","type":"payout.failed","data":{"external_invoice_ref":"INV-1","version":4}}}"#;
        assert_eq!(
            dead_letter(body),
            Some(DeadLetter {
                event_id: "evt_1".into(),
                event_type: "payout.failed".into(),
                external_invoice_ref: "INV-1".into(),
                version: 4,
            })
        );
    }

    #[test]
    fn a_message_that_is_not_an_event_is_not_a_dead_letter() {
        assert_eq!(dead_letter("not json"), None);
        assert_eq!(dead_letter(r#"{"DDBStreamBatchInfo":{}}"#), None);
    }
}
