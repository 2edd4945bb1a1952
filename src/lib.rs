//! handshake-sim: a deterministic simulation testbed for the Issue #407 WebSocket upgrade
//! path. See README.md for the user's guide and ARCHITECTURE.md for the code map.

pub mod bench;
pub mod calibrate;
pub mod client;
pub mod clock;
pub mod draw;
pub mod expect;
mod experiment;
pub mod fit;
pub mod gate;
pub mod live;
pub mod metrics;
pub mod record;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod slo;
pub mod sweep;

pub use experiment::{Error, Experiment, Outcome};
