//! Outputs for programs, through the binary: tidy per-seed sweep rows that pool back to
//! points.csv, JSON alone on standard output, two standard outputs refused, `--quiet`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::exec;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hs-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A CSV file as (header, rows).
fn csv(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

const SWEEP: [&str; 10] = [
    "sweep",
    "sims/issue407.toml",
    "--param",
    "client.handshake_timeout_ms=200..260:30",
    "--seeds",
    "3",
    "--set",
    "scenario.jobs=40",
    "--param",
    "object.cold_start_ms.uniform.1=15,35",
];

#[test]
fn per_seed_rows_count_points_variants_seeds_and_pool_back_to_points_csv() {
    let d = tmp("seeds");
    let mut args = SWEEP.to_vec();
    args.extend(["--out", d.to_str().unwrap(), "--quiet"]);
    let (code, out, err) = exec(&args, None);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "--quiet prints no summary: {out}");
    let (ph, pooled) = csv(&d.join("points.csv"));
    let (sh, by_seed) = csv(&d.join("points-by-seed.csv"));
    assert!(!d.join("points-by-seed.csv.partial").exists());
    // 3 × 2 points × 2 variants × 3 seeds.
    assert_eq!((pooled.len(), by_seed.len()), (12, 36));
    let col = |h: &[String], name: &str| h.iter().position(|c| c == name).unwrap();
    assert_eq!(sh[col(&sh, "seed") + 1..], ph[col(&ph, "variant") + 1..]);
    // Counts add up over the seeds to the pooled row of the same point and variant.
    let counted = [
        "jobs",
        "ok",
        "handshake_timeout",
        "canceled",
        "silent_failures",
        "count_storage_ms",
    ];
    let mut sums: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    let mut seeds: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in &by_seed {
        let key = (r[0].clone(), r[col(&sh, "variant")].clone());
        let s = sums.entry(key.clone()).or_insert(vec![0; counted.len()]);
        for (i, c) in counted.iter().enumerate() {
            s[i] += r[col(&sh, c)].parse::<u64>().unwrap();
        }
        seeds
            .entry(key)
            .or_default()
            .push(r[col(&sh, "seed")].clone());
    }
    for r in &pooled {
        let key = (r[0].clone(), r[col(&ph, "variant")].clone());
        let want: Vec<u64> = counted
            .iter()
            .map(|c| r[col(&ph, c)].parse().unwrap())
            .collect();
        assert_eq!(sums[&key], want, "{key:?}");
        assert_eq!(seeds[&key], ["1", "2", "3"], "{key:?}");
        // The pooled failure rate is the seeds' failures over their jobs.
        let rate: f64 = r[col(&ph, "failure_rate")].parse().unwrap();
        let (jobs, ok) = (want[0] as f64, want[1] as f64);
        assert!((rate - (jobs - ok) / jobs).abs() < 1e-6, "{key:?}");
    }
    std::fs::remove_dir_all(d).unwrap();
}

