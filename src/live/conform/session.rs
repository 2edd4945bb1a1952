//! The app session's cases (`POST /api/session`, `GET /ws/session`): one socket carries the
//! progress of every job posted with the session's id, each message with its `jobId`; a
//! reconnect with `after=jobId:seq,…` replays exactly what the app lacks. Graded `Should`: the
//! session API is the write-up's proposed "connection pooling", which an endpoint serving one
//! socket per job does not offer.

use std::collections::BTreeMap;

use hyper::Method;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;

use super::context::Context;
use super::finding::{mismatch, setup, Checked, Finding};
use super::http::{send, Answer, Req};
use super::job::{accepted, token_202, Job};
use super::socket::{Socket, Wait};
use super::upgrade::open_at;
use crate::wire::api::{self, ServerMsg};

/// An accepted session: what its `202` said.
struct Session {
    id: String,
    token: String,
}

/// POSTs a session for `id`; the answer as it came.
async fn post_session(ctx: &Context, id: &str) -> Result<Answer, Finding> {
    let body = serde_json::json!({ "sessionId": id }).to_string();
    let req = Req::new(Method::POST, api::SESSION_PATH)
        .header("content-type", "application/json")
        .body(body);
    send(ctx, req).await
}

/// Checks a session POST's answer as the documented `202`.
fn session_accepted(answer: &Answer, id: &str) -> Result<Session, Finding> {
    let token = token_202(answer, "POST /api/session", ("sessionId", id))?;
    Ok(Session {
        id: id.to_string(),
        token,
    })
}

/// A set-up step: a fresh session posted and accepted.
async fn posted_session(ctx: &Context) -> Result<Session, Finding> {
    let id = ctx.job_id();
    let answer = post_session(ctx, &id).await.map_err(setup)?;
    session_accepted(&answer, &id).map_err(setup)
}

/// The body of a batch POST of `job_id` naming `session_id` with `token`.
fn batch_in(ctx: &Context, job_id: &str, session_id: &str, token: &str) -> String {
    serde_json::json!({
        "jobId": job_id,
        "books": ctx.settings.books,
        "sessionId": session_id,
        "sessionToken": token,
    })
    .to_string()
}

/// A set-up step: a fresh job of the run's books posted in `session`.
async fn posted_in(ctx: &Context, session: &Session) -> Result<Job, Finding> {
    let id = ctx.job_id();
    let body = batch_in(ctx, &id, &session.id, &session.token);
    let answer = send(ctx, Req::post(body)).await.map_err(setup)?;
    accepted(&answer, &id, ctx.settings.books).map_err(setup)
}

/// The session socket's query with `token` (and `after` when given).
fn query(session: &Session, token: &str, after: Option<&str>) -> String {
    let mut q = format!("sessionId={}&token={token}", session.id);
    if let Some(a) = after {
        q.push_str(&format!("&after={a}"));
    }
    q
}

/// Opens `session`'s socket, its first message checked as ready with the session's id.
async fn connect(
    ctx: &Context,
    session: &Session,
    after: Option<&str>,
    frames: u32,
) -> Result<Socket, Finding> {
    let target = format!(
        "{}?{}",
        api::SESSION_SOCKET_PATH,
        query(session, &session.token, after)
    );
    let answer = open_at(ctx, target, "session upgrade with the session's token").await?;
    let upgraded = answer
        .upgraded
        .expect("a checked 101 carries its connection");
    let mut socket = Socket::new(upgraded, frames).await;
    let wait = Wait::new(ctx.request_timeout());
    match socket.message(wait, "the first message").await? {
        ServerMsg::Ready { job_id, .. } if job_id == session.id => Ok(socket),
        ServerMsg::Ready { job_id, .. } => Err(mismatch("ready jobId", &session.id, job_id)),
        _ => Err(mismatch("the first message", "ready", "another message")),
    }
}

/// What a session's socket carried of each job: the progress seqs in order, and whether
/// complete came.
type Heard = BTreeMap<String, (Vec<u32>, bool)>;

