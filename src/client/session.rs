//! One socket per app session (`[session]`, the write-up's "connection pooling"): the app
//! posts the session, opens its one socket, and starts its jobs `session.job_interval_ms`
//! apart; every job's progress comes on that socket, by job id. A dropped socket is opened
//! again (the retry policy, under the session's first job's draws) with `after` naming what
//! the app has of each job, so nothing comes twice; a session that gives up on its socket
//! polls each unfinished job, as a job does.
//!
//! Records: each job keeps its own outcome, results and POST; the session's handshakes (its
//! attempts, reconnects, upgrade time) are its first job's, so counts over jobs count each
//! handshake once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use futures_util::future::join_all;
use futures_util::StreamExt;
use tokio::sync::{Notify, Semaphore};

use super::socket::{is_progress, Attempt, Deadlines, Keepalive, Socket, Step};
use super::{JobState, Session};
use crate::clock;
use crate::draw::Purpose;
use crate::record::{Outcome, Violation};
use crate::wire::api::{self, ServerMsg, SessionAccepted};

/// Most frames one session socket reads (a bound on the read loop).
const FRAMES_MAX: u32 = 10_000_000;

/// Runs jobs `0..jobs` as app sessions of `per` jobs, sessions started in order, each holding
/// a slot of `concurrency` for each of its jobs while it runs.
pub(super) async fn run_sessions(
    session: Rc<Session>,
    jobs: u64,
    per: u64,
    concurrency: usize,
) -> Result<(), tokio::task::JoinError> {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let mut first = 0;
    while first < jobs {
        let count = per.min(jobs - first);
        let slots = u32::try_from(count).expect("session.jobs is at most 1000");
        let permit = permits
            .clone()
            .acquire_many_owned(slots)
            .await
            .expect("never closed");
        while let Some(done) = tasks.try_join_next() {
            done?;
        }
        let session = session.clone();
        tasks.spawn_local(async move {
            let firsts = session.run_app_session(first, count).await;
            drop(permit);
            let holders = firsts
                .iter()
                .enumerate()
                .map(|(k, f)| session.stale_holder(first + k as u64, f.as_ref()));
            join_all(holders).await;
        });
        first += count;
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    Ok(())
}

/// The app's side of one session's jobs, shared by their POSTs and the socket.
struct Jobs {
    /// Job `first + k` is `slots[k]`.
    first: u64,
    slots: RefCell<Vec<Slot>>,
    /// Jobs whose POST has ended, accepted or not.
    posted: Cell<usize>,
    /// Wakes the socket's reader when a POST ends (a job to wait for, or one less).
    changed: Notify,
}

/// One job of the session, as the app has it.
struct Slot {
    /// When the job started (its results' times count from here).
    t0: u64,
    st: JobState,
    /// The POST ended without a 202.
    failed: bool,
}

impl Jobs {
    /// Every job's POST has ended, and every accepted one has all its results.
    fn all_done(&self) -> bool {
        let slots = self.slots.borrow();
        self.posted.get() == slots.len() && slots.iter().all(|s| s.failed || s.st.model.done())
    }

    /// The socket's `after`: what the app has of each of the session's jobs, its 202 come or
    /// not (the socket may have carried a job whose 202 was lost and whose POST is retried: a
    /// job left out would be replayed from its start, twice).
    fn after(&self, session: &Session) -> String {
        let slots = self.slots.borrow();
        let pairs: Vec<String> = slots
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let id = session.job_id(self.first + k as u64);
                format!("{id}:{}", s.st.model.contiguous())
            })
            .collect();
        pairs.join(",")
    }

    /// Every job's POST has ended, and every job still without its results is past its result
    /// deadline: reconnecting can help no job.
    fn past_help(&self, now_ms: u64, deadline_ms: u64) -> bool {
        let slots = self.slots.borrow();
        self.posted.get() == slots.len()
            && slots.iter().all(|s| {
                s.failed || s.st.model.done() || now_ms.saturating_sub(s.t0) >= deadline_ms
            })
    }
}

