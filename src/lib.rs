#![doc = include_str!("../docs/library.md")]
// (README.md and docs/ are the command line's guide, ARCHITECTURE.md the code map.)

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

mod bench;
mod calibrate;
mod client;
mod clock;
mod compare;
mod cost;
mod decide;
mod draw;
mod experiment;
mod failure;
mod files;
mod fit;
mod fnv;
mod live;
mod metrics;
mod names;
mod pipeline;
mod record;
mod replay;
mod report;
mod scenario;
mod server;
mod sim;
mod stats;
mod sweep;
mod task;
mod verdict;
mod wire;

// The library's API: an experiment, its results, a user's own handshake, and the figures and
// records they carry. Everything else is reached only through `internal`.
pub use experiment::{Error, Experiment, Results};
pub use metrics::{Delta, Latency, Paired, Rate, VariantSummary};
pub use names::{Figure, Stat, Timing, VariantId};
pub use pipeline::Report;
pub use record::{JobRecord, Outcome};
pub use scenario::Scenario;
pub use server::variant::{EdgeMiss, Handshake, HandshakeFuture, Key, Kv, Storage, Token, Values};
pub use server::StorageFailed;
pub use sim::RunOutput;
pub use verdict::Judged;

/// Not part of the library's API, and not covered by its stability: the door through which
/// this crate's own binary and white-box tests reach its modules. Each module here re-exports
/// the public items of the crate's module of the same name.
#[doc(hidden)]
pub mod internal {
    pub mod bench {
        pub use crate::bench::*;
    }
    pub mod calibrate {
        pub use crate::calibrate::*;
    }
    pub mod client {
        pub use crate::client::*;
    }
    pub mod clock {
        pub use crate::clock::*;
    }
    pub mod compare {
        pub use crate::compare::*;
    }
    pub mod cost {
        pub use crate::cost::*;
    }
    pub mod decide {
        pub use crate::decide::*;
    }
    pub mod draw {
        pub use crate::draw::*;
    }
    pub mod failure {
        pub use crate::failure::*;
    }
    pub mod files {
        pub use crate::files::*;
    }
    pub mod fit {
        pub use crate::fit::*;
    }
    pub mod live {
        pub use crate::live::*;
    }
    pub mod metrics {
        pub use crate::metrics::*;
    }
    pub mod names {
        pub use crate::names::*;
    }
    pub mod pipeline {
        pub use crate::pipeline::*;
    }
    pub mod record {
        pub use crate::record::*;
    }
    pub mod replay {
        pub use crate::replay::*;
    }
    pub mod report {
        pub use crate::report::*;
    }
    pub mod scenario {
        pub use crate::scenario::*;
    }
    pub mod server {
        pub use crate::server::*;
    }
    pub mod sim {
        pub use crate::sim::*;
    }
    pub mod stats {
        pub use crate::stats::*;
    }
    pub mod sweep {
        pub use crate::sweep::*;
    }
    pub mod verdict {
        pub use crate::verdict::*;
    }
    pub mod wire {
        pub use crate::wire::*;
    }
}
