//! The queue side of the local event source mappings: SQS messages to a function in batches,
//! deleting only what it delivered (partial batch responses), as Lambda's SQS trigger does.

use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Value, json};

use crate::{Invoke, REGION, RunnerError, aws, failures};

/// The queue mapping's settings (template.yaml's `DeliverWebhooks` event source mapping).
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub function: String,
    pub queue_url: String,
    pub batch_size: i32,
}

pub struct QueueMapping {
    sqs: aws_sdk_sqs::Client,
    settings: QueueSettings,
    queue_arn: String,
}

impl QueueMapping {
    pub async fn new(
        config: &aws_config::SdkConfig,
        settings: QueueSettings,
    ) -> Result<QueueMapping, RunnerError> {
        let sqs = aws_sdk_sqs::Client::new(config);
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&settings.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(aws("GetQueueAttributes"))?
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .unwrap_or_default();
        Ok(QueueMapping {
            sqs,
            settings,
            queue_arn,
        })
    }

    /// One receive and one invocation; returns how many messages were delivered (deleted).
    pub async fn poll_once(
        &self,
        invoke: &dyn Invoke,
        wait: Duration,
    ) -> Result<usize, RunnerError> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.settings.queue_url)
            .max_number_of_messages(self.settings.batch_size.clamp(1, 10))
            .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(0))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(aws("ReceiveMessage"))?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(0);
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "md5OfBody": m.md5_of_body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": REGION,
                })
            })
            .collect();
        let answer = invoke
            .invoke(&self.settings.function, json!({ "Records": records }))
            .await;
        let failed = match answer {
            Ok(answer) => failures(&answer),
            Err(error) => {
                // The whole batch stays; each message reappears after the visibility timeout.
                eprintln!(
                    "event-runner: {} failed on a queue batch: {error}",
                    self.settings.function
                );
                return Ok(0);
            }
        };
        let delivered: Vec<_> = messages
            .iter()
            .filter(|m| !failed.iter().any(|f| Some(f.as_str()) == m.message_id()))
            .collect();
        if delivered.is_empty() {
            return Ok(0);
        }
        let entries = delivered
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        self.sqs
            .delete_message_batch()
            .queue_url(&self.settings.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(aws("DeleteMessageBatch"))?;
        Ok(delivered.len())
    }
}
