//! The simulated Cloudflare side: the worker relay, the durable objects with their storage
//! and lifecycle, and the handshake variants. Generic over the byte stream, so the same code
//! runs on turmoil's simulated TCP and on real sockets.

pub mod api;
pub mod auth;
mod object;
mod socket;
mod storage;
pub mod variant;
mod worker;

use std::cell::RefCell;
use std::rc::Rc;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::Recorder;
use crate::scenario::Scenario;

pub use object::{serve_objects_conn, Object, Objects};
pub use storage::StorageFailed;
pub use variant::Variant;
pub use worker::{serve_worker_conn, Dial, IoObject, Worker};

/// A byte stream a server connection can run on.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// What every server component of a run shares.
pub struct Env {
    pub scenario: Rc<Scenario>,
    pub draws: Draws,
    pub clock: Clock,
    pub variant: &'static dyn Variant,
    pub recorder: Rc<RefCell<Recorder>>,
}

thread_local! {
    /// The first panic of a task spawned with [`spawn`] on this thread.
    static PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Spawns a local task whose panic is kept (see [`take_panic`]) rather than lost in a
/// `JoinHandle` nobody awaits: the simulation then fails the run instead of hanging.
pub fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) {
    use futures_util::FutureExt;
    tokio::task::spawn_local(async move {
        if let Err(payload) = std::panic::AssertUnwindSafe(fut).catch_unwind().await {
            let message = panic_message(payload.as_ref());
            PANIC.with(|p| {
                p.borrow_mut().get_or_insert(message);
            });
        }
    });
}

/// The first kept panic of a spawned task on this thread, cleared.
pub fn take_panic() -> Option<String> {
    PANIC.with(|p| p.borrow_mut().take())
}

/// Whether a spawned task on this thread has panicked.
pub fn panicked() -> bool {
    PANIC.with(|p| p.borrow().is_some())
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".into())
}

impl Env {
    pub(crate) async fn sleep_ms(ms: u64) {
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }
}

/// Read buffer of every WebSocket stream: the messages are well under 100 bytes, tungstenite's
/// 128 KiB default is zero-filled on every read, and every open socket holds two (512 instead
/// of 4096 took 7 KB off each open socket; a longer message is read in several goes).
pub const WS_READ_BUFFER_BYTES: usize = 512;

/// The WebSocket configuration both ends use.
pub fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}
