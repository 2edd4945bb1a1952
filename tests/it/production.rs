//! From production back to the model (issue 24): `calibrate` reads Cloudflare's event exports
//! and `fit --target-from` fits the simulation to what they observed. The "production" here is
//! the simulation itself (`sims/issue407.toml`, sequential, client deadline 240 ms), written in
//! each export's documented shape (synthetic, built from Cloudflare's field lists; see the
//! docs/commands.md, "From production data"): per job the Worker's event on `/ws/progress` (outcome
//! `canceled` when the object served a client that was gone), the object's own event with the
//! write-up's timing line, and the POST's event. So the truth is known: the per-read law
//! (uniform 75–100 ms), the canceled count, the deadline.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use handshake_sim::internal::record::JobRecord;
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim;
use serde_json::{json, Value};

use crate::exec;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hs-production-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The simulated production: issue407's sequential jobs over `seeds`, `jobs` per seed.
fn production(seeds: u64, jobs: Option<u32>) -> Vec<JobRecord> {
    let sets: Vec<String> = jobs
        .map(|j| format!("scenario.jobs={j}"))
        .into_iter()
        .collect();
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    let s = crate::load("issue407.toml", &sets);
    (1..=seeds)
        .flat_map(|seed| {
            sim::run(&s, variant::by_name("sequential").unwrap(), seed)
                .unwrap()
                .records
        })
        .collect()
}

fn colo(i: usize) -> &'static str {
    ["SJC", "LHR", "NRT"][i % 3]
}

fn network(i: usize) -> &'static str {
    ["wifi", "cellular"][i % 2]
}

fn timing_args(r: &JobRecord) -> Value {
    json!([
        format!("[job-{}] 📊 WebSocket upgrade timing:", r.job),
        {
            "storageDuration": format!("{}ms", r.storage_ms.unwrap()),
            "pairCreation": "1ms",
            "accept": "0ms",
            "totalUpgrade": format!("{}ms", r.upgrade_ms.unwrap()),
        }
    ])
}

/// The three trace events of job `i` in camelCase (`wrangler tail`, a Tail Worker).
fn camel_events(i: usize, r: &JobRecord) -> Vec<Value> {
    let t = 1_790_000_000_000u64 + 1000 * i as u64;
    let url = |path: &str| {
        format!(
            "https://api.example.com{path}?jobId=job-{}&token=REDACTED",
            r.job
        )
    };
    let request = |path: &str, method: &str| {
        json!({"url": url(path), "method": method,
               "headers": {"x-network": network(i), "user-agent": "BooksTrack/3.0"},
               "cf": {"colo": colo(i), "asn": 7922}})
    };
    let canceled = r.canceled > 0;
    let mut out = vec![
        json!({"outcome": "ok", "scriptName": "api-worker", "eventTimestamp": t,
               "event": {"request": request("/api/enrichment/batch", "POST"), "response": {"status": 202}},
               "logs": [], "exceptions": [], "diagnosticsChannelEvents": [], "truncated": false}),
        json!({"outcome": if canceled { "canceled" } else { "ok" }, "scriptName": "api-worker",
               "eventTimestamp": t + 60,
               "event": {"request": request("/ws/progress", "GET"), "response": {"status": 101}},
               "logs": [], "exceptions": [], "diagnosticsChannelEvents": [], "truncated": false}),
    ];
    if r.storage_ms.is_some() {
        out.push(
            json!({"outcome": "ok", "scriptName": "api-worker", "eventTimestamp": t + 70,
            "executionModel": "durableObject", "entrypoint": "ProgressWebSocketDO",
            "event": {"request": request("/ws/progress", "GET")},
            "logs": [{"message": timing_args(r), "level": "log", "timestamp": t + 250}],
            "exceptions": [], "diagnosticsChannelEvents": [], "truncated": false}),
        );
    }
    out
}

