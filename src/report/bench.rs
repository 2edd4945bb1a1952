//! `bench`'s JSON file, and the line its child processes hand the driver.

use crate::bench::{Measurement, Results};

/// The `--json` file: pretty, with a trailing newline.
pub fn json(r: &Results) -> Result<String, serde_json::Error> {
    let mut v = serde_json::json!({
        "workloads": r.workloads,
        "scaling": r.scaling,
        "sweep_scaling": r.sweep_scaling,
    });
    crate::names::stamp::stamp_live(&mut v);
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}

/// What a `bench --child` process prints for its driver: the measurement as one JSON line
/// (without the newline).
pub fn child_line(m: &Measurement) -> Result<String, serde_json::Error> {
    serde_json::to_string(m)
}
