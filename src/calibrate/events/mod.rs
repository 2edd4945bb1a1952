//! Cloudflare's own exports read as upgrades: `wrangler tail --format json`, Logpush Workers
//! Trace Events (NDJSON, gzip or not), the events array a Tail Worker receives, and Analytics
//! Engine SQL rows (its JSON response, JSONEachRow, TabSeparated with the columns named, or a
//! CSV with a header).
//! Each event is one [`Seen`]: a request on the progress route (the Worker's, whose `outcome`
//! is what the write-up's monitoring counts), the object's timing line, or something skipped
//! for a named reason. `sniff` picks the format from the content, `stream` reads JSON values
//! one bounded value at a time, `trace` and `rows` turn them into [`Seen`], `timing` finds the
//! timing line in a log message.

mod rows;
mod sniff;
mod stream;
mod timing;
mod trace;

use std::collections::BTreeMap;

pub use rows::{Columns, COLUMN_ROLES};
pub use sniff::{open, Format};
pub use stream::{DECOMPRESSED_BYTES_MAX, EVENT_BYTES_MAX};
pub use timing::Timing;

use super::input::InputError;

/// How to read an export.
#[derive(Debug, Clone)]
pub struct Options {
    /// The path of the progress upgrade (default `/ws/progress`).
    pub route: String,
    /// A request header naming the client's network (`--network-header`), if the app sends one.
    pub network_header: Option<String>,
    /// Analytics Engine column names by role.
    pub columns: Columns,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            route: "/ws/progress".into(),
            network_header: None,
            columns: Columns::default(),
        }
    }
}

/// What one event is.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// A request on the progress route, as the Worker saw it (or an Analytics Engine row): its
    /// outcome, where it landed, the client's network; and the timing line when it carries one.
    Upgrade {
        outcome: Option<String>,
        colo: Option<String>,
        network: Option<String>,
        timing: Option<Timing>,
    },
    /// The object's own event with the timing line (the upgrade's `fetch` in the Durable
    /// Object: a trace event of its own).
    ObjectTiming(Timing),
    /// An event counted and skipped, with why.
    Skipped(&'static str),
}

/// Most distinct colos, networks or outcomes counted by name; more are counted as `(others)`
/// (any event can name any string).
pub const KEYS_MAX: usize = 1_000;

/// The entry of `key` in `map`, or `(others)` once the map holds [`KEYS_MAX`] names.
fn entry<V: Default>(map: &mut BTreeMap<String, V>, key: String) -> &mut V {
    let key = if map.len() >= KEYS_MAX && !map.contains_key(&key) {
        "(others)".to_string()
    } else {
        key
    };
    map.entry(key).or_default()
}

/// Upgrades and canceled ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Tally {
    pub upgrades: u64,
    pub canceled: u64,
}

/// What production says, from the events: the upgrades the Worker served on the progress
/// route, how they ended, where, and over which network; the timing lines.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Observed {
    pub format: &'static str,
    pub events: u64,
    pub upgrades: Tally,
    /// Upgrades by `outcome` (`ok`, `canceled`, `exception`, …; `(none)` when absent).
    pub outcomes: BTreeMap<String, u64>,
    /// By `cf.colo` (the data centre's IATA code), when the events carry it.
    pub by_colo: BTreeMap<String, Tally>,
    /// By the client's network (`--network-header`, or an Analytics Engine column).
    pub by_network: BTreeMap<String, Tally>,
    /// By the object's start (`cold`, `warm`), for upgrades whose own event or row says it.
    pub by_start: BTreeMap<String, Tally>,
    /// Timing lines found, and how many said cold or warm.
    pub timing_lines: u64,
    pub cold_lines: u64,
    pub warm_lines: u64,
    /// Events skipped, by why.
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Observed {
    fn new(format: Format) -> Self {
        Observed {
            format: format.name(),
            ..Observed::default()
        }
    }

    /// Counts one event; its timing line, if any, for the caller to sample.
    fn add(&mut self, seen: Seen) -> Option<Timing> {
        self.events += 1;
        let timing = match seen {
            Seen::Upgrade {
                outcome,
                colo,
                network,
                timing,
            } => {
                let canceled = outcome.as_deref() == Some("canceled");
                let count = |t: &mut Tally| {
                    t.upgrades += 1;
                    t.canceled += u64::from(canceled);
                };
                count(&mut self.upgrades);
                *entry(
                    &mut self.outcomes,
                    outcome.unwrap_or_else(|| "(none)".into()),
                ) += 1;
                if let Some(c) = colo {
                    count(entry(&mut self.by_colo, c));
                }
                if let Some(n) = network {
                    count(entry(&mut self.by_network, n));
                }
                if let Some(cold) = timing.as_ref().and_then(|t| t.cold) {
                    let start = if cold { "cold" } else { "warm" };
                    count(self.by_start.entry(start.to_string()).or_default());
                }
                timing
            }
            Seen::ObjectTiming(t) => Some(t),
            Seen::Skipped(why) => {
                *self.skipped.entry(why).or_default() += 1;
                None
            }
        };
        if let Some(t) = &timing {
            self.timing_lines += 1;
            match t.cold {
                Some(true) => self.cold_lines += 1,
                Some(false) => self.warm_lines += 1,
                None => {}
            }
        }
        timing
    }
}

/// Reads every event of `input` (already past [`open`]) in `format`: the observed figures,
/// and each timing line's storage time (or why it could not be read) through `sample`, with
/// the line the event ended on.
pub fn read(
    input: impl std::io::BufRead,
    format: Format,
    options: &Options,
    mut sample: impl FnMut(usize, Result<f64, String>),
) -> Result<Observed, InputError> {
    let mut observed = Observed::new(format);
    let mut on_seen = |line: usize, seen: Seen| {
        if let Some(t) = observed.add(seen) {
            sample(line, t.storage_ms);
        }
    };
    let mut on_value = |line: usize, v: serde_json::Value| -> Result<(), InputError> {
        let seen = match format {
            Format::WranglerTail | Format::Logpush | Format::TailWorker => {
                trace::seen(&v, format, options)
            }
            Format::AnalyticsJson | Format::AnalyticsRows => rows::seen_json(&v, &options.columns),
            Format::AnalyticsTsv | Format::AnalyticsCsv | Format::Text => {
                unreachable!("not JSON")
            }
        };
        on_seen(line, seen.map_err(|why| InputError::Event { line, why })?);
        Ok(())
    };
    match format {
        Format::WranglerTail | Format::Logpush | Format::AnalyticsRows => {
            stream::values(input, &mut on_value)?
        }
        Format::TailWorker => stream::array(input, &mut on_value)?,
        Format::AnalyticsJson => stream::data_array(input, &mut on_value)?,
        Format::AnalyticsTsv => rows::tsv(input, &options.columns, on_seen)?,
        Format::AnalyticsCsv => rows::csv(input, &options.columns, on_seen)?,
        Format::Text => unreachable!("text logs are read by calibrate::input"),
    }
    Ok(observed)
}