/// The same events as Logpush Workers Trace Events (PascalCase, no `cf`: Logpush's `Event` has
/// the request's URL and method and the response's status).
fn logpush_events(i: usize, r: &JobRecord) -> Vec<Value> {
    camel_events(i, r)
        .into_iter()
        .map(|e| {
            let req = &e["event"]["request"];
            json!({
                "CPUTimeMs": 1, "DispatchNamespace": "",
                "Entrypoint": e.get("entrypoint").cloned().unwrap_or(json!("")),
                "Event": {"RayID": format!("8f{:014x}", i),
                          "Request": {"URL": req["url"], "Method": req["method"]},
                          "Response": {"Status": 101}},
                "EventTimestampMs": e["eventTimestamp"], "EventType": "fetch",
                "Exceptions": [],
                "Logs": e["logs"].as_array().unwrap().iter().map(|l| json!({
                    "Level": l["level"], "Message": l["message"], "TimestampMs": l["timestamp"]})).collect::<Vec<_>>(),
                "Outcome": e["outcome"], "ScriptName": "api-worker", "ScriptTags": [],
                "ScriptVersion": {"ID": "1e7519b3-08e2-441d-ae10-7c8c6d3b7e17"}, "WallTimeMs": 40,
            })
        })
        .collect()
}

/// One Analytics Engine row per upgrade, with the write-up's column names (aliases).
fn row(i: usize, r: &JobRecord) -> Value {
    json!({
        "outcome": if r.canceled > 0 { "canceled" } else { "ok" },
        "storageDuration": r.storage_ms,
        "totalUpgradeDuration": r.upgrade_ms,
        "colo": colo(i),
        "network": network(i),
        "cold": i % 4 == 0,
    })
}

/// Writes `records` in every export format under `dir`; the files, by format name.
fn write_exports(dir: &Path, records: &[JobRecord]) -> Vec<(&'static str, PathBuf)> {
    let camel: Vec<Value> = records
        .iter()
        .enumerate()
        .flat_map(|(i, r)| camel_events(i, r))
        .collect();
    // wrangler tail --format json: each event pretty-printed with 4 spaces, back to back.
    let mut tail = Vec::new();
    for e in &camel {
        let mut ser = serde_json::Serializer::with_formatter(
            &mut tail,
            serde_json::ser::PrettyFormatter::with_indent(b"    "),
        );
        serde::Serialize::serialize(e, &mut ser).unwrap();
        tail.push(b'\n');
    }
    let mut logpush = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for (i, r) in records.iter().enumerate() {
        for e in logpush_events(i, r) {
            writeln!(logpush, "{}", serde_json::to_string(&e).unwrap()).unwrap();
        }
    }
    let rows: Vec<Value> = records.iter().enumerate().map(|(i, r)| row(i, r)).collect();
    let analytics = json!({
        "meta": [{"name": "outcome", "type": "String"}, {"name": "storageDuration", "type": "Float64"},
                 {"name": "totalUpgradeDuration", "type": "Float64"}, {"name": "colo", "type": "String"},
                 {"name": "network", "type": "String"}],
        "data": rows, "rows": rows.len(),
    });
    let tsv: String = rows
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\n",
                r["outcome"].as_str().unwrap(),
                r["storageDuration"],
                r["colo"].as_str().unwrap()
            )
        })
        .collect();
    let mut csv = String::from("outcome,storageDuration,totalUpgradeDuration,colo,network,cold\n");
    for r in &rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r["outcome"].as_str().unwrap(),
            r["storageDuration"],
            r["totalUpgradeDuration"],
            r["colo"].as_str().unwrap(),
            r["network"].as_str().unwrap(),
            r["cold"]
        ));
    }
    let files: [(&str, &str, Vec<u8>); 6] = [
        ("wrangler-tail", "tail.json", tail),
        (
            "logpush",
            "workers-trace-events.ndjson.gz",
            logpush.finish().unwrap(),
        ),
        (
            "tail-worker",
            "tail-worker-events.json",
            serde_json::to_vec(&camel).unwrap(),
        ),
        (
            "analytics-json",
            "analytics.json",
            serde_json::to_vec(&analytics).unwrap(),
        ),
        ("analytics-tsv", "analytics.tsv", tsv.into_bytes()),
        ("analytics-csv", "analytics.csv", csv.into_bytes()),
    ];
    files
        .into_iter()
        .map(|(format, name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            (format, path)
        })
        .collect()
}

