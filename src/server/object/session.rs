//! One socket per app session (`[session]`, the write-up's "connection pooling"): the
//! session's own object (`session-…`) issues the session's token, owns its one socket and keeps
//! what each of its jobs has done; each job keeps its own object, which carries every progress
//! message to the session's object (a call between objects, `network.edge_object` latency).
//!
//! Why this design and not one object for all of a session's jobs: a job's object, its token
//! and its status poll stay as they are (a job is still addressable alone, and a session's
//! object never runs enrichment), and a session's socket costs one handshake and one cold
//! start of one object; the price is the call per message between objects, billed on both.

use std::collections::BTreeMap;

use hyper::StatusCode;

use super::{Object, Objects, Socket};
use crate::clock;
use crate::draw::Purpose;
use crate::server::auth;
use crate::server::queue::Sender;
use crate::wire::api::{self, ServerMsg};

/// What a session's object knows of one of its jobs, as the job's object told it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct JobProgress {
    /// The books its POST asked for (what the session's book limit counts).
    expected: u32,
    books: u32,
    books_done: u32,
    done: bool,
}

/// What a session's socket has carried of one job: progress through `seq`, and the
/// completion. A message already carried (replayed at accept) is not sent again.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Carried {
    seq: u32,
    complete: bool,
}

/// Most messages a session's socket queues: every message of the most books and jobs a
/// session takes (the queue grows only as messages wait; a reading app keeps it near empty).
pub(super) fn socket_queue_len() -> usize {
    api::SESSION_BOOKS_MAX as usize + 2 * api::SESSION_JOBS_MAX + 4
}

/// A batch POST naming a session, with the session's token: the session's object expects
/// the job (its progress goes there once the job's object knows the session,
/// `Object::set_session`). `Err`: the 404 of a session never posted, the 401 of a wrong or
/// expired session token, the 409 of a full session (1,000 jobs, or 100,000 books in all).
/// The token is checked against what the session's store holds durably, with no read's
/// latency: a call between objects the model does not time.
pub(super) fn join(
    objects: &Objects,
    job_id: &str,
    books: u32,
    session: (&str, &str),
) -> Result<(), (StatusCode, &'static str)> {
    let (session_id, token) = session;
    let env = &objects.env;
    let object = objects.kept(session_id).filter(|s| s.is_session()).ok_or((
        StatusCode::NOT_FOUND,
        "no such session: POST /api/session first",
    ))?;
    let (durable, expires_ms) = object.durable_token(env);
    let now_ms = env.clock.now_ms();
    if token.is_empty() || auth::check(token, durable.as_deref(), expires_ms, now_ms).is_err() {
        return Err((StatusCode::UNAUTHORIZED, "invalid or expired session token"));
    }
    let mut st = object.state.borrow_mut();
    let jobs = st.session_jobs.as_mut().expect("filtered above");
    if jobs.contains_key(job_id) {
        return Ok(());
    }
    let books_before: u64 = jobs.values().map(|p| u64::from(p.expected)).sum();
    let full = jobs.len() >= api::SESSION_JOBS_MAX
        || books_before + u64::from(books) > api::SESSION_BOOKS_MAX;
    if full {
        return Err((StatusCode::CONFLICT, "session full: start another"));
    }
    let expected = books;
    jobs.insert(
        job_id.to_string(),
        JobProgress {
            expected,
            ..JobProgress::default()
        },
    );
    Ok(())
}

impl Object {
    /// Sends this job's progress to `session_id`'s object from now on; a job stays in the
    /// session it first joined (a repeated POST naming another is refused before this).
    pub(super) fn set_session(&self, session_id: &str) {
        self.state
            .borrow_mut()
            .session
            .get_or_insert_with(|| session_id.to_string());
    }

    /// The session this job's progress goes to, if it joined one.
    pub(super) fn session(&self) -> Option<String> {
        self.state.borrow().session.clone()
    }

    /// Whether this is a session's object (`POST /api/session` made it one).
    pub(super) fn is_session(&self) -> bool {
        self.state.borrow().session_jobs.is_some()
    }
}

