//! The pipeline's AWS resources on a local stand-in (moto), as template.yaml declares them in
//! AWS: the bus, the rule (source `leanx-payouts`) → the webhook queue, its redrive to a
//! dead-letter queue, the stream mapping's on-failure queue, and the batch queue with its
//! dead-letter queue. Idempotent: creating what
//! exists returns it.

use serde_json::json;

use crate::RunnerError;

/// What was created: the names and URLs the functions and the runner are given.
#[derive(Debug, Clone)]
pub struct LocalPipeline {
    pub bus_name: String,
    pub webhook_queue_url: String,
    pub webhook_dlq_url: String,
    pub stream_dlq_url: String,
    /// The batch queue (`create-payout-batch` → `send-batch-items`) and its dead-letter queue.
    pub batch_queue_url: String,
    pub batch_dlq_url: String,
}

/// Settings of the local webhook queue (the deployed one: 120 s, 13 receives).
#[derive(Debug, Clone)]
pub struct QueueShape {
    pub visibility_timeout_seconds: u32,
    pub max_receive_count: u32,
}

impl Default for QueueShape {
    fn default() -> Self {
        QueueShape {
            visibility_timeout_seconds: 120,
            max_receive_count: 13,
        }
    }
}

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
) -> impl Fn(aws_sdk_sqs::error::SdkError<E, R>) -> RunnerError {
    move |e| RunnerError::Aws {
        operation,
        message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
    }
}

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(aws_sdk_sqs::types::QueueAttributeName, String)],
) -> Result<(String, String), RunnerError> {
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        create = create.attributes(k.clone(), v.clone());
    }
    let url = create
        .send()
        .await
        .map_err(failed("CreateQueue"))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("GetQueueAttributes"))?
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .unwrap_or_default();
    Ok((url, arn))
}

/// Creates the pipeline's resources, named after `prefix`.
pub async fn set_up(
    config: &aws_config::SdkConfig,
    prefix: &str,
    shape: &QueueShape,
) -> Result<LocalPipeline, RunnerError> {
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    let sqs = aws_sdk_sqs::Client::new(config);
    let events = aws_sdk_eventbridge::Client::new(config);
    let (stream_dlq_url, _) = queue(&sqs, &format!("{prefix}-publish-events-dlq"), &[]).await?;
    let (webhook_dlq_url, dlq_arn) = queue(&sqs, &format!("{prefix}-webhook-dlq"), &[]).await?;
    let redrive =
        json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": shape.max_receive_count });
    let (webhook_queue_url, queue_arn) = queue(
        &sqs,
        &format!("{prefix}-webhook"),
        &[
            (
                Q::VisibilityTimeout,
                shape.visibility_timeout_seconds.to_string(),
            ),
            (Q::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await?;
    let (batch_dlq_url, batch_dlq_arn) =
        queue(&sqs, &format!("{prefix}-batch-send-dlq"), &[]).await?;
    let batch_redrive = json!({ "deadLetterTargetArn": batch_dlq_arn, "maxReceiveCount": 10 });
    let (batch_queue_url, _) = queue(
        &sqs,
        &format!("{prefix}-batch-send"),
        &[
            (Q::VisibilityTimeout, "30".into()),
            (Q::RedrivePolicy, batch_redrive.to_string()),
        ],
    )
    .await?;
    let bus_name = format!("{prefix}-payout-events");
    let bus = events.create_event_bus().name(&bus_name).send().await;
    if let Err(e) = bus {
        let exists = e
            .as_service_error()
            .is_some_and(|s| s.is_resource_already_exists_exception());
        if !exists {
            return Err(failed("CreateEventBus")(e));
        }
    }
    let rule = format!("{prefix}-webhook");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus_name)
        .event_pattern(json!({ "source": [leanx_payouts::events::EVENT_SOURCE] }).to_string())
        .send()
        .await
        .map_err(failed("PutRule"))?;
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus_name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("webhook-queue")
                .arn(queue_arn)
                .build()
                .map_err(|e| RunnerError::Aws {
                    operation: "PutTargets",
                    message: e.to_string(),
                })?,
        )
        .send()
        .await
        .map_err(failed("PutTargets"))?;
    Ok(LocalPipeline {
        bus_name,
        webhook_queue_url,
        webhook_dlq_url,
        stream_dlq_url,
        batch_queue_url,
        batch_dlq_url,
    })
}
