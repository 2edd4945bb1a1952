//! One upgrade attempt: the socket opened under the handshake and ping deadlines, the queued
//! ping, then progress until completion.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::model::AppModel;
use super::Session;
use crate::record::{Outcome, Violation};
use crate::wire::api::{self, BatchAccepted, ServerMsg};
use crate::wire::{ws_config, IoObject, WS_WRITE_BUFFER_BYTES_MAX};

/// How one upgrade attempt ended.
pub(super) struct Attempt {
    pub(super) outcome: Outcome,
    /// The status of a rejected upgrade.
    pub(super) status: Option<u16>,
    pub(super) client_upgrade_ms: Option<u64>,
    pub(super) progress_received: u32,
    /// What the server did wrong on this socket (`probe`; the simulated server does none).
    pub(super) violation: Option<Violation>,
}

/// Most messages read from one socket (a bound on the read loop).
const MESSAGES_MAX: u32 = 1_000_000;

/// The client's end of an open progress socket.
pub(super) type Socket = WebSocketStream<Box<dyn IoObject>>;

/// The times of one attempt, in ms since the run's start.
pub(super) struct Deadlines {
    pub(super) start_ms: u64,
    handshake_ms: u64,
    /// When the app issues the ping (queued until the 101).
    ping_at_ms: u64,
    ping_ms: u64,
}

impl Deadlines {
    /// When the read loop must wake without a frame: to write the ping, or to give up on
    /// its pong.
    fn wake_ms(&self, ping_sent: bool, pong: bool) -> u64 {
        if !ping_sent {
            self.ping_at_ms
        } else if !pong {
            self.ping_ms
        } else {
            u64::MAX
        }
    }
}

