//! `conform`'s files: JUnit XML and JSON. (The table and the case list are `conform`'s own
//! text, in the binary.)

use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::live::conform::{CaseResult, ConformRun};

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
