//! What `conform` prints: the pass/fail table, the case list, JUnit XML and JSON.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::live::conform::{Case, CaseResult, ConformRun};

/// The outcome as the table shows it: failures stand out.
fn shown(o: CaseResult) -> &'static str {
    match o {
        CaseResult::Pass => "pass",
        CaseResult::Fail => "FAIL",
        CaseResult::Error => "ERROR",
    }
}

/// `--list`: every case, its group and what it checks.
pub fn conform_list(cases: &[Case]) -> String {
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in cases {
        let _ = writeln!(s, "{:width$}  {:8} {}", c.name, c.group, c.checks);
    }
    s
}

/// The table: one row per case, then the counts and the failures with what they check.
pub fn conform_text(url: &str, job_prefix: &str, run: &ConformRun) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "conform {url} — {} case(s), job ids {job_prefix}0, {job_prefix}1, …\n",
        run.results.len()
    );
    let width = run
        .results
        .iter()
        .map(|r| r.case.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "{:width$}  {:8} {:7} {:>6}  detail",
        "case", "group", "outcome", "ms"
    );
    for r in &run.results {
        let _ = writeln!(
            s,
            "{:width$}  {:8} {:7} {:>6}  {}",
            r.case.name,
            r.case.group,
            shown(r.result),
            r.elapsed_ms.map_or("–".into(), |ms| ms.to_string()),
            r.detail
        );
    }
    let _ = writeln!(
        s,
        "\n{} case(s): {} passed, {} failed, {} error(s); {} connection(s)",
        run.results.len(),
        run.count(CaseResult::Pass),
        run.count(CaseResult::Fail),
        run.count(CaseResult::Error),
        run.connections
    );
    let not_passed: Vec<_> = run
        .results
        .iter()
        .filter(|r| r.result != CaseResult::Pass)
        .collect();
    if !not_passed.is_empty() {
        s.push_str("\nNot passed (case: what it checks — what happened):\n");
    }
    for r in not_passed {
        let _ = writeln!(
            s,
            "  {} {}: {} — {}",
            shown(r.result),
            r.case.name,
            r.case.checks,
            r.detail
        );
    }
    s
}

/// JUnit XML: one suite for the endpoint, one test case per conformance case.
pub fn conform_junit(url: &str, run: &ConformRun) -> String {
    let mut report = quick_junit::Report::new("handshake-sim conform");
    let mut suite = TestSuite::new(format!("conform {url}"));
    for r in &run.results {
        let status = match r.result {
            CaseResult::Pass => TestCaseStatus::success(),
            CaseResult::Fail | CaseResult::Error => {
                let kind = if r.result == CaseResult::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut st = TestCaseStatus::non_success(kind);
                st.set_message(r.detail.clone());
                st.set_description(format!("checks: {}", r.case.checks));
                st
            }
        };
        let mut case = TestCase::new(r.case.name, status);
        case.set_classname(format!("conform.{}", r.case.group));
        if let Some(ms) = r.elapsed_ms {
            case.set_time(Duration::from_millis(ms));
        }
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report.to_string().expect("JUnit report serialises")
}

/// The results as JSON.
pub fn conform_json(url: &str, job_prefix: &str, run: &ConformRun) -> String {
    let cases: Vec<serde_json::Value> = run
        .results
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.case.name,
                "group": r.case.group,
                "checks": r.case.checks,
                "outcome": r.result.name(),
                "detail": r.detail,
                "elapsed_ms": r.elapsed_ms,
            })
        })
        .collect();
    let v = serde_json::json!({
        "url": url,
        "job_prefix": job_prefix,
        "passed": run.passed(),
        "counts": {
            "pass": run.count(CaseResult::Pass),
            "fail": run.count(CaseResult::Fail),
            "error": run.count(CaseResult::Error),
        },
        "connections": run.connections,
        "time_limit_reached": run.time_limit_reached,
        "cases": cases,
    });
    let mut text = serde_json::to_string_pretty(&v).expect("plain JSON serialises");
    text.push('\n');
    text
}
