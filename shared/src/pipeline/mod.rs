//! The queue- and stream-driven adapters: the table's stream → events on the bus
//! ([`publish`]), the bus's queue → signed webhooks ([`deliver`]) (API.md "Events"), and the
//! batch queue → each item sent ([`send_items`]). What an event *is* lives in
//! [`crate::events`] (pure); this module is the Lambda and AWS side of it.

pub mod deliver;
pub mod publish;
pub mod send_items;

use std::sync::Arc;

use serde::Serialize;

use crate::runtime::https::{EXTRA_ROOT_CA_FILE, Tls};

/// Lambda's partial batch response (`ReportBatchItemFailures`), the same shape for a stream
/// (item = the first failed record's sequence number) and a queue (item = a message id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn failing(items: impl IntoIterator<Item = String>) -> BatchResponse {
        BatchResponse {
            batch_item_failures: items
                .into_iter()
                .map(|item_identifier| BatchItemFailure { item_identifier })
                .collect(),
        }
    }
}

/// A configuration the pipeline's functions refuse at start, naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum PipelineConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {problem}")]
    Invalid { name: &'static str, problem: String },
}

/// The process's TLS configuration and the AWS configuration over it, from the environment
/// (Lambda's own, or local endpoints such as `AWS_ENDPOINT_URL`), as the other functions have
/// them (`runtime::wiring`).
pub async fn aws_config() -> Result<(Arc<Tls>, aws_config::SdkConfig), PipelineConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    // Tls::from_env refuses only the benchmark's extra trust anchors file.
    let tls = Arc::new(
        Tls::from_env(env).map_err(|e| PipelineConfigError::Invalid {
            name: EXTRA_ROOT_CA_FILE,
            problem: e.to_string(),
        })?,
    );
    let aws = crate::runtime::wiring::aws_sdk_config(env, tls.clone()).await;
    Ok((tls, aws))
}

/// An item in DynamoDB's JSON form (`{"pk": {"S": "…"}}`), as Lambda hands stream images over:
/// what the local event runner builds its stream events from.
pub fn dynamodb_json(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> serde_json::Value {
    serde_json::Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), attribute_json(value)))
            .collect(),
    )
}

fn attribute_json(value: &aws_sdk_dynamodb::types::AttributeValue) -> serde_json::Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use base64::Engine as _;
    use serde_json::json;
    let b64 = |b: &aws_sdk_dynamodb::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match value {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::Bool(b) => json!({ "BOOL": b }),
        A::Null(_) => json!({ "NULL": true }),
        A::B(b) => json!({ "B": b64(b) }),
        A::Ss(v) => json!({ "SS": v }),
        A::Ns(v) => json!({ "NS": v }),
        A::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        A::M(m) => json!({ "M": dynamodb_json(m) }),
        A::L(l) => json!({ "L": l.iter().map(attribute_json).collect::<Vec<_>>() }),
        // A type newer than this SDK: passed on as NULL, and the payout decoding will refuse it.
        _ => json!({ "NULL": true }),
    }
}
