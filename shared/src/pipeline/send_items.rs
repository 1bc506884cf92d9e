//! The batch queue → `send-batch-items`: each queued item sent through
//! [`SendBatchItem`], paced to `BATCH_SEND_RATE`, and the queue's side of it ([`SqsItemQueue`],
//! what `create-payout-batch` enqueues with).
//!
//! Pacing: the queue's event source mapping runs at most `BATCH_SEND_CONCURRENCY` invocations
//! at once (its maximum concurrency), and each container spaces its sends
//! `concurrency / rate` seconds apart ([`Pacer`]), so all of them together send at most
//! `BATCH_SEND_RATE` per second.

use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use chrono::Utc;
use tokio::time::Instant;
use tracing::warn;

use super::BatchResponse;
use crate::usecases::{ItemQueue, ItemSendOutcome, QueueError, QueuedItems, SendBatchItem};

/// Spaces sends at least `interval` apart, across invocations of one container.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl Pacer {
    /// One container's share of `rate` sends per second when `concurrency` run at once.
    pub fn share_of(rate: u32, concurrency: u32) -> Pacer {
        let nanos = 1_000_000_000u64 * u64::from(concurrency.max(1)) / u64::from(rate.max(1));
        Pacer {
            interval: Duration::from_nanos(nanos),
            next: tokio::sync::Mutex::new(None),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for this caller's turn; the next turn is `interval` later.
    pub async fn wait_turn(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        let turn = match *next {
            Some(at) if at > now => at,
            _ => now,
        };
        tokio::time::sleep_until(turn).await;
        *next = Some(turn + self.interval);
    }
}

/// `send-batch-items`' handler.
pub struct ItemSender {
    pub send: SendBatchItem,
    pub pacer: Pacer,
}

impl ItemSender {
    /// Sends each queued item in turn; reports the ones to deliver again (nothing sent for
    /// them: LeanX unreachable before the send, a claim held elsewhere, the store down).
    pub async fn run(&self, event: SqsEvent) -> BatchResponse {
        let mut failed = Vec::new();
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let Some(queued) = message
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<QueuedItems>(b).ok())
            else {
                warn!(message_id = %id, "a batch queue message is not a list of queued items; dropped");
                continue;
            };
            // Every item of the message is tried; if any must be tried again, the whole message
            // comes back, and the items already sent are then found done (never sent twice).
            let mut again = false;
            for item in queued.items() {
                self.pacer.wait_turn().await;
                match self.send.run(&item, Utc::now()).await {
                    Ok(ItemSendOutcome::RetryLater { reason }) => {
                        warn!(external_invoice_ref = %item.external_invoice_ref, reason, "batch item not sent now; the queue delivers it again");
                        again = true;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        warn!(external_invoice_ref = %item.external_invoice_ref, error = %error, "batch item failed; the queue delivers it again");
                        again = true;
                    }
                }
            }
            if again {
                failed.push(id);
            }
        }
        BatchResponse::failing(failed)
    }
}

/// The batch queue on SQS.
pub struct SqsItemQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsItemQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> SqsItemQueue {
        SqsItemQueue { client, queue_url }
    }
}

/// Attempts per message before the acceptance reports the queue unavailable.
const ENQUEUE_ATTEMPTS: usize = 3;

#[async_trait]
impl ItemQueue for SqsItemQueue {
    async fn enqueue(&self, messages: &[QueuedItems]) -> Result<(), QueueError> {
        let mut pending: Vec<(String, String)> = messages
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let body = serde_json::to_string(item)
                    .map_err(|e| QueueError::Unavailable(e.to_string()))?;
                Ok((i.to_string(), body))
            })
            .collect::<Result<_, QueueError>>()?;
        for attempt in 1..=ENQUEUE_ATTEMPTS {
            let entries = pending
                .iter()
                .map(|(id, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueError::Unavailable(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    QueueError::Unavailable(
                        aws_sdk_sqs::error::DisplayErrorContext(e)
                            .to_string()
                            .chars()
                            .take(300)
                            .collect(),
                    )
                })?;
            let failed: Vec<&str> = output.failed().iter().map(|f| f.id()).collect();
            if failed.is_empty() {
                return Ok(());
            }
            pending.retain(|(id, _)| failed.contains(&id.as_str()));
            if attempt < ENQUEUE_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(50 * attempt as u64)).await;
            }
        }
        Err(QueueError::Unavailable(format!(
            "{} messages refused by SQS",
            pending.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pacer_spaces_turns_by_its_share_of_the_rate() {
        let pacer = Pacer::share_of(10, 2);
        assert_eq!(pacer.interval(), Duration::from_millis(200));
        let start = Instant::now();
        for _ in 0..6 {
            pacer.wait_turn().await;
        }
        // Six turns: the first at once, five more 200 ms apart.
        assert_eq!(start.elapsed(), Duration::from_millis(1_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pacer_does_not_bank_idle_time() {
        let pacer = Pacer::share_of(5, 1);
        pacer.wait_turn().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = Instant::now();
        pacer.wait_turn().await;
        pacer.wait_turn().await;
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }
}