impl Session {
    /// One app session of jobs `first..first + count`, to its end; each job's first 202 and
    /// when it came (for its stale holder).
    async fn run_app_session(
        &self,
        first: u64,
        count: u64,
    ) -> Vec<Option<(api::BatchAccepted, u64)>> {
        let t0 = self.clock.now_ms();
        let books = self.scenario.client.books_per_job;
        let jobs = Jobs {
            first,
            slots: RefCell::new(
                (0..count)
                    .map(|_| Slot {
                        t0,
                        st: JobState::new(books),
                        failed: false,
                    })
                    .collect(),
            ),
            posted: Cell::new(0),
            changed: Notify::new(),
        };
        let mut lead = JobState::new(books);
        match self.post_session_with_retries(first, t0, &mut lead).await {
            Ok(token) => {
                // The socket refreshes it after a 401; a job's POST takes it as it is then.
                let token = RefCell::new(token);
                let posts = self.post_jobs(&jobs, &token);
                let socket = self.session_socket(t0, &jobs, &mut lead, &token);
                futures_util::future::join(posts, socket).await;
                self.poll_unfinished(&jobs).await;
            }
            Err(o) => {
                for s in jobs.slots.borrow_mut().iter_mut() {
                    (s.st.outcome, s.failed) = (o, true);
                }
            }
        }
        self.write_session_records(&jobs, lead)
    }

    /// The session POST, retried by policy; `Err` is the last outcome.
    async fn post_session_with_retries(
        &self,
        first: u64,
        t0: u64,
        lead: &mut JobState,
    ) -> Result<SessionAccepted, Outcome> {
        let id = self.app_session(first).expect("a session");
        loop {
            tracing::debug!(job = first, t_ms = self.clock.now_ms(), "POST /api/session");
            match self.post_session(&id).await {
                Ok(a) => return Ok(a),
                Err((o, v)) => {
                    lead.violation = lead.violation.or(v);
                    if !(o.retryable() && self.retry(first, t0, lead).await) {
                        return Err(o);
                    }
                }
            }
        }
    }

    /// Starts the session's jobs `session.job_interval_ms` apart, each POST retried by policy.
    async fn post_jobs(&self, jobs: &Jobs, token: &RefCell<SessionAccepted>) {
        let interval = &self
            .scenario
            .session
            .as_ref()
            .expect("a session")
            .job_interval_ms;
        let count = jobs.slots.borrow().len() as u64;
        let mut wait_ms = 0;
        let mut posts = Vec::new();
        for k in 0..count {
            let n = jobs.first + k;
            if k > 0 {
                wait_ms += self.draws.ms(interval, n, Purpose::SessionJobStart, 0);
            }
            posts.push(self.post_one(jobs, k as usize, wait_ms, token));
        }
        join_all(posts).await;
    }

    /// Job `first + k`'s start, `wait_ms` after the session's jobs began, and its POST.
    async fn post_one(
        &self,
        jobs: &Jobs,
        k: usize,
        wait_ms: u64,
        token: &RefCell<SessionAccepted>,
    ) {
        clock::sleep_ms(wait_ms).await;
        let n = jobs.first + k as u64;
        let t0 = self.clock.now_ms();
        // The job's start, before its POST: its messages may come before its 202.
        jobs.slots.borrow_mut()[k].t0 = t0;
        let mut st = JobState::new(self.scenario.client.books_per_job);
        st.session = {
            let s = token.borrow();
            Some((s.session_id.clone(), s.token.clone()))
        };
        let result = self.post_with_retries(n, t0, &mut st).await;
        {
            let mut slots = jobs.slots.borrow_mut();
            let s = &mut slots[k];
            s.st.accepted = st.accepted;
            s.st.first_accepted = st.first_accepted;
            s.st.retries_used = st.retries_used;
            s.st.violation = st.violation;
            if let Err(o) = result {
                (s.st.outcome, s.failed) = (o, true);
            }
        }
        jobs.posted.set(jobs.posted.get() + 1);
        jobs.changed.notify_one();
    }

