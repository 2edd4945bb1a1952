//! A job a case posts: the batch POST, its `202` checked against the documented body, and the
//! query strings of the job's upgrade and status requests.

use std::time::{SystemTime, UNIX_EPOCH};

use super::context::Context;
use super::finding::{mismatch, setup, short, Finding};
use super::http::{send, Answer, Req};
use crate::wire::api;

/// An accepted job: what its `202` said.
pub(super) struct Job {
    pub(super) id: String,
    pub(super) token: String,
    pub(super) books: u32,
}

/// The body of a batch POST.
pub(super) fn batch_body(job_id: &str, books: u32) -> String {
    serde_json::json!({ "jobId": job_id, "books": books }).to_string()
}

/// POSTs the batch for `job_id` with the run's book count; the answer as it came.
pub(super) async fn post(ctx: &Context, job_id: &str) -> Result<Answer, Finding> {
    send(ctx, Req::post(batch_body(job_id, ctx.settings.books))).await
}

/// A set-up step: a fresh job of `books` books posted and accepted.
pub(super) async fn posted_with(ctx: &Context, books: u32) -> Result<Job, Finding> {
    let id = ctx.job_id();
    let answer = send(ctx, Req::post(batch_body(&id, books)))
        .await
        .map_err(setup)?;
    accepted(&answer, &id, books).map_err(setup)
}

/// Checks a POST's answer as the documented `202` for `job_id`: the job it names, its token.
pub(super) fn accepted(answer: &Answer, job_id: &str, books: u32) -> Result<Job, Finding> {
    let token = token_202(answer, "POST", ("jobId", job_id))?;
    Ok(Job {
        id: job_id.to_string(),
        token,
        books,
    })
}

/// Checks a `202` of a POST (`what`): JSON naming `id` under its key, a usable token and an
/// `expiresAtMs` later than now. The token.
pub(super) fn token_202(answer: &Answer, what: &str, id: (&str, &str)) -> Result<String, Finding> {
    let (key, id) = id;
    answer.expect(what, 202)?;
    let v: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|e| mismatch("202 body", "JSON", format!("{e} ({})", answer.snippet())))?;
    if v.get(key).and_then(|x| x.as_str()) != Some(id) {
        return Err(mismatch(
            &format!("202 {key}"),
            format!("{id:?}"),
            field(&v, key),
        ));
    }
    let token = v.get("token").and_then(|x| x.as_str()).unwrap_or("");
    if !api::usable_token(token) {
        return Err(mismatch(
            "202 token",
            "1..=1024 URL-unreserved characters",
            field(&v, "token"),
        ));
    }
    let Some(expires_at_ms) = v.get("expiresAtMs").and_then(|x| x.as_u64()) else {
        return Err(mismatch(
            "202 expiresAtMs",
            "an integer of epoch ms",
            field(&v, "expiresAtMs"),
        ));
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    if expires_at_ms <= now_ms {
        return Err(mismatch(
            "202 expiresAtMs",
            format!("after now ({now_ms} epoch ms)"),
            expires_at_ms,
        ));
    }
    Ok(token.to_string())
}

/// A JSON field as it came, for a detail (`absent` when missing).
pub(super) fn field(v: &serde_json::Value, name: &str) -> String {
    v.get(name)
        .map_or("absent".into(), |x| short(&x.to_string()))
}

/// A set-up step: a fresh job posted and accepted; any failure is the case's error.
pub(super) async fn posted(ctx: &Context) -> Result<Job, Finding> {
    let id = ctx.job_id();
    posted_as(ctx, &id).await
}

/// A set-up step for a given id (a token refresh posts the same id again).
pub(super) async fn posted_as(ctx: &Context, id: &str) -> Result<Job, Finding> {
    let answer = post(ctx, id).await.map_err(setup)?;
    accepted(&answer, id, ctx.settings.books).map_err(setup)
}

impl Job {
    /// `jobId=…&token=…` with this job's id and `token`.
    pub(super) fn query_with(&self, token: &str) -> String {
        format!("jobId={}&token={token}", self.id)
    }

    /// `jobId=…&token=…` with this job's own token.
    pub(super) fn query(&self) -> String {
        self.query_with(&self.token)
    }
}
