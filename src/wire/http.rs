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

/// Why a request's `Host` is refused (RFC 9112 3.2: "A server MUST respond with a 400 (Bad
/// Request) status code to any HTTP/1.1 request message that lacks a Host header field and to
/// any request message that contains more than one Host header field line or a Host header
/// field with an invalid field value"), or `None` when it is right. HTTP/1.0 may omit it.
pub(crate) fn host_refusal<B>(req: &hyper::Request<B>) -> Option<&'static str> {
    let mut hosts = req.headers().get_all(hyper::header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() >= hyper::Version::HTTP_11 => Some("missing Host"),
        (None, _) => None,
        (Some(_), Some(_)) => Some("Host given twice"),
        (Some(h), None) if valid_host(h.as_bytes()) => None,
        (Some(_), None) => Some("malformed Host"),
    }
}

/// RFC 9110 7.2 and RFC 3986 3.2.2: `uri-host [":" port]`, the host an IP literal in brackets
/// or a non-empty reg-name (unreserved, percent-encoded and sub-delims characters; an IPv4
/// address is one), the port digits.
fn valid_host(value: &[u8]) -> bool {
    let (host, port) = match value.iter().rposition(|&b| b == b':') {
        // A colon inside an IP literal is not a port's.
        Some(i) if !value[i..].contains(&b']') => (&value[..i], &value[i + 1..]),
        _ => (value, &[][..]),
    };
    let host_ok = match host {
        [b'[', literal @ .., b']'] => {
            !literal.is_empty()
                && literal
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b":.vV".contains(&b) || reg_name_byte(b))
        }
        _ => !host.is_empty() && host.iter().all(|&b| reg_name_byte(b)),
    };
    host_ok && port.iter().all(u8::is_ascii_digit)
}

/// A byte of a reg-name: unreserved, `%` of a percent-encoding, or a sub-delim.
fn reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)
}

/// A body too large or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadBody;

/// A request or response body as it arrives: hyper's from a connection, or the body a
/// caller built (the simulation's worker calls its object host directly: `server::worker`).
pub(crate) trait InBody:
    hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
{
}
impl<B> InBody for B where
    B: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
{
}

/// Collects a body of at most [`api::BODY_BYTES_MAX`] bytes.
pub(crate) async fn collect_body(body: impl InBody) -> Result<Bytes, BadBody> {
    match Limited::new(body, api::BODY_BYTES_MAX).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(_) => Err(BadBody),
    }
}

/// Reads a JSON body of at most [`api::BODY_BYTES_MAX`] bytes within `timeout` (none in the
/// simulation), or the answer that refuses it: 413 too large, 408 too slow.
pub(crate) async fn read_body(
    body: impl InBody,
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
///
/// The connection is set up at once and the future is the connection itself: a herd holds two
/// of these a job (issue 27), and an `async fn` would also keep its arguments and the builder.
pub(crate) fn serve_http1<S, F, Fut, E>(
    stream: S,
    handle: F,
    what: &'static str,
    header_timeout: Option<Duration>,
) -> impl std::future::Future<Output = ()>
where
    S: super::Io,
    F: Fn(hyper::Request<Incoming>) -> Fut + 'static,
    Fut: std::future::Future<Output = Result<Response<Body>, E>> + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use futures_util::FutureExt;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.max_buf_size(HTTP_BUF_BYTES_MAX);
    match header_timeout {
        Some(t) => builder
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(t),
        // No timer in the simulation: its clients are the model's.
        None => builder.header_read_timeout(None),
    };
    builder
        .serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper::service::service_fn(handle),
        )
        .with_upgrades()
        .map(move |ended| {
            if let Err(e) = ended {
                tracing::trace!(error = %e, server = what, "connection ended");
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: hyper::Version, hosts: &[&str]) -> hyper::Request<()> {
        let mut r = hyper::Request::builder().version(version).uri("/");
        for h in hosts {
            r = r.header(hyper::header::HOST, *h);
        }
        r.body(()).unwrap()
    }

    #[test]
    fn an_http_1_1_request_needs_exactly_one_well_formed_host() {
        const HTTP_10: hyper::Version = hyper::Version::HTTP_10;
        const HTTP_11: hyper::Version = hyper::Version::HTTP_11;
        for ok in [
            "worker:8787",
            "127.0.0.1:8787",
            "[::1]:8787",
            "[::1]",
            "example.com",
            "a:",
        ] {
            assert_eq!(host_refusal(&request(HTTP_11, &[ok])), None, "{ok}");
        }
        assert_eq!(host_refusal(&request(HTTP_10, &[])), None);
        assert_eq!(host_refusal(&request(HTTP_11, &[])), Some("missing Host"));
        let two = request(HTTP_10, &["a", "b"]);
        assert_eq!(host_refusal(&two), Some("Host given twice"));
        for bad in ["", ":80", "a b", "a, b", "a:8x", "[]", "a/b", "a@b", "[::1"] {
            assert_eq!(
                host_refusal(&request(HTTP_11, &[bad])),
                Some("malformed Host"),
                "{bad:?}"
            );
        }
    }
}
