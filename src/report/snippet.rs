//! A scenario snippet: TOML text meant to be pasted into a scenario file.

use std::fmt::Write as _;

use crate::calibrate::Calibration;
use crate::scenario::EMPIRICAL_SAMPLES_MAX;

/// The scenario snippet `calibrate` writes: `storage.read_ms` as an `empirical`
/// distribution of the samples, under comments saying where they came from and how.
pub fn calibration(c: &Calibration, source: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# storage.read_ms calibrated by `handshake-sim calibrate` from {source}"
    );
    let _ = writeln!(
        s,
        "# {} sample(s) from {} {} ({} malformed, skipped{})",
        c.samples_ms.len(),
        c.candidates,
        if c.format == "csv" {
            "CSV row(s)"
        } else {
            "timing line(s)"
        },
        c.malformed_count,
        if c.dropped > 0 {
            format!(
                "; {} past the {EMPIRICAL_SAMPLES_MAX}-sample limit dropped",
                c.dropped
            )
        } else {
            String::new()
        }
    );
    match &c.deconvolution {
        Some(d) => {
            let _ = writeln!(
                s,
                "# per read: deconvolved from the sequential totals (each the sum of two independent reads)\n\
                 # by maximum likelihood (smoothed EM on a {} ms grid of {} bins, {} steps{});\n\
                 # the values are {} quantiles of the recovered distribution",
                d.step_ms,
                d.bins,
                d.iterations,
                if d.converged { ", converged" } else { ", step limit reached" },
                c.samples_ms.len()
            );
        }
        None => {
            let _ = writeln!(
                s,
                "# per read = storageDuration as logged: right for one round trip (batched); from parallel\n# logs it is the max of two reads and reads high, from sequential logs pass --sequential"
            );
        }
    }
    let values: Vec<String> = c.samples_ms.iter().map(|v| format!("{v}")).collect();
    let _ = writeln!(
        s,
        "[storage]\nread_ms = {{ empirical = [{}] }}",
        values.join(", ")
    );
    s
}
