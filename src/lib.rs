//! handshake-sim: a deterministic simulation testbed for the Issue #407 WebSocket upgrade
//! path. See README.md for the user's guide and ARCHITECTURE.md for the code map.

// turmoil seeds each host's tokio scheduler only under this cfg; without it runs are not
// reproducible. `.cargo/config.toml` sets it in `[build] rustflags`, which cargo ignores
// whenever RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS is set (it never merges them). build.rs
// stops such a build at its start with the same message; this catches builds without it.
#[cfg(not(tokio_unstable))]
compile_error!(
    "handshake-sim must be built with `--cfg tokio_unstable`: without it turmoil cannot seed \
     tokio's scheduler and runs are not deterministic. .cargo/config.toml sets it in [build] \
     rustflags, but cargo ignores that whenever RUSTFLAGS (or CARGO_ENCODED_RUSTFLAGS) is set, \
     even to `-D warnings`: it never merges the two. Fix: unset RUSTFLAGS, or include the cfg \
     in it, e.g. RUSTFLAGS=\"--cfg tokio_unstable -D warnings\" (and RUSTDOCFLAGS likewise)."
);

pub mod bench;
pub mod calibrate;
pub mod client;
pub mod clock;
pub mod compare;
pub mod cost;
pub mod draw;
mod experiment;
pub mod files;
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
