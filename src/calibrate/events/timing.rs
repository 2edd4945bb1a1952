//! The write-up's timing line inside a log message. `console.log` in a Worker arrives as the
//! array of its arguments: `["[job-1] 📊 WebSocket upgrade timing:", {"storageDuration":
//! "75ms", …}]` (the object serialised as JSON), or one string holding it all (the reference
//! Worker's template string). Either way the marker names the line and `storageDuration` its
//! storage time; `totalUpgrade` and a `cold`/`coldStart` flag are read when present.

use serde_json::Value;

const MARKER: &str = "WebSocket upgrade timing";

/// One timing line.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// `storageDuration` in ms, or why it could not be read.
    pub storage_ms: Result<f64, String>,
    pub total_ms: Option<f64>,
    /// What the line says of the object's start, when it says.
    pub cold: Option<bool>,
}

/// The timing line in `message` (a log entry's message: an array of arguments or a string),
/// if it holds one.
pub fn find(message: &Value) -> Option<Timing> {
    let parts: Vec<&Value> = match message {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let marked = parts
        .iter()
        .any(|p| p.as_str().is_some_and(|s| s.contains(MARKER)));
    if !marked {
        return None;
    }
    if let Some(obj) = parts.iter().find_map(|p| p.as_object()) {
        let ms = |key: &str| obj.get(key).map(ms_of);
        return Some(Timing {
            storage_ms: ms("storageDuration").unwrap_or_else(|| Err("no storageDuration".into())),
            total_ms: ms("totalUpgrade")
                .or_else(|| ms("totalUpgradeDuration"))
                .and_then(Result::ok),
            cold: obj
                .get("cold")
                .or_else(|| obj.get("coldStart"))
                .and_then(flag),
        });
    }
    let text: String = parts
        .iter()
        .filter_map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Some(Timing {
        storage_ms: crate::calibrate::input::storage_duration(&text),
        total_ms: None,
        cold: None,
    })
}

/// A duration as a log or a row gives it: a number of ms, or a string such as `"75ms"` or
/// `"75"`.
pub fn ms_of(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| format!("{n} is not a number of ms"))
            .and_then(|x| crate::calibrate::input::ms_value(&x.to_string())),
        Value::String(s) => {
            let t = s.trim();
            crate::calibrate::input::ms_value(t.strip_suffix("ms").unwrap_or(t))
        }
        other => Err(format!("{other} is not a duration")),
    }
}

/// `true`/`false`, or `"cold"`/`"warm"` (and `"true"`/`"false"`).
pub fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "cold" | "true" => Some(true),
            "warm" | "false" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|x| x != 0.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_line_is_found_as_arguments_and_as_one_string() {
        let args = json!(["[job-1] 📊 WebSocket upgrade timing:", {"storageDuration": "75ms", "totalUpgrade": "90ms", "cold": true}]);
        let t = find(&args).unwrap();
        assert_eq!(t.storage_ms, Ok(75.0));
        assert_eq!(t.total_ms, Some(90.0));
        assert_eq!(t.cold, Some(true));
        let one = json!(["[job-1] 📊 WebSocket upgrade timing: { storageDuration: \"182ms\", totalUpgrade: \"196ms\" }"]);
        assert_eq!(find(&one).unwrap().storage_ms, Ok(182.0));
        // Logpush was seen to reverse the arguments: order does not matter.
        let reversed = json!([{"storageDuration": 80}, "WebSocket upgrade timing"]);
        assert_eq!(find(&reversed).unwrap().storage_ms, Ok(80.0));
        assert!(find(&json!(["No WebSocket connection available"])).is_none());
        let bad = json!(["WebSocket upgrade timing:", {"storageDuration": "soon"}]);
        assert!(find(&bad).unwrap().storage_ms.is_err());
    }
}
