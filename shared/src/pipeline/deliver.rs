//! `deliver-webhooks`: the queue the bus's rule feeds → one signed POST per event to the
//! merchant's endpoint (API.md "Events", Standard Webhooks). A 2xx within the timeout is
//! delivered; anything else leaves the message for a later attempt, with its visibility
//! stretched to an exponential back-off by its receive count; after `maxReceiveCount`
//! receives the queue's redrive policy moves it to the dead-letter queue.

use std::net::IpAddr;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::Value;

use super::{BatchResponse, PipelineConfigError};
use crate::events::signing::SigningKeys;
use crate::runtime::https::Tls;

/// How long the merchant's endpoint has to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQS's longest visibility timeout (12 h): the back-off never asks for more.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);
/// First retry after this long; each further receive doubles it (`WEBHOOK_RETRY_BASE_SECONDS`).
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(30);

/// The back-off before the next attempt, after `receive_count` receives (1 = the first):
/// `base × 2^(receive_count − 1)`, at most [`MAX_VISIBILITY`]. With the default base, the
/// 13 receives the template allows span more than 24 hours.
pub fn retry_delay(receive_count: u32, base: Duration) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(20);
    base.saturating_mul(1u32 << doublings).min(MAX_VISIBILITY)
}

/// The merchant's endpoint: https, or plain http only to this machine (local runs).
pub fn validate_webhook_url(text: &str) -> Result<reqwest::Url, PipelineConfigError> {
    let invalid = |problem: &str| PipelineConfigError::Invalid {
        name: "MERCHANT_WEBHOOK_URL",
        problem: problem.to_owned(),
    };
    let url = reqwest::Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| invalid("no host"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(invalid("plain http is allowed only to loopback; use https")),
        _ => Err(invalid("must be an https URL")),
    }
}

/// One delivery's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Not acknowledged (status, timeout, connection): retried later.
    Failed(String),
}

pub struct Deliverer {
    http: reqwest::Client,
    url: reqwest::Url,
    keys: SigningKeys,
    retry_base: Duration,
    /// The queue the messages come from, to stretch a failed message's visibility.
    queue: Option<(aws_sdk_sqs::Client, String)>,
}

impl Deliverer {
    /// Over the process's TLS configuration (`runtime::https`), as every HTTPS request here.
    pub fn new(url: reqwest::Url, keys: SigningKeys, retry_base: Duration, tls: &Tls) -> Deliverer {
        Deliverer {
            http: tls
                .reqwest_builder()
                .timeout(DELIVERY_TIMEOUT)
                // The merchant's endpoint answers itself: a redirect is not an acknowledgement.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            url,
            keys,
            retry_base,
            queue: None,
        }
    }

