//! `variants`: one line per handshake variant.

use std::fmt::Write as _;

use crate::server::variant;

/// Name and description of every variant.
pub fn list() -> String {
    let mut s = String::new();
    for v in variant::ALL {
        let _ = writeln!(s, "{:<14} {}", v.name(), v.describe());
    }
    s
}