/// Reads until every job of `jobs` has its complete, within the job timeout. A message with
/// no jobId, or a jobId of no job of the session, fails.
async fn hear_all(ctx: &Context, socket: &mut Socket, jobs: &[&Job]) -> Result<Heard, Finding> {
    let wait = Wait::new(ctx.job_timeout());
    let mut heard: Heard = jobs
        .iter()
        .map(|j| (j.id.clone(), (Vec::new(), false)))
        .collect();
    while heard.values().any(|(_, complete)| !complete) {
        let (job_id, seq) = match socket.message(wait, "every job's complete").await? {
            ServerMsg::Progress { job_id, seq, .. } => (job_id, Some(seq)),
            ServerMsg::Complete { job_id, .. } => (job_id, None),
            ServerMsg::Ready { .. } => {
                return Err(mismatch(
                    "a message",
                    "progress or complete",
                    "a second ready",
                ))
            }
        };
        let Some(job_id) = job_id else {
            return Err(mismatch(
                "a session message's jobId",
                "the job's id",
                "none",
            ));
        };
        let Some(h) = heard.get_mut(&job_id) else {
            return Err(mismatch(
                "a session message's jobId",
                "one of the session's jobs",
                job_id,
            ));
        };
        match seq {
            Some(s) => h.0.push(s),
            None => h.1 = true,
        }
    }
    Ok(heard)
}

/// Each job's progress came as `from[job]+1..=books` exactly, in order, then its complete.
fn check_heard(heard: &Heard, from: &BTreeMap<String, u32>, books: u32) -> Checked {
    for (job_id, (seqs, _)) in heard {
        let first = from.get(job_id).copied().unwrap_or(0) + 1;
        let want: Vec<u32> = (first..=books).collect();
        if *seqs != want {
            return Err(mismatch(
                &format!("{job_id}'s progress seqs"),
                format!("{want:?}"),
                format!("{seqs:?}"),
            ));
        }
    }
    Ok(())
}

pub(super) async fn accepted_202(ctx: &Context) -> Checked {
    let id = ctx.job_id();
    session_accepted(&post_session(ctx, &id).await?, &id).map(drop)
}

/// A random token, as a guess would be.
fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

pub(super) async fn unknown_session(ctx: &Context) -> Checked {
    let body = batch_in(ctx, &ctx.job_id(), &ctx.job_id(), &random_token());
    send(ctx, Req::post(body))
        .await?
        .expect("a batch POST naming a session never posted", 404)
}

pub(super) async fn join_needs_the_token(ctx: &Context) -> Checked {
    let session = posted_session(ctx).await?;
    let body = batch_in(ctx, &ctx.job_id(), &session.id, &random_token());
    send(ctx, Req::post(body)).await?.expect(
        "a batch POST naming the session with a random sessionToken",
        401,
    )
}

pub(super) async fn wrong_token(ctx: &Context) -> Checked {
    let session = posted_session(ctx).await?;
    let job = posted_in(ctx, &session).await?;
    let random = random_token();
    for (what, token) in [
        ("a random token", random.as_str()),
        ("a job's token", job.token.as_str()),
    ] {
        let target = format!(
            "{}?{}",
            api::SESSION_SOCKET_PATH,
            query(&session, token, None)
        );
        send(ctx, Req::upgrade_at(target, &generate_key()))
            .await?
            .expect(&format!("session upgrade with {what}"), 401)?;
    }
    Ok(())
}

pub(super) async fn progress(ctx: &Context) -> Checked {
    let session = posted_session(ctx).await?;
    let books = ctx.settings.books;
    let frames = 4 * books + 64;
    let mut socket = connect(ctx, &session, None, frames).await?;
    let a = posted_in(ctx, &session).await?;
    let b = posted_in(ctx, &session).await?;
    let heard = hear_all(ctx, &mut socket, &[&a, &b]).await?;
    check_heard(&heard, &BTreeMap::new(), books)?;
    socket.leave().await;
    Ok(())
}

pub(super) async fn replay_after(ctx: &Context) -> Checked {
    let session = posted_session(ctx).await?;
    let books = ctx.settings.books;
    let frames = 4 * books + 64;
    let a = posted_in(ctx, &session).await?;
    let b = posted_in(ctx, &session).await?;
    // Set-up: both jobs heard to their end on a first socket.
    let mut first = connect(ctx, &session, None, frames).await.map_err(setup)?;
    hear_all(ctx, &mut first, &[&a, &b]).await.map_err(setup)?;
    first.leave().await;
    // The app has a's first book and nothing of b.
    let from = BTreeMap::from([(a.id.clone(), 1), (b.id.clone(), 0)]);
    let after = format!("{}:1,{}:0", a.id, b.id);
    let mut socket = connect(ctx, &session, Some(&after), frames).await?;
    let heard = hear_all(ctx, &mut socket, &[&a, &b]).await?;
    check_heard(&heard, &from, books)?;
    socket.leave().await;
    Ok(())
}
