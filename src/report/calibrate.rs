//! `calibrate`'s notes on standard error: the malformed lines (the first 20), a count of what
//! was read, how sequential totals were deconvolved, and the per-read mean, sd and p95. The
//! scenario snippet itself is `report::snippet::calibration`.

use std::fmt::Write as _;

use crate::calibrate::Calibration;

/// Malformed lines shown before the rest are only counted.
const MALFORMED_SHOWN_MAX: usize = 20;

/// The notes, one per line; `source` names the input.
pub fn notes(c: &Calibration, source: &str) -> String {
    let mut s = String::new();
    for (line, why) in c.malformed.iter().take(MALFORMED_SHOWN_MAX) {
        let _ = writeln!(s, "{source}:{line}: malformed, skipped: {why}");
    }
    if c.malformed_count > MALFORMED_SHOWN_MAX {
        let _ = writeln!(
            s,
            "... and {} more malformed line(s)",
            c.malformed_count - MALFORMED_SHOWN_MAX
        );
    }
    let _ = writeln!(
        s,
        "calibrate: {} sample(s) from {} {} line(s), {} malformed",
        c.samples_ms.len(),
        c.candidates,
        c.format,
        c.malformed_count,
    );
    if let Some(d) = &c.deconvolution {
        let _ = writeln!(
            s,
            "calibrate: sequential totals deconvolved into one read: {} ms grid, {} bins, {} EM steps{}",
            d.step_ms,
            d.bins,
            d.iterations,
            if d.converged {
                " (converged)"
            } else {
                " (step limit reached)"
            }
        );
    }
    if let Some(r) = c.summary() {
        let _ = writeln!(
            s,
            "calibrate: per read: mean {:.1} ms, sd {:.1} ms, p95 {:.1} ms",
            r.mean_ms, r.sd_ms, r.p95_ms
        );
    }
    s
}
