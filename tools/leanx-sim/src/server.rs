//! HTTP plumbing on hyper directly (not axum): a fault must be able to close a connection
//! without any response, which a handler returning a response cannot do. Returning an error
//! from the service makes hyper close the connection (no panic involved: release builds
//! abort on panic).

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::control::FaultKind;
use crate::faults;
use crate::handlers::{self, PREFIX, code};
use crate::state::{CallEnd, Shared};

const MAX_BODY: usize = 1 << 20;

/// A response body that reports (by dropping its sender) once hyper is done with it, so a
/// settlement never overtakes the create answer.
pub(crate) struct SimBody {
    inner: Full<Bytes>,
    _written: Option<oneshot::Sender<()>>,
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pub(crate) fn response(
    status: u16,
    content_type: &str,
    body: impl Into<Bytes>,
    written: Option<oneshot::Sender<()>>,
) -> Response<SimBody> {
    let mut resp = Response::new(SimBody {
        inner: Full::new(body.into()),
        _written: written,
    });
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

pub(crate) fn json_response(status: u16, v: &serde_json::Value) -> Response<SimBody> {
    response(status, "application/json", v.to_string(), None)
}

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by a simulated fault")
    }
}

impl std::error::Error for DropConnection {}

type Answer = Result<Response<SimBody>, DropConnection>;

/// Accepts connections until the task is aborted; aborting drops the JoinSet, which ends
/// every connection (hung ones included).
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(Arc::clone(&shared), req));
                    // Errors here are clients going away or our own dropped connections.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Answer {
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Ok(json_response(
                413,
                &serde_json::json!({ "message": "payload too large" }),
            ));
        }
    };
    let path = parts.uri.path();
    let query = parts.uri.query().map(str::to_string);
    if let Some(rest) = path.strip_prefix("/__sim/") {
        return Ok(crate::admin::handle(&shared, &parts.method, rest, &bytes));
    }
    if let Some(endpoint) = path.strip_prefix(PREFIX) {
        let endpoint = endpoint.to_string();
        return leanx(shared, parts.method, endpoint, parts.headers, query, bytes).await;
    }
    Ok(json_response(
        404,
        &serde_json::json!({ "message": "Not Found" }),
    ))
}

fn end(outcome: impl Into<String>, code: Option<i64>, fault: &Option<String>) -> CallEnd {
    CallEnd {
        outcome: outcome.into(),
        response_code: code,
        fault: fault.clone(),
        invoice_no: None,
    }
}

fn http_500() -> &'static str {
    "<html><body><h1>500 Internal Server Error</h1></body></html>"
}

async fn leanx(
    shared: Arc<Shared>,
    method: hyper::Method,
    endpoint: String,
    headers: hyper::HeaderMap,
    query: Option<String>,
    bytes: Bytes,
) -> Answer {
    let ext_ref = (endpoint == "create-payout-invoice")
        .then(|| handlers::external_ref(&bytes))
        .flatten();
    let seq = shared.log_request(&endpoint, query.as_deref(), &bytes, ext_ref);
    let fault = shared.lock().faults.take(&endpoint);
    let fault_name = fault.as_ref().map(faults::name);
    // Logged now, not only when the call ends: a client that gives up (e.g. on a latency fault)
    // drops this future, and the log must still say the call was faulted.
    if fault_name.is_some() {
        shared.mark_fault(seq, fault_name.clone());
    }

    // Faults that keep the call from LeanX entirely.
    match fault {
        Some(FaultKind::Http500Before) => {
            shared.finish_call(seq, end("fault http_500_before", None, &fault_name));
            return Ok(response(500, "text/html", http_500(), None));
        }
        Some(FaultKind::DropBefore) => {
            shared.finish_call(seq, end("fault drop_before", None, &fault_name));
            return Err(DropConnection);
        }
        Some(FaultKind::UnknownCode) => {
            let body = handlers::envelope(
                &shared,
                code::UNKNOWN,
                "UNKNOWN_ERROR",
                serde_json::value::RawValue::NULL.to_owned(),
                None,
            );
            shared.finish_call(seq, end("refused 9999", Some(code::UNKNOWN), &fault_name));
            return Ok(response(200, "application/json", body, None));
        }
        _ => {}
    }

    // Detached from the connection so a client that gives up (timeout) does not cancel what
    // LeanX has already received.
    let latency = match fault {
        Some(FaultKind::Latency { ms }) => ms,
        _ => 0,
    };
    let sh = Arc::clone(&shared);
    let task = shared.spawn_bg(async move {
        if latency > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
        }
        let processed =
            handlers::process(&sh, &method, &endpoint, &headers, query.as_deref(), &bytes);
        // Scheduled here, in the detached task, so that a client that gave up (timeout,
        // reset) still leaves a payout LeanX recorded to settle, as real LeanX would. If the
        // answer is never written, the dropped sender releases the settlement.
        let (written_tx, written_rx) = oneshot::channel();
        if let Some(c) = &processed.created {
            sh.schedule_settlement(c.invoice_no.clone(), c.outcome.clone(), c.delay, written_rx);
        }
        (processed, written_tx)
    });
    let Ok(Some((processed, written_tx))) = task.await else {
        return Err(DropConnection);
    };

    let mut finished = end(
        if processed.code == code::SUCCESS {
            format!("answered {}", processed.code)
        } else {
            format!("refused {}", processed.code)
        },
        Some(processed.code),
        &fault_name,
    );
    if let Some(c) = processed.created {
        finished.invoice_no = Some(c.invoice_no);
    }

    // Faults applied after LeanX handled the call: the answer is lost or mangled.
    match fault {
        Some(FaultKind::Http500After) => {
            finished.outcome = format!("fault http_500_after ({})", finished.outcome);
            shared.finish_call(seq, finished);
            Ok(response(500, "text/html", http_500(), Some(written_tx)))
        }
        Some(FaultKind::DropAfter) => {
            finished.outcome = format!("fault drop_after ({})", finished.outcome);
            shared.finish_call(seq, finished);
            drop(written_tx);
            Err(DropConnection)
        }
        Some(FaultKind::Hang) => {
            finished.outcome = format!("fault hang ({})", finished.outcome);
            shared.finish_call(seq, finished);
            drop(written_tx);
            tokio::select! {
                _ = tokio::time::sleep(shared.config.hang_duration) => {}
                _ = shared.shutdown_signal() => {}
            }
            Err(DropConnection)
        }
        Some(FaultKind::MalformedJson) => {
            finished.outcome = format!("fault malformed_json ({})", finished.outcome);
            shared.finish_call(seq, finished);
            let garbage = "{\"response_code\": 2000, \"description\": \"SUCC<html>502 Bad Gateway";
            Ok(response(200, "application/json", garbage, Some(written_tx)))
        }
        _ => {
            shared.finish_call(seq, finished);
            Ok(response(
                200,
                "application/json",
                processed.body,
                Some(written_tx),
            ))
        }
    }
}
