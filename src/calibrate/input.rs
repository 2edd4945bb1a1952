//! The calibration input: timing log lines in the write-up's format or a CSV with a
//! `storage_ms` column, read one bounded line at a time into per-read samples (sequential
//! totals deconvolved), with malformed lines counted; binary input stops the read.

use statrs::statistics::{Data, OrderStatistics as _, Statistics as _};

use super::deconvolve::{deconvolve, Deconvolution};
use crate::scenario::{EMPIRICAL_SAMPLES_MAX, LATENCY_MS_MAX};

const MARKER: &str = "WebSocket upgrade timing";

/// What was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Per-read samples in ms: the values as read, in input order; for sequential logs the
    /// recovered per-read distribution's quantiles, ascending, one per total read.
    pub samples_ms: Vec<f64>,
    /// `log`, `csv`, or the event export's format (`wrangler-tail`, `logpush`, …).
    pub format: &'static str,
    /// Timing lines (log) or data rows (CSV) seen.
    pub candidates: usize,
    /// (1-based line number, why) of lines that looked like data but could not be read: the
    /// first [`MALFORMED_KEPT_MAX`].
    pub malformed: Vec<(usize, String)>,
    /// Every malformed line, kept or not.
    pub malformed_count: usize,
    /// How the totals were split into reads when the logs came from the sequential variant;
    /// `None`: each total is taken as one read.
    pub deconvolution: Option<Deconvolution>,
    /// Samples dropped past [`EMPIRICAL_SAMPLES_MAX`].
    pub dropped: usize,
}

/// Mean, standard deviation and 95th percentile of the per-read samples, ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadSummary {
    pub mean_ms: f64,
    pub sd_ms: f64,
    pub p95_ms: f64,
}

pub(crate) fn ms_value(s: &str) -> Result<f64, String> {
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
pub(crate) fn storage_duration(line: &str) -> Result<f64, String> {
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

/// Longest input line read, in bytes (1 MiB); a longer one stops the read (not a text log).
pub const LINE_BYTES_MAX: usize = 1024 * 1024;
/// Malformed lines kept with their reason; past it they are only counted.
pub const MALFORMED_KEPT_MAX: usize = 1_000;

/// Input that is not a text log or CSV: reading stops at the first such line.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("line {line} is longer than {LINE_BYTES_MAX} bytes; calibrate reads text logs or CSV")]
    LineTooLong { line: usize },
    #[error("line {line} holds a NUL byte: binary data, not a text log or CSV")]
    Binary { line: usize },
    #[error("line {line} is not UTF-8 text (byte {byte} of the line)")]
    NotUtf8 { line: usize, byte: usize },
    #[error(
        "line {line}: an event longer than {max_bytes} bytes; calibrate reads one event at a time"
    )]
    EventTooLong { line: usize, max_bytes: u64 },
    #[error("line {line}: not JSON as the format needs: {why}")]
    Json { line: usize, why: String },
    #[error("the event ending on line {line}: {why}")]
    Event { line: usize, why: String },
    #[error("unreadable input: {why}")]
    Corrupt { why: String },
    #[error("reading: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for InputError {
    /// Data that cannot be decoded (a corrupt or truncated gzip, one that decompresses past
    /// the bound) is input; a read that failed is not.
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::InvalidData | K::InvalidInput | K::UnexpectedEof => {
                InputError::Corrupt { why: e.to_string() }
            }
            _ => InputError::Io(e),
        }
    }
}

impl crate::failure::BadInput for InputError {
    /// A log that is no text log is input; a read that failed is not.
    fn is_bad_input(&self) -> bool {
        !matches!(self, InputError::Io(_))
    }
}

impl InputError {
    /// The 1-based line the read stopped on, if it stopped on one.
    pub fn line(&self) -> Option<usize> {
        match self {
            InputError::LineTooLong { line }
            | InputError::Binary { line }
            | InputError::NotUtf8 { line, .. }
            | InputError::EventTooLong { line, .. }
            | InputError::Json { line, .. }
            | InputError::Event { line, .. } => Some(*line),
            InputError::Corrupt { .. } | InputError::Io(_) => None,
        }
    }
}

/// Text lines read one at a time, each at most [`LINE_BYTES_MAX`] bytes: memory stays one
/// line however large the input, and binary input stops the read at its first line.
pub(crate) struct Lines<R> {
    input: R,
    buf: Vec<u8>,
    /// Lines read so far (the 1-based number of the current one).
    n: usize,
}

impl<R: std::io::BufRead> Lines<R> {
    pub(crate) fn new(input: R) -> Self {
        Lines {
            input,
            buf: Vec::new(),
            n: 0,
        }
    }

