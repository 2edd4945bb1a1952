//! `conform`'s files: JUnit XML and JSON. (The table and the case list are `conform`'s own
//! text, in the binary.)

use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::live::conform::{CaseResult, ConformRun, Grade, Judged};

/// JUnit XML: one suite for the endpoint, one test case per conformance case, each with its
/// grade as the property `grade`. A result that fails the run (`Judged::fails_run`) is a
/// `<failure>` or an `<error>`; a `Should` case that failed or erred without `strict` is
/// `<skipped>` with the type `non-strict` or `error` and the detail as its message, so a CI
/// report shows it without failing the build, as the exit code does not.
pub fn conform_junit(url: &str, run: &ConformRun, strict: bool) -> String {
    let mut report = quick_junit::Report::new("handshake-sim conform");
    let mut suite = TestSuite::new(format!("conform {url}"));
    for r in &run.results {
        let mut case = TestCase::new(r.case.name, junit_status(r, strict));
        case.set_classname(format!("conform.{}", r.case.group));
        case.add_property(("grade", r.case.grade.name()));
        if let Some(ms) = r.elapsed_ms {
            case.set_time(Duration::from_millis(ms));
        }
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report.to_string().expect("JUnit report serialises")
}

fn junit_status(r: &Judged, strict: bool) -> TestCaseStatus {
    let mut st = match r.result {
        CaseResult::Pass => return TestCaseStatus::success(),
        _ if !r.fails_run(strict) => TestCaseStatus::skipped(),
        CaseResult::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
        CaseResult::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
    };
    if r.non_strict() {
        st.set_type("non-strict");
    } else if r.result == CaseResult::Error && !r.fails_run(strict) {
        st.set_type("error");
    }
    st.set_message(r.detail.clone());
    st.set_description(format!(
        "{}: checks: {}",
        r.case.grade.name().to_uppercase(),
        r.case.checks
    ));
    st
}

/// The results as JSON: `passed` is the exit code's verdict under `strict`; `counts` over
/// every case, and by grade.
pub fn conform_json(url: &str, job_prefix: &str, run: &ConformRun, strict: bool) -> String {
    let cases: Vec<serde_json::Value> = run
        .results
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.case.name,
                "group": r.case.group,
                "grade": r.case.grade.name(),
                "checks": r.case.checks,
                "outcome": r.result.name(),
                "non_strict": r.non_strict(),
                "detail": r.detail,
                "elapsed_ms": r.elapsed_ms,
            })
        })
        .collect();
    let graded = |g: Grade| {
        serde_json::json!({
            "pass": run.count_graded(g, CaseResult::Pass),
            "fail": run.count_graded(g, CaseResult::Fail),
            "error": run.count_graded(g, CaseResult::Error),
        })
    };
    let mut v = serde_json::json!({
        "url": url,
        "job_prefix": job_prefix,
        "strict": strict,
        "passed": run.passed(strict),
        "counts": {
            "pass": run.count(CaseResult::Pass),
            "fail": run.count(CaseResult::Fail),
            "error": run.count(CaseResult::Error),
            "must": graded(Grade::Must),
            "should": graded(Grade::Should),
        },
        "connections": run.connections,
        "time_limit_reached": run.time_limit_reached,
        "cases": cases,
    });
    crate::names::stamp::stamp_live(&mut v);
    let mut text = serde_json::to_string_pretty(&v).expect("plain JSON serialises");
    text.push('\n');
    text
}
