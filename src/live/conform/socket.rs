//! The client's end of an accepted progress socket: frames read under a deadline and a frame
//! cap (each frame at most 64 KiB, as `wire::ws_config` bounds both ends), the object's JSON
//! messages parsed against the documented shapes.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::finding::{short, Finding};
use crate::wire::api::ServerMsg;
use crate::wire::ws_config;

/// A deadline, and its length for the detail that says it passed.
#[derive(Clone, Copy)]
pub(super) struct Wait {
    until: Instant,
    ms: u64,
}

impl Wait {
    pub(super) fn new(d: Duration) -> Wait {
        Wait {
            until: Instant::now() + d,
            ms: d.as_millis() as u64,
        }
    }
}

pub(super) struct Socket {
    ws: WebSocketStream<TokioIo<Upgraded>>,
    frames: u32,
    frames_max: u32,
}

/// The API's socket configuration, with room to write one message past the size limit (the
/// `*-too-big` cases send one on purpose) and its frame header; still bounded, so a server
/// that floods pings cannot grow the queue of pongs without end.
fn config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    ws_config().max_write_buffer_size(2 * (64 * 1024) + 64)
}

impl Socket {
    /// The socket over an upgraded connection; it reads at most `frames_max` frames.
    pub(super) async fn new(upgraded: Upgraded, frames_max: u32) -> Socket {
        let io = TokioIo::new(upgraded);
        Socket {
            ws: WebSocketStream::from_raw_socket(io, Role::Client, Some(config())).await,
            frames: 0,
            frames_max,
        }
    }

    /// The next frame by `wait`. The end of the connection, a read error, the frame cap or
    /// the deadline is a failure of `what`.
    pub(super) async fn next(&mut self, wait: Wait, what: &str) -> Result<Message, Finding> {
        if self.frames >= self.frames_max {
            return Err(Finding::Fail(format!(
                "{what}: more than {} frames on one socket",
                self.frames_max
            )));
        }
        self.frames += 1;
        match tokio::time::timeout_at(wait.until, self.ws.next()).await {
            Err(_) => Err(Finding::Fail(format!(
                "{what}: nothing within {} ms",
                wait.ms
            ))),
            Ok(None) => Err(Finding::Fail(format!(
                "{what}: the connection ended without a Close frame"
            ))),
            Ok(Some(Err(e))) => Err(Finding::Fail(format!("{what}: {e}"))),
            Ok(Some(Ok(m))) => Ok(m),
        }
    }

    /// The next message of the object, skipping control frames; anything else (binary, text
    /// that is not a documented message, a close) fails `what`.
    pub(super) async fn message(&mut self, wait: Wait, what: &str) -> Result<ServerMsg, Finding> {
        loop {
            match self.next(wait, what).await? {
                Message::Text(t) => {
                    return serde_json::from_str(t.as_str()).map_err(|e| {
                        Finding::Fail(format!(
                            "{what}: expected a ready, progress or complete message, got {} ({e})",
                            short(t.as_str())
                        ))
                    })
                }
                Message::Binary(b) => {
                    return Err(Finding::Fail(format!(
                        "{what}: expected a JSON text frame, got a binary frame of {} bytes",
                        b.len()
                    )))
                }
                Message::Close(f) => {
                    return Err(Finding::Fail(format!(
                        "{what}: expected a message, got a Close ({})",
                        close_text(f.as_ref())
                    )))
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The server's Close frame by `wait`, skipping data and control frames.
    pub(super) async fn close_frame(
        &mut self,
        wait: Wait,
        what: &str,
    ) -> Result<Option<CloseFrame>, Finding> {
        loop {
            if let Message::Close(f) = self.next(wait, what).await? {
                return Ok(f);
            }
        }
    }

    /// Sends one frame (a ping, or a close).
    pub(super) async fn send(&mut self, m: Message, what: &str) -> Result<(), Finding> {
        self.ws
            .send(m)
            .await
            .map_err(|e| Finding::Fail(format!("{what}: sending: {e}")))
    }

    /// Starts the close handshake with `1000` and leaves without waiting for the answer (the
    /// case that judges the answer reads it itself).
    pub(super) async fn leave(mut self) {
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = tokio::time::timeout(Duration::from_millis(100), self.ws.close(Some(normal))).await;
    }
}

/// A close frame's code for a detail: `1000`, or `no code`.
pub(super) fn close_text(f: Option<&CloseFrame>) -> String {
    f.map_or("no code".into(), |f| u16::from(f.code).to_string())
}