/// `docs/commands.md` shows `points.csv`'s header, wrapped after commas; it is the header the
/// command beside it writes.
#[test]
fn the_points_csv_header_in_the_docs_is_the_one_written() {
    let docs = std::fs::read_to_string("docs/commands.md").unwrap();
    let block = docs
        .split("```text\n")
        .find(|b| b.starts_with("point,"))
        .expect("a ```text block holding points.csv's header");
    let shown: String = block[..block.find("```").unwrap()].split('\n').collect();
    let d = tmp("docs-header");
    let out = d.to_str().unwrap();
    let args = [
        "sweep",
        "sims/issue407.toml",
        "-q",
        "--seeds",
        "1",
        "--set",
        "scenario.jobs=5",
        "--param",
        "client.handshake_timeout_ms=240",
        "--out",
        out,
    ];
    let shown_cmd = format!("`handshake-sim {}`", args[..9].join(" ").replace(" -q", ""));
    let words: Vec<&str> = docs.split_whitespace().collect();
    assert!(
        words.join(" ").contains(&shown_cmd),
        "docs/commands.md does not show {shown_cmd}"
    );
    assert_eq!(exec(&args, None).0, 0);
    let (header, _) = csv(&d.join("points.csv"));
    assert_eq!(shown, header.join(","));
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn merged_shards_write_the_same_per_seed_rows_as_one_sweep() {
    let d = tmp("shards");
    let whole = d.join("whole");
    let mut args = SWEEP.to_vec();
    args.extend(["--out", whole.to_str().unwrap()]);
    assert_eq!(exec(&args, None).0, 0);
    let mut dirs = Vec::new();
    for k in ["1/2", "2/2"] {
        let dir = d.join(k.replace('/', "-"));
        let mut args = SWEEP.to_vec();
        args.extend(["--out", dir.to_str().unwrap(), "--shard", k]);
        assert_eq!(exec(&args, None).0, 0);
        dirs.push(dir.to_str().unwrap().to_string());
    }
    let merged = d.join("merged");
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    let (code, _, err) = exec(&args, None);
    assert_eq!(code, 0, "{err}");
    for f in ["points.csv", "points-by-seed.csv"] {
        let a = std::fs::read(whole.join(f)).unwrap();
        assert_eq!(a, std::fs::read(merged.join(f)).unwrap(), "{f}");
    }
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn json_on_standard_output_is_alone_there() {
    let parses = |args: &[&str]| {
        let (code, out, err) = exec(args, None);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"));
        (code, v, err)
    };
    // --check-determinism says what it found on stderr when stdout carries the JSON.
    let run = [
        "run",
        "sims/issue407.toml",
        "--jobs",
        "20",
        "--check-determinism",
        "--json",
        "-",
    ];
    let (code, v, err) = parses(&run);
    assert_eq!((code, v["tool"].as_str()), (0, Some("handshake-sim")));
    assert!(
        err.contains("determinism sequential seed 1: run twice"),
        "{err}"
    );
    let check = [
        "check",
        "sims/issue407.toml",
        "--seeds",
        "2",
        "--set",
        "scenario.jobs=40",
        "--json",
        "-",
    ];
    let (code, v, _) = parses(&check);
    let checks = v["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert_eq!(checks[0]["seeds"].as_array().unwrap().len(), 2);
    assert_eq!(v["passed"], code == 0);
    assert_eq!(
        v["failed"],
        checks.iter().filter(|c| c["fails"] == true).count()
    );
}

#[test]
fn two_outputs_on_standard_output_are_refused_before_running() {
    let cases: [&[&str]; 4] = [
        &["run", "sims/issue407.toml", "--json", "-", "--records", "-"],
        &["run", "sims/issue407.toml", "--records", "-", "--html", "-"],
        &["check", "sims/issue407.toml", "--json", "-", "--junit", "-"],
        &[
            "probe",
            "http://127.0.0.1:9",
            "--json",
            "-",
            "--records",
            "-",
        ],
    ];
    for args in cases {
        let (code, out, err) = exec(args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: nothing ran: {out}");
        assert!(
            err.contains("only one output can go to standard output"),
            "{err}"
        );
    }
}

#[test]
fn quiet_prints_nothing_but_writes_the_files() {
    let d = tmp("quiet");
    let json = d.join("run.json");
    let (code, out, err) = exec(
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "30",
            "-q",
            "--json",
            json.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (_, loud, _) = exec(
        &["run", "sims/issue407.toml", "--jobs", "30", "--json", "-"],
        None,
    );
    assert_eq!(std::fs::read_to_string(&json).unwrap(), loud);
    let (code, out, err) = exec(
        &["check", "sims/issue407.toml", "--seeds", "1", "--quiet"],
        None,
    );
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    assert!(code == 0 || code == 1, "the verdict is the exit code");
    // Errors still print.
    let (code, _, err) = exec(&["run", "sims/nope.toml", "-q"], None);
    assert_eq!(code, 2);
    assert!(err.contains("nope.toml"), "{err}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn bench_json_on_standard_output_is_alone_there() {
    let args = [
        "bench",
        "--workload",
        "upgrade",
        "--set",
        "scenario.jobs=30",
        "--json",
        "-",
    ];
    let (code, out, err) = exec(&args, None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let w = &v["workloads"][1];
    assert_eq!(
        (w["workload"].as_str(), w["jobs"].as_u64()),
        (Some("upgrade"), Some(30))
    );
    // A measurement of real time says where and when it ran.
    assert_live_stamp(&v);
}

/// `tool`, `version` and `schema_version`, and for real time `host` and `finished_at`.
pub(crate) fn assert_live_stamp(v: &serde_json::Value) {
    assert_stamp(v);
    assert!(v["host"]["cores"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["host"]["os"], std::env::consts::OS);
    let at = v["finished_at"].as_str().unwrap();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );
}

pub(crate) fn assert_stamp(v: &serde_json::Value) {
    assert_eq!(v["tool"], "handshake-sim", "{v}");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["schema_version"], 1);
}

/// Every JSON output names the tool, its version and the layout's version; the simulated ones
/// carry no host and no date (the same inputs, the same bytes).
#[test]
fn every_json_output_says_what_wrote_it() {
    let d = tempfile::tempdir().unwrap();
    let p = |f: &str| d.path().join(f).to_str().unwrap().to_string();
    let json = |args: &[&str], file: &str| -> serde_json::Value {
        let (code, out, err) = exec(args, None);
        assert!(code == 0 || code == 1, "{args:?}: {out}{err}");
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    let jobs = ["--jobs", "20"];
    let run = json(
        &[
            "run",
            "sims/issue407.toml",
            "-q",
            jobs[0],
            jobs[1],
            "--json",
            &p("a.json"),
        ],
        &p("a.json"),
    );
    let sweep = json(
        &[
            "sweep",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "20",
            "--seeds",
            "1",
            "--param",
            "client.handshake_timeout_ms=200,300",
            "--out",
            &p("sw"),
        ],
        &p("sw/sweep.json"),
    );
    let check = json(
        &[
            "check",
            "sims/issue407.toml",
            "-q",
            "--set",
            "scenario.jobs=20",
            "--json",
            &p("check.json"),
        ],
        &p("check.json"),
    );
    let compare = json(
        &[
            "compare",
            &p("a.json"),
            &p("a.json"),
            "-q",
            "--json",
            &p("cmp.json"),
        ],
        &p("cmp.json"),
    );
    let decide = json(
        &[
            "decide",
            "sims/next-steps.toml",
            "-q",
            "--seeds",
            "1",
            "--set",
            "scenario.jobs=20",
            "--json",
            &p("decide.json"),
        ],
        &p("decide.json"),
    );
    let fit = json(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms",
            "--range",
            "200..300",
            "--target",
            "sequential.failure_rate=0.3",
            "--seeds",
            "1",
            "--set",
            "scenario.jobs=20",
            "--json",
            &p("fit.json"),
        ],
        &p("fit.json"),
    );
    let calibrate = json(
        &[
            "calibrate",
            "sims/logs/exports/tail.json",
            "--report",
            &p("cal.json"),
        ],
        &p("cal.json"),
    );
    for (v, schema) in [
        (&run, "run.json"),
        (&sweep, "sweep.json"),
        (&check, "check.json"),
        (&compare, "compare.json"),
        (&decide, "decide.json"),
    ] {
        crate::reference::assert_meets_schema(schema, v);
    }
    for v in [&run, &sweep, &check, &compare, &decide, &fit, &calibrate] {
        assert_stamp(v);
        assert!(
            v.get("host").is_none() && v.get("finished_at").is_none(),
            "{v}"
        );
    }
}

#[test]
fn the_floor_stops_at_the_scenarios_hard_stop_like_a_simulation() {
    // The client waits 5 s before its ping: longer than the 1 s hard stop.
    let args = [
        "bench",
        "--workload",
        "floor",
        "--set",
        "scenario.jobs=3",
        "--set",
        "client.ping_after_ms=5000",
        "--set",
        "scenario.duration_s_max=1",
    ];
    let (code, _, err) = exec(&args, None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "benchmark floor failed: variant sequential, seed 1: the simulation failed: \
             the simulated clock reached scenario.duration_s_max (1 s)"
        ),
        "{err}"
    );
}

#[test]
fn bench_measures_every_workload_beside_the_floor_and_leaves_unmeasured_figures_out() {
    let args = [
        "bench",
        "--workload",
        "idle",
        "--workload",
        "upgrade",
        "--set",
        "scenario.jobs=3",
        "--json",
        "-",
    ];
    let (code, out, err) = exec(&args, None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    crate::reference::assert_meets_schema("bench.json", &v);
    let rows = v["workloads"].as_array().unwrap();
    let names: Vec<_> = rows
        .iter()
        .map(|w| w["workload"].as_str().unwrap())
        .collect();
    // The floor runs first, asked for or not, and every job of it succeeds.
    assert_eq!(names, ["floor", "idle", "upgrade"]);
    let (floor, idle, upgrade) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(
        (floor["jobs"].as_u64(), floor["failed_jobs"].as_u64()),
        (Some(3), Some(0))
    );
    assert!(floor["floor_ratio"].is_null(), "{floor}");
    let ratio = upgrade["floor_ratio"].as_f64().unwrap();
    let expected = upgrade["jobs_per_s"].as_f64().unwrap() / floor["jobs_per_s"].as_f64().unwrap();
    assert!(
        (ratio - expected).abs() < 1e-9 * expected,
        "{ratio} vs {expected}"
    );
    // The idle workload opens no socket and its jobs mostly wait: no ratio, no bytes per
    // socket (null, never 0).
    assert_eq!(idle["connections_peak"].as_u64(), Some(0));
    assert!(idle["bytes_per_connection"].is_null(), "{idle}");
    assert!(idle["floor_ratio"].is_null(), "{idle}");
}
