//! One LeanX call through the fault queue: logged on arrival, a fault drawn, handled apart from
//! the connection, then answered, mangled or never answered as the fault says.

use std::sync::Arc;
use std::time::Duration;

use hyper::Response;
use hyper::body::Bytes;
use hyper::http::request::Parts;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::body::{Answer, DropConnection, SimBody, response};
use crate::control::FaultKind;
use crate::faults;
use crate::leanx::{self, code};
use crate::settlement;
use crate::state::{CallEnd, Simulator};

fn end(outcome: impl Into<String>, code: Option<i64>, fault: &Option<String>) -> CallEnd {
    CallEnd {
        outcome: outcome.into(),
        response_code: code,
        fault: fault.clone(),
        invoice_no: None,
    }
}

/// An envelope with this code, the call not handled (LeanX refused it outright).
fn refused(
    sim: &Simulator,
    seq: u64,
    code: i64,
    description: &str,
    fault: &Option<String>,
) -> Response<SimBody> {
    let body = leanx::envelope(sim, code, description, RawValue::NULL.to_owned(), None);
    sim.finish_call(seq, end(format!("refused {code}"), Some(code), fault));
    response(200, "application/json", body, None)
}

const HTTP_500: &str = "<html><body><h1>500 Internal Server Error</h1></body></html>";

pub(super) async fn answer(
    sim: Arc<Simulator>,
    parts: Parts,
    endpoint: String,
    bytes: Bytes,
) -> Answer {
    let query = parts.uri.query().map(str::to_string);
    let external_ref = (endpoint == "create-payout-invoice")
        .then(|| leanx::external_invoice_ref(&bytes))
        .flatten();
    let seq = sim.log_request(&endpoint, query.as_deref(), &bytes, external_ref);
    let fault = sim.lock().faults.take(&endpoint);
    let fault_name = fault.as_ref().map(faults::label);
    // Logged now, not only when the call ends: a client that gives up (e.g. on a latency fault)
    // drops this future, and the log must still say the call was faulted.
    if fault_name.is_some() {
        sim.mark_fault(seq, fault_name.clone());
    }

    // Faults that keep the call from LeanX entirely.
    match fault {
        Some(FaultKind::Http500Before) => {
            sim.finish_call(seq, end("fault http_500_before", None, &fault_name));
            return Ok(response(500, "text/html", HTTP_500, None));
        }
        Some(FaultKind::DropBefore) => {
            sim.finish_call(seq, end("fault drop_before", None, &fault_name));
            return Err(DropConnection);
        }
        Some(FaultKind::UnknownCode) => {
            return Ok(refused(
                &sim,
                seq,
                code::UNKNOWN,
                "UNKNOWN_ERROR",
                &fault_name,
            ));
        }
        Some(FaultKind::Refuse {
            response_code,
            ref description,
        }) => {
            return Ok(refused(&sim, seq, response_code, description, &fault_name));
        }
        _ => {}
    }

    // Detached from the connection so a client that gives up (timeout) does not cancel what
    // LeanX has already received.
    let latency = match fault {
        Some(FaultKind::Latency { ms }) => ms,
        _ => 0,
    };
    let me = Arc::clone(&sim);
    let task = sim.spawn_bg(async move {
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let answered = leanx::answer(
            &me,
            &parts.method,
            &endpoint,
            &parts.headers,
            query.as_deref(),
            &bytes,
        );
        // Scheduled here, in the detached task, so that a client that gave up (timeout,
        // reset) still leaves a payout LeanX recorded to settle, as real LeanX would. If the
        // answer is never written, the dropped sender releases the settlement.
        let (written_tx, written_rx) = oneshot::channel();
        if let Some(c) = &answered.created {
            settlement::schedule(
                &me,
                c.invoice_no.clone(),
                c.outcome.clone(),
                c.delay,
                written_rx,
            );
        }
        (answered, written_tx)
    });
    let Ok(Some((answered, written_tx))) = task.await else {
        return Err(DropConnection);
    };

    let mut finished = end(
        if answered.code == code::SUCCESS {
            format!("answered {}", answered.code)
        } else {
            format!("refused {}", answered.code)
        },
        Some(answered.code),
        &fault_name,
    );
    if let Some(c) = answered.created {
        finished.invoice_no = Some(c.invoice_no);
    }

    // Faults applied after LeanX handled the call: the answer is lost or mangled.
    match fault {
        Some(FaultKind::Http500After) => {
            finished.outcome = format!("fault http_500_after ({})", finished.outcome);
            sim.finish_call(seq, finished);
            Ok(response(500, "text/html", HTTP_500, Some(written_tx)))
        }
        Some(FaultKind::DropAfter) => {
            finished.outcome = format!("fault drop_after ({})", finished.outcome);
            sim.finish_call(seq, finished);
            drop(written_tx);
            Err(DropConnection)
        }
        Some(FaultKind::Hang) => {
            finished.outcome = format!("fault hang ({})", finished.outcome);
            sim.finish_call(seq, finished);
            drop(written_tx);
            tokio::select! {
                _ = tokio::time::sleep(sim.config.hang_duration) => {}
                _ = sim.shutdown_signal() => {}
            }
            Err(DropConnection)
        }
        Some(FaultKind::MalformedJson) => {
            finished.outcome = format!("fault malformed_json ({})", finished.outcome);
            sim.finish_call(seq, finished);
            let garbage = "{\"response_code\": 2000, \"description\": \"SUCC<html>502 Bad Gateway";
            Ok(response(200, "application/json", garbage, Some(written_tx)))
        }
        _ => {
            sim.finish_call(seq, finished);
            Ok(response(
                200,
                "application/json",
                answered.body,
                Some(written_tx),
            ))
        }
    }
}
