//! The request line and `Host`, whatever the path: the target is matched as sent (a path
//! with dot segments, or `*`, is no path of the API: `404`), `CONNECT` opens no tunnel, and an
//! HTTP/1.1 request needs exactly one `Host` (RFC 9112 3.2: `400`).

use hyper::Method;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;

use super::context::Context;
use super::finding::{mismatch, Checked};
use super::http::{send, Req};
use super::job::{batch_body, posted};
use crate::client::Connect;
use crate::wire::api;

pub(super) async fn dot_segments(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let batch = batch_body(&ctx.job_id(), ctx.settings.books);
    // Each well formed, at a path that only normalises to a documented one.
    let requests = [
        (
            "POST /api/enrichment/./batch",
            Req::new(Method::POST, "/api/enrichment/./batch")
                .header("content-type", "application/json")
                .body(batch),
        ),
        (
            "upgrade at /ws/./progress",
            Req::upgrade_at(format!("/ws/./progress?{}", job.query()), &generate_key()),
        ),
        (
            "GET /api/x/../enrichment/status",
            Req::new(
                Method::GET,
                format!("/api/x/../enrichment/status?{}", job.query()),
            ),
        ),
    ];
    for (what, req) in requests {
        send(ctx, req).await?.expect(what, 404)?;
    }
    Ok(())
}

pub(super) async fn asterisk(ctx: &Context) -> Checked {
    for method in [Method::OPTIONS, Method::GET] {
        let what = format!("{method} *");
        send(ctx, Req::new(method, "*")).await?.expect(&what, 404)?;
    }
    Ok(())
}

pub(super) async fn connect(ctx: &Context) -> Checked {
    let authority = ctx.target.authority();
    let what = format!("CONNECT {authority}");
    let answer = send(ctx, Req::new(Method::CONNECT, authority.as_str())).await?;
    let status = answer.status.as_u16();
    if (400..600).contains(&status) {
        Ok(())
    } else {
        Err(mismatch(&what, "a 4xx or 5xx refusal", status))
    }
}

pub(super) async fn host(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let target = format!("{}?{}", api::STATUS_PATH, job.query());
    let authority = ctx.target.authority();
    let requests = [
        (
            "a status poll without Host",
            Req::new(Method::GET, target.as_str()).without_host(),
        ),
        (
            "a status poll with Host twice",
            Req::new(Method::GET, target.as_str()).header("host", authority),
        ),
    ];
    for (what, req) in requests {
        send(ctx, req).await?.expect(what, 400)?;
    }
    Ok(())
}
