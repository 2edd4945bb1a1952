//! The simulated iOS app: posts the batch, waits, opens the progress socket with a handshake
//! deadline, sends a ping that is queued until the 101 (as URLSessionWebSocketTask queues
//! writes), fails when no pong comes in time, retries by policy, and reads progress until the
//! job completes.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::clock::Clock;
use crate::draw::{Draws, Purpose};
use crate::record::{Outcome, Recorder};
use crate::scenario::Scenario;
use crate::server::api::{self, BatchAccepted, BatchRequest, ServerMsg};
use crate::server::IoObject;

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
pub struct Session {
    pub scenario: Rc<Scenario>,
    pub draws: Draws,
    pub clock: Clock,
    pub recorder: Rc<RefCell<Recorder>>,
    pub connect: Rc<dyn Connect>,
    /// Skip the batch POST: the token was stored beforehand (the `upgrade` benchmark).
    pub token_preloaded: bool,
}

/// Runs jobs `0..jobs`, at most `concurrency` at a time, started in job order. Must run
/// inside a `LocalSet`.
pub async fn run_fleet(
    session: Rc<Session>,
    jobs: u64,
    concurrency: usize,
) -> Result<(), tokio::task::JoinError> {
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
            session.run_job(n).await;
            drop(permit);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    Ok(())
}

/// The token a preloaded object holds for job `n` (the one its POST would have issued).
pub fn preloaded_token(draws: &Draws, n: u64) -> String {
    draws.hex128(n, Purpose::Token, 0)
}

/// How one upgrade attempt ended.
struct Attempt {
    outcome: Outcome,
    /// The status of a rejected upgrade.
    status: Option<u16>,
    client_upgrade_ms: Option<u64>,
    progress_received: u32,
}

/// Most messages read from one socket (a bound on the read loop).
const MESSAGES_MAX: u32 = 1_000_000;

/// What the app knows of one job: which books have their result, and whether it heard the
/// completion. Only new results enter it; what arrived twice or late is counted.
struct AppModel {
    have: Vec<bool>,
    results: u32,
    max_seq: u32,
    complete: bool,
    duplicates: u32,
    reordered: u32,
    /// When the app first had everything, in ms after the POST.
    complete_ms: Option<u64>,
}

impl AppModel {
    fn new(books: u32) -> Self {
        AppModel {
            have: vec![false; books as usize + 1],
            results: 0,
            max_seq: 0,
            complete: false,
            duplicates: 0,
            reordered: 0,
            complete_ms: None,
        }
    }

    fn books(&self) -> u32 {
        self.have.len() as u32 - 1
    }

    /// A progress message from the socket.
    fn on_socket(&mut self, seq: u32, at_ms: u64) {
        if seq == 0 || seq > self.books() {
            return;
        }
        if self.have[seq as usize] {
            self.duplicates += 1;
            return;
        }
        if seq < self.max_seq {
            self.reordered += 1;
        }
        self.learn(seq, at_ms);
    }

    /// A status poll: books `1..=books_done` are done.
    fn on_status(&mut self, books_done: u32, done: bool, at_ms: u64) {
        for seq in 1..=books_done.min(self.books()) {
            if !self.have[seq as usize] {
                self.learn(seq, at_ms);
            }
        }
        if done {
            self.on_complete(at_ms);
        }
    }

    fn on_complete(&mut self, at_ms: u64) {
        self.complete = true;
        self.check_done(at_ms);
    }

    fn learn(&mut self, seq: u32, at_ms: u64) {
        self.have[seq as usize] = true;
        self.results += 1;
        self.max_seq = self.max_seq.max(seq);
        self.check_done(at_ms);
    }

    fn check_done(&mut self, at_ms: u64) {
        if self.done() && self.complete_ms.is_none() {
            self.complete_ms = Some(at_ms);
        }
    }

    /// Every result and the completion.
    fn done(&self) -> bool {
        self.complete && self.results == self.books()
    }

    /// The highest sequence number up to which the app has every result.
    fn contiguous(&self) -> u32 {
        (1..=self.books())
            .take_while(|&s| self.have[s as usize])
            .last()
            .unwrap_or(0)
    }
}

