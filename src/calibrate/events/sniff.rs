//! Which export a file is, from its content: gzip (by its magic bytes) is decompressed, with a
//! bound, then the first 64 KiB decide — a JSON array is a Tail Worker's events, a JSON object
//! is Analytics Engine's response (`meta` and `data`), a Logpush Workers Trace Event
//! (`EventTimestampMs`), a `wrangler tail` event (`eventTimestamp`) or an Analytics Engine row
//! (JSONEachRow); a CSV whose header names `storageDuration` or `outcome` is Analytics Engine
//! rows; anything else is a text log or CSV (`calibrate`'s own formats).

use std::io::{BufRead, BufReader, Read};

use super::stream::Capped;
use crate::calibrate::input::InputError;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Log lines in the write-up's format, or a CSV with a `storage_ms` column.
    Text,
    /// `wrangler tail --format json`: one pretty-printed JSON object per event.
    WranglerTail,
    /// Logpush's Workers Trace Events: NDJSON, one event per line.
    Logpush,
    /// The `events` array a Tail Worker's `tail()` receives, as JSON.
    TailWorker,
    /// Analytics Engine SQL API's default JSON: `{"meta": […], "data": [rows], "rows": N}`.
    AnalyticsJson,
    /// Analytics Engine SQL API's `FORMAT JSONEachRow`: one JSON object per row.
    AnalyticsRows,
    /// Analytics Engine SQL API's `FORMAT TabSeparated`: no header, so the columns are named
    /// by `--columns`.
    AnalyticsTsv,
    /// Analytics Engine rows as CSV with a header (the API documents no CSV; a user's export
    /// or conversion), the columns named by the header.
    AnalyticsCsv,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Text,
        Format::WranglerTail,
        Format::Logpush,
        Format::TailWorker,
        Format::AnalyticsJson,
        Format::AnalyticsRows,
        Format::AnalyticsTsv,
        Format::AnalyticsCsv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::WranglerTail => "wrangler-tail",
            Format::Logpush => "logpush",
            Format::TailWorker => "tail-worker",
            Format::AnalyticsJson => "analytics-json",
            Format::AnalyticsRows => "analytics-rows",
            Format::AnalyticsTsv => "analytics-tsv",
            Format::AnalyticsCsv => "analytics-csv",
        }
    }

    pub fn parse(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format {s:?}; expected auto, {}", names.join(", "))
            })
    }
}

/// Bytes looked at to decide the format.
const SNIFF_BYTES: usize = 64 * 1024;

/// The input, decompressed when it is gzip, and its format: `forced` when given, else the
/// content's.
pub fn open(
    input: impl Read + 'static,
    forced: Option<Format>,
) -> Result<(Format, Box<dyn BufRead>), InputError> {
    // Two bytes read whole (a pipe may give one at a time), then put back in front.
    let mut raw = BufReader::new(input);
    let mut magic = Vec::with_capacity(2);
    (&mut raw).take(2).read_to_end(&mut magic)?;
    let gzip = magic == [0x1f, 0x8b];
    let raw = std::io::Cursor::new(magic).chain(raw);
    let mut plain: Box<dyn BufRead> = if gzip {
        let decoder = flate2::read::MultiGzDecoder::new(raw);
        Box::new(BufReader::new(Capped::new(decoder)))
    } else {
        Box::new(BufReader::new(raw))
    };
    if let Some(f) = forced {
        return Ok((f, plain));
    }
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    (&mut plain)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)?;
    let format = decide(&prefix);
    let whole = std::io::Cursor::new(prefix).chain(plain);
    Ok((format, Box::new(BufReader::new(whole))))
}

/// The format `prefix` (the input's first bytes) shows.
fn decide(prefix: &[u8]) -> Format {
    let text = String::from_utf8_lossy(prefix);
    let body = text.trim_start_matches('\u{feff}').trim_start();
    let has = |key: &str| text.contains(&format!("\"{key}\""));
    // A JSON array opens with `[` then an object or its end; a log line may open with `[job-1]`.
    let array = body
        .strip_prefix('[')
        .is_some_and(|rest| matches!(rest.trim_start().chars().next(), Some('{' | ']')));
    match body.chars().next() {
        Some('[') if array => Format::TailWorker,
        Some('{') if matches!(first_key(body), Some("meta" | "data" | "rows")) => {
            Format::AnalyticsJson
        }
        Some('{') if has("EventTimestampMs") || has("Outcome") => Format::Logpush,
        Some('{') if has("eventTimestamp") || (has("outcome") && has("logs")) => {
            Format::WranglerTail
        }
        Some('{') => Format::AnalyticsRows,
        _ if csv_of_rows(body) => Format::AnalyticsCsv,
        _ => Format::Text,
    }
}

/// A CSV header naming the write-up's columns (not `calibrate`'s own `storage_ms` CSV).
fn csv_of_rows(body: &str) -> bool {
    let header = body.lines().next().unwrap_or("");
    let names: Vec<&str> = header
        .split(',')
        .map(|f| f.trim().trim_matches('"'))
        .collect();
    names.len() > 1
        && !names.contains(&"storage_ms")
        && names
            .iter()
            .any(|n| *n == "storageDuration" || *n == "outcome")
}

/// The first key of the object `body` opens, when it is a plain string.
fn first_key(body: &str) -> Option<&str> {
    let rest = body.strip_prefix('{')?.trim_start().strip_prefix('"')?;
    rest.split('"').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_export_is_known_by_its_first_bytes() {
        let cases: [(&str, Format); 9] = [
            (
                "[{\"scriptName\":\"w\",\"outcome\":\"ok\"}]",
                Format::TailWorker,
            ),
            (
                "{\"meta\":[],\"data\":[],\"rows\":0}",
                Format::AnalyticsJson,
            ),
            (
                "{\"data\":[{\"outcome\":\"ok\"}],\"meta\":[]}",
                Format::AnalyticsJson,
            ),
            (
                "{\"EventTimestampMs\":1,\"Outcome\":\"ok\"}\n",
                Format::Logpush,
            ),
            (
                "{\n    \"outcome\": \"ok\",\n    \"eventTimestamp\": 1\n}\n",
                Format::WranglerTail,
            ),
            (
                "{\"outcome\":\"canceled\",\"storageDuration\":75}\n",
                Format::AnalyticsRows,
            ),
            (
                "[job-1] 📊 WebSocket upgrade timing: { storageDuration: \"75ms\" }\n",
                Format::Text,
            ),
            ("storage_ms\n75\n", Format::Text),
            (
                "outcome,storageDuration,colo\ncanceled,180,SJC\n",
                Format::AnalyticsCsv,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(decide(text.as_bytes()), want, "{text}");
        }
    }
}
