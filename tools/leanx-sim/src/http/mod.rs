//! HTTP plumbing on hyper directly (not axum) for the LeanX endpoints: a fault must be able to
//! close a connection without any response, which a handler returning a response cannot do.
//! Returning an error from the service makes hyper close the connection (no panic involved:
//! release builds abort on panic). `/__sim/` is handed to the control API's axum router.

mod body;
mod leanx_call;

use std::sync::Arc;

use axum::Router;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower_service::Service;

use body::json_response;
pub(crate) use body::{Answer, SimBody};

use crate::leanx::PREFIX;
use crate::state::Simulator;

const MAX_BODY: usize = 1 << 20;

/// Accepts connections until the task is aborted; aborting drops the JoinSet, which ends
/// every connection (hung ones included).
pub(crate) async fn serve(listener: TcpListener, sim: Arc<Simulator>) {
    let control = crate::control_api::router(Arc::clone(&sim));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let sim = Arc::clone(&sim);
                let control = control.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        dispatch(Arc::clone(&sim), control.clone(), req)
                    });
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

async fn dispatch(sim: Arc<Simulator>, mut control: Router, req: Request<Incoming>) -> Answer {
    let (mut parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Ok(json_response(
                413,
                &serde_json::json!({ "message": "payload too large" }),
            ));
        }
    };
    let path = parts.uri.path().to_string();
    if path.starts_with("/__sim/") {
        // `/__sim/health/` is `/__sim/health`.
        if path.ends_with('/') {
            parts.uri = without_trailing_slash(&parts.uri);
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let Ok(resp) = control.call(req).await;
        return Ok(resp.map(SimBody::new));
    }
    if let Some(endpoint) = path.strip_prefix(PREFIX) {
        return leanx_call::answer(sim, parts, endpoint.to_string(), bytes).await;
    }
    Ok(json_response(
        404,
        &serde_json::json!({ "message": "Not Found" }),
    ))
}

fn without_trailing_slash(uri: &Uri) -> Uri {
    let path = uri.path().trim_end_matches('/');
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    path_and_query.parse().unwrap_or_else(|_| uri.clone())
}
