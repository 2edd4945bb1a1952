//! The object host's HTTP service: routing, the batch POST (idempotent: a repeat refreshes
//! the token) and the status poll. The progress upgrade is in `upgrade`.

use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

use super::enrichment::enrich;
use super::lifecycle::schedule_crash;
use super::session;
use super::upgrade::{upgrade, Handover};
use super::{Object, Objects};
use crate::draw::Purpose;
use crate::names::FaultKind;
use crate::task;
use crate::wire::api::{self, BatchAccepted, BatchRequest, SessionAccepted, SessionRequest};
use crate::wire::{plain, read_body, serve_http1, Body, InBody, Io};

/// Serves one connection to the object host (HTTP/1.1 with upgrades): live `serve`'s; the
/// simulation's worker calls [`route`] instead.
pub(crate) fn serve_objects_conn<S: Io>(
    stream: S,
    objects: Rc<Objects>,
) -> impl std::future::Future<Output = ()> {
    let header_timeout = objects.env.bounds().map(|b| b.header_timeout);
    let handle = move |mut req: Request<_>| {
        // Taken from every request (live only): an upgrade is known by the route it takes.
        let handover = Handover::Upgrade(hyper::upgrade::on(&mut req));
        route(req, objects.clone(), handover).map(Ok::<_, Infallible>)
    };
    serve_http1(stream, handle, "object", header_timeout)
}

/// The request's route, boxed on its own: a request in flight holds its own route's future,
/// not the size of the largest (a herd of upgrades waits at its objects: issue 27). The
/// request comes off an HTTP/1 connection (live) or from the worker's direct call (the
/// simulation); `handover` says how an accepted socket's end will reach the object.
pub(crate) fn route<B: InBody + 'static>(
    req: Request<B>,
    objects: Rc<Objects>,
    handover: Handover,
) -> LocalBoxFuture<'static, Response<Body>> {
    let answer = |status, why| -> LocalBoxFuture<'static, Response<Body>> {
        Box::pin(std::future::ready(plain(status, why)))
    };
    match (req.method(), req.uri().path()) {
        (&Method::POST, api::BATCH_PATH) => Box::pin(post_batch(req, objects)),
        (_, api::BATCH_PATH) => answer(StatusCode::METHOD_NOT_ALLOWED, "use POST"),
        (&Method::GET, api::PROGRESS_PATH | api::SESSION_SOCKET_PATH) => {
            Box::pin(upgrade(req, objects, handover))
        }
        (&Method::POST, api::SESSION_PATH) => Box::pin(post_session(req, objects)),
        (_, api::SESSION_PATH) => answer(StatusCode::METHOD_NOT_ALLOWED, "use POST"),
        (&Method::GET, api::STATUS_PATH) => Box::pin(status(req, objects)),
        (_, api::STATUS_PATH) => answer(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
        (_, api::PROGRESS_PATH | api::SESSION_SOCKET_PATH) => answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET with Upgrade: websocket",
        ),
        _ => answer(StatusCode::NOT_FOUND, "not found"),
    }
}

