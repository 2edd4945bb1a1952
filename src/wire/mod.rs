//! What the simulated client and server both speak: the HTTP API's paths, bodies and socket
//! messages ([`api`]), the byte-stream traits both run on, the WebSocket configuration both
//! ends use, and the HTTP body helpers. Imports nothing from `server`, `client` or `sim`.

pub mod api;
mod http;
mod io;
mod ws;

pub(crate) use http::{collect_body, host_refusal, plain, read_body, serve_http1, Body, InBody};
pub(crate) use io::Io;
pub use io::IoObject;
pub(crate) use ws::{ws_config, WS_WRITE_BUFFER_BYTES_MAX};
