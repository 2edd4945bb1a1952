//! The WebSocket configuration of both ends of the progress socket.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read buffer of every WebSocket stream: the messages are well under 100 bytes, tungstenite's
/// 128 KiB default is zero-filled on every read, and every open socket holds two (512 instead
/// of 4096 took 7 KB off each open socket; a longer message is read in several goes).
pub(crate) const WS_READ_BUFFER_BYTES: usize = 512;

/// Most bytes of frames a socket holds unwritten. tungstenite queues a pong for every ping it
/// reads, and without a bound a peer that pings and never reads grows that queue for as long
/// as it goes on (~100 MB/s per socket against `probe`); past the bound it keeps only the
/// latest pong. The bound changes nothing a well-behaved peer sees: every message of the API
/// is under 100 bytes and `send` writes a message out before the next is queued, so a socket
/// holds at most one message and one pong unwritten; the simulation never comes near it.
pub(crate) const WS_WRITE_BUFFER_BYTES_MAX: usize = 64 * 1024;

/// The WebSocket configuration both ends use.
pub(crate) fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_WRITE_BUFFER_BYTES_MAX)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}
