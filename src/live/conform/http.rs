//! One HTTP/1.1 exchange on a fresh connection, with every header under the case's control
//! (a missing, repeated or wrong one is the point of many cases): the request, the answer
//! with a bounded body, and the upgraded stream after a `101`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::context::Context;
use super::finding::{short, Finding};
use crate::client::Connect;
use crate::wire::api;
use crate::wire::collect_body;

/// A request to send as it is.
pub(super) struct Req {
    method: Method,
    /// The request target (path and query, `*`, or an authority for `CONNECT`), sent
    /// verbatim.
    target: String,
    headers: Vec<(&'static str, String)>,
    /// Whether the target's authority goes in a `Host` header (always, but for the cases
    /// about a request without one; `header("host", …)` adds a further line).
    host: bool,
    body: Bytes,
}

impl Req {
    pub(super) fn new(method: Method, target: impl Into<String>) -> Req {
        Req {
            method,
            target: target.into(),
            headers: Vec::new(),
            host: true,
            body: Bytes::new(),
        }
    }

    /// A JSON POST to the batch path.
    pub(super) fn post(body: impl Into<Bytes>) -> Req {
        Req::new(Method::POST, api::BATCH_PATH)
            .header("content-type", "application/json")
            .body(body)
    }

    /// A well-formed progress upgrade for `query` (key `key`, version 13).
    pub(super) fn upgrade(query: &str, key: &str) -> Req {
        Req::upgrade_at(format!("{}?{query}", api::PROGRESS_PATH), key)
    }

    /// The upgrade's headers on a request for `target`.
    pub(super) fn upgrade_at(target: String, key: &str) -> Req {
        Req::new(Method::GET, target)
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-key", key)
            .header("sec-websocket-version", "13")
    }

    /// Adds a header (a second one of the same name is sent as a second line).
    pub(super) fn header(mut self, name: &'static str, value: impl Into<String>) -> Req {
        self.headers.push((name, value.into()));
        self
    }

    /// Sends no `Host` of the target's (only those added with `header`).
    pub(super) fn without_host(mut self) -> Req {
        self.host = false;
        self
    }

    /// Removes every header called `name`.
    pub(super) fn without(mut self, name: &str) -> Req {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Replaces every header called `name` with one of `value`.
    pub(super) fn with(self, name: &'static str, value: impl Into<String>) -> Req {
        self.without(name).header(name, value)
    }

    pub(super) fn body(mut self, body: impl Into<Bytes>) -> Req {
        self.body = body.into();
        self
    }
}

/// What the endpoint answered.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    /// At most [`api::BODY_BYTES_MAX`] bytes; empty after a `101`.
    pub(super) body: Bytes,
    /// The connection, handed over after a `101`.
    pub(super) upgraded: Option<hyper::upgrade::Upgraded>,
}

impl Answer {
    /// The body as text, on one line, shortened for a detail.
    pub(super) fn snippet(&self) -> String {
        short(&String::from_utf8_lossy(&self.body))
    }

    /// `Ok` when the status is `want`, else a mismatch naming what came (with the body).
    pub(super) fn expect(&self, what: &str, want: u16) -> Result<(), Finding> {
        if self.status.as_u16() == want {
            return Ok(());
        }
        let body = self.snippet();
        let got = if body.is_empty() {
            self.status.as_u16().to_string()
        } else {
            format!("{} ({body})", self.status.as_u16())
        };
        Err(super::finding::mismatch(what, want, got))
    }
}

/// Sends `req` on a fresh connection and reads the answer, all within the request timeout.
pub(super) async fn send(ctx: &Context, req: Req) -> Result<Answer, Finding> {
    let timeout = ctx.request_timeout();
    match tokio::time::timeout(timeout, exchange(ctx, req)).await {
        Ok(r) => r,
        Err(_) => Err(Finding::Fail(format!(
            "no answer within {} ms",
            ctx.settings.request_timeout_ms
        ))),
    }
}

async fn exchange(ctx: &Context, req: Req) -> Result<Answer, Finding> {
    let io = ctx.connect().await?;
    let no_answer = |e: hyper::Error| Finding::Fail(format!("no answer: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(no_answer)?;
    tokio::task::spawn_local(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut request = Request::builder()
        .method(req.method)
        .uri(req.target.as_str());
    if req.host {
        request = request.header(hyper::header::HOST, ctx.target.authority());
    }
    for (name, value) in &req.headers {
        let value = HeaderValue::from_str(value)
            .map_err(|e| Finding::Error(format!("header {name}: {e}")))?;
        request = request.header(HeaderName::from_static(name), value);
    }
    let request = request
        .body(Full::new(req.body))
        .map_err(|e| Finding::Error(format!("building the request: {e}")))?;
    let mut resp = sender.send_request(request).await.map_err(no_answer)?;
    let status = resp.status();
    if status == StatusCode::SWITCHING_PROTOCOLS {
        let on = hyper::upgrade::on(&mut resp);
        let headers = resp.headers().clone();
        let upgraded = on
            .await
            .map_err(|e| Finding::Fail(format!("101, then no connection to upgrade: {e}")))?;
        return Ok(Answer {
            status,
            headers,
            body: Bytes::new(),
            upgraded: Some(upgraded),
        });
    }
    let (parts, body) = resp.into_parts();
    let body = collect_body(body).await.map_err(|_| {
        Finding::Fail(format!(
            "{}, with a body over {} bytes or cut short",
            status.as_u16(),
            api::BODY_BYTES_MAX
        ))
    })?;
    Ok(Answer {
        status,
        headers: parts.headers,
        body,
        upgraded: None,
    })
}