/// A JSON answer with `status`.
fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(body).expect("plain struct serialises"),
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `POST /api/enrichment/batch`: a fresh token, stored; the job started on the first POST.
async fn post_batch(req: Request<impl InBody>, objects: Rc<Objects>) -> Response<Body> {
    let batch = match parse_batch(req, &objects).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(object) = objects.get(&batch.job_id) else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "job limit reached: every job the host keeps is in use",
        );
    };
    let env = &objects.env;
    let (event, _cold) = object.deliver(env).await;
    if object.is_session() {
        return plain(
            StatusCode::CONFLICT,
            "that id is an app session's, not a job's",
        );
    }
    if let Some(session_id) = &batch.session_id {
        if object.session().is_some_and(|s| s != *session_id) {
            return plain(StatusCode::CONFLICT, "the job is another session's");
        }
        let token = batch.session_token.as_deref().unwrap_or("");
        let joined = session::join(&objects, &batch.job_id, batch.books, (session_id, token));
        if let Err((code, why)) = joined {
            return plain(code, why);
        }
        object.set_session(session_id);
    }
    let now_ms = env.clock.now_ms();
    let repeat = object.state.borrow().posted;
    tracing::debug!(
        job = object.job,
        t_ms = now_ms,
        books = batch.books,
        repeat,
        "POST batch"
    );
    if env.scenario.faults.panic_on_job == Some(object.job) {
        panic!(
            "faults.panic_on_job: the object of job {} panicked",
            object.job
        );
    }
    let (token, expires_at_ms) = object.issue_token(env, now_ms);
    if let Err(r) = store_token(&objects, &object, &token, expires_at_ms).await {
        return r;
    }
    if repeat {
        // The job runs already: the client only needed a fresh token.
        tracing::debug!(
            job = object.job,
            t_ms = env.clock.now_ms(),
            "token refreshed"
        );
    } else {
        start_job(&objects, &object, batch.books);
    }
    drop(event);
    let accepted = BatchAccepted {
        job_id: batch.job_id,
        token,
        expires_at_ms: env.api_ms(expires_at_ms),
    };
    json(StatusCode::ACCEPTED, &accepted)
}

/// `POST /api/session`: a fresh token for the session's socket, stored as a job's is (the
/// handshake variants read it the same way).
async fn post_session(req: Request<impl InBody>, objects: Rc<Objects>) -> Response<Body> {
    let timeout = objects.env.bounds().map(|b| b.header_timeout);
    let body = match read_body(req.into_body(), timeout).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let asked: SessionRequest = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("bad session body: {e}")),
    };
    if !api::valid_job_id(&asked.session_id) {
        return plain(StatusCode::BAD_REQUEST, "malformed sessionId");
    }
    let Some(object) = objects.get(&asked.session_id) else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "job limit reached: every job the host keeps is in use",
        );
    };
    let env = &objects.env;
    let (event, _cold) = object.deliver(env).await;
    if object.state.borrow().posted {
        return plain(
            StatusCode::CONFLICT,
            "that id is a job's, not an app session's",
        );
    }
    let now_ms = env.clock.now_ms();
    tracing::debug!(job = object.job, t_ms = now_ms, "POST session");
    let first = object.state.borrow().session_jobs.is_none();
    object
        .state
        .borrow_mut()
        .session_jobs
        .get_or_insert_default();
    let (token, expires_at_ms) = object.issue_token(env, now_ms);
    if let Err(r) = store_token(&objects, &object, &token, expires_at_ms).await {
        return r;
    }
    if first {
        // The session's object meets what a job's does between its POST and its upgrade.
        let mut st = object.state.borrow_mut();
        object.maybe_restart(env, &mut st, env.clock.now_ms());
    }
    drop(event);
    let accepted = SessionAccepted {
        session_id: asked.session_id,
        token,
        expires_at_ms: env.api_ms(expires_at_ms),
    };
    json(StatusCode::ACCEPTED, &accepted)
}

/// The batch POST's body: a well-formed job id and at most the most books a job may have.
async fn parse_batch(
    req: Request<impl InBody>,
    objects: &Objects,
) -> Result<BatchRequest, Response<Body>> {
    let timeout = objects.env.bounds().map(|b| b.header_timeout);
    let body = read_body(req.into_body(), timeout).await?;
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return Err(plain(
                StatusCode::BAD_REQUEST,
                &format!("bad batch body: {e}"),
            ))
        }
    };
    if !api::valid_job_id(&batch.job_id) {
        return Err(plain(StatusCode::BAD_REQUEST, "malformed jobId"));
    }
    if batch
        .session_id
        .as_deref()
        .is_some_and(|s| !api::valid_job_id(s))
    {
        return Err(plain(StatusCode::BAD_REQUEST, "malformed sessionId"));
    }
    if batch.books > crate::scenario::BOOKS_PER_JOB_MAX {
        return Err(plain(StatusCode::BAD_REQUEST, "too many books"));
    }
    Ok(batch)
}

