//! `calibrate`'s notes on standard error: the malformed lines (the first 20) and a count of
//! what was read. The scenario snippet itself is `Calibration::snippet`.

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
    if c.malformed.len() > MALFORMED_SHOWN_MAX {
        let _ = writeln!(
            s,
            "... and {} more malformed line(s)",
            c.malformed.len() - MALFORMED_SHOWN_MAX
        );
    }
    let _ = writeln!(
        s,
        "calibrate: {} sample(s) from {} {} line(s), {} malformed{}",
        c.samples_ms.len(),
        c.candidates,
        c.format,
        c.malformed.len(),
        if c.halved {
            "; totals halved (sequential)"
        } else {
            ""
        }
    );
    s
}
