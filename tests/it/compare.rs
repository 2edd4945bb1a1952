//! `compare` through the binary: a fix shows as a change beyond noise, a re-run of the same
//! seed as no change; other files are refused with exit code 2.

use std::path::{Path, PathBuf};

use crate::exec;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hs-compare-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `run ARGS --json PATH`, which must succeed.
fn run_json(path: &Path, args: &[&str]) {
    let p = path.to_str().unwrap();
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", p]);
    let (code, _, err) = exec(&all, None);
    assert_eq!(code, 0, "{err}");
}

/// `compare A B ARGS --json -`: (exit code, the comparison).
fn compare_json(a: &Path, b: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["compare", a.to_str().unwrap(), b.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "-"]);
    let (code, out, err) = exec(&all, None);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v)
}

fn row<'a>(c: &'a serde_json::Value, variant: &str, figure: &str) -> &'a serde_json::Value {
    let v = c["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["a"] == variant)
        .unwrap_or_else(|| panic!("no variant {variant}"));
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["figure"] == figure)
        .unwrap_or_else(|| panic!("no figure {figure}"))
}

#[test]
fn a_rerun_of_the_same_seed_changes_nothing() {
    let d = tmp("rerun");
    let (a, b) = (d.join("a.json"), d.join("b.json"));
    let args = ["sims/issue407.toml", "--jobs", "120", "--seed", "4"];
    run_json(&a, &args);
    run_json(&b, &args);
    let (code, c) = compare_json(&a, &b, &["--fail-on-change"]);
    assert_eq!(code, 0, "{c}");
    assert_eq!(c["same_scenario"], true);
    assert_eq!(c["scenario_differences"].as_array().unwrap().len(), 0);
    for v in c["variants"].as_array().unwrap() {
        for r in v["rows"].as_array().unwrap() {
            assert!(r["change"] == "same" || r["change"] == "absent", "{r}");
        }
    }
    // The baseline has no paired delta on either side: absent, not 0.
    let base = row(&c, "sequential", "delta_storage_ms");
    assert_eq!(
        (base["a"].is_null(), base["change"].as_str()),
        (true, Some("absent"))
    );
    let (code, text, _) = exec(&["compare", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert!(text.contains("no figure changed beyond noise"), "{text}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn the_fix_as_two_runs_is_a_change_beyond_noise() {
    // Before the fix: only sequential reads; after: only parallel, on the same seeds.
    let d = tmp("fix");
    let (a, b) = (d.join("before.json"), d.join("after.json"));
    run_json(
        &a,
        &[
            "sims/issue407.toml",
            "--jobs",
            "200",
            "--variant",
            "sequential",
        ],
    );
    run_json(
        &b,
        &[
            "sims/issue407.toml",
            "--jobs",
            "200",
            "--variant",
            "parallel",
        ],
    );
    let (code, c) = compare_json(&a, &b, &[]);
    assert_eq!(
        code, 0,
        "no variant in both: nothing compared, nothing failed"
    );
    assert_eq!(c["variants"].as_array().unwrap().len(), 0);
    assert_eq!(c["variants_only_in_a"], serde_json::json!(["sequential"]));
    assert_eq!(c["variants_only_in_b"], serde_json::json!(["parallel"]));
    // A gate that compared nothing does not pass.
    let (code, _) = compare_json(&a, &b, &["--fail-on-change"]);
    assert_eq!(code, 1, "nothing compared fails with --fail-on-change");
    let pair = ["--pair", "sequential=parallel", "--fail-on-change"];
    let (code, c) = compare_json(&a, &b, &pair);
    assert_eq!(code, 1, "a change beyond noise fails with --fail-on-change");
    let rate = row(&c, "sequential", "failure_rate");
    assert_eq!(rate["change"], "changed", "{rate}");
    let (lo, hi) = (
        rate["difference_ci95"][0].as_f64().unwrap(),
        rate["difference_ci95"][1].as_f64().unwrap(),
    );
    let diff = rate["difference"].as_f64().unwrap();
    assert!(hi < 0.0 && lo < diff && diff < hi, "{rate}");
    assert_eq!(
        diff,
        rate["b"]["value"].as_f64().unwrap() - rate["a"]["value"].as_f64().unwrap()
    );
    // A percentile has no interval: it moved, but is not judged.
    assert_eq!(
        row(&c, "sequential", "p95_storage_ms")["change"],
        "no_interval"
    );
    let (code, text, _) = exec(
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            pair[0],
            pair[1],
        ],
        None,
    );
    assert_eq!(
        code, 0,
        "without --fail-on-change a change is reported, not failed"
    );
    assert!(text.contains("sequential (A) vs parallel (B)"), "{text}");
    assert!(
        text.contains("changed beyond noise: sequential failure_rate"),
        "{text}"
    );
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_different_scenario_is_said_with_its_settings() {
    let d = tmp("scenario");
    let (a, b) = (d.join("a.json"), d.join("b.json"));
    run_json(&a, &["sims/issue407.toml", "--jobs", "60"]);
    run_json(&b, &["sims/sqlite.toml", "--jobs", "60", "--seeds", "2"]);
    let (code, text, err) = exec(&["compare", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("scenario: DIFFERENT (A issue407, B sqlite)"),
        "{text}"
    );
    assert!(text.contains("seeds 1..=2"), "{text}");
    // The table shows the first 20 differences; the JSON has every one.
    let (code, json, err) = exec(
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--json",
            "-",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let backend = v["scenario_differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "storage.backend")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(
        (&backend["a"], &backend["b"]),
        (&"\"kv\"".into(), &"\"sqlite\"".into())
    );
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn anything_but_a_runs_json_is_refused_with_exit_2() {
    let d = tmp("refuse");
    let run = d.join("run.json");
    run_json(&run, &["sims/issue407.toml", "--jobs", "10"]);
    let sweep = d.join("sweep");
    let (code, _, err) = exec(
        &[
            "sweep",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms=200,300",
            "--seeds",
            "1",
            "--set",
            "scenario.jobs=10",
            "--out",
            sweep.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let garbage = d.join("garbage.json");
    std::fs::write(&garbage, "{\"tool\": \"handshake-sim\", \"variants\": 3").unwrap();
    let huge = d.join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let cases: [(PathBuf, &str); 4] = [
        (sweep.join("sweep.json"), "it is a sweep's sweep.json"),
        (garbage, "not the JSON of `run --json`: invalid JSON"),
        (huge, "larger than 16777216 bytes"),
        (d.join("missing.json"), "cannot read"),
    ];
    for (path, why) in cases {
        let (code, out, err) = exec(
            &["compare", run.to_str().unwrap(), path.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 2, "{}: {err}", path.display());
        assert!(out.is_empty() && err.contains(why), "{err}");
    }
    let (code, _, err) = exec(
        &[
            "compare",
            run.to_str().unwrap(),
            run.to_str().unwrap(),
            "--pair",
            "sequential=batched",
        ],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("B ran no variant batched"), "{err}");
    std::fs::remove_dir_all(d).unwrap();
}

/// A run's JSON from before outputs carried `schema_version` is refused with why (its
/// `canceled` also counted the edge's cancels), not with a missing field; so is a newer layout.
#[test]
fn a_json_of_another_layout_is_refused_with_why() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.json");
    let (code, _, err) = crate::exec(
        &[
            "run",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "10",
            "--json",
            a.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
    for (name, layout) in [("old.json", None), ("new.json", Some(99))] {
        match layout {
            None => {
                v.as_object_mut().unwrap().remove("schema_version");
            }
            Some(n) => v["schema_version"] = n.into(),
        }
        let path = d.path().join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        let (code, _, err) = crate::exec(
            &["compare", a.to_str().unwrap(), path.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 2, "{err}");
        let why = if layout.is_none() {
            "written before outputs carried \"schema_version\""
        } else {
            "written with output layout 99"
        };
        assert!(err.contains(why), "{err}");
    }
}

/// A shard's page gives the command of that shard, not of the whole sweep.
#[test]
fn a_shard_page_reproduces_the_shard() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s1");
    let html = d.path().join("s1.html");
    let (code, _, err) = crate::exec(
        &[
            "sweep",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "10",
            "--seeds",
            "1",
            "--shard",
            "1/2",
            "--param",
            "client.handshake_timeout_ms=200,250,300,350",
            "--out",
            out.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(" --set scenario.jobs=10 --shard 1/2</code>"),
        "{page}"
    );
}
