//! HTTP helpers both sides use: bounded body reads and plain-text answers.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};

use super::api;

/// The body type of every request and response the simulation builds.
pub(crate) type Body = Full<Bytes>;

/// A plain-text answer: `text` and a newline.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    r
}

/// A body too large or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadBody;

/// Collects a body of at most [`api::BODY_BYTES_MAX`] bytes.
pub(crate) async fn collect_body(body: Incoming) -> Result<Bytes, BadBody> {
    match Limited::new(body, api::BODY_BYTES_MAX).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(_) => Err(BadBody),
    }
}

/// Reads a JSON body of at most [`api::BODY_BYTES_MAX`] bytes within `timeout` (none in the
/// simulation), or the answer that refuses it: 413 too large, 408 too slow.
pub(crate) async fn read_body(
    body: Incoming,
    timeout: Option<Duration>,
) -> Result<Bytes, Response<Body>> {
    let too_large = || {
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body too large or unreadable",
        )
    };
    match timeout {
        None => collect_body(body).await.map_err(|BadBody| too_large()),
        Some(t) => match tokio::time::timeout(t, collect_body(body)).await {
            Ok(read) => read.map_err(|BadBody| too_large()),
            Err(_) => Err(plain(StatusCode::REQUEST_TIMEOUT, "body too slow")),
        },
    }
}

/// Most bytes hyper buffers for one connection's request head (headers past it get a 431).
const HTTP_BUF_BYTES_MAX: usize = 64 * 1024;

/// Serves HTTP/1.1, upgrades included, on one connection until it ends: the one server set-up
/// of the worker and the object host. `what` names the server in the trace. With
/// `header_timeout` (live), a request's head must arrive within it of the connection being
/// ready for one: the first request, or the next on a keep-alive connection, so it bounds a
/// slow head and an idle keep-alive connection alike (hyper restarts the timer after each
/// response).
pub(crate) async fn serve_http1<S, F, Fut, E>(
    stream: S,
    handle: F,
    what: &'static str,
    header_timeout: Option<Duration>,
) where
    S: super::Io,
    F: Fn(hyper::Request<Incoming>) -> Fut + 'static,
    Fut: std::future::Future<Output = Result<Response<Body>, E>> + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.max_buf_size(HTTP_BUF_BYTES_MAX);
    match header_timeout {
        Some(t) => builder
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(t),
        // No timer in the simulation: its clients are the model's.
        None => builder.header_read_timeout(None),
    };
    let conn = builder
        .serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper::service::service_fn(handle),
        )
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::trace!(error = %e, server = what, "connection ended");
    }
}
