//! `conform`: the protocol conformance suite against an endpoint speaking the documented API.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use handshake_sim::internal::live::conform::{
    self, Case, CaseResult, ConformRun, Grade, Judged, Settings, CASES,
};
use handshake_sim::internal::live::LiveError;
use handshake_sim::internal::report::conform::{conform_json, conform_junit};

use super::output::{any_stdout, check_outputs, init_tracing, write_output};
use super::serve::block_on_local;
use super::CliResult;
use super::Status;

pub(crate) const EXAMPLES: &str =
    "Checks every documented status code of the batch POST (202/400/405/413), the progress
upgrade (101 only with the job's current token; 426, 400 and 401 for each malformed or
unauthorized request) and the status endpoint (200/400/401); the socket's messages (ready,
progress seq from 1 by one, complete), after=N replay without duplicates, token refresh, pings
and the close handshake both ways. Each case posts its own jobs (ids PREFIX0, PREFIX1, …).

Each case is MUST (what a client relies on: tokens, the upgrade, malformed requests refused,
progress and replay, ping, size limits) or SHOULD (a convention of the reference API a correct
endpoint may not share: the close after complete, the close echo's timing, a refusal's exact
code where the RFCs allow another, the target matched as sent); `--list` shows which. A SHOULD
case that fails is reported as non-strict and fails the run only with --strict.

Exit codes: 0 every MUST case passed (with --strict: every case); 1 a MUST case failed or
could not run (error), with --strict any case, or the target could not be reached; 2 bad input
(an unknown --case, a non-loopback target without --allow-remote).

Examples:
  handshake-sim conform http://127.0.0.1:8787
  handshake-sim conform http://127.0.0.1:8787 --strict
  handshake-sim conform http://127.0.0.1:8787 --case upgrade-wrong-token --case socket-close-echo
  handshake-sim conform https://staging.example.com --allow-remote --junit conform.xml
  handshake-sim conform --list";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Endpoint: http://, ws://, https:// or wss:// HOST[:PORT].
    #[arg(default_value = "http://127.0.0.1:8787")]
    url: String,
    /// Run only this case (repeatable; `--list` names them all).
    #[arg(long = "case", value_name = "NAME")]
    cases: Vec<String>,
    /// List the cases, each with its grade (MUST or SHOULD) and what it checks, and exit.
    #[arg(long)]
    list: bool,
    /// Fail the run (exit 1) on a SHOULD case that fails or errs too, not only on a MUST case.
    #[arg(long)]
    strict: bool,
    /// Books per posted job: the socket cases wait for this many progress messages.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=conform::BOOKS_MAX as i64))]
    books: u32,
    /// Longest wait for one answer (a response, a pong, a close, the first message), in ms,
    /// 1..=600000.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=conform::REQUEST_TIMEOUT_MS_MAX))]
    request_timeout_ms: u64,
    /// Longest wait for a job's progress up to its complete message, in seconds, 1..=3600.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=conform::JOB_TIMEOUT_MS_MAX / 1000))]
    job_timeout_s: u64,
    /// Stop the whole run after this many seconds; unfinished cases are errors.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    time_limit_s: u64,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=conform::CONCURRENCY_MAX as i64))]
    concurrency: u32,
    /// Job ids are PREFIX0, PREFIX1, … (default: a fresh run id, conform-XXXXXXXX-, printed, so no two
    /// runs share a job and the run can be found in the server's logs).
    #[arg(long, value_name = "PREFIX")]
    job_prefix: Option<String>,
    /// Allow a target outside the loopback range.
    #[arg(long)]
    allow_remote: bool,
    /// Write a JUnit XML report (one test case per conformance case).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the results as JSON ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print trace events at LEVEL to stderr.
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
    /// Print no report: only errors and problems (unreachable, time limit), and the files
    /// asked for.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn conform(args: Args) -> CliResult<Status> {
    if args.list {
        out!("{}", conform_list(CASES));
        return Ok(Status::Success);
    }
    init_tracing(args.log.as_deref())?;
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--junit", args.junit.as_deref()),
    ];
    check_outputs(&outputs, &[])?;
    let cases = conform::select(&args.cases).map_err(LiveError::Usage)?;
    let settings = Settings {
        job_prefix: args
            .job_prefix
            .clone()
            .unwrap_or_else(conform::random_job_prefix),
        books: args.books,
        request_timeout_ms: args.request_timeout_ms,
        job_timeout_ms: args.job_timeout_s * 1000,
    };
    let prefix = settings.job_prefix.clone();
    let time_limit = Duration::from_secs(args.time_limit_s);
    let run = block_on_local(conform::conform(
        &args.url,
        args.allow_remote,
        settings,
        &cases,
        args.concurrency,
        time_limit,
    ))??;
    if let Some(why) = &run.unreachable {
        eprintln!(
            "handshake-sim conform: cannot reach {}: {why}; no case was run (each is an error)",
            args.url
        );
    }
    if run.time_limit_reached {
        eprintln!(
            "handshake-sim conform: time limit of {} s reached; unfinished cases are errors",
            args.time_limit_s
        );
    }
    if let Some(path) = &args.junit {
        write_output(path, conform_junit(&args.url, &run, args.strict).as_bytes())?;
    }
    if let Some(path) = &args.json {
        write_output(
            path,
            conform_json(&args.url, &prefix, &run, args.strict).as_bytes(),
        )?;
    }
    if !args.quiet && !any_stdout(&outputs.map(|(_, p)| p)) {
        out!("{}", conform_text(&args.url, &prefix, &run, args.strict));
    }
    Ok(if run.passed(args.strict) {
        Status::Success
    } else {
        Status::Failed
    })
}

