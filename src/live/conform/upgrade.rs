//! The progress upgrade's cases: the `101` with a valid token, and each documented refusal
//! (`426`, `400`, `401`), each request well formed but for the one thing the case is about.

use hyper::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::context::Context;
use super::finding::{mismatch, Checked, Finding};
use super::http::{send, Answer, Req};
use super::job::posted;
use crate::wire::api;

/// Sends each upgrade request and expects `want` for each.
async fn each(ctx: &Context, requests: Vec<(String, Req)>, want: u16) -> Checked {
    for (what, req) in requests {
        send(ctx, req).await?.expect(&what, want)?;
    }
    Ok(())
}

/// A fresh job's well-formed upgrade request, with one thing changed by `change`, must get
/// `want`.
async fn one(
    ctx: &Context,
    what: &str,
    want: u16,
    change: impl FnOnce(&super::job::Job, Req) -> Req,
) -> Checked {
    let job = posted(ctx).await?;
    let req = change(&job, Req::upgrade(&job.query(), &generate_key()));
    each(ctx, vec![(what.to_string(), req)], want).await
}

/// Checks a `101`: the status and the three headers RFC 6455 4.2.2 requires.
fn check_101(answer: &Answer, key: &str, what: &str) -> Checked {
    answer.expect(what, 101)?;
    let header = |name| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    if !header(UPGRADE).eq_ignore_ascii_case("websocket") {
        return Err(mismatch("101 Upgrade header", "websocket", header(UPGRADE)));
    }
    let connection_ok = answer
        .headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| api::connection_upgrade(v.as_bytes()));
    if !connection_ok {
        return Err(mismatch(
            "101 Connection header",
            "Upgrade",
            header(CONNECTION),
        ));
    }
    let want = derive_accept_key(key.as_bytes());
    if header(SEC_WEBSOCKET_ACCEPT) != want {
        return Err(mismatch(
            "101 Sec-WebSocket-Accept",
            want,
            header(SEC_WEBSOCKET_ACCEPT),
        ));
    }
    Ok(())
}

pub(super) async fn accepted(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    open(ctx, &job.query(), "upgrade with the job's token")
        .await
        .map(drop)
}

pub(super) async fn no_upgrade_header(ctx: &Context) -> Checked {
    one(ctx, "upgrade without Upgrade: websocket", 426, |_, r| {
        r.without("upgrade")
    })
    .await
}

pub(super) async fn wrong_version(ctx: &Context) -> Checked {
    one(ctx, "upgrade with Sec-WebSocket-Version: 8", 426, |_, r| {
        r.with("sec-websocket-version", "8")
    })
    .await
}

pub(super) async fn missing_job_id(ctx: &Context) -> Checked {
    one(ctx, "upgrade without jobId", 400, |job, _| {
        Req::upgrade(&format!("token={}", job.token), &generate_key())
    })
    .await
}

pub(super) async fn malformed_job_id(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let long = ctx.job_id_of_len(api::JOB_ID_LEN_MAX + 1);
    let requests = ["bad.id", long.as_str()]
        .into_iter()
        .map(|id| {
            let query = format!("jobId={id}&token={}", job.token);
            (
                format!("upgrade with jobId {id:?}"),
                Req::upgrade(&query, &generate_key()),
            )
        })
        .collect();
    each(ctx, requests, 400).await
}

pub(super) async fn repeated_job_id(ctx: &Context) -> Checked {
    one(ctx, "upgrade with jobId twice", 400, |job, _| {
        let query = format!("jobId={0}&jobId={0}&token={1}", job.id, job.token);
        Req::upgrade(&query, &generate_key())
    })
    .await
}

pub(super) async fn repeated_token(ctx: &Context) -> Checked {
    one(ctx, "upgrade with token twice", 400, |job, _| {
        let query = format!("{}&token={}", job.query(), job.token);
        Req::upgrade(&query, &generate_key())
    })
    .await
}

pub(super) async fn malformed_after(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let requests = ["abc", "-1"]
        .into_iter()
        .map(|after| {
            let query = format!("{}&after={after}", job.query());
            (
                format!("upgrade with after={after}"),
                Req::upgrade(&query, &generate_key()),
            )
        })
        .collect();
    each(ctx, requests, 400).await
}

pub(super) async fn missing_key(ctx: &Context) -> Checked {
    one(ctx, "upgrade without Sec-WebSocket-Key", 400, |_, r| {
        r.without("sec-websocket-key")
    })
    .await
}

pub(super) async fn bad_key(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    // 5 bytes of base64; 24 characters that are not base64.
    let requests = ["c2hvcnQ=", "not base64 at all!!!!!=="]
        .into_iter()
        .map(|key| {
            (
                format!("upgrade with Sec-WebSocket-Key {key:?}"),
                Req::upgrade(&job.query(), key),
            )
        })
        .collect();
    each(ctx, requests, 400).await
}

pub(super) async fn repeated_key(ctx: &Context) -> Checked {
    // Two keys, each well formed: RFC 6455 11.3.1 allows one.
    one(ctx, "upgrade with Sec-WebSocket-Key twice", 400, |_, r| {
        r.header("sec-websocket-key", generate_key())
    })
    .await
}

pub(super) async fn no_connection_upgrade(ctx: &Context) -> Checked {
    one(ctx, "upgrade without Connection: Upgrade", 400, |_, r| {
        r.without("connection")
    })
    .await
}

pub(super) async fn missing_token(ctx: &Context) -> Checked {
    one(ctx, "upgrade without a token", 401, |job, _| {
        Req::upgrade(&format!("jobId={}", job.id), &generate_key())
    })
    .await
}

pub(super) async fn wrong_token(ctx: &Context) -> Checked {
    one(ctx, "upgrade with a random token", 401, |job, _| {
        let random = format!("{:032x}", rand::random::<u128>());
        Req::upgrade(&job.query_with(&random), &generate_key())
    })
    .await
}

pub(super) async fn other_jobs_token(ctx: &Context) -> Checked {
    let other = posted(ctx).await?;
    one(ctx, "upgrade with another job's token", 401, |job, _| {
        Req::upgrade(&job.query_with(&other.token), &generate_key())
    })
    .await
}

/// An upgrade that must be accepted: the answer, checked as a `101`.
pub(super) async fn open(ctx: &Context, query: &str, what: &str) -> Result<Answer, Finding> {
    open_at(ctx, format!("{}?{query}", api::PROGRESS_PATH), what).await
}

/// [`open`] for any request target (a session's socket).
pub(super) async fn open_at(ctx: &Context, target: String, what: &str) -> Result<Answer, Finding> {
    let key = generate_key();
    let answer = send(ctx, Req::upgrade_at(target, &key)).await?;
    check_101(&answer, &key, what)?;
    Ok(answer)
}