/// The client side of one job, as it stands.
struct JobState {
    accepted: Option<BatchAccepted>,
    model: AppModel,
    outcome: Outcome,
    attempts: u32,
    retries_used: u32,
    first_upgrade_ms: Option<u64>,
    progress_received: u32,
    reconnects: u32,
    token_refreshes: u32,
    polls: u32,
}

impl Session {
    /// Runs job `n` to its end and writes the client side of its record.
    pub async fn run_job(&self, n: u64) {
        let c = &self.scenario.client;
        let t0 = self.clock.now_ms();
        let mut st = JobState {
            accepted: None,
            model: AppModel::new(c.books_per_job),
            outcome: Outcome::NetworkError,
            attempts: 0,
            retries_used: 0,
            first_upgrade_ms: None,
            progress_received: 0,
            reconnects: 0,
            token_refreshes: 0,
            polls: 0,
        };
        self.converse(n, t0, &mut st).await;
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
        crate::server::Env::sleep_ms(wait_ms).await;
        true
    }

    /// POSTs the batch, retrying by policy; `Err` is the last outcome.
    async fn post_with_retries(&self, n: u64, t0: u64, st: &mut JobState) -> Result<(), Outcome> {
        let job_id = api::job_id(n);
        let books = self.scenario.client.books_per_job;
        loop {
            tracing::debug!(
                job = n,
                t_ms = self.clock.now_ms(),
                "POST /api/enrichment/batch"
            );
            match self.post_batch(&job_id, books).await {
                Ok(a) => {
                    tracing::debug!(job = n, t_ms = self.clock.now_ms(), "202 accepted");
                    st.accepted = Some(a);
                    return Ok(());
                }
                Err(o) if o.retryable() && self.retry(n, t0, st).await => {}
                Err(o) => return Err(o),
            }
        }
    }

