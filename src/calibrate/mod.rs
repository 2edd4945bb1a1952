//! Calibrate: turn observed upgrade timings into an `empirical` distribution for
//! `storage.read_ms`. Input is either log lines in the write-up's format
//! (`[jobId] 📊 WebSocket upgrade timing: { storageDuration: "75ms", … }`) or a CSV with a
//! `storage_ms` column, read line by line. Malformed lines are counted and reported, not
//! fatal; binary input (a NUL byte, invalid UTF-8, a line past [`LINE_BYTES_MAX`]) stops it. The sequential
//! variant's totals are sums of two reads; [`deconvolve`] recovers the law of one read.
//!
//! `input` (the lines read into samples, `calibrate`), `deconvolve` (one read's law from
//! sequential totals), `export` (any format into a calibration), `events` (Cloudflare's event exports: `wrangler tail`, Logpush, a Tail
//! Worker's events, Analytics Engine rows, read into samples and what production observed). The scenario snippet it makes is written by `report::snippet`.

mod deconvolve;
pub mod events;
mod export;
mod input;

pub use deconvolve::{deconvolve, Deconvolution, EM_ITERATIONS_MAX, GRID_BINS_MAX};
pub use export::calibrate_export;
pub use input::{
    calibrate, Calibration, InputError, ReadSummary, LINE_BYTES_MAX, MALFORMED_KEPT_MAX,
};
