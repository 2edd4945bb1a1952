//! SLOs, expectations and the `check` gate: verdicts, exit codes, JUnit and Markdown.

use handshake_sim::internal::scenario::Expectation;
use handshake_sim::internal::verdict::{slo, Verdict};

use crate::{load, report};

fn bin(args: &[&str]) -> (i32, String, String) {
    crate::exec(args, None)
}

#[test]
fn slo_verdicts_follow_the_writeups_alert_table() {
    // All variants judged: sequential breaches canceled (critical) and storage (warning).
    let s = load("issue407.toml", &["scenario.jobs=200", "slo.apply_to=[]"]);
    let (r, _) = report(&s, &[1]);
    let judged = slo::judge(&s.slo, &r.variants);
    let verdict = |v: &str, name: &str| {
        judged
            .iter()
            .find(|j| j.variant == v && j.slo == name)
            .unwrap()
            .verdict
    };
    assert_eq!(verdict("sequential", "canceled_rate"), Verdict::Critical);
    assert_eq!(verdict("sequential", "avg_storage_ms"), Verdict::Warning);
    assert_eq!(verdict("sequential", "avg_upgrade_ms"), Verdict::Ok);
    for name in [
        "avg_upgrade_ms",
        "p95_upgrade_ms",
        "canceled_rate",
        "avg_storage_ms",
    ] {
        assert_eq!(verdict("parallel", name), Verdict::Ok, "{name}");
    }
    // apply_to limits the judged variants; thresholds are configurable.
    let s = load(
        "issue407.toml",
        &[
            "scenario.jobs=50",
            "slo.avg_storage_ms={ warning = 10, critical = 20 }",
        ],
    );
    let (r, _) = report(&s, &[1]);
    let judged = slo::judge(&s.slo, &r.variants);
    // ... except safety, which every variant must keep.
    assert!(judged
        .iter()
        .all(|j| j.variant == "parallel" || j.slo == "safety_violations"));
    for v in ["sequential", "parallel"] {
        assert!(judged
            .iter()
            .any(|j| j.variant == v && j.slo == "safety_violations"));
    }
    assert!(judged.iter().any(|j| j.slo == "silent_failure_rate"));
    assert_eq!(
        judged
            .iter()
            .find(|j| j.slo == "avg_storage_ms")
            .unwrap()
            .verdict,
        Verdict::Critical
    );
}

#[test]
fn expectations_parse_and_judge() {
    let s = load("issue407.toml", &["scenario.jobs=100"]);
    let (r, _) = report(&s, &[2]);
    let judge = |k: &str, v: &str| {
        Expectation::parse(k, v)
            .unwrap()
            .judge(&r.variants)
            .unwrap()
    };
    let seq_p95 = r.variant("sequential").unwrap().upgrade_ms.p95 as f64;
    let j = judge(
        "parallel.p95_upgrade_ms",
        "<= 0.6 * sequential.p95_upgrade_ms",
    );
    assert!(j.holds);
    assert!((j.bound - 0.6 * seq_p95).abs() < 1e-9);
    assert!(
        judge(
            "parallel.p95_upgrade_ms",
            "<= sequential.p95_upgrade_ms * 0.6"
        )
        .holds
    );
    assert!(!judge("parallel.failure_rate", "> 0.5").holds);
    assert!(judge("sequential.jobs", "== 100").holds);
    assert!(judge("sequential.jobs", "!= 99").holds);
    assert!(judge("sequential.failure_rate", ">= parallel.failure_rate").holds);
    // A delta of the baseline does not exist: judging it is an error, not a pass.
    assert!(Expectation::parse("sequential.delta_storage_ms", "< 0")
        .unwrap()
        .judge(&r.variants)
        .is_err());
    for (k, v) in [
        ("parallel.failure_rate", "0.05"),
        ("parallel.failure_rate", "<"),
        (
            "parallel.failure_rate",
            "< 0.05 * 2 * sequential.failure_rate",
        ),
        ("parallel.failure_rate", "< 0.6 * 0.7"),
        ("parallel.failure_rate", "< nan"),
        ("parallel.failure_rte", "< 1"),
        ("paralel.failure_rate", "< 1"),
        ("failure_rate", "< 1"),
        ("parallel.failure_rate", "< sequential.p95"),
    ] {
        assert!(
            Expectation::parse(k, v).is_err(),
            "{k} = {v} should not parse"
        );
    }
}

