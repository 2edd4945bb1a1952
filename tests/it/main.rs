//! Integration tests, one binary; the tests that time real sockets against the simulation are
//! in `tests/timing`. Shared helpers live in `tests/common`.

mod api;
mod auth;
mod bad_input;
mod browser;
mod check;
mod cli;
mod compare;
mod conform;
mod decide;
mod determinism;
mod edge_cache;
mod faults;
mod figures;
mod files;
mod fuzz;
mod gates;
mod hostile;
mod issue407;
mod layout;
mod lifecycle;
mod limits;
mod live;
mod network_types;
mod oracle;
mod outputs;
mod own_variant;
mod probe;
mod probe_hostile;
mod production;
mod property;
mod readme;
mod reference;
mod research;
mod serve;
mod serve_limits;
mod serve_process;
mod sessions;
mod story;
mod workerd;

#[allow(dead_code)] // each test binary uses its own share of the helpers
#[path = "../common/mod.rs"]
mod common;

pub use common::{exec, load, report, root, scenario, SMALL_SWEEP};