/// `calibrate FILE --sequential --report R` (TabSeparated with its columns named): exit code,
/// report, stderr.
fn calibrate(file: &Path, format: &str, extra: &[&str]) -> (i32, Value, String) {
    let report = file.with_extension("report.json");
    let (f, r) = (file.to_str().unwrap(), report.to_str().unwrap());
    let mut args = vec![
        "calibrate",
        f,
        "--sequential",
        "--report",
        r,
        "--out",
        "/dev/null",
    ];
    if format == "analytics-tsv" {
        args.extend_from_slice(&["--columns", "outcome,storageDuration,colo"]);
    }
    args.extend_from_slice(extra);
    let (code, _, err) = exec(&args, None);
    let v = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    (code, v, err)
}

/// Every format gives the same observed figures and recovers the per-read law; the fitted
/// deadline's interval covers the 240 ms that made the data.
#[test]
fn each_export_recovers_the_law_and_the_canceled_rate_and_fit_finds_the_deadline() {
    let records = production(5, None);
    let canceled = records.iter().filter(|r| r.canceled > 0).count() as u64;
    let totals = records.iter().filter(|r| r.storage_ms.is_some()).count() as u64;
    let dir = tmp("formats");
    for (format, file) in write_exports(&dir, &records) {
        let (code, v, err) = calibrate(&file, format, &["--network-header", "X-Network"]);
        assert_eq!(code, 0, "{format}: {err}");
        assert_eq!(v["format"], format, "{format}: {err}");
        assert_eq!(
            v["observed"]["upgrades"],
            records.len() as u64,
            "{format}: {v:#}"
        );
        assert_eq!(v["observed"]["canceled"], canceled, "{format}: {v:#}");
        assert_eq!(v["timing"]["samples"], totals, "{format}: {v:#}");
        // Uniform 75–100 ms per read: mean 87.5, sd 7.22; deconvolved from 2,000 totals.
        let per_read = &v["timing"]["per_read"];
        let mean = per_read["mean_ms"].as_f64().unwrap();
        let sd = per_read["sd_ms"].as_f64().unwrap();
        eprintln!(
            "{format}: {} upgrades, {canceled} canceled; per read mean {mean:.2} ms, sd {sd:.2} ms, p95 {:.2} ms",
            records.len(),
            per_read["p95_ms"].as_f64().unwrap()
        );
        assert!((mean - 87.5).abs() / 87.5 < 0.01, "{format}: mean {mean}");
        assert!((sd - 7.22).abs() / 7.22 < 0.15, "{format}: sd {sd}");
        if format != "logpush" && format != "analytics-tsv" {
            let colos = v["observed"]["by_colo"].as_object().unwrap();
            assert_eq!(colos.len(), 3, "{format}: {v:#}");
            assert_eq!(
                v["observed"]["by_network"].as_object().unwrap().len(),
                2,
                "{format}"
            );
        }
        if format.starts_with("analytics") && format != "analytics-tsv" {
            // Rows that say cold or warm: a canceled rate for each.
            let by_start = v["observed"]["by_start"].as_object().unwrap();
            assert_eq!(by_start["cold"]["upgrades"], 500, "{format}: {v:#}");
            assert_eq!(by_start["warm"]["upgrades"], 1500, "{format}: {v:#}");
        }
        assert!(err.contains("handshake-sim fit"), "{format}: {err}");
    }
    let report = dir.join("tail.report.json");
    let (code, out, err) = exec(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms",
            "--target-from",
            report.to_str().unwrap(),
            "--variant",
            "sequential",
            "--range",
            "200..300",
            "--seeds",
            "5",
            "--json",
            "-",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let fit: Value = serde_json::from_str(&out).unwrap();
    let (lo, hi) = (
        fit["interval"][0].as_f64().unwrap(),
        fit["interval"][1].as_f64().unwrap(),
    );
    eprintln!(
        "fit: {} ms, interval {lo}..{hi} ms (truth 240)",
        fit["value"]
    );
    assert!(lo <= 240.0 && 240.0 <= hi, "fitted {fit:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `calibrate FILE` on bytes: exit code and stderr.
fn calibrate_bytes(name: &str, bytes: &[u8], extra: &[&str]) -> (i32, String) {
    let dir = tmp("bad");
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let mut args = vec!["calibrate", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, _, err) = exec(&args, None);
    (code, err)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// A file mixing formats, a truncated file, garbage, a gzip bomb and a truncated gzip are
/// refused with exit 2 and where; an event missing what calibrate needs is a named skip.
#[test]
fn bad_exports_are_refused_with_where_and_missing_fields_are_named_skips() {
    let records = production(1, Some(4));
    let logpush: Vec<String> = logpush_events(0, &records[0])
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let camel = serde_json::to_string(&camel_events(1, &records[1])[1]).unwrap();
    // Logpush, then a wrangler tail event on line 4.
    let mixed = format!("{}\n{camel}\n", logpush.join("\n"));
    let (code, err) = calibrate_bytes("mixed.ndjson", mixed.as_bytes(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 4") && err.contains("one format per file"),
        "{err}"
    );
    // A wrangler tail file cut in the middle of its second event.
    let pretty = serde_json::to_string_pretty(&camel_events(0, &records[0])).unwrap();
    let events: Vec<&str> = pretty.trim_start_matches('[').split("\n  },").collect();
    let cut = format!("{}\n  }}\n{}", events[0], &events[1][..events[1].len() / 2]);
    let (code, err) = calibrate_bytes("cut.json", cut.as_bytes(), &["--format", "wrangler-tail"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("EOF while parsing"), "{err}");
    // Garbage inside an NDJSON file: the line is named.
    let garbage = format!("{}\n{{\"Outcome\": ok}}\n", logpush[0]);
    let (code, err) = calibrate_bytes("garbage.ndjson", garbage.as_bytes(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 2"), "{err}");
    // A gzip of whitespace: one endless event, stopped at 1 MiB.
    let spaces = gzip(&[b' '; 4 * 1024 * 1024]);
    let (code, err) = calibrate_bytes("spaces.gz", &spaces, &["--format", "logpush"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("an event longer than"), "{err}");
    // A gzip bomb: 1 GiB and a bit of blank lines (1,025 gzip members of one 1 MiB line each,
    // back to back, as gzip allows), 1 MB compressed, stopped at the bound.
    let mut line = vec![b' '; (1 << 20) - 1];
    line.push(b'\n');
    let member = gzip(&line);
    let bomb: Vec<u8> = member.repeat(1025);
    assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
    let (code, err) = calibrate_bytes("bomb.log.gz", &bomb, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("decompresses past"), "{err}");
    // A truncated gzip.
    let whole = gzip(mixed.as_bytes());
    let (code, err) = calibrate_bytes("cut.ndjson.gz", &whole[..whole.len() / 2], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unreadable input"), "{err}");
    // Events without a request, on another route, of the object without a timing line:
    // counted and skipped by name; a timing line without storageDuration is malformed.
    let odd = [
        json!({"outcome": "ok", "scriptName": "w", "eventTimestamp": 1, "event": {"scheduledTime": 5}, "logs": []}),
        json!({"outcome": "ok", "scriptName": "w", "eventTimestamp": 2, "event": null, "logs": []}),
        json!({"outcome": "ok", "scriptName": "w", "eventTimestamp": 3, "executionModel": "durableObject",
               "event": {"request": {"url": "https://x/ws/progress", "method": "GET"}}, "logs": []}),
        json!({"outcome": "ok", "scriptName": "w", "eventTimestamp": 4, "executionModel": "durableObject",
               "event": {"request": {"url": "https://x/ws/progress", "method": "GET"}},
               "logs": [{"message": ["WebSocket upgrade timing:", {"pairCreation": "1ms"}]}]}),
        json!({"outcome": "canceled", "scriptName": "w", "eventTimestamp": 5,
               "event": {"request": {"url": "https://x/ws/progress?jobId=a", "method": "GET"}}, "logs": []}),
    ];
    let text: String = odd.iter().map(|e| format!("{e}\n")).collect();
    let (code, err) = calibrate_bytes("odd.json", text.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not a request (alarm, RPC, …): 2"), "{err}");
    assert!(
        err.contains("the object's event without a timing line: 1"),
        "{err}"
    );
    assert!(
        err.contains("malformed, skipped: no storageDuration"),
        "{err}"
    );
    assert!(err.contains("1 upgrade(s), 1 canceled"), "{err}");
    assert!(err.contains("no usable timing sample"), "{err}");
    // Rows that do not say how an upgrade ended are no upgrades: no rate, no fit command.
    let (code, err) = calibrate_bytes("rows.json", b"{\"a\":1}\n{\"b\":2}\n", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("no upgrade on the route: canceled rate –"),
        "{err}"
    );
    assert!(
        err.contains("a row with neither the outcome nor the storage column: 2"),
        "{err}"
    );
    assert!(!err.contains("handshake-sim fit"), "{err}");
    // --report from a text log has nothing to report; an unknown format or role is named.
    let (code, err) = calibrate_bytes("t.log", b"storage_ms\n75\n", &["--report", "/dev/null"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--report needs an event export"), "{err}");
    let (code, err) = calibrate_bytes("t.log", b"storage_ms\n75\n", &["--format", "xml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown format \"xml\""), "{err}");
    let (code, err) = calibrate_bytes("t.tsv", b"ok\t75\n", &["--column", "latency=double1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown role \"latency\""), "{err}");
    let (code, err) = calibrate_bytes(
        "t.tsv",
        b"ok\t75\textra\n",
        &["--columns", "outcome,storageDuration"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 1") && err.contains("3 tab-separated field(s)"),
        "{err}"
    );
}

/// `fit --target-from` refuses what is not a calibrate report, and one without a rate.
#[test]
fn fit_target_from_refuses_other_files() {
    let dir = tmp("fit-from");
    let fit = |content: &str| {
        let path = dir.join("r.json");
        std::fs::write(&path, content).unwrap();
        exec(
            &[
                "fit",
                "sims/issue407.toml",
                "--param",
                "client.handshake_timeout_ms",
                "--target-from",
                path.to_str().unwrap(),
            ],
            None,
        )
    };
    for (content, want) in [
        ("{\"variants\": []}", "not the --report of `calibrate`"),
        (
            "{\"observed\": {\"canceled_rate\": null}}",
            "no upgrade on its route",
        ),
        (
            "{\"observed\": {\"canceled_rate\": {\"value\": 3}}}",
            "not a rate in 0..=1",
        ),
        ("not json", "not JSON"),
    ] {
        let (code, _, err) = fit(content);
        assert_eq!(code, 2, "{content}: {err}");
        assert!(err.contains(want), "{content}: {err}");
    }
    let (code, _, err) = exec(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--target"), "{err}");
}

/// The exports bundled in `sims/logs/exports/` (40 simulated jobs, synthetic: the shapes of
/// Cloudflare's documented fields, see the README) are what the writers above make; with
/// `HANDSHAKE_SIM_BLESS=1` the test writes them instead.
#[test]
fn the_bundled_exports_are_the_writers() {
    let records = production(1, Some(40));
    let bundled = crate::root().join("sims/logs/exports");
    let fresh = tmp("bundled");
    let made = write_exports(&fresh, &records);
    for (format, file) in made {
        let name = file.file_name().unwrap();
        let want = bundled.join(name);
        let got = std::fs::read(&file).unwrap();
        if std::env::var("HANDSHAKE_SIM_BLESS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(&bundled).unwrap();
            std::fs::write(&want, &got).unwrap();
        }
        let have = std::fs::read(&want).unwrap_or_default();
        assert!(
            have == got,
            "{format}: {} is stale: HANDSHAKE_SIM_BLESS=1 cargo test --release --test it -- the_bundled_exports",
            want.display()
        );
    }
    let _ = std::fs::remove_dir_all(&fresh);
}