    /// The next line (its 1-based number, its text without `\n` or `\r\n`); `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, &str)>, InputError> {
        use std::io::{BufRead as _, Read as _};
        self.buf.clear();
        let got = (&mut self.input)
            .take(LINE_BYTES_MAX as u64 + 1)
            .read_until(b'\n', &mut self.buf)?;
        if got == 0 {
            return Ok(None);
        }
        self.n += 1;
        let line = self.n;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if self.buf.contains(&0) {
            return Err(InputError::Binary { line });
        }
        if self.buf.len() > LINE_BYTES_MAX {
            return Err(InputError::LineTooLong { line });
        }
        std::str::from_utf8(&self.buf)
            .map(|text| Some((line, text)))
            .map_err(|e| InputError::NotUtf8 {
                line,
                byte: e.valid_up_to() + 1,
            })
    }
}

/// Reads `input` line by line; `sequential` says each total is the sum of two reads, and the
/// per-read law is then recovered by `deconvolve`. Memory is bounded: one line, at most
/// [`EMPIRICAL_SAMPLES_MAX`] samples and [`MALFORMED_KEPT_MAX`] malformed lines.
pub fn calibrate(
    input: impl std::io::BufRead,
    sequential: bool,
) -> Result<Calibration, InputError> {
    let mut c = read_totals(&mut Lines::new(input))?;
    if sequential && !c.samples_ms.is_empty() {
        let (per_read_ms, how) = deconvolve(&c.samples_ms);
        c.samples_ms = per_read_ms;
        c.deconvolution = Some(how);
    }
    Ok(c)
}

impl Calibration {
    pub(super) fn empty(format: &'static str) -> Self {
        Calibration {
            samples_ms: Vec::new(),
            format,
            candidates: 0,
            malformed: Vec::new(),
            malformed_count: 0,
            deconvolution: None,
            dropped: 0,
        }
    }

    pub(super) fn push(&mut self, v: f64) {
        if self.samples_ms.len() < EMPIRICAL_SAMPLES_MAX {
            self.samples_ms.push(v);
        } else {
            self.dropped += 1;
        }
    }

    pub(super) fn malformed_at(&mut self, line: usize, why: String) {
        self.malformed_count += 1;
        if self.malformed.len() < MALFORMED_KEPT_MAX {
            self.malformed.push((line, why));
        }
    }
}

/// The totals as logged, in input order. The first non-blank line decides the format: a CSV
/// header naming `storage_ms`, else a log.
pub(super) fn read_totals<R: std::io::BufRead>(
    lines: &mut Lines<R>,
) -> Result<Calibration, InputError> {
    let mut c = Calibration::empty("log");
    let mut csv_col: Option<Option<usize>> = None;
    while let Some((n, line)) = lines.next_line()? {
        match csv_col {
            None if line.trim().is_empty() => continue,
            None => {
                if !line.contains(MARKER) && line.split(',').any(|f| f.trim() == "storage_ms") {
                    c.format = "csv";
                    let col = csv_fields(line)
                        .and_then(|h| h.iter().position(|f| f.trim() == "storage_ms"));
                    if col.is_none() {
                        c.malformed_at(1, "no storage_ms column".into());
                        return Ok(c);
                    }
                    csv_col = Some(col);
                } else {
                    csv_col = Some(None);
                    log_line(&mut c, n, line);
                }
            }
            Some(Some(col)) => csv_row(&mut c, col, line),
            Some(None) => log_line(&mut c, n, line),
        }
    }
    Ok(c)
}

/// One log line: a timing line gives a total, any other line is skipped.
fn log_line(c: &mut Calibration, n: usize, line: &str) {
    if !line.contains(MARKER) {
        return;
    }
    c.candidates += 1;
    match storage_duration(line) {
        Ok(v) => c.push(v),
        Err(e) => c.malformed_at(n, e),
    }
}

/// The fields of one CSV line (`None` if it is not one).
fn csv_fields(line: &str) -> Option<::csv::StringRecord> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes())
        .records()
        .next()
        .and_then(Result::ok)
}

/// One CSV data row (a blank line is no row); rows are numbered from the header's 1.
fn csv_row(c: &mut Calibration, col: usize, line: &str) {
    if line.is_empty() {
        return;
    }
    c.candidates += 1;
    let row = c.candidates + 1;
    match csv_fields(line) {
        Some(r) => match r.get(col).map(ms_value) {
            Some(Ok(v)) => c.push(v),
            Some(Err(e)) => c.malformed_at(row, e),
            None => c.malformed_at(row, "row has no storage_ms field".into()),
        },
        None => c.malformed_at(row, "not a CSV row".into()),
    }
}

impl Calibration {
    /// Mean, population sd and 95th percentile of the per-read samples; `None` without any.
    pub fn summary(&self) -> Option<ReadSummary> {
        if self.samples_ms.is_empty() {
            return None;
        }
        Some(ReadSummary {
            mean_ms: self.samples_ms.iter().mean(),
            sd_ms: self.samples_ms.iter().population_std_dev(),
            p95_ms: Data::new(self.samples_ms.clone()).quantile(0.95),
        })
    }
}
