//! Lambda glue shared by the binaries: logging, wiring from configuration (`wiring.rs`), and
//! the translation between API Gateway HTTP events and the use cases' HTTP answers.
//!
//! One thread per container: the functions' `main` runs tokio's current-thread scheduler. An
//! execution environment serves one invocation at a time and the work in it waits on DynamoDB
//! and LeanX, so the multi-thread scheduler's workers (one per vCPU) only added hand-offs
//! between threads to every request (wake-ups, futex calls), plus a stack and a malloc arena
//! each (docs/benchmarks.md, "What each lever bought"). Concurrent work inside one invocation
//! (the reconciler's lookups) still overlaps its waits on that one thread.

use lambda_http::{Body, Request, RequestExt, Response};

use crate::api::{ApiError, ApiResponse};

pub mod https;
pub mod wiring;

pub use wiring::{Clients, StoreClients, clients_from_env, store_clients_from_env};

/// JSON logs, one object per line, with the Lambda request id and the use case's span fields
/// (`external_invoice_ref`, …). CloudWatch's log group already names the function. `RUST_LOG`
/// takes a level (`info`, the default) or `target=level` pairs; a value it cannot read means
/// `info`.
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::registry()
        .with(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_target(false)
                .with_ansi(false),
        )
        .init();
}

fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    rust_log
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Turns a use case's result into the HTTP response API Gateway returns.
pub fn to_response(result: Result<ApiResponse, ApiError>) -> Response<Body> {
    let (status, headers, body) = match result {
        Ok(ok) => (ok.status, ok.headers, ok.body),
        Err(error) => {
            if let ApiError::Unavailable(cause) = &error {
                tracing::error!(error = %cause, "request failed: payout store unavailable");
            }
            (error.status_code(), error.headers(), error.body())
        }
    };
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Text(String::new())))
}

/// A text answer of its own type (a batch's CSV), or the error as JSON.
pub fn to_text_response(result: Result<crate::api::TextResponse, ApiError>) -> Response<Body> {
    match result {
        Ok(text) => {
            let mut builder = Response::builder()
                .status(200)
                .header("content-type", text.content_type);
            for (name, value) in text.headers {
                builder = builder.header(name, value);
            }
            builder
                .body(Body::Text(text.body))
                .unwrap_or_else(|_| Response::new(Body::Text(String::new())))
        }
        Err(error) => to_response(Err(error)),
    }
}

/// Whether the client asked for CSV (`Accept: text/csv`).
pub fn wants_csv(request: &Request) -> bool {
    request
        .headers()
        .get_all("accept")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
        })
}

/// The `{batch_ref}` path segment of `/payout-batches/{batch_ref}[/items]`: API Gateway's path
/// parameter, or read from the raw path where a local router does not fill it.
pub fn batch_ref(request: &Request) -> String {
    if let Some(value) = request.path_parameters().first("batch_ref") {
        return value.to_owned();
    }
    let path = request.raw_http_path();
    let tail = path.strip_prefix("/payout-batches/").unwrap_or("");
    let segment = tail.strip_suffix("/items").unwrap_or(tail);
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `{external_invoice_ref}` path segment: API Gateway's path parameter, or the raw path's
/// last segment where a local router does not fill path parameters.
pub fn payout_ref(request: &Request) -> String {
    if let Some(value) = request.path_parameters().first("external_invoice_ref") {
        return value.to_owned();
    }
    let path = request.raw_http_path();
    let tail = path.strip_prefix("/payouts/").unwrap_or("");
    percent_encoding::percent_decode_str(tail)
        .decode_utf8_lossy()
        .into_owned()
}

/// The query string's `(name, value)` pairs as API Gateway decoded them, every value of a
/// repeated name included.
pub fn query_pairs(request: &Request) -> Vec<(String, String)> {
    request
        .query_string_parameters_ref()
        .map(|query| {
            query
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The request body's bytes, however the event carried them.
pub fn body_bytes(request: &Request) -> &[u8] {
    request.body().as_ref()
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn without_rust_log_info_is_logged_and_debug_is_not() {
        let filter = log_filter(None);
        assert!(filter.would_enable("leanx_payouts::usecases::create", &Level::INFO));
        assert!(!filter.would_enable("leanx_payouts::usecases::create", &Level::DEBUG));
    }

    #[test]
    fn rust_log_takes_a_level_or_target_level_pairs() {
        assert!(log_filter(Some("warn")).would_enable("aws_smithy_runtime", &Level::WARN));
        assert!(!log_filter(Some("warn")).would_enable("aws_smithy_runtime", &Level::INFO));
        let pairs = log_filter(Some("info,leanx_payouts=debug"));
        assert!(pairs.would_enable("leanx_payouts::leanx", &Level::DEBUG));
        assert!(!pairs.would_enable("hyper", &Level::DEBUG));
    }

    #[test]
    fn an_unreadable_rust_log_means_info() {
        let filter = log_filter(Some("leanx_payouts=loud"));
        assert!(filter.would_enable("leanx_payouts", &Level::INFO));
        assert!(!filter.would_enable("leanx_payouts", &Level::DEBUG));
    }

    fn fixture(name: &str) -> Request {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        lambda_http::request::from_str(&text).unwrap()
    }

    #[test]
    fn get_payout_reads_the_ref_from_the_path_parameter() {
        assert_eq!(
            payout_ref(&fixture("apigw-v2-get-payout.json")),
            "INV-2026:0001"
        );
    }

    #[test]
    fn get_payout_falls_back_to_the_raw_path() {
        let mut request = fixture("apigw-v2-get-payout.json");
        request = request.with_path_parameters(std::collections::HashMap::<String, String>::new());
        assert_eq!(payout_ref(&request), "INV-2026:0001");
    }

    #[test]
    fn create_payout_reads_a_base64_encoded_body() {
        let request = fixture("apigw-v2-create-payout-base64.json");
        let parsed = crate::domain::PayoutRequest::from_json(body_bytes(&request)).unwrap();
        assert_eq!(parsed.amount.to_client_string(), "13.00");
    }

    #[test]
    fn callback_body_reaches_the_verifier_as_sent() {
        let request = fixture("apigw-v2-leanx-callback.json");
        let body: serde_json::Value = serde_json::from_slice(body_bytes(&request)).unwrap();
        assert_eq!(body["response_code"], 2100);
    }

    #[test]
    fn errors_become_json_responses_with_their_headers() {
        let response = to_response(Err(ApiError::RequestInProgress {
            retry_after_seconds: 2,
        }));
        assert_eq!(response.status(), 409);
        assert_eq!(response.headers()["retry-after"], "2");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["error"]["code"], "request_in_progress");
    }
}