    /// The session's one socket, opened and opened again by the retry policy until every job
    /// has its results or the policy gives up.
    async fn session_socket(
        &self,
        t0: u64,
        jobs: &Jobs,
        lead: &mut JobState,
        token: &RefCell<SessionAccepted>,
    ) {
        let c = &self.scenario.client;
        let first = jobs.first;
        clock::sleep_ms(
            self.draws
                .ms(&c.connect_delay_ms, first, Purpose::ConnectDelay, 0),
        )
        .await;
        let mut had_socket = false;
        // The retry policy counts from the start of each run of failures: a session outlives
        // one job's retry budget and result deadline, so a socket lost late starts afresh.
        let (mut since_ms, mut retries_before) = (t0, 0);
        loop {
            lead.attempts += 1;
            if had_socket {
                lead.reconnects += 1;
            }
            let current = token.borrow().clone();
            let a = self.session_attempt(jobs, &current).await;
            if lead.attempts == 1 {
                lead.first_upgrade_ms = a.client_upgrade_ms;
            }
            if a.client_upgrade_ms.is_some() {
                had_socket = true;
                since_ms = self.clock.now_ms();
                retries_before += std::mem::take(&mut lead.retries_used);
            }
            lead.outcome = a.outcome;
            lead.violation = lead.violation.or(a.violation);
            if jobs.all_done() {
                break;
            }
            let refresh = a.status == Some(401) && c.refresh_token;
            let useless = jobs.past_help(self.clock.now_ms(), c.result_deadline_ms);
            if useless || !(a.outcome.retryable() || refresh) {
                break;
            }
            let mut ready = false;
            while !ready && self.retry(first, since_ms, lead).await {
                ready = !refresh || self.refresh_session(first, lead, token).await;
            }
            if !ready {
                break;
            }
        }
        lead.retries_used += retries_before;
    }

    /// A fresh session token after a 401 (the session's object keeps its jobs).
    async fn refresh_session(
        &self,
        first: u64,
        lead: &mut JobState,
        token: &RefCell<SessionAccepted>,
    ) -> bool {
        lead.token_refreshes += 1;
        let id = self.app_session(first).expect("a session");
        match self.post_session(&id).await {
            Ok(a) => {
                *token.borrow_mut() = a;
                true
            }
            Err((_, v)) => {
                lead.violation = lead.violation.or(v);
                false
            }
        }
    }

    /// One open of the session's socket, and its messages until every job is done or it ends.
    async fn session_attempt(&self, jobs: &Jobs, token: &SessionAccepted) -> Attempt {
        let first = jobs.first;
        let d = self.deadlines(first);
        let mut url = format!(
            "{}://{}{}?sessionId={}&token={}",
            self.connect.ws_scheme(),
            self.connect.authority(),
            api::SESSION_SOCKET_PATH,
            token.session_id,
            token.token
        );
        let after = jobs.after(self);
        if !after.is_empty() {
            url.push_str(&format!("&after={after}"));
        }
        tracing::debug!(job = first, t_ms = d.start_ms, "session connect");
        let (mut ws, client_upgrade_ms) = match self.open_url(first, url, &d).await {
            Ok(x) => x,
            Err((outcome, status)) => {
                return Attempt {
                    outcome,
                    status,
                    client_upgrade_ms: None,
                    progress_received: 0,
                    violation: None,
                }
            }
        };
        let mut attempt = Attempt {
            outcome: Outcome::NetworkError,
            status: None,
            client_upgrade_ms: Some(client_upgrade_ms),
            progress_received: 0,
            violation: None,
        };
        if self.read_session(&mut ws, &d, jobs, &mut attempt).await {
            let _ = ws.close(None).await;
            tracing::debug!(job = first, t_ms = self.clock.now_ms(), "session close");
        }
        attempt
    }

    /// The session socket's read loop: the queued ping, then every job's messages into its
    /// model, until every job is done with the pong heard (ok), the socket ends, or the pong
    /// is late. Whether the socket is still to be closed.
    async fn read_session(
        &self,
        ws: &mut Socket,
        d: &Deadlines,
        jobs: &Jobs,
        attempt: &mut Attempt,
    ) -> bool {
        let mut ka = Keepalive::new(jobs.first, d);
        for _ in 0..FRAMES_MAX {
            if ka.pong && jobs.all_done() {
                attempt.outcome = Outcome::Ok;
                return true;
            }
            let now_ms = self.clock.now_ms();
            if !self.ping_if_due(ws, &mut ka, now_ms).await {
                return false;
            }
            // Biased: a frame first, then a POST that ended (which may finish the session).
            let frame = tokio::select! {
                biased;
                f = tokio::time::timeout(ka.wait(now_ms), ws.next()) => f,
                () = jobs.changed.notified() => continue,
            };
            match self.keep_alive(ws, &mut ka, frame, attempt) {
                Step::Again => {}
                Step::GiveUp => return false,
                Step::Closed => break,
                Step::Text(text) => {
                    if self.on_session_text(&text, jobs, attempt) {
                        // A message this socket should have carried is missing: the next
                        // socket's `after` gets it replayed.
                        attempt.outcome = Outcome::NetworkError;
                        return true;
                    }
                }
            }
        }
        true
    }

