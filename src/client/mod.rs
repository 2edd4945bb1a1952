//! The simulated iOS app: posts the batch, waits, opens the progress socket with a handshake
//! deadline, sends a ping that is queued until the 101 (as URLSessionWebSocketTask queues
//! writes), fails when no pong comes in time, retries by policy, and reads progress until the
//! job completes.

mod http;
mod model;
mod session;
mod socket;
mod stale;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use futures_util::future::LocalBoxFuture;

use self::model::AppModel;
use crate::clock::{self, Clock};
use crate::draw::{Draws, Purpose};
use crate::record::{Outcome, Recorder, Violation};
use crate::scenario::Scenario;
use crate::wire::api::BatchAccepted;
use crate::wire::IoObject;

/// Opens a connection to the edge (the worker).
pub trait Connect {
    fn connect(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>>;
    /// `host[:port]` for the Host header and the socket URL.
    fn authority(&self) -> String;
    /// `ws`, or `wss` when `connect` returns TLS streams.
    fn ws_scheme(&self) -> &'static str {
        "ws"
    }
}

/// What one client session needs.
pub(crate) struct Session {
    pub(crate) scenario: Rc<Scenario>,
    pub(crate) draws: Draws,
    pub(crate) clock: Clock,
    pub(crate) recorder: Rc<RefCell<Recorder>>,
    pub(crate) connect: Rc<dyn Connect>,
    /// Skip the batch POST: the token was stored beforehand (the `upgrade` benchmark).
    pub(crate) token_preloaded: bool,
    /// Job `n` posts the id `{job_prefix}{n}`: `job-` in the simulation (`api::job_id`), a
    /// run's own prefix in `probe`.
    pub(crate) job_prefix: String,
    /// The app session whose first job is `n` posts the id `{session_prefix}{n}`
    /// (`session-` in the simulation, `api::session_id`).
    pub(crate) session_prefix: String,
}

