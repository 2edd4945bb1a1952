//! HTTP helpers both sides use: bounded body reads and plain-text answers.

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

/// Reads a JSON body of at most [`api::BODY_BYTES_MAX`] bytes, or the 413 that refuses it.
pub(crate) async fn read_body(body: Incoming) -> Result<Bytes, Response<Body>> {
    collect_body(body).await.map_err(|BadBody| {
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body too large or unreadable",
        )
    })
}