    /// A text message on the session's socket, into its job's model; a progress message for
    /// no job of the session, or with a seq out of range, is a violation. Whether the socket
    /// lost a message of the job: a seq past the next one, or a complete with results missing.
    fn on_session_text(&self, text: &str, jobs: &Jobs, attempt: &mut Attempt) -> bool {
        let msg = match serde_json::from_str::<ServerMsg>(text) {
            Ok(m) => m,
            Err(_) => {
                if is_progress(text) {
                    attempt.violation.get_or_insert(Violation::SeqOutOfRange);
                }
                return false;
            }
        };
        let (job_id, seq) = match &msg {
            ServerMsg::Progress { job_id, seq, .. } => (job_id, Some(*seq)),
            ServerMsg::Complete { job_id, .. } => (job_id, None),
            ServerMsg::Ready { .. } => return false,
        };
        let Some(k) = job_id.as_deref().and_then(|id| self.slot_of(jobs, id)) else {
            attempt.violation.get_or_insert(Violation::SeqOutOfRange);
            return false;
        };
        let now_ms = self.clock.now_ms();
        let mut slots = jobs.slots.borrow_mut();
        let s = &mut slots[k];
        let at_ms = now_ms.saturating_sub(s.t0);
        let next = s.st.model.contiguous() + 1;
        let lost = match seq {
            Some(seq) => {
                attempt.progress_received += 1;
                s.st.progress_received += 1;
                if seq == 0 || seq > self.scenario.client.books_per_job {
                    attempt.violation.get_or_insert(Violation::SeqOutOfRange);
                }
                s.st.model.on_socket(seq, at_ms);
                seq > next
            }
            None => {
                s.st.model.on_complete(at_ms);
                !s.st.model.done()
            }
        };
        tracing::debug!(
            job = jobs.first + k as u64,
            t_ms = now_ms,
            ?seq,
            "session message"
        );
        lost
    }

    /// The index in the session of the job named `id`, if it is one of the session's jobs:
    /// posted or not yet answered (a 202 lost on its way and a retried POST: the server runs
    /// the job and the socket carries it before the app has the 202; dropping those messages
    /// would lose them, as the socket does not carry a message twice).
    fn slot_of(&self, jobs: &Jobs, id: &str) -> Option<usize> {
        let k = id
            .strip_prefix(self.job_prefix.as_str())?
            .parse::<u64>()
            .ok()?
            .checked_sub(jobs.first)?;
        let k = usize::try_from(k).ok()?;
        let known = k < jobs.slots.borrow().len();
        (known && self.job_id(jobs.first + k as u64) == id).then_some(k)
    }

    /// The polling fallback for each accepted job the socket left unfinished, all at once.
    async fn poll_unfinished(&self, jobs: &Jobs) {
        if !self.scenario.client.poll_fallback {
            return;
        }
        let mut slots = std::mem::take(&mut *jobs.slots.borrow_mut());
        let polls = slots
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.st.accepted.is_some() && !s.st.model.done())
            .map(|(k, s)| self.poll_until_done(jobs.first + k as u64, s.t0, &mut s.st));
        join_all(polls).await;
        *jobs.slots.borrow_mut() = slots;
    }

    /// Writes each job's record: its own POST, outcome and results; the session's handshakes
    /// on its first job. Each job's first 202 and when it came.
    fn write_session_records(
        &self,
        jobs: &Jobs,
        lead: JobState,
    ) -> Vec<Option<(api::BatchAccepted, u64)>> {
        let mut slots = jobs.slots.borrow_mut();
        let mut firsts = Vec::with_capacity(slots.len());
        for (k, s) in slots.iter_mut().enumerate() {
            let st = &mut s.st;
            if !s.failed {
                st.outcome = if st.model.done() && st.polls == 0 {
                    Outcome::Ok
                } else {
                    lead.outcome
                };
            }
            if k == 0 {
                st.attempts = lead.attempts;
                st.reconnects = lead.reconnects;
                st.first_upgrade_ms = lead.first_upgrade_ms;
                st.retries_used += lead.retries_used;
                st.token_refreshes += lead.token_refreshes;
                st.violation = st.violation.or(lead.violation);
            }
            let n = jobs.first + k as u64;
            self.write_record(n, st);
            self.recorder.borrow_mut().job(n).session = Some(jobs.first);
            firsts.push(st.first_accepted.take());
        }
        firsts
    }
}