    /// From the environment: `MERCHANT_WEBHOOK_URL`; the secret(s) from Secrets Manager
    /// (`MERCHANT_WEBHOOK_SECRET_ARN`) or `MERCHANT_WEBHOOK_SECRET`; `WEBHOOK_QUEUE_URL` (the
    /// queue the messages come from); `WEBHOOK_RETRY_BASE_SECONDS`.
    pub async fn from_env() -> Result<Deliverer, PipelineConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let url = validate_webhook_url(
            &var("MERCHANT_WEBHOOK_URL")
                .ok_or(PipelineConfigError::Missing("MERCHANT_WEBHOOK_URL"))?,
        )?;
        let (tls, aws) = super::aws_config().await?;
        let (secret, secret_name) = match var("MERCHANT_WEBHOOK_SECRET_ARN") {
            Some(arn) => {
                let client = aws_sdk_secretsmanager::Client::new(&aws);
                let value = client
                    .get_secret_value()
                    .secret_id(&arn)
                    .send()
                    .await
                    .map_err(|e| PipelineConfigError::Invalid {
                        name: "MERCHANT_WEBHOOK_SECRET_ARN",
                        problem: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                    })?;
                let text = value
                    .secret_string()
                    .ok_or(PipelineConfigError::Invalid {
                        name: "MERCHANT_WEBHOOK_SECRET_ARN",
                        problem: "the secret has no string value".into(),
                    })?
                    .to_owned();
                (text, "MERCHANT_WEBHOOK_SECRET_ARN")
            }
            None => (
                var("MERCHANT_WEBHOOK_SECRET")
                    .ok_or(PipelineConfigError::Missing("MERCHANT_WEBHOOK_SECRET"))?,
                "MERCHANT_WEBHOOK_SECRET",
            ),
        };
        let keys = SigningKeys::parse(&secret).map_err(|e| PipelineConfigError::Invalid {
            name: secret_name,
            problem: e.to_string(),
        })?;
        let retry_base = match var("WEBHOOK_RETRY_BASE_SECONDS") {
            None => DEFAULT_RETRY_BASE,
            Some(text) => Duration::from_secs(text.trim().parse().map_err(|_| {
                PipelineConfigError::Invalid {
                    name: "WEBHOOK_RETRY_BASE_SECONDS",
                    problem: "not a whole number of seconds".into(),
                }
            })?),
        };
        let mut deliverer = Deliverer::new(url, keys, retry_base, &tls);
        deliverer.queue = var("WEBHOOK_QUEUE_URL").map(|q| (aws_sdk_sqs::Client::new(&aws), q));
        Ok(deliverer)
    }

    /// POSTs one event, signed; `now` = the `webhook-timestamp` (Unix seconds).
    pub async fn deliver(&self, event: &Value, now: i64) -> Delivery {
        let Some(id) = event["id"].as_str() else {
            return Delivery::Failed("the event has no id".into());
        };
        let body = event.to_string();
        let answer = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header(
                "webhook-signature",
                self.keys.signature_header(id, now, &body),
            )
            .body(body)
            .send()
            .await;
        match answer {
            Ok(response) if response.status().is_success() => Delivery::Delivered,
            Ok(response) => Delivery::Failed(format!("answered {}", response.status().as_u16())),
            Err(e) if e.is_timeout() => Delivery::Failed("no answer within 10 s".into()),
            Err(e) => Delivery::Failed(format!("not reached: {e}")),
        }
    }

    /// A batch from the queue: each message delivered concurrently; the undelivered ones are
    /// reported (they stay in the queue) with their visibility set to the back-off.
    pub async fn run(&self, event: SqsEvent) -> BatchResponse {
        let now = chrono::Utc::now().timestamp();
        let outcomes = futures::future::join_all(event.records.iter().map(|message| async move {
            let outcome = match event_of(message) {
                Some(event) => self.deliver(&event, now).await,
                None => Delivery::Failed("the message holds no event".into()),
            };
            (message, outcome)
        }))
        .await;
        let mut failed = Vec::new();
        for (message, outcome) in outcomes {
            let Some(message_id) = message.message_id.clone() else {
                continue;
            };
            match outcome {
                Delivery::Delivered => {
                    tracing::info!(message_id = %message_id, "webhook delivered");
                }
                Delivery::Failed(why) => {
                    let receives = message
                        .attributes
                        .get("ApproximateReceiveCount")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(1);
                    let delay = retry_delay(receives, self.retry_base);
                    tracing::warn!(message_id = %message_id, why = %why, receives, delay_seconds = delay.as_secs(), "webhook not delivered; retried later");
                    self.back_off(message, delay).await;
                    failed.push(message_id);
                }
            }
        }
        BatchResponse::failing(failed)
    }

    async fn back_off(&self, message: &SqsMessage, delay: Duration) {
        let (Some((sqs, queue_url)), Some(receipt)) = (&self.queue, &message.receipt_handle) else {
            return;
        };
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
        if let Err(e) = sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            // The queue's own visibility timeout then applies: still retried, only sooner.
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "visibility not changed");
        }
    }
}

/// The event in a message: the `detail` of the EventBridge envelope the rule delivers.
pub fn event_of(message: &SqsMessage) -> Option<Value> {
    let body: Value = serde_json::from_str(message.body.as_deref()?).ok()?;
    let event = body.get("detail").cloned().unwrap_or(body);
    event["id"].is_string().then_some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_per_receive_and_stops_at_twelve_hours() {
        let base = DEFAULT_RETRY_BASE;
        assert_eq!(retry_delay(1, base), Duration::from_secs(30));
        assert_eq!(retry_delay(2, base), Duration::from_secs(60));
        assert_eq!(retry_delay(5, base), Duration::from_secs(480));
        assert_eq!(retry_delay(40, base), MAX_VISIBILITY);
    }

    #[test]
    fn thirteen_receives_span_more_than_a_day() {
        let waited: Duration = (1..13).map(|n| retry_delay(n, DEFAULT_RETRY_BASE)).sum();
        assert!(waited >= Duration::from_secs(24 * 60 * 60), "{waited:?}");
    }

    #[test]
    fn webhook_urls_must_be_https_or_loopback_http() {
        assert!(validate_webhook_url("https://merchant.example/hooks").is_ok());
        assert!(validate_webhook_url("http://127.0.0.1:9100/hooks").is_ok());
        assert!(validate_webhook_url("http://localhost:9100/").is_ok());
        assert!(validate_webhook_url("http://[::1]:9100/").is_ok());
        for bad in [
            "http://merchant.example/hooks",
            "ftp://x/",
            "not a url",
            "http://10.0.0.1/",
        ] {
            let err = validate_webhook_url(bad).unwrap_err();
            assert!(
                err.to_string().contains("MERCHANT_WEBHOOK_URL"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_event_is_the_detail_of_the_eventbridge_envelope() {
        let message: SqsMessage = serde_json::from_value(serde_json::json!({
            "messageId": "m1",
            "body": r#"{"source":"leanx-payouts","detail-type":"payout.pending","detail":{"id":"evt_1","type":"payout.pending"}}"#,
        }))
        .expect("message");
        assert_eq!(event_of(&message).unwrap()["id"], "evt_1");
        let junk: SqsMessage =
            serde_json::from_value(serde_json::json!({"messageId": "m2", "body": "nope"}))
                .expect("message");
        assert!(event_of(&junk).is_none());
    }
}