#[test]
fn check_passes_on_sims_and_fails_with_a_reproduce_command() {
    let (code, out, err) = bin(&["check", "--seeds", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 failed"), "{out}");

    let dir = std::env::temp_dir().join(format!("hs-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("check.xml");
    let md = dir.join("check.md");
    let (code, out, err) = bin(&[
        "check",
        "sims/issue407.toml",
        "--seeds",
        "2",
        "--set",
        "client.handshake_timeout_ms=1",
        "--junit",
        junit.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("expect parallel.failure_rate < 0.05"), "{out}");
    assert!(
        out.contains("reproduce: handshake-sim run sims/issue407.toml --seed 1 --set client.handshake_timeout_ms=1"),
        "{out}"
    );
    // The JUnit file is well-formed XML with one test case per scenario × variant × check.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures) = (0, 0);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // issue407: 5 SLOs of parallel + safety of both variants + 6 expectations.
    assert_eq!(cases, 13, "{xml}");
    assert!(failures >= 2, "{xml}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.starts_with("## handshake-sim check: FAILED"), "{md}");
    assert!(md.contains("| issue407 | parallel |"), "{md}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_expectation_is_bad_input_naming_its_line() {
    let dir = std::env::temp_dir().join(format!("hs-expect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        "[scenario]\njobs = 5\n\n[expect]\n\"parallel.failure_rate\" = \"about 0.05\"\n",
    )
    .unwrap();
    let (code, _, err) = bin(&["check", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.toml:5:"), "{err}");
    assert!(err.contains("expect.\"parallel.failure_rate\""), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--jobs N` on check, decide and fit, as on run and sweep: `--set scenario.jobs=N`, repeated
/// by the reproduce lines.
#[test]
fn check_decide_and_fit_take_jobs_as_run_does() {
    let (code, out, err) = crate::exec(
        &[
            "check",
            "sims/issue407.toml",
            "--jobs",
            "30",
            "--set",
            "client.handshake_timeout_ms=150",
        ],
        None,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("--set client.handshake_timeout_ms=150 --set scenario.jobs=30"),
        "{out}"
    );
    for args in [
        &[
            "decide",
            "sims/next-steps.toml",
            "-q",
            "--seeds",
            "1",
            "--jobs",
            "20",
        ][..],
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
            "--jobs",
            "20",
        ][..],
    ] {
        let (code, out, err) = crate::exec(args, None);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
    }
}

/// A bare `check` gates on every scenario in sims/, the benchmark's among them, and says so.
#[test]
fn a_bare_check_names_the_scenarios_it_gates_on() {
    let (code, out, err) = crate::exec(&["check", "--jobs", "10", "--seeds", "1"], None);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(
        err.contains("check: every scenario in sims/ (bench, faults, ")
            && err.contains("name files or directories to check fewer"),
        "{err}"
    );
    let (_, _, err) = crate::exec(
        &[
            "check",
            "sims/issue407.toml",
            "--jobs",
            "10",
            "--seeds",
            "1",
        ],
        None,
    );
    assert!(!err.contains("every scenario in sims/"), "{err}");
}

/// `check`'s table shows values as `run` prints them — shares as percentages, latencies in
/// ms — while its JSON keeps plain numbers.
#[test]
fn check_values_read_with_their_units() {
    let (code, out, err) = crate::exec(
        &[
            "check",
            "sims/issue407.toml",
            "--jobs",
            "30",
            "--seeds",
            "1",
            "--set",
            "client.handshake_timeout_ms=1",
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("warn > 5.0%, crit > 10.0%"), "{out}");
    assert!(out.contains("warn > 200 ms, crit > 500 ms"), "{out}");
    assert!(out.contains("(value 100.0%, bound 5.0%)"), "{out}");
    let (_, json, _) = crate::exec(
        &[
            "check",
            "sims/issue407.toml",
            "--jobs",
            "30",
            "--seeds",
            "1",
            "--set",
            "client.handshake_timeout_ms=1",
            "--json",
            "-",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Its n/a values (null) meet the schema too.
    crate::reference::assert_meets_schema("check.json", &v);
    let rate = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "canceled_rate")
        .unwrap();
    assert_eq!(rate["seeds"][0]["value"], 1.0);
}

/// `check --html`: the verdict first, the failing checks before those that hold, each with a
/// symbol and a word, the `run` of each failing seed and the command that checks again.
#[test]
fn the_check_page_says_what_failed_first() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sub/check.html");
    let (code, _, err) = crate::exec(
        &[
            "check",
            "sims/issue407.toml",
            "-q",
            "--seeds",
            "2",
            "--jobs",
            "60",
            "--set",
            "client.handshake_timeout_ms=150",
            "--html",
            page.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    let summary = html.find("data-verdict=\"fail\">✗ ").expect(&html);
    assert!(
        html[summary..].contains("checks fail; check exits 1"),
        "{html}"
    );
    let first_fail = html.find("<td data-verdict=\"fail\">✗ ").expect(&html);
    let first_pass = html.find("<td data-verdict=\"pass\">✓ ").expect(&html);
    assert!(
        first_fail < first_pass,
        "a check that holds is listed before a failing one"
    );
    assert!(html.contains("<code>handshake-sim run sims/issue407.toml --seed 1 --set client.handshake_timeout_ms=150 --set scenario.jobs=60</code>"), "{html}");
    assert!(html.contains("Reproduce: <code>handshake-sim check sims/issue407.toml --seeds 2 --set client.handshake_timeout_ms=150 --set scenario.jobs=60</code>"), "{html}");
}

/// A warning reaches a CI's JUnit view: the test case passes (JUnit has no warning) but says
/// so in a `verdict` property and its output (the JUnit file had no trace of warnings).
#[test]
fn a_warning_is_in_the_junit_report() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("check.xml");
    let (code, _, err) = crate::exec(
        &[
            "check",
            "sims/issue407.toml",
            "-q",
            "--junit",
            junit.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let case = xml
        .find("<testcase name=\"parallel slo silent_failure_rate\"")
        .expect(&xml);
    let case = &xml[case..case + xml[case..].find("</testcase>").unwrap()];
    assert!(
        case.contains("<property name=\"verdict\" value=\"warning\"/>"),
        "{case}"
    );
    assert!(
        case.contains("<system-out>warning: slo silent_failure_rate above its warning threshold"),
        "{case}"
    );
    assert!(!case.contains("<failure"), "{case}");
}
