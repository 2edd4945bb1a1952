//! `conform`'s files: JUnit XML and JSON. (The table and the case list are `conform`'s own
//! text, in the binary.)

use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use schemars::JsonSchema;
use serde::Serialize;

use crate::names::stamp::{self, Live};

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

/// `conform --json`: the endpoint, the verdict, the counts and every case. The type is the
/// layout: the writer serialises it and `docs/schema/conform.json` is derived from it.
#[derive(Serialize, JsonSchema)]
pub struct ConformJson<'a> {
    pub tool: &'static str,
    pub version: &'static str,
    pub schema_version: u32,
    #[serde(flatten)]
    pub live: Live,
    pub url: &'a str,
    /// The prefix of every job id the cases posted.
    pub job_prefix: &'a str,
    /// `--strict`: a failed `SHOULD` case fails the run too.
    pub strict: bool,
    /// The exit code's verdict under `strict`.
    pub passed: bool,
    pub counts: Counts,
    /// TCP connections the cases opened.
    pub connections: u32,
    /// `--time-limit-s` cut the run short.
    pub time_limit_reached: bool,
    pub cases: Vec<CaseJson<'a>>,
}

/// Cases by result, over all and by grade.
#[derive(Serialize, JsonSchema)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub must: Tally,
    pub should: Tally,
}

/// Cases of one grade by result.
#[derive(Serialize, JsonSchema)]
pub struct Tally {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
}

/// One case and what came of it.
#[derive(Serialize, JsonSchema)]
pub struct CaseJson<'a> {
    pub name: &'static str,
    pub group: &'static str,
    /// `must` or `should`.
    pub grade: &'static str,
    /// What the case checks, in words.
    pub checks: &'static str,
    /// `pass`, `fail` or `error`.
    pub outcome: &'static str,
    /// A `SHOULD` case that failed without `--strict`: reported, not fatal.
    pub non_strict: bool,
    pub detail: &'a str,
    /// `null` for a case that did not run.
    pub elapsed_ms: Option<u64>,
}

/// The results as JSON, with a trailing newline.
pub fn conform_json(url: &str, job_prefix: &str, run: &ConformRun, strict: bool) -> String {
    let cases = run
        .results
        .iter()
        .map(|r| CaseJson {
            name: r.case.name,
            group: r.case.group,
            grade: r.case.grade.name(),
            checks: r.case.checks,
            outcome: r.result.name(),
            non_strict: r.non_strict(),
            detail: &r.detail,
            elapsed_ms: r.elapsed_ms,
        })
        .collect();
    let tally = |g: Grade| Tally {
        pass: run.count_graded(g, CaseResult::Pass),
        fail: run.count_graded(g, CaseResult::Fail),
        error: run.count_graded(g, CaseResult::Error),
    };
    let out = ConformJson {
        tool: stamp::TOOL,
        version: stamp::VERSION,
        schema_version: stamp::SCHEMA_VERSION,
        live: Live::now(),
        url,
        job_prefix,
        strict,
        passed: run.passed(strict),
        counts: Counts {
            pass: run.count(CaseResult::Pass),
            fail: run.count(CaseResult::Fail),
            error: run.count(CaseResult::Error),
            must: tally(Grade::Must),
            should: tally(Grade::Should),
        },
        connections: run.connections,
        time_limit_reached: run.time_limit_reached,
        cases,
    };
    // Through a `Value` (a sorted map): the keys stay in the order they always had.
    let v = serde_json::to_value(&out).expect("conform types serialise");
    let mut text = serde_json::to_string_pretty(&v).expect("plain JSON serialises");
    text.push('\n');
    text
}