impl Session {
    /// One connect: handshake under both deadlines, ping, then progress until completion.
    pub(super) async fn attempt(
        &self,
        n: u64,
        t0: u64,
        accepted: &BatchAccepted,
        after: Option<u32>,
        first: bool,
        model: &mut AppModel,
    ) -> Attempt {
        let deadlines = self.deadlines(n);
        let start_ms = deadlines.start_ms;
        tracing::debug!(job = n, t_ms = start_ms, "connect");
        let (mut ws, client_upgrade_ms) = match self.open(n, accepted, after, &deadlines).await {
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
        if first {
            // Known at once, so a job cut short (probe's time limit) keeps it.
            self.recorder.borrow_mut().job(n).client_upgrade_ms = Some(client_upgrade_ms);
        }
        let mut attempt = Attempt {
            outcome: Outcome::NetworkError,
            status: None,
            client_upgrade_ms: Some(client_upgrade_ms),
            progress_received: 0,
            violation: None,
        };
        if self
            .read_progress(n, t0, &mut ws, &deadlines, model, &mut attempt)
            .await
        {
            let _ = ws.close(None).await;
            tracing::debug!(job = n, t_ms = self.clock.now_ms(), "close");
        }
        attempt
    }

    /// An attempt's deadlines, starting now. The two apart (each ends the attempt with its
    /// own outcome); together they are `Client::upgrade_deadline_ms`, which the reports draw.
    pub(super) fn deadlines(&self, n: u64) -> Deadlines {
        let c = &self.scenario.client;
        let start_ms = self.clock.now_ms();
        let ping_at_ms = start_ms + c.ping_after_ms;
        Deadlines {
            start_ms,
            handshake_ms: start_ms + self.scenario.handshake_timeout_ms(self.network_type(n)),
            ping_at_ms,
            ping_ms: ping_at_ms + c.ping_timeout_ms,
        }
    }

    /// One upgrade with `accepted`'s token and nothing after it: a 101 is closed at once.
    /// Whether the server answered 101 (the stale holder's try, `client::stale`).
    pub(super) async fn try_upgrade(&self, n: u64, accepted: &BatchAccepted) -> bool {
        match self.open(n, accepted, None, &self.deadlines(n)).await {
            Ok((mut ws, _)) => {
                let _ = ws.close(None).await;
                true
            }
            Err(_) => false,
        }
    }

    /// Connects and upgrades under whichever deadline comes first: the socket and the
    /// client-observed upgrade time, or the outcome (and status) of the failure.
    async fn open(
        &self,
        n: u64,
        accepted: &BatchAccepted,
        after: Option<u32>,
        d: &Deadlines,
    ) -> Result<(Socket, u64), (Outcome, Option<u16>)> {
        self.open_url(n, self.progress_url(accepted, after), d)
            .await
    }

    /// [`Session::open`] on any socket URL (a session's too).
    pub(super) async fn open_url(
        &self,
        n: u64,
        url: String,
        d: &Deadlines,
    ) -> Result<(Socket, u64), (Outcome, Option<u16>)> {
        let start_ms = d.start_ms;
        // The token and job id come from the server: whatever it sent is input, and a URL
        // that does not parse fails the attempt (the 202's body is checked too).
        let request = match url.into_client_request() {
            Ok(r) => BoxedRequest(Box::new(r)),
            Err(e) => {
                tracing::warn!(job = n, error = %e, "the progress URL does not parse");
                return Err((Outcome::Rejected, None));
            }
        };
        // Whichever deadline comes first ends the handshake: the handshake timeout, or the
        // queued ping's timeout (the ping timer runs from when the app issued the ping).
        let (deadline_ms, on_deadline) = if d.ping_ms < d.handshake_ms {
            (d.ping_ms, Outcome::PingTimeout)
        } else {
            (d.handshake_ms, Outcome::HandshakeTimeout)
        };
        let sent_ms = std::cell::Cell::new(start_ms);
        let handshake = async {
            let io = self.connect.connect().await.map_err(WsError::Io)?;
            sent_ms.set(self.clock.now_ms());
            tokio_tungstenite::client_async_with_config(request, io, Some(ws_config())).await
        };
        let until = Duration::from_millis(deadline_ms.saturating_sub(start_ms));
        // Boxed, so the job's future does not keep the handshake's ~2 KB for the socket's
        // whole life once the 101 is in (the herd's jobs: issue 27).
        let ws = match tokio::time::timeout(until, Box::pin(handshake)).await {
            Err(_) => {
                tracing::info!(
                    job = n,
                    t_ms = self.clock.now_ms(),
                    outcome = on_deadline.name(),
                    after_ms = deadline_ms - start_ms,
                    "deadline passed before the 101"
                );
                return Err((on_deadline, None));
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
                return Err((outcome, Some(status.as_u16())));
            }
            Ok(Err(e)) => {
                tracing::info!(job = n, t_ms = self.clock.now_ms(), error = %e, "upgrade failed");
                return Err((Outcome::NetworkError, None));
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
        Ok((ws, client_upgrade_ms))
    }

    /// The socket's URL: the job, its token, and the progress it has when it asks to catch up.
    fn progress_url(&self, accepted: &BatchAccepted, after: Option<u32>) -> String {
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
        url
    }

    /// Writes the ping once it is due (it was queued until the 101), then reads frames until
    /// the completion and the pong have both come, the socket ends, or the ping times out.
    /// Whether the socket is still to be closed (false: given up without a close).
    async fn read_progress(
        &self,
        n: u64,
        t0: u64,
        ws: &mut Socket,
        d: &Deadlines,
        model: &mut AppModel,
        attempt: &mut Attempt,
    ) -> bool {
        let mut ka = Keepalive::new(n, d);
        let mut complete = false;
        for _ in 0..MESSAGES_MAX {
            let now_ms = self.clock.now_ms();
            if !self.ping_if_due(ws, &mut ka, now_ms).await {
                return false;
            }
            let frame = tokio::time::timeout(ka.wait(now_ms), ws.next()).await;
            match self.keep_alive(ws, &mut ka, frame, attempt) {
                Step::Again => {}
                Step::GiveUp => return false,
                Step::Closed => break,
                Step::Text(text) => complete |= self.on_text(n, t0, &text, model, attempt),
            }
            if complete && ka.pong {
                attempt.outcome = Outcome::Ok;
                break;
            }
        }
        true
    }

    /// Writes the app's ping once it is due (it was queued until the 101); false when the
    /// socket failed.
    pub(super) async fn ping_if_due(
        &self,
        ws: &mut Socket,
        ka: &mut Keepalive<'_>,
        now_ms: u64,
    ) -> bool {
        if ka.ping_sent || now_ms < ka.d.ping_at_ms {
            return true;
        }
        tracing::debug!(
            job = ka.n,
            t_ms = now_ms,
            queued_ms = now_ms - ka.d.ping_at_ms,
            "ping sent"
        );
        if ws
            .send(Message::Ping(Bytes::from_static(b"hs")))
            .await
            .is_err()
        {
            return false;
        }
        ka.ping_sent = true;
        true
    }

    /// What a read (or its timeout) means for the socket's keepalive: the pong heard, a
    /// server's ping answered (or its flood given up on), the pong's deadline passed, the
    /// socket's end, or a text message for the caller.
    pub(super) fn keep_alive(
        &self,
        ws: &mut Socket,
        ka: &mut Keepalive<'_>,
        frame: Result<Option<Result<Message, WsError>>, tokio::time::error::Elapsed>,
        attempt: &mut Attempt,
    ) -> Step {
        let frame = match frame {
            Err(_) if !ka.ping_sent => return Step::Again,
            Err(_) => {
                tracing::info!(
                    job = ka.n,
                    t_ms = self.clock.now_ms(),
                    "no pong before the ping timeout"
                );
                attempt.outcome = Outcome::PingTimeout;
                return Step::GiveUp;
            }
            Ok(f) => f,
        };
        match frame {
            Some(Ok(Message::Pong(_))) => {
                ka.pong = true;
                tracing::debug!(job = ka.n, t_ms = self.clock.now_ms(), "pong");
            }
            Some(Ok(Message::Ping(payload))) => {
                if ka.pongs_unsent.after_ping(ws, payload.len()) {
                    self.give_up_on_ping_flood(ka.n, attempt);
                    return Step::GiveUp;
                }
            }
            Some(Ok(Message::Text(text))) => return Step::Text(text),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Step::Closed,
            Some(Ok(_)) => {}
        }
        Step::Again
    }

    /// The server pings faster than it reads the pongs: the attempt ends, named.
    pub(super) fn give_up_on_ping_flood(&self, n: u64, attempt: &mut Attempt) {
        tracing::warn!(
            job = n,
            t_ms = self.clock.now_ms(),
            "the server pings faster than it reads the pongs; socket given up"
        );
        attempt.outcome = Outcome::ServerError;
        attempt.violation.get_or_insert(Violation::PingFlood);
    }

    /// A text message: one of the API's into the app's model (whether it is the completion);
    /// a progress message whose seq is no u32 (10^18, -1, "x") is a violation; anything else
    /// is ignored.
    fn on_text(
        &self,
        n: u64,
        t0: u64,
        text: &str,
        model: &mut AppModel,
        attempt: &mut Attempt,
    ) -> bool {
        match serde_json::from_str::<ServerMsg>(text) {
            Ok(msg) => self.on_message(n, t0, msg, model, attempt),
            Err(_) => {
                if is_progress(text) {
                    attempt.violation.get_or_insert(Violation::SeqOutOfRange);
                }
                false
            }
        }
    }

    /// A message from the server, into the app's model; whether it is the completion.
    fn on_message(
        &self,
        n: u64,
        t0: u64,
        msg: ServerMsg,
        model: &mut AppModel,
        attempt: &mut Attempt,
    ) -> bool {
        match msg {
            ServerMsg::Progress { seq, .. } => {
                attempt.progress_received += 1;
                let now_ms = self.clock.now_ms();
                tracing::debug!(job = n, t_ms = now_ms, seq, "progress");
                if seq == 0 || seq > self.scenario.client.books_per_job {
                    attempt.violation.get_or_insert(Violation::SeqOutOfRange);
                }
                model.on_socket(seq, now_ms - t0);
                false
            }
            ServerMsg::Ready { books_done, .. } => {
                tracing::debug!(job = n, t_ms = self.clock.now_ms(), books_done, "ready");
                false
            }
            ServerMsg::Complete { books, .. } => {
                let now_ms = self.clock.now_ms();
                tracing::debug!(job = n, t_ms = now_ms, books, "complete");
                model.on_complete(now_ms - t0);
                true
            }
        }
    }
}

/// An upgrade request, boxed: tokio-tungstenite's client handshake keeps the request it is
/// given at each of its nested futures' levels, and a herd of handshakes waits at once (a
/// pointer each, not 224 bytes each: issue 27).
struct BoxedRequest(Box<tokio_tungstenite::tungstenite::handshake::client::Request>);

impl IntoClientRequest for BoxedRequest {
    fn into_client_request(
        self,
    ) -> tokio_tungstenite::tungstenite::Result<
        tokio_tungstenite::tungstenite::handshake::client::Request,
    > {
        Ok(*self.0)
    }
}

/// The app's ping on one socket, and the pongs it owes the server's pings.
pub(super) struct Keepalive<'a> {
    /// The job whose trace lines these are.
    n: u64,
    d: &'a Deadlines,
    ping_sent: bool,
    pub(super) pong: bool,
    pongs_unsent: PongsUnsent,
}

impl<'a> Keepalive<'a> {
    pub(super) fn new(n: u64, d: &'a Deadlines) -> Self {
        Keepalive {
            n,
            d,
            ping_sent: false,
            pong: false,
            pongs_unsent: PongsUnsent::default(),
        }
    }

    /// How long a read may wait from `now_ms`: until the ping is due, then until its pong's
    /// deadline, then without end.
    pub(super) fn wait(&self, now_ms: u64) -> Duration {
        let wake_ms = self.d.wake_ms(self.ping_sent, self.pong);
        Duration::from_millis(wake_ms.saturating_sub(now_ms).min(u32::MAX as u64))
    }
}

/// What the read loop does after [`Session::keep_alive`].
pub(super) enum Step {
    /// Read on.
    Again,
    /// The attempt has failed (its outcome is set): no close.
    GiveUp,
    /// The socket ended.
    Closed,
    /// A text message, for the caller.
    Text(Utf8Bytes),
}

/// Bytes of pongs queued since the socket last took a write. tungstenite queues a pong for
/// each ping it reads; a peer that reads its socket takes them, so this stays 0, and one that
/// pings and does not read lets them pile up, first in the kernel's buffers (free to the
/// client), then in the socket's write buffer, which keeps at most
/// [`WS_WRITE_BUFFER_BYTES_MAX`] (`wire::ws`) and drops pongs past it.
#[derive(Default)]
struct PongsUnsent {
    bytes: usize,
}

impl PongsUnsent {
    /// After a ping with `payload_len` bytes: tries the write without waiting (the pong goes
    /// out now or never), and whether the pongs waiting now pass the write buffer's bound,
    /// that is, the server pings faster than it reads.
    fn after_ping(&mut self, ws: &mut Socket, payload_len: usize) -> bool {
        match ws.flush().now_or_never() {
            Some(_) => self.bytes = 0,
            // A client's pong: 2 bytes of header, 4 of mask and the ping's payload.
            None => self.bytes += payload_len + 6,
        }
        self.bytes > WS_WRITE_BUFFER_BYTES_MAX
    }
}

/// Whether a text message that is not one of the API's is a progress message (its `type`).
pub(super) fn is_progress(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<Typed>(text).is_ok_and(|t| t.kind == "progress")
}