/// Stores the POST's token as the Worker's `setAuthToken` call does: awaited, the call
/// returns (and the 202 leaves) once the put is durable, held by the object's output gate;
/// under the #378 fault the Worker does not await it, the 202 leaves at once, and the call
/// reaches the object an edge–object round trip later (two draws), as an event of its own.
/// `Err`: the 503 of a failed write.
async fn store_token(
    objects: &Rc<Objects>,
    object: &Rc<Object>,
    token: &str,
    expires_at_ms: u64,
) -> Result<(), Response<Body>> {
    let env = &objects.env;
    if env.scenario.faults.ack_before_token_write {
        env.recorder
            .borrow_mut()
            .fault(FaultKind::AckBeforeTokenWrite);
        let k = object.state.borrow().tokens_issued - 1;
        let edge_object = &env.scenario.network.edge_object.latency_ms;
        let call_ms = env
            .draws
            .ms(edge_object, object.job, Purpose::TokenCall, 2 * k)
            + env
                .draws
                .ms(edge_object, object.job, Purpose::TokenCall, 2 * k + 1);
        let (object, objects, token) = (object.clone(), objects.clone(), token.to_string());
        task::spawn(async move {
            let env = &objects.env;
            crate::clock::sleep_ms(call_ms).await;
            let (_event, _cold) = object.deliver(env).await;
            tracing::debug!(
                job = object.job,
                t_ms = env.clock.now_ms(),
                "setAuthToken call (not awaited by the Worker)"
            );
            object.set_auth_token(env, &token, expires_at_ms);
        });
        return Ok(());
    }
    object.set_auth_token(env, token, expires_at_ms);
    if object.output_gate(env).await.is_err() {
        return Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage write failed",
        ));
    }
    Ok(())
}

/// The first POST of a job: its progress starts from zero (on an object that may restart
/// first), its enrichment pipeline runs, and the crash fault is drawn.
fn start_job(objects: &Rc<Objects>, object: &Rc<Object>, books: u32) {
    let env = &objects.env;
    let restart_ms = env.clock.now_ms();
    {
        let mut st = object.state.borrow_mut();
        st.posted = true;
        st.books = books;
        st.books_done = 0;
        st.done = false;
        object.maybe_restart(env, &mut st, restart_ms);
    }
    env.recorder.borrow_mut().enrichment_started();
    task::spawn(enrich(objects.clone(), object.clone(), books));
    schedule_crash(objects, object);
    super::revoke::schedule(objects, object);
}

impl Object {
    /// A deploy, eviction or relocation between the first POST and the upgrade
    /// (`object.restart_probability`, drawn once per object key).
    pub(super) fn maybe_restart(
        &self,
        env: &crate::server::Env,
        st: &mut super::State,
        now_ms: u64,
    ) {
        let p = env.scenario.object.restart_probability;
        if env.draws.chance(p, self.job, Purpose::Restart, 0) {
            self.go_cold(st, "restarted", now_ms);
        }
    }
}

/// `GET /api/enrichment/status?jobId=…&token=…`: the job's progress, for a client that
/// cannot keep a socket. The token is checked as the upgrade checks it.
async fn status(req: Request<impl InBody>, objects: Rc<Objects>) -> Response<Body> {
    let query = req.uri().query();
    let (job_id, token) = match api::job_and_token(query) {
        Ok(x) => x,
        Err(why) => return plain(StatusCode::BAD_REQUEST, why),
    };
    let object = objects.find(&job_id);
    let env = &objects.env;
    let (_event, _cold) = object.deliver(env).await;
    if let Err((code, why)) = object.authorize(env, &token).await {
        return plain(code, why);
    }
    if object.output_gate(env).await.is_err() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "storage write failed");
    }
    let status = {
        let st = object.state.borrow();
        api::Status {
            job_id,
            books_done: st.books_done,
            books: st.books,
            done: st.done,
        }
    };
    json(StatusCode::OK, &status)
}
