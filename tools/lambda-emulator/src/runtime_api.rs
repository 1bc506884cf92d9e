//! The Lambda Runtime API one process talks to (`AWS_LAMBDA_RUNTIME_API`): it long-polls
//! `invocation/next` for its event and posts the result to `invocation/{id}/response` or
//! `.../error`, as `lambda_runtime` does in production. Each process gets a server of its own,
//! torn down with it.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use tokio::sync::{Notify, oneshot};

use crate::FunctionStats;
use crate::http::respond;
use crate::supervisor::Logs;

/// The Runtime API state of one process: at most one queued event and one in flight.
pub(crate) struct RuntimeApi {
    function: String,
    arn: String,
    slot: Mutex<Slot>,
    wake: Notify,
    stats: Arc<Mutex<FunctionStats>>,
    /// This process's entry in `stats.inits`.
    pub(crate) init_record: usize,
    logs: Arc<Logs>,
}

#[derive(Default)]
struct Slot {
    queued: Option<Pending>,
    in_flight: Option<InFlight>,
}

/// An event waiting for the process to ask for it.
pub(crate) struct Pending {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) deadline_ms: u64,
    pub(crate) reply: oneshot::Sender<Reply>,
}

struct InFlight {
    request_id: String,
    handed_out_at: Instant,
    reply: oneshot::Sender<Reply>,
}

/// What the process posted for an event: its response (`ok`) or its error report.
pub(crate) struct Reply {
    pub(crate) ok: bool,
    pub(crate) body: Bytes,
    pub(crate) handed_out_at: Instant,
    pub(crate) posted_at: Instant,
}
/// Serves one Runtime API request of the process behind `api`.
pub(crate) async fn handle(
    api: Arc<RuntimeApi>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let route = path
        .strip_prefix("/2018-06-01/runtime/")
        .unwrap_or_default();
    let accepted = || respond(StatusCode::ACCEPTED, json!({"status": "OK"}));
    Ok(match (req.method().clone(), route) {
        (Method::GET, "invocation/next") => api.next().await,
        (Method::POST, "init/error") => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            api.logs.push(
                &api.function,
                format!("[emulator] init error: {}", String::from_utf8_lossy(&body)),
            );
            accepted()
        }
        (Method::POST, route) => {
            let parts = route
                .strip_prefix("invocation/")
                .and_then(|r| r.rsplit_once('/'));
            let Some((request_id, kind @ ("response" | "error"))) = parts else {
                return Ok(respond(
                    StatusCode::NOT_FOUND,
                    json!({"errorMessage": "unknown path"}),
                ));
            };
            let request_id = request_id.to_owned();
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            if kind == "error" {
                let text = String::from_utf8_lossy(&body);
                api.logs.push(
                    &api.function,
                    format!("[emulator] invocation {request_id} error: {text}"),
                );
            }
            let mut slot = api.slot.lock().unwrap();
            match slot.in_flight.take_if(|f| f.request_id == request_id) {
                Some(f) => {
                    let reply = Reply {
                        ok: kind == "response",
                        body,
                        handed_out_at: f.handed_out_at,
                        posted_at: Instant::now(),
                    };
                    let _ = f.reply.send(reply);
                    accepted()
                }
                None => respond(
                    StatusCode::BAD_REQUEST,
                    json!({"errorMessage": "invalid request id", "errorType": "InvalidRequestID"}),
                ),
            }
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            json!({"errorMessage": "unknown path"}),
        ),
    })
}

impl RuntimeApi {
    pub(crate) fn new(
        function: String,
        arn: String,
        stats: Arc<Mutex<FunctionStats>>,
        init_record: usize,
        logs: Arc<Logs>,
    ) -> RuntimeApi {
        RuntimeApi {
            function,
            arn,
            slot: Mutex::new(Slot::default()),
            wake: Notify::new(),
            stats,
            init_record,
            logs,
        }
    }

    /// Queues an event for the process's next (or pending) `invocation/next`.
    pub(crate) fn queue(&self, event: Pending) {
        self.slot.lock().unwrap().queued = Some(event);
        self.wake.notify_one();
    }

    /// Whether the process holds an event it has not answered yet.
    pub(crate) fn is_busy(&self) -> bool {
        self.slot.lock().unwrap().in_flight.is_some()
    }

    /// When the process took the event it has not answered yet.
    pub(crate) fn handed_out_at(&self) -> Option<Instant> {
        self.slot
            .lock()
            .unwrap()
            .in_flight
            .as_ref()
            .map(|f| f.handed_out_at)
    }

    /// Long-poll: waits for the next event and hands it out with the Lambda headers.
    async fn next(&self) -> Response<Full<Bytes>> {
        if let Some(init) = self.stats.lock().unwrap().inits.get_mut(self.init_record) {
            init.first_next_at.get_or_insert_with(Instant::now);
        }
        loop {
            let taken = {
                let mut slot = self.slot.lock().unwrap();
                slot.queued.take().map(|p| {
                    let handed_out_at = Instant::now();
                    slot.in_flight = Some(InFlight {
                        request_id: p.request_id.clone(),
                        handed_out_at,
                        reply: p.reply,
                    });
                    (p.request_id, p.payload, p.deadline_ms)
                })
            };
            if let Some((request_id, payload, deadline_ms)) = taken {
                let trace = format!(
                    "Root=1-{:08x}-{};Parent={};Sampled=0",
                    chrono::Utc::now().timestamp(),
                    &uuid::Uuid::new_v4().simple().to_string()[..24],
                    &uuid::Uuid::new_v4().simple().to_string()[..16]
                );
                let mut response = Response::new(Full::new(payload));
                let headers = response.headers_mut();
                let mut set = |name: &'static str, value: String| {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        headers.insert(name, value);
                    }
                };
                set("content-type", "application/json".into());
                set("lambda-runtime-aws-request-id", request_id);
                set("lambda-runtime-deadline-ms", deadline_ms.to_string());
                set("lambda-runtime-invoked-function-arn", self.arn.clone());
                set("lambda-runtime-trace-id", trace);
                return response;
            }
            // `notify_one` stores a permit if nobody waits yet, so an event queued between the
            // check above and this await is not missed.
            self.wake.notified().await;
        }
    }
}
