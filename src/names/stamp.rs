//! What every JSON output says about itself: the tool, its version and the version of the
//! layout; and, for the outputs that measured real time (`bench`, `conform`), the machine and
//! the time. Simulated outputs carry no date and no host: the same inputs give the same bytes.

use schemars::JsonSchema;
use serde::Serialize;
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

/// Where and when a measurement of real time ran: it means little without the machine and
/// the hour. Flattened into the outputs of `bench`, `probe` and `conform`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Live {
    pub host: Host,
    /// When it finished, UTC to the second (`2026-12-06T16:45:03Z`).
    pub finished_at: String,
}

/// The machine a measurement ran on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Host {
    pub os: &'static str,
    pub arch: &'static str,
    /// Cores this process may use (0 when unknown).
    pub cores: usize,
}

impl Live {
    /// This machine, now.
    pub fn now() -> Live {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Live {
            host: Host {
                os: std::env::consts::OS,
                arch: std::env::consts::ARCH,
                cores,
            },
            finished_at: utc(secs),
        }
    }
}

/// [`stamp`], and [`Live`]'s `host` and `finished_at`.
pub fn stamp_live(v: &mut Value) {
    stamp(v);
    let live = serde_json::to_value(Live::now()).expect("plain types serialise");
    if let (Some(o), Value::Object(l)) = (v.as_object_mut(), live) {
        o.extend(l);
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
