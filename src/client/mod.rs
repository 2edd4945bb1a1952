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
    let mut tasks = Vec::with_capacity(jobs as usize);
    for n in 0..jobs {
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let session = session.clone();
        tasks.push(tokio::task::spawn_local(async move {
            session.run_job(n).await;
            drop(permit);
        }));
    }
    for t in tasks {
        t.await?;
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
    client_upgrade_ms: Option<u64>,
    progress_received: u32,
}

/// Most messages read from one socket (a bound on the read loop).
const MESSAGES_MAX: u32 = 1_000_000;

impl Session {
    /// Runs job `n` to its end and writes the client side of its record.
    pub async fn run_job(&self, n: u64) {
        let job_id = api::job_id(n);
        let books = self.scenario.client.books_per_job;
        let t0 = self.clock.now_ms();
        tracing::debug!(job = n, t_ms = t0, "POST /api/enrichment/batch");
        let posted = if self.token_preloaded {
            Ok(BatchAccepted {
                token: preloaded_token(&self.draws, n),
                job_id: job_id.clone(),
                expires_at_ms: 0,
            })
        } else {
            self.post_batch(&job_id, books).await
        };
        let accepted = match posted {
            Ok(a) => a,
            Err(outcome) => {
                let mut rec = self.recorder.borrow_mut();
                let r = rec.job(n);
                r.outcome = Some(outcome);
                return;
            }
        };
        tracing::debug!(job = n, t_ms = self.clock.now_ms(), "202 accepted");
        let c = &self.scenario.client;
        crate::server::Env::sleep_ms(self.draws.ms(
            &c.connect_delay_ms,
            n,
            Purpose::ConnectDelay,
            0,
        ))
        .await;
        let mut first_upgrade_ms = None;
        let mut progress = 0;
        let mut attempts = 0;
        let mut outcome = Outcome::NetworkError;
        for attempt in 0..=c.retries {
            attempts = attempt + 1;
            if attempt > 0 {
                let backoff = self.draws.ms(
                    &c.retry_backoff_ms,
                    n,
                    Purpose::RetryBackoff,
                    attempt as u64 - 1,
                );
                tracing::debug!(
                    job = n,
                    t_ms = self.clock.now_ms(),
                    attempt,
                    backoff_ms = backoff,
                    "retry after backoff"
                );
                crate::server::Env::sleep_ms(backoff).await;
            }
            let a = self.attempt(n, &accepted, books).await;
            if attempt == 0 {
                first_upgrade_ms = a.client_upgrade_ms;
            }
            progress += a.progress_received;
            outcome = a.outcome;
            if !outcome.retryable() {
                break;
            }
        }
        let mut rec = self.recorder.borrow_mut();
        let r = rec.job(n);
        r.outcome = Some(outcome);
        r.attempts = attempts;
        r.client_upgrade_ms = first_upgrade_ms;
        r.progress_received = progress;
    }

    async fn post_batch(&self, job_id: &str, books: u32) -> Result<BatchAccepted, Outcome> {
        let io = self
            .connect
            .connect()
            .await
            .map_err(|_| Outcome::NetworkError)?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|_| Outcome::NetworkError)?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        let body = serde_json::to_vec(&BatchRequest {
            job_id: job_id.to_string(),
            books,
        })
        .expect("plain struct serialises");
        let req = Request::builder()
            .method(Method::POST)
            .uri(api::BATCH_PATH)
            .header(hyper::header::HOST, self.connect.authority())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("static request parts are valid");
        let resp = sender
            .send_request(req)
            .await
            .map_err(|_| Outcome::NetworkError)?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), api::BODY_BYTES_MAX)
            .collect()
            .await
            .map_err(|_| Outcome::NetworkError)?
            .to_bytes();
        if status != StatusCode::ACCEPTED {
            return Err(Outcome::Rejected);
        }
        serde_json::from_slice(&body).map_err(|_| Outcome::Rejected)
    }

    /// One connect: handshake under both deadlines, ping, then progress until completion.
    async fn attempt(&self, n: u64, accepted: &BatchAccepted, books: u32) -> Attempt {
        let c = &self.scenario.client;
        let start_ms = self.clock.now_ms();
        let handshake_deadline_ms = start_ms + c.handshake_timeout_ms;
        let ping_at_ms = start_ms + c.ping_after_ms;
        let ping_deadline_ms = ping_at_ms + c.ping_timeout_ms;
        let failed = |outcome| Attempt {
            outcome,
            client_upgrade_ms: None,
            progress_received: 0,
        };
        tracing::debug!(job = n, t_ms = start_ms, "connect");
        let url = format!(
            "{}://{}{}?jobId={}&token={}",
            self.connect.ws_scheme(),
            self.connect.authority(),
            api::PROGRESS_PATH,
            accepted.job_id,
            accepted.token
        );
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
                return failed(on_deadline);
            }
            Ok(Err(WsError::Http(resp))) => {
                tracing::info!(
                    job = n,
                    t_ms = self.clock.now_ms(),
                    status = resp.status().as_u16(),
                    "upgrade rejected"
                );
                return failed(Outcome::Rejected);
            }
            Ok(Err(e)) => {
                tracing::info!(job = n, t_ms = self.clock.now_ms(), error = %e, "upgrade failed");
                return failed(Outcome::NetworkError);
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
                        tracing::debug!(job = n, t_ms = self.clock.now_ms(), seq, "progress");
                    }
                    Ok(ServerMsg::Ready { books_done, .. }) => {
                        tracing::debug!(job = n, t_ms = self.clock.now_ms(), books_done, "ready");
                    }
                    Ok(ServerMsg::Complete { .. }) => {
                        tracing::debug!(job = n, t_ms = self.clock.now_ms(), books, "complete");
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
