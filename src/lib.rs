//! handshake-sim: a deterministic simulation testbed for the Issue #407 WebSocket upgrade
//! path. See README.md for the user's guide and ARCHITECTURE.md for the code map.

// turmoil seeds each host's tokio scheduler only under this cfg; without it runs are not
// reproducible. `.cargo/config.toml` sets it (RUSTFLAGS, when set, replaces that file's flags).
#[cfg(not(tokio_unstable))]
compile_error!(
    "handshake-sim must be built with RUSTFLAGS=\"--cfg tokio_unstable\" (see .cargo/config.toml): \
     without it turmoil cannot seed tokio's scheduler and runs are not deterministic"
);

pub mod bench;
pub mod calibrate;
pub mod client;
pub mod clock;
pub mod compare;
pub mod cost;
pub mod draw;
mod experiment;
pub mod fit;
pub mod live;
pub mod metrics;
pub mod names;
pub mod pipeline;
pub mod record;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod sweep;
mod task;
pub mod verdict;
pub mod wire;

pub use experiment::{Error, Experiment, Outcome};
pub use server::variant::{Handshake, HandshakeFuture, Key, Storage, Token, Values};
pub use server::StorageFailed;
