//! What every JSON output says about itself: the tool, its version and the version of the
//! layout; and, for the outputs that measured real time (`bench`, `conform`), the machine and
//! the time. Simulated outputs carry no date and no host: the same inputs give the same bytes.

use serde_json::Value;

pub const TOOL: &str = "handshake-sim";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The layout of the JSON outputs: raised when a key is renamed or removed or changes what it
/// means; a new key leaves it as it is. Every JSON output carries it as `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// Adds `tool`, `version` and `schema_version` to a JSON object.
pub fn stamp(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert("tool".into(), TOOL.into());
        o.insert("version".into(), VERSION.into());
        o.insert("schema_version".into(), SCHEMA_VERSION.into());
    }
}

/// [`stamp`], and `host` (OS, architecture, cores) and `finished_at` (UTC, to the second): a
/// measurement of real time means little without the machine and the hour it ran.
pub fn stamp_live(v: &mut Value) {
    stamp(v);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let host = serde_json::json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cores": cores,
    });
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(o) = v.as_object_mut() {
        o.insert("host".into(), host);
        o.insert("finished_at".into(), utc(secs).into());
    }
}

/// `2026-12-06T16:45:03Z` for seconds since the Unix epoch (the proleptic Gregorian calendar,
/// by Howard Hinnant's days-to-civil algorithm).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_575_503), "2026-12-06T16:45:03Z");
    }
}