/// A job's progress message carried to its session's object: after the call between the
/// objects (in order: the job's pipeline awaits it), the session's object keeps it and pushes
/// it on its socket with the job's id, or counts the job's no-socket warning.
pub(super) async fn relay(objects: &Objects, job: &Object, session_id: &str, msg: ServerMsg) {
    let env = &objects.env;
    let index = match msg {
        ServerMsg::Progress { seq, .. } => u64::from(seq),
        _ => 0,
    };
    let call_ms = env.draws.ms(
        &env.scenario.network.edge_object.latency_ms,
        job.job,
        Purpose::SessionRelay,
        index,
    );
    clock::sleep_ms(call_ms).await;
    let Some(session) = objects.kept(session_id) else {
        return;
    };
    let (_event, _cold) = session.deliver(env).await;
    let msg = with_job(msg, &job.id);
    let sent = {
        let mut st = session.state.borrow_mut();
        if let Some(p) = st.session_jobs.as_mut().and_then(|j| j.get_mut(&job.id)) {
            p.note(&msg);
        }
        st.socket.as_mut().map(|s| s.carry(&job.id, msg.clone()))
    };
    let now_ms = env.clock.now_ms();
    match sent {
        Some(true) => tracing::debug!(
            job = job.job,
            t_ms = now_ms,
            ?msg,
            "progress pushed to the session"
        ),
        Some(false) => {}
        None => {
            env.recorder.borrow_mut().job(job.job).no_socket_warnings += 1;
            tracing::warn!(
                job = job.job,
                t_ms = now_ms,
                "[{}] No WebSocket connection available for {}",
                session.id,
                job.id
            );
        }
    }
}

/// `msg` as a session's socket carries it: with the job's id.
fn with_job(msg: ServerMsg, id: &str) -> ServerMsg {
    let job_id = Some(id.to_string());
    match msg {
        ServerMsg::Progress { seq, books, .. } => ServerMsg::Progress { seq, books, job_id },
        ServerMsg::Complete { books, .. } => ServerMsg::Complete { books, job_id },
        ready => ready,
    }
}

impl JobProgress {
    fn note(&mut self, msg: &ServerMsg) {
        match *msg {
            ServerMsg::Progress { seq, books, .. } => {
                self.books = books;
                self.books_done = self.books_done.max(seq);
            }
            ServerMsg::Complete { books, .. } => {
                self.books = books;
                self.done = true;
            }
            ServerMsg::Ready { .. } => {}
        }
    }
}

impl Socket {
    /// Pushes a job's message unless this socket already carried it: whether it went out
    /// (false: carried before, or the queue refused it, which counts as a warning nowhere: the
    /// app catches up on its next socket).
    fn carry(&mut self, job_id: &str, msg: ServerMsg) -> bool {
        let carried = self.jobs.entry(job_id.to_string()).or_default();
        let fresh = match msg {
            ServerMsg::Progress { seq, .. } => seq > carried.seq,
            ServerMsg::Complete { .. } => !carried.complete,
            ServerMsg::Ready { .. } => false,
        };
        if !fresh || self.tx.try_send(msg.clone()).is_err() {
            return false;
        }
        match msg {
            ServerMsg::Progress { seq, .. } => carried.seq = seq,
            _ => carried.complete = true,
        }
        true
    }
}

/// A session's socket, made the session's: its id, the first messages (ready, then for each
/// job the progress after what `after` says the app has, 0 for a job it does not name, and
/// the completion of a finished job), and the socket it replaces.
pub(super) fn register(
    object: &Object,
    after: &BTreeMap<String, u32>,
    tx: Sender<ServerMsg>,
) -> (u64, Vec<ServerMsg>, Option<Socket>) {
    let mut st = object.state.borrow_mut();
    st.sockets_opened += 1;
    let id = st.sockets_opened;
    let jobs = st.session_jobs.clone().unwrap_or_default();
    let mut first = vec![ServerMsg::Ready {
        job_id: object.id.clone(),
        books_done: jobs.values().map(|p| p.books_done).sum(),
        books: jobs.values().map(|p| p.books).sum(),
    }];
    let mut carried = BTreeMap::new();
    for (job_id, p) in &jobs {
        let a = after.get(job_id).copied().unwrap_or(0);
        for seq in a.saturating_add(1)..=p.books_done {
            first.push(with_job(
                ServerMsg::Progress {
                    seq,
                    books: p.books,
                    job_id: None,
                },
                job_id,
            ));
        }
        if p.done {
            first.push(with_job(
                ServerMsg::Complete {
                    books: p.books,
                    job_id: None,
                },
                job_id,
            ));
        }
        let seq = a.max(p.books_done);
        carried.insert(
            job_id.clone(),
            Carried {
                seq,
                complete: p.done,
            },
        );
    }
    let previous = st.socket.replace(Socket {
        id,
        tx,
        through_seq: 0,
        complete_sent: false,
        jobs: carried,
    });
    (id, first, previous)
}
