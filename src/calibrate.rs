//! Calibrate: turn observed upgrade timings into an `empirical` distribution for
//! `storage.read_ms`. Input is either log lines in the write-up's format
//! (`[jobId] 📊 WebSocket upgrade timing: { storageDuration: "75ms", … }`) or a CSV with a
//! `storage_ms` column. Malformed lines are counted and reported, not fatal.

use std::fmt::Write as _;

use crate::scenario::{EMPIRICAL_SAMPLES_MAX, LATENCY_MS_MAX};

const MARKER: &str = "WebSocket upgrade timing";

/// What was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Per-read samples in ms, in input order.
    pub samples_ms: Vec<f64>,
    /// `log` or `csv`.
    pub format: &'static str,
    /// Timing lines (log) or data rows (CSV) seen.
    pub candidates: usize,
    /// (1-based line number, why) of lines that looked like data but could not be read.
    pub malformed: Vec<(usize, String)>,
    /// Whether totals were halved (the logs came from the sequential variant).
    pub halved: bool,
    /// Samples dropped past [`EMPIRICAL_SAMPLES_MAX`].
    pub dropped: usize,
}

fn ms_value(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !(0.0..=LATENCY_MS_MAX).contains(&v) {
        return Err(format!("{v} is outside 0..={LATENCY_MS_MAX} ms"));
    }
    Ok(v)
}

/// `storageDuration: "75ms"` (quotes optional) → 75.
fn storage_duration(line: &str) -> Result<f64, String> {
    let at = line
        .find("storageDuration")
        .ok_or_else(|| "no storageDuration".to_string())?;
    let rest = line[at + "storageDuration".len()..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| "no ':' after storageDuration".to_string())?
        .trim_start()
        .trim_start_matches(['"', '\'']);
    let end = rest
        .find("ms")
        .ok_or_else(|| "storageDuration has no 'ms' unit".to_string())?;
    ms_value(&rest[..end])
}

/// Reads `text`; `sequential` halves each total into a per-read time.
pub fn calibrate(text: &str, sequential: bool) -> Calibration {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let csv_header = !first.contains(MARKER) && first.split(',').any(|c| c.trim() == "storage_ms");
    let mut c = Calibration {
        samples_ms: Vec::new(),
        format: if csv_header { "csv" } else { "log" },
        candidates: 0,
        malformed: Vec::new(),
        halved: sequential,
        dropped: 0,
    };
    let push = |c: &mut Calibration, v: f64| {
        let v = if sequential { v / 2.0 } else { v };
        if c.samples_ms.len() < EMPIRICAL_SAMPLES_MAX {
            c.samples_ms.push(v);
        } else {
            c.dropped += 1;
        }
    };
    if csv_header {
        let mut reader = ::csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let col = reader
            .headers()
            .ok()
            .and_then(|h| h.iter().position(|c| c.trim() == "storage_ms"));
        let Some(col) = col else {
            c.malformed.push((1, "no storage_ms column".into()));
            return c;
        };
        for row in reader.records() {
            c.candidates += 1;
            let line = c.candidates + 1;
            match row {
                Ok(r) => match r.get(col).map(ms_value) {
                    Some(Ok(v)) => push(&mut c, v),
                    Some(Err(e)) => c.malformed.push((line, e)),
                    None => c
                        .malformed
                        .push((line, "row has no storage_ms field".into())),
                },
                Err(e) => c.malformed.push((line, e.to_string())),
            }
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if !line.contains(MARKER) {
                continue;
            }
            c.candidates += 1;
            match storage_duration(line) {
                Ok(v) => push(&mut c, v),
                Err(e) => c.malformed.push((i + 1, e)),
            }
        }
    }
    c
}

impl Calibration {
    /// A scenario snippet with the distribution and how it was made.
    pub fn snippet(&self, source: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# storage.read_ms calibrated by `handshake-sim calibrate` from {source}"
        );
        let _ = writeln!(
            s,
            "# {} sample(s) from {} {} ({} malformed, skipped{})",
            self.samples_ms.len(),
            self.candidates,
            if self.format == "csv" {
                "CSV row(s)"
            } else {
                "timing line(s)"
            },
            self.malformed.len(),
            if self.dropped > 0 {
                format!(
                    "; {} past the {EMPIRICAL_SAMPLES_MAX}-sample limit dropped",
                    self.dropped
                )
            } else {
                String::new()
            }
        );
        if self.halved {
            let _ = writeln!(
                s,
                "# per read = storageDuration / 2: the logs were declared sequential (two reads back to back)"
            );
        } else {
            let _ = writeln!(
                s,
                "# per read = storageDuration as logged: right for one round trip (batched); from parallel\n# logs it is the max of two reads and reads high, from sequential logs pass --sequential"
            );
        }
        let values: Vec<String> = self.samples_ms.iter().map(|v| format!("{v}")).collect();
        let _ = writeln!(
            s,
            "[storage]\nread_ms = {{ empirical = [{}] }}",
            values.join(", ")
        );
        s
    }
}
