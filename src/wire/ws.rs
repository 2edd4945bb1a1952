//! The WebSocket configuration of both ends of the progress socket.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read buffer of every WebSocket stream: the messages are well under 100 bytes, tungstenite's
/// 128 KiB default is zero-filled on every read, and every open socket holds two (512 instead
/// of 4096 took 7 KB off each open socket; a longer message is read in several goes).
pub(crate) const WS_READ_BUFFER_BYTES: usize = 512;

/// The WebSocket configuration both ends use.
pub(crate) fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}
