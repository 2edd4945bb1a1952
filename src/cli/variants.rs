//! `variants`: the handshake variants, one per line.

use std::fmt::Write as _;

use handshake_sim::internal::server::variant;

use super::CliResult;
use super::Status;

pub(crate) fn variants() -> CliResult<Status> {
    out!("{}", list());
    Ok(Status::Success)
}

/// Name and description of every variant.
fn list() -> String {
    let mut s = String::new();
    for v in variant::ALL {
        let _ = writeln!(s, "{:<14} {}", v.name(), v.describe());
    }
    s
}
