//! Responses: a body that reports when hyper is done with it, and a way to answer nothing.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use hyper::body::{Bytes, Frame, SizeHint};
use hyper::{Response, StatusCode};
use tokio::sync::oneshot;

/// A response body that reports (by dropping its sender) once hyper is done with it, so a
/// settlement never overtakes the create answer.
pub(crate) struct SimBody {
    inner: Body,
    _written: Option<oneshot::Sender<()>>,
}

impl SimBody {
    pub fn new(inner: Body) -> Self {
        SimBody {
            inner,
            _written: None,
        }
    }
}

impl hyper::body::Body for SimBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
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
        inner: Body::from(body.into()),
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

pub(crate) type Answer = Result<Response<SimBody>, DropConnection>;