/// The outcome as the table shows it: what fails the run is in capitals; a SHOULD case's
/// failure that does not is `non-strict` (the Autobahn testsuite's word), its error `error`.
fn shown(r: &Judged, strict: bool) -> &'static str {
    match (r.result, r.fails_run(strict)) {
        (CaseResult::Pass, _) => "pass",
        (CaseResult::Fail, true) => "FAIL",
        (CaseResult::Error, true) => "ERROR",
        (CaseResult::Fail, false) => "non-strict",
        (CaseResult::Error, false) => "error",
    }
}

fn grade_shown(g: Grade) -> &'static str {
    match g {
        Grade::Must => "MUST",
        Grade::Should => "SHOULD",
    }
}

/// `--list`: every case, its group, its grade and what it checks.
fn conform_list(cases: &[Case]) -> String {
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in cases {
        let _ = writeln!(
            s,
            "{:width$}  {:8} {:6} {}",
            c.name,
            c.group,
            grade_shown(c.grade),
            c.checks
        );
    }
    s
}

/// The table: one row per case, then the counts by grade, the verdict, and the cases that
/// did not pass with what they check.
fn conform_text(url: &str, job_prefix: &str, run: &ConformRun, strict: bool) -> String {
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
        "{:width$}  {:8} {:6} {:10} {:>6}  detail",
        "case", "group", "grade", "outcome", "ms"
    );
    for r in &run.results {
        let _ = writeln!(
            s,
            "{:width$}  {:8} {:6} {:10} {:>6}  {}",
            r.case.name,
            r.case.group,
            grade_shown(r.case.grade),
            shown(r, strict),
            r.elapsed_ms.map_or("–".into(), |ms| ms.to_string()),
            r.detail
        );
    }
    s.push_str(&counts_text(run, strict));
    let not_passed: Vec<_> = run
        .results
        .iter()
        .filter(|r| r.result != CaseResult::Pass)
        .collect();
    if !not_passed.is_empty() {
        s.push_str("\nNot passed (case (grade): what it checks — what happened):\n");
    }
    for r in not_passed {
        let _ = writeln!(
            s,
            "  {} {} ({}): {} — {}",
            shown(r, strict),
            r.case.name,
            grade_shown(r.case.grade),
            r.case.checks,
            r.detail
        );
    }
    s
}

/// The counts, MUST and SHOULD apart, and the verdict the exit code gives.
fn counts_text(run: &ConformRun, strict: bool) -> String {
    let graded = |g: Grade| {
        format!(
            "{} {} passed, {} failed, {} error(s)",
            grade_shown(g),
            run.count_graded(g, CaseResult::Pass),
            run.count_graded(g, CaseResult::Fail),
            run.count_graded(g, CaseResult::Error)
        )
    };
    let non_strict = run.results.iter().filter(|r| r.non_strict()).count();
    let verdict = if run.passed(strict) { "pass" } else { "FAIL" };
    let must_unmet = run.count_graded(Grade::Must, CaseResult::Fail)
        + run.count_graded(Grade::Must, CaseResult::Error);
    // What the verdict comes from: a FAIL names the MUST cases first, so that SHOULD cases
    // failed beside them are not read as its cause.
    let mode = match (strict, non_strict) {
        (true, _) => " (--strict: a SHOULD case counts as a MUST case)".to_string(),
        (false, n) if must_unmet > 0 => {
            let besides = if n > 0 {
                format!("; {n} SHOULD case(s) failed too, non-strict")
            } else {
                String::new()
            };
            format!(" ({must_unmet} MUST case(s) failed or could not be judged{besides})")
        }
        (false, 0) => String::new(),
        (false, n) => format!(" ({n} non-strict: SHOULD case(s) failed; --strict fails them)"),
    };
    format!(
        "\n{} case(s): {}; {}; {} connection(s)\nverdict: {verdict}{mode}\n",
        run.results.len(),
        graded(Grade::Must),
        graded(Grade::Should),
        run.connections
    )
}
