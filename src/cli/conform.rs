//! `conform`: the protocol conformance suite against an endpoint speaking the documented API.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use handshake_sim::internal::live::conform::{self, Case, CaseResult, ConformRun, Settings, CASES};
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

Exit codes: 0 every case passed; 1 a case failed or could not run (error), or the target could
not be reached; 2 bad input (an unknown --case, a non-loopback target without --allow-remote).

Examples:
  handshake-sim conform http://127.0.0.1:8787
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
    /// List the cases and what each checks, and exit.
    #[arg(long)]
    list: bool,
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
    check_outputs(&outputs)?;
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
        write_output(path, conform_junit(&args.url, &run).as_bytes())?;
    }
    if let Some(path) = &args.json {
        write_output(path, conform_json(&args.url, &prefix, &run).as_bytes())?;
    }
    if !args.quiet && !any_stdout(&outputs.map(|(_, p)| p)) {
        out!("{}", conform_text(&args.url, &prefix, &run));
    }
    Ok(if run.passed() {
        Status::Success
    } else {
        Status::Failed
    })
}

/// The outcome as the table shows it: failures stand out.
fn shown(o: CaseResult) -> &'static str {
    match o {
        CaseResult::Pass => "pass",
        CaseResult::Fail => "FAIL",
        CaseResult::Error => "ERROR",
    }
}

/// `--list`: every case, its group and what it checks.
fn conform_list(cases: &[Case]) -> String {
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in cases {
        let _ = writeln!(s, "{:width$}  {:8} {}", c.name, c.group, c.checks);
    }
    s
}

/// The table: one row per case, then the counts and the failures with what they check.
fn conform_text(url: &str, job_prefix: &str, run: &ConformRun) -> String {
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
