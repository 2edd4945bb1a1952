//! A trace event — `wrangler tail`'s and a Tail Worker's (camelCase: `outcome`, `event.request`,
//! `logs[].message`) or Logpush's Workers Trace Event (PascalCase: `Outcome`, `Event.Request`,
//! `Logs[].Message`) — as what it means for the upgrade. The Worker's event for a request on
//! the progress route is an upgrade, whose `outcome` is the one the write-up counted
//! (`canceled`: the client was gone before the answer). The Durable Object's own event
//! (`executionModel: "durableObject"`, or an entrypoint class) carries the timing line; it is
//! the same upgrade seen again, so only its timing counts. An event of the other casing than
//! the file's is a mixed file, refused.

use serde_json::{Map, Value};

use super::sniff::Format;
use super::timing::{self, Timing};
use super::{Options, Seen};

/// The member `name` in camelCase files, `Name` in Logpush's.
fn member<'a>(obj: &'a Map<String, Value>, camel: &str, logpush: bool) -> Option<&'a Value> {
    if logpush {
        let mut pascal = camel[..1].to_ascii_uppercase();
        pascal.push_str(&camel[1..]);
        obj.get(&pascal)
    } else {
        obj.get(camel)
    }
}

/// The event `v` of a file in `format`.
pub fn seen(v: &Value, format: Format, options: &Options) -> Result<Seen, String> {
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "expected a trace event (a JSON object), got {}",
            kind(v)
        ));
    };
    let logpush = format == Format::Logpush;
    check_casing(obj, logpush)?;
    let timing = logs_timing(obj, logpush);
    let object_event = obj.get("executionModel").and_then(Value::as_str) == Some("durableObject")
        || member(obj, "entrypoint", logpush)
            .and_then(Value::as_str)
            .is_some_and(|e| !e.is_empty() && e != "default");
    let event = member(obj, "event", logpush).and_then(Value::as_object);
    let request = event
        .and_then(|e| member(e, "request", logpush))
        .and_then(Value::as_object);
    let url = request
        .and_then(|r| member(r, "url", logpush).or_else(|| r.get("URL")))
        .and_then(Value::as_str);
    let on_route = url.is_some_and(|u| path_of(u) == options.route);
    if object_event {
        return Ok(match timing {
            Some(t) => Seen::ObjectTiming(t),
            None => Seen::Skipped("the object's event without a timing line"),
        });
    }
    if !on_route {
        return Ok(match timing {
            Some(t) => Seen::ObjectTiming(t),
            None if request.is_none() => Seen::Skipped("not a request (alarm, RPC, …)"),
            None => Seen::Skipped("a request on another route"),
        });
    }
    let Some(outcome) = member(obj, "outcome", logpush)
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Ok(match timing {
            Some(t) => Seen::ObjectTiming(t),
            None => Seen::Skipped("a request without an outcome"),
        });
    };
    let outcome = Some(outcome);
    let cf = request.and_then(|r| r.get("cf")).and_then(Value::as_object);
    let colo = cf
        .and_then(|c| c.get("colo"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let network = options.network_header.as_ref().and_then(|h| {
        request
            .and_then(|r| member(r, "headers", logpush))
            .and_then(Value::as_object)
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(h))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_string)
            })
    });
    Ok(Seen::Upgrade {
        outcome,
        colo,
        network,
        timing,
    })
}

/// A camelCase event in a Logpush file, or the reverse, is a mixed file.
fn check_casing(obj: &Map<String, Value>, logpush: bool) -> Result<(), String> {
    let camel = ["outcome", "eventTimestamp", "logs", "scriptName"]
        .iter()
        .any(|k| obj.contains_key(*k));
    let pascal = ["Outcome", "EventTimestampMs", "Logs", "ScriptName"]
        .iter()
        .any(|k| obj.contains_key(*k));
    match (logpush, camel, pascal) {
        (true, true, false) => Err(
            "a wrangler tail or Tail Worker event (camelCase) in a Logpush file: one format per file"
                .into(),
        ),
        (false, false, true) => Err(
            "a Logpush event (PascalCase) in a wrangler tail or Tail Worker file: one format per file"
                .into(),
        ),
        (_, false, false) => Err(
            "no trace event fields (outcome, eventTimestamp, logs, scriptName or Logpush's Outcome, EventTimestampMs, Logs, ScriptName)"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// The first timing line among the event's log messages.
fn logs_timing(obj: &Map<String, Value>, logpush: bool) -> Option<Timing> {
    member(obj, "logs", logpush)?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|log| member(log, "message", logpush))
        .find_map(timing::find)
}

/// The path of a URL (`https://host/ws/progress?jobId=…` → `/ws/progress`); a path alone is
/// its own.
fn path_of(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => url,
    };
    rest.split(['?', '#']).next().unwrap_or(rest)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_workers_event_is_an_upgrade_and_the_objects_gives_its_timing() {
        let o = Options::default();
        let worker = json!({"outcome": "canceled", "scriptName": "w", "eventTimestamp": 1,
            "event": {"request": {"url": "https://x.dev/ws/progress?jobId=j&token=t", "method": "GET",
                "headers": {"x-network": "cellular"}, "cf": {"colo": "SJC"}}},
            "logs": [], "exceptions": []});
        let seen_w = seen(
            &worker,
            Format::WranglerTail,
            &Options {
                network_header: Some("X-Network".into()),
                ..o.clone()
            },
        );
        assert_eq!(
            seen_w,
            Ok(Seen::Upgrade {
                outcome: Some("canceled".into()),
                colo: Some("SJC".into()),
                network: Some("cellular".into()),
                timing: None
            })
        );
        let object = json!({"outcome": "ok", "scriptName": "w", "eventTimestamp": 2,
            "executionModel": "durableObject", "entrypoint": "ProgressWebSocketDO",
            "event": {"request": {"url": "https://x.dev/ws/progress?jobId=j", "method": "GET"}},
            "logs": [{"message": ["[j] 📊 WebSocket upgrade timing:", {"storageDuration": "170ms"}], "level": "log", "timestamp": 3}]});
        assert!(
            matches!(seen(&object, Format::TailWorker, &o), Ok(Seen::ObjectTiming(t)) if t.storage_ms == Ok(170.0))
        );
        let logpush = json!({"Outcome": "ok", "EventTimestampMs": 1, "ScriptName": "w", "Entrypoint": "",
            "Event": {"RayID": "r", "Request": {"URL": "https://x.dev/api/enrichment/batch", "Method": "POST"}},
            "Logs": [], "Exceptions": []});
        assert_eq!(
            seen(&logpush, Format::Logpush, &o),
            Ok(Seen::Skipped("a request on another route"))
        );
        assert!(seen(&logpush, Format::WranglerTail, &o)
            .unwrap_err()
            .contains("one format per file"));
        assert!(seen(&worker, Format::Logpush, &o)
            .unwrap_err()
            .contains("one format per file"));
    }
}