/// Runs jobs `0..jobs`, at most `concurrency` at a time, started in job order. Must run
/// inside a `LocalSet`.
pub(crate) async fn run_fleet(
    session: Rc<Session>,
    jobs: u64,
    concurrency: usize,
) -> Result<(), tokio::task::JoinError> {
    // A preloaded token skips the POSTs that make sessions (the `upgrade` benchmark): one
    // socket per job then.
    if let Some(s) = session
        .scenario
        .session
        .as_ref()
        .filter(|_| !session.token_preloaded)
    {
        let per = u64::from(s.jobs);
        return session::run_sessions(session, jobs, per, concurrency).await;
    }
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    // A finished task's memory is freed only when it is joined: reap as we go, so memory
    // follows the jobs in flight, not the jobs run.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..jobs {
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        while let Some(done) = tasks.try_join_next() {
            done?;
        }
        let session = session.clone();
        tasks.spawn_local(async move {
            let first = session.run_job(n).await;
            // The app's job is over: its slot goes to the next one, while a holder of its
            // token (if it is revoked) waits for its try.
            drop(permit);
            session.stale_holder(n, first.as_ref()).await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    Ok(())
}

/// The token a preloaded object holds for job `n` (the one its POST would have issued).
pub(crate) fn preloaded_token(draws: &Draws, n: u64) -> String {
    draws.hex128(n, Purpose::Token, 0)
}

/// The client side of one job, as it stands.
struct JobState {
    accepted: Option<BatchAccepted>,
    /// The first 202 and when it came (the token a stale holder keeps).
    first_accepted: Option<(BatchAccepted, u64)>,
    model: AppModel,
    outcome: Outcome,
    attempts: u32,
    retries_used: u32,
    first_upgrade_ms: Option<u64>,
    progress_received: u32,
    reconnects: u32,
    token_refreshes: u32,
    polls: u32,
    /// The first thing the server did wrong (`probe`; the simulated server does none).
    violation: Option<Violation>,
    /// The app session the job's POSTs name, and its token (`[session]`).
    session: Option<(String, String)>,
}

impl JobState {
    fn new(books: u32) -> Self {
        JobState {
            accepted: None,
            first_accepted: None,
            model: AppModel::new(books),
            outcome: Outcome::NetworkError,
            attempts: 0,
            retries_used: 0,
            first_upgrade_ms: None,
            progress_received: 0,
            reconnects: 0,
            token_refreshes: 0,
            polls: 0,
            violation: None,
            session: None,
        }
    }

    /// The session (id, token) the job's POSTs name, if any.
    fn app_session(&self) -> Option<(&str, &str)> {
        self.session
            .as_ref()
            .map(|(id, token)| (id.as_str(), token.as_str()))
    }
}

impl Session {
    /// Job `n`'s network type (its index in `network.types`), if the scenario has types.
    fn network_type(&self, n: u64) -> Option<u8> {
        let key = self.scenario.session_first(n);
        self.draws.network_type(&self.scenario.network.types, key)
    }

    /// The id job `n` posts.
    fn job_id(&self, n: u64) -> String {
        format!("{}{n}", self.job_prefix)
    }

    /// The id of job `n`'s app session, with `[session]`.
    fn app_session(&self, n: u64) -> Option<String> {
        self.scenario
            .session
            .as_ref()
            .map(|_| format!("{}{}", self.session_prefix, self.scenario.session_first(n)))
    }

    /// Runs job `n` to its end and writes the client side of its record; the job's first
    /// 202 and when it came (what a holder of its token keeps, `stale`).
    pub(crate) async fn run_job(&self, n: u64) -> Option<(BatchAccepted, u64)> {
        let t0 = self.clock.now_ms();
        let mut st = JobState::new(self.scenario.client.books_per_job);
        self.converse(n, t0, &mut st).await;
        self.write_record(n, &st);
        st.first_accepted
    }

    /// The client side of job `n`'s record, as `st` ends.
    fn write_record(&self, n: u64, st: &JobState) {
        let mut rec = self.recorder.borrow_mut();
        let r = rec.job(n);
        r.outcome = Some(st.outcome);
        r.post_accepted = st.accepted.is_some();
        r.attempts = st.attempts;
        r.retries = st.retries_used;
        r.client_upgrade_ms = st.first_upgrade_ms;
        r.progress_received = st.progress_received;
        r.results = st.model.results;
        r.results_complete_ms = st.model.complete_ms;
        r.reconnects = st.reconnects;
        r.token_refreshes = st.token_refreshes;
        r.polls = st.polls;
        r.fallback_used = st.polls > 0;
        r.progress_duplicates = st.model.duplicates;
        r.progress_reordered = st.model.reordered;
        r.progress_gap = st.model.has_gap();
        r.complete_heard = st.model.complete();
        r.violation = st.violation;
        r.network_type = self.network_type(n);
    }

    /// Takes retry k (from 1) if the count allows it and it would start, after its backoff,
    /// within the retry budget and before the result deadline; waits out the backoff
    /// (exponential, with jitter) and returns true, or returns false at once.
    async fn retry(&self, n: u64, t0: u64, st: &mut JobState) -> bool {
        let c = &self.scenario.client;
        if st.retries_used >= c.retries {
            return false;
        }
        let k = st.retries_used + 1;
        let cap_ms = c
            .backoff_base_ms
            .saturating_mul(1u64 << (k - 1).min(40))
            .min(c.backoff_max_ms) as f64;
        let u = self.draws.unit(n, Purpose::RetryBackoff, k as u64 - 1);
        let wait_ms = self
            .draws
            .round_to_tick(cap_ms * (1.0 - c.backoff_jitter * u));
        let starts_ms = self.clock.now_ms() + wait_ms - t0;
        if starts_ms > c.retry_budget_ms || starts_ms >= c.result_deadline_ms {
            return false;
        }
        st.retries_used = k;
        tracing::debug!(
            job = n,
            t_ms = self.clock.now_ms(),
            retry = k,
            backoff_ms = wait_ms,
            "retry after backoff"
        );
        clock::sleep_ms(wait_ms).await;
        true
    }

    /// POSTs the batch, retrying by policy; `Err` is the last outcome.
    async fn post_with_retries(&self, n: u64, t0: u64, st: &mut JobState) -> Result<(), Outcome> {
        let job_id = self.job_id(n);
        let books = self.scenario.client.books_per_job;
        loop {
            tracing::debug!(
                job = n,
                t_ms = self.clock.now_ms(),
                "POST /api/enrichment/batch"
            );
            match self.post_batch(&job_id, books, st.app_session()).await {
                Ok(a) => {
                    tracing::debug!(job = n, t_ms = self.clock.now_ms(), "202 accepted");
                    if st.first_accepted.is_none() {
                        st.first_accepted = Some((a.clone(), self.clock.now_ms()));
                    }
                    st.accepted = Some(a);
                    // Known at once, so a job cut short (probe's time limit) keeps it.
                    self.recorder.borrow_mut().job(n).post_accepted = true;
                    return Ok(());
                }
                Err((o, v)) => {
                    st.violation = st.violation.or(v);
                    if !(o.retryable() && self.retry(n, t0, st).await) {
                        return Err(o);
                    }
                }
            }
        }
    }

    /// The job from the POST to the last result: the socket with retries and reconnects,
    /// then the polling fallback. The phases besides the socket's are boxed while they run, so
    /// that a job in flight is the size of its socket's phase (issue 27).
    async fn converse(&self, n: u64, t0: u64, st: &mut JobState) {
        let c = &self.scenario.client;
        if self.token_preloaded {
            st.accepted = Some(BatchAccepted {
                token: preloaded_token(&self.draws, n),
                job_id: self.job_id(n),
                expires_at_ms: 0,
            });
        } else if let Err(o) = Box::pin(self.post_with_retries(n, t0, st)).await {
            st.outcome = o;
            return;
        }
        clock::sleep_ms(
            self.draws
                .ms(&c.connect_delay_ms, n, Purpose::ConnectDelay, 0),
        )
        .await;
        let mut had_socket = false;
        loop {
            st.attempts += 1;
            self.recorder.borrow_mut().job(n).attempts = st.attempts;
            if had_socket {
                st.reconnects += 1;
            }
            let after = c.reconnect.then(|| st.model.contiguous());
            let accepted = st.accepted.clone().expect("set above");
            let first = st.attempts == 1;
            let a = self
                .attempt(n, t0, &accepted, after, first, &mut st.model)
                .await;
            if st.attempts == 1 {
                st.first_upgrade_ms = a.client_upgrade_ms;
            }
            had_socket |= a.client_upgrade_ms.is_some();
            st.progress_received += a.progress_received;
            st.outcome = a.outcome;
            st.violation = st.violation.or(a.violation);
            if st.model.done() || a.outcome == Outcome::Ok {
                break;
            }
            let refresh = a.status == Some(401) && c.refresh_token;
            if !(a.outcome.retryable() || refresh) {
                break;
            }
            // Each retry waits its backoff; after a 401 it first fetches a fresh token, and a
            // failed refresh costs a retry like a failed connect.
            let mut ready = false;
            while !ready && self.retry(n, t0, st).await {
                ready = !refresh || Box::pin(self.refresh_token(n, st)).await;
            }
            if !ready {
                break;
            }
        }
        if !st.model.done() && c.poll_fallback {
            Box::pin(self.poll_until_done(n, t0, st)).await;
        }
    }

    /// Posts the batch again for a fresh token (the server keeps the running job).
    async fn refresh_token(&self, n: u64, st: &mut JobState) -> bool {
        st.token_refreshes += 1;
        tracing::debug!(job = n, t_ms = self.clock.now_ms(), "token refresh");
        match self
            .post_batch(
                &self.job_id(n),
                self.scenario.client.books_per_job,
                st.app_session(),
            )
            .await
        {
            Ok(a) => {
                st.accepted = Some(a);
                true
            }
            Err((_, v)) => {
                st.violation = st.violation.or(v);
                false
            }
        }
    }

    /// The fallback: polls the job's status until the app has everything or the result
    /// deadline has passed.
    async fn poll_until_done(&self, n: u64, t0: u64, st: &mut JobState) {
        let c = &self.scenario.client;
        while !st.model.done() && self.clock.now_ms() - t0 < c.result_deadline_ms {
            st.polls += 1;
            let accepted = st.accepted.clone().expect("the POST succeeded");
            match self.poll(&accepted).await {
                Ok(status) => {
                    tracing::debug!(
                        job = n,
                        t_ms = self.clock.now_ms(),
                        books_done = status.books_done,
                        done = status.done,
                        "status poll"
                    );
                    let at_ms = self.clock.now_ms() - t0;
                    st.model.on_status(status.books_done, status.done, at_ms);
                    if st.model.done() {
                        break;
                    }
                }
                Err(401) if c.refresh_token => {
                    self.refresh_token(n, st).await;
                }
                Err(_) => {}
            }
            clock::sleep_ms(c.poll_interval_ms).await;
        }
    }
}