    /// The job from the POST to the last result: the socket with retries and reconnects,
    /// then the polling fallback.
    async fn converse(&self, n: u64, t0: u64, st: &mut JobState) {
        let c = &self.scenario.client;
        if self.token_preloaded {
            st.accepted = Some(BatchAccepted {
                token: preloaded_token(&self.draws, n),
                job_id: api::job_id(n),
                expires_at_ms: 0,
            });
        } else if let Err(o) = self.post_with_retries(n, t0, st).await {
            st.outcome = o;
            return;
        }
        crate::server::Env::sleep_ms(self.draws.ms(
            &c.connect_delay_ms,
            n,
            Purpose::ConnectDelay,
            0,
        ))
        .await;
        let mut had_socket = false;
        loop {
            st.attempts += 1;
            if had_socket {
                st.reconnects += 1;
            }
            let after = c.reconnect.then(|| st.model.contiguous());
            let accepted = st.accepted.clone().expect("set above");
            let a = self.attempt(n, t0, &accepted, after, &mut st.model).await;
            if st.attempts == 1 {
                st.first_upgrade_ms = a.client_upgrade_ms;
            }
            had_socket |= a.client_upgrade_ms.is_some();
            st.progress_received += a.progress_received;
            st.outcome = a.outcome;
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
                ready = !refresh || self.refresh_token(n, st).await;
            }
            if !ready {
                break;
            }
        }
        if !st.model.done() && c.poll_fallback {
            self.poll_until_done(n, t0, st).await;
        }
    }

    /// Posts the batch again for a fresh token (the server keeps the running job).
    async fn refresh_token(&self, n: u64, st: &mut JobState) -> bool {
        st.token_refreshes += 1;
        tracing::debug!(job = n, t_ms = self.clock.now_ms(), "token refresh");
        match self
            .post_batch(&api::job_id(n), self.scenario.client.books_per_job)
            .await
        {
            Ok(a) => {
                st.accepted = Some(a);
                true
            }
            Err(_) => false,
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
            crate::server::Env::sleep_ms(c.poll_interval_ms).await;
        }
    }

    /// One `GET /api/enrichment/status`; `Err` carries the status (0: no answer).
    async fn poll(&self, accepted: &BatchAccepted) -> Result<api::Status, u16> {
        let uri = format!(
            "{}?jobId={}&token={}",
            api::STATUS_PATH,
            accepted.job_id,
            accepted.token
        );
        let (status, body) = self
            .request(Method::GET, &uri, Full::new(Bytes::new()))
            .await
            .map_err(|_| 0u16)?;
        if status != StatusCode::OK {
            return Err(status.as_u16());
        }
        serde_json::from_slice(&body).map_err(|_| 0u16)
    }

    /// One request on a fresh connection to the edge, given up after
    /// `client.request_timeout_ms`: the status and the body.
    async fn request(
        &self,
        method: Method,
        uri: &str,
        body: Full<Bytes>,
    ) -> Result<(StatusCode, Bytes), ()> {
        let timeout = Duration::from_millis(self.scenario.client.request_timeout_ms);
        tokio::time::timeout(timeout, self.request_once(method, uri, body))
            .await
            .map_err(|_| ())?
    }

    async fn request_once(
        &self,
        method: Method,
        uri: &str,
        body: Full<Bytes>,
    ) -> Result<(StatusCode, Bytes), ()> {
        let io = self.connect.connect().await.map_err(|_| ())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|_| ())?;
        crate::server::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::HOST, self.connect.authority())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(body)
            .expect("request parts are built from checked values");
        let resp = sender.send_request(req).await.map_err(|_| ())?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), api::BODY_BYTES_MAX)
            .collect()
            .await
            .map_err(|_| ())?
            .to_bytes();
        Ok((status, body))
    }

    async fn post_batch(&self, job_id: &str, books: u32) -> Result<BatchAccepted, Outcome> {
        let body = serde_json::to_vec(&BatchRequest {
            job_id: job_id.to_string(),
            books,
        })
        .expect("plain struct serialises");
        let (status, body) = self
            .request(Method::POST, api::BATCH_PATH, Full::new(Bytes::from(body)))
            .await
            .map_err(|_| Outcome::NetworkError)?;
        if status.is_server_error() {
            return Err(Outcome::ServerError);
        }
        if status != StatusCode::ACCEPTED {
            return Err(Outcome::Rejected);
        }
        serde_json::from_slice(&body).map_err(|_| Outcome::Rejected)
    }

    /// One connect: handshake under both deadlines, ping, then progress until completion.
    async fn attempt(
        &self,
        n: u64,
        t0: u64,
        accepted: &BatchAccepted,
        after: Option<u32>,
        model: &mut AppModel,
    ) -> Attempt {
        let c = &self.scenario.client;
        let start_ms = self.clock.now_ms();
        let handshake_deadline_ms = start_ms + c.handshake_timeout_ms;
        let ping_at_ms = start_ms + c.ping_after_ms;
        let ping_deadline_ms = ping_at_ms + c.ping_timeout_ms;
        let failed = |outcome, status| Attempt {
            outcome,
            status,
            client_upgrade_ms: None,
            progress_received: 0,
        };
        tracing::debug!(job = n, t_ms = start_ms, "connect");
        let mut url = format!(
            "{}://{}{}?jobId={}&token={}",
            self.connect.ws_scheme(),
            self.connect.authority(),
            api::PROGRESS_PATH,
            accepted.job_id,
            accepted.token
        );
        if let Some(a) = after {
            url.push_str(&format!("&after={a}"));
        }
        let request = url
            .into_client_request()
            .expect("the URL is built from checked parts");
        // Whichever deadline comes first ends the handshake: the handshake timeout, or the
        // queued ping's timeout (the ping timer runs from when the app issued the ping).
        let (deadline_ms, on_deadline) = if ping_deadline_ms < handshake_deadline_ms {
            (ping_deadline_ms, Outcome::PingTimeout)
        } else {
            (handshake_deadline_ms, Outcome::HandshakeTimeout)
        };
        let sent_ms = std::cell::Cell::new(start_ms);
        let handshake = async {
            let io = self.connect.connect().await.map_err(WsError::Io)?;
            sent_ms.set(self.clock.now_ms());
            tokio_tungstenite::client_async_with_config(
                request,
                io,
                Some(crate::server::ws_config()),
            )
            .await
        };
        let until = Duration::from_millis(deadline_ms.saturating_sub(start_ms));
        let mut ws = match tokio::time::timeout(until, handshake).await {
            Err(_) => {
                tracing::info!(
                    job = n,
                    t_ms = self.clock.now_ms(),
                    outcome = on_deadline.name(),
                    after_ms = deadline_ms - start_ms,
                    "deadline passed before the 101"
                );
                return failed(on_deadline, None);
            }
            Ok(Err(WsError::Http(resp))) => {
                let status = resp.status();
                tracing::info!(
                    job = n,
                    t_ms = self.clock.now_ms(),
                    status = status.as_u16(),
                    "upgrade rejected"
                );
                let outcome = if status.is_server_error() {
                    Outcome::ServerError
                } else {
                    Outcome::Rejected
                };
                return failed(outcome, Some(status.as_u16()));
            }
            Ok(Err(e)) => {
                tracing::info!(job = n, t_ms = self.clock.now_ms(), error = %e, "upgrade failed");
                return failed(Outcome::NetworkError, None);
            }
            Ok(Ok((ws, _resp))) => ws,
        };
        let upgraded_ms = self.clock.now_ms();
        let client_upgrade_ms = upgraded_ms - sent_ms.get();
        tracing::debug!(
            job = n,
            t_ms = upgraded_ms,
            client_upgrade_ms,
            "101 received"
        );
        let mut attempt = Attempt {
            outcome: Outcome::NetworkError,
            status: None,
            client_upgrade_ms: Some(client_upgrade_ms),
            progress_received: 0,
        };
        // The ping: issued at ping_at_ms, written now if that has passed (it was queued).
        let mut ping_sent = false;
        let mut pong = false;
        let mut complete = false;
        for _ in 0..MESSAGES_MAX {
            let now_ms = self.clock.now_ms();
            if !ping_sent && now_ms >= ping_at_ms {
                tracing::debug!(
                    job = n,
                    t_ms = now_ms,
                    queued_ms = now_ms - ping_at_ms,
                    "ping sent"
                );
                if ws
                    .send(Message::Ping(Bytes::from_static(b"hs")))
                    .await
                    .is_err()
                {
                    return attempt;
                }
                ping_sent = true;
            }
            let wake_ms = if !ping_sent {
                ping_at_ms
            } else if !pong {
                ping_deadline_ms
            } else {
                u64::MAX
            };
            let wait = Duration::from_millis(wake_ms.saturating_sub(now_ms).min(u32::MAX as u64));
            let frame = match tokio::time::timeout(wait, ws.next()).await {
                Err(_) if !ping_sent => continue,
                Err(_) => {
                    tracing::info!(
                        job = n,
                        t_ms = self.clock.now_ms(),
                        "no pong before the ping timeout"
                    );
                    attempt.outcome = Outcome::PingTimeout;
                    return attempt;
                }
                Ok(f) => f,
            };
            match frame {
                Some(Ok(Message::Pong(_))) => {
                    pong = true;
                    tracing::debug!(job = n, t_ms = self.clock.now_ms(), "pong");
                }
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMsg>(&text) {
                    Ok(ServerMsg::Progress { seq, .. }) => {
                        attempt.progress_received += 1;
                        let now_ms = self.clock.now_ms();
                        tracing::debug!(job = n, t_ms = now_ms, seq, "progress");
                        model.on_socket(seq, now_ms - t0);
                    }
                    Ok(ServerMsg::Ready { books_done, .. }) => {
                        tracing::debug!(job = n, t_ms = self.clock.now_ms(), books_done, "ready");
                    }
                    Ok(ServerMsg::Complete { books }) => {
                        let now_ms = self.clock.now_ms();
                        tracing::debug!(job = n, t_ms = now_ms, books, "complete");
                        model.on_complete(now_ms - t0);
                        complete = true;
                    }
                    Err(_) => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
            if complete && pong {
                attempt.outcome = Outcome::Ok;
                break;
            }
        }
        let _ = ws.close(None).await;
        tracing::debug!(job = n, t_ms = self.clock.now_ms(), "close");
        attempt
    }
}
