//! A minimal Lambda function used to test the Lambda emulator
//! (`lambda_emulator`). It runs on the real `lambda_http` runtime, so the emulator is
//! exercised exactly the way the payout functions will exercise it.
//!
//! HTTP mode (default) echoes what it was given as JSON and obeys a few query parameters:
//! - `status=NNN`: answer with that status code;
//! - `sleep_ms=N`: sleep before answering (timeouts, latency);
//! - `exit=1`: exit the process mid-invocation (a crashed execution environment);
//! - `panic=1`: panic in the handler (the runtime reports it on `/invocation/{id}/error`);
//! - `raw=1`: answer with the request body bytes as `application/octet-stream`.
//!
//! With `HELLO_MODE=raw` it is a plain `lambda_runtime` function that answers
//! `{"echo": <event>, "pid": ...}` for any JSON event (e.g. an EventBridge scheduled event).

use std::collections::BTreeMap;

use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use serde_json::{Value, json};

async fn http_handler(req: Request) -> Result<Response<Body>, Error> {
    let query = req.query_string_parameters();
    let param = |name: &str| query.first(name).map(str::to_owned);

    if let Some(ms) = param("sleep_ms").and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if param("exit").as_deref() == Some("1") {
        eprintln!("hello-lambda: exiting mid-invocation as asked");
        std::process::exit(3);
    }
    if param("panic").as_deref() == Some("1") {
        panic!("hello-lambda: panicking as asked");
    }
    let status = param("status")
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(200);

    let body_bytes: &[u8] = req.body().as_ref();
    if param("raw").as_deref() == Some("1") {
        return Ok(Response::builder()
            .status(status)
            .header("content-type", "application/octet-stream")
            .body(Body::Binary(body_bytes.to_vec()))?);
    }

    let mut headers = BTreeMap::new();
    for (name, value) in req.headers() {
        headers.insert(
            name.as_str().to_owned(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        );
    }
    let path_parameters: BTreeMap<String, String> = req
        .path_parameters()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let query_all: BTreeMap<String, Vec<String>> = query
        .iter()
        .map(|(k, _)| {
            (
                k.to_owned(),
                query
                    .all(k)
                    .unwrap_or_default()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            )
        })
        .collect();
    let body_text = match req.body() {
        Body::Empty => Value::Null,
        Body::Text(text) => Value::String(text.clone()),
        // Not UTF-8: report the bytes so the test can compare them exactly.
        Body::Binary(bytes) => json!(bytes),
        _ => Value::Null,
    };
    let echo = json!({
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "raw_path": req.raw_http_path(),
        "path_parameters": path_parameters,
        "query": query_all,
        "headers": headers,
        "body": body_text,
        "body_is_binary": matches!(req.body(), Body::Binary(_)),
        "body_len": body_bytes.len(),
        "pid": std::process::id(),
        "request_id": req.lambda_context_ref().map(|c| c.request_id.clone()),
    });
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-hello", "world")
        .header("set-cookie", "a=1; Path=/")
        .header("set-cookie", "b=2; Path=/")
        .body(Body::Text(echo.to_string()))?)
}

async fn raw_handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(
        json!({ "echo": event.payload, "pid": std::process::id(), "request_id": event.context.request_id }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // One line at init so the emulator's log capture can be tested.
    println!("hello-lambda: init pid={}", std::process::id());
    if std::env::var("HELLO_MODE").as_deref() == Ok("raw") {
        lambda_runtime::run(lambda_runtime::service_fn(raw_handler)).await
    } else {
        lambda_http::run(service_fn(http_handler)).await
    }
}
