//! `conform`: a protocol conformance suite for any endpoint that speaks the documented HTTP
//! API (docs/api.md, "HTTP API of the simulated system"). It assumes that API and nothing of
//! `serve`: every case posts its own jobs (fresh ids under the run's prefix), sends requests
//! well formed but for the one thing it checks, and judges the answer against docs/api.md.
//! Bounded: a request timeout, a job timeout, a time limit for the run and a fixed cap on
//! connections; bodies and frames are read up to 64 KiB.
//!
//! `case` (the list, each case's result), `finding` (what a case's code finds), `context` (what a run's cases share), `http` and `socket`
//! (the two kinds of exchange), `job` (a posted job), and one file per group of cases: `post`,
//! `upgrade`, `refresh`, `status`, `progress`, `request`.

mod case;
mod context;
mod finding;
mod http;
mod job;
mod post;
mod progress;
mod refresh;
mod request;
mod session;
mod socket;
mod status;
mod upgrade;

use std::cell::RefCell;
use std::time::Duration;

use futures_util::StreamExt;

pub use case::{select, Case, CaseResult, Grade, Judged, CASES};
pub use context::CONNECTIONS_MAX;

use super::{Endpoint, LiveError};
use context::Context;
use finding::Finding;

/// Most books a case's job may have, and most cases in flight.
pub const BOOKS_MAX: u32 = 100;
pub const CONCURRENCY_MAX: u32 = 16;
/// Longest `request_timeout_ms`: ten minutes (the one range, of the CLI's flag and the library).
pub const REQUEST_TIMEOUT_MS_MAX: u64 = 600_000;
/// Longest `job_timeout_ms`: an hour (the CLI's `--job-timeout-s` is 1..=3600).
pub const JOB_TIMEOUT_MS_MAX: u64 = 3_600_000;

/// How the cases talk to the endpoint.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Job ids are `{job_prefix}{n}`, `n` counting from 0 across the run.
    pub job_prefix: String,
    /// Books per posted job (2..=BOOKS_MAX: the replay case asks for the progress after 1).
    pub books: u32,
    /// Longest wait for one answer: a response, a pong, a close, the first message.
    pub request_timeout_ms: u64,
    /// Longest wait for a job's progress up to complete.
    pub job_timeout_ms: u64,
}

/// What a run found.
pub struct ConformRun {
    /// One per selected case, in run order.
    pub results: Vec<Judged>,
    /// Why the target's name could not be resolved or a first TCP connection failed, when so:
    /// no case ran, and every one is an error that says why.
    pub unreachable: Option<String>,
    /// The time limit ended the run; cases still going are errors.
    pub time_limit_reached: bool,
    /// Connections opened.
    pub connections: u32,
}

impl ConformRun {
    pub fn count(&self, result: CaseResult) -> usize {
        self.results.iter().filter(|r| r.result == result).count()
    }

    /// The cases of `grade` that ended with `result`.
    pub fn count_graded(&self, grade: Grade, result: CaseResult) -> usize {
        self.results
            .iter()
            .filter(|r| r.case.grade == grade && r.result == result)
            .count()
    }

    /// The target was reached and no result fails the run: every `Must` case passed, and
    /// when `strict` every `Should` case too.
    pub fn passed(&self, strict: bool) -> bool {
        self.unreachable.is_none() && !self.results.iter().any(|r| r.fails_run(strict))
    }
}

/// Whether `{prefix}{n}` padded to 65 characters is possible and every id is well formed.
pub fn valid_job_prefix(prefix: &str) -> bool {
    // Room for the case counter and for the too-long-id cases, which pad to 65.
    crate::wire::api::valid_job_id(&format!("{prefix}{CONNECTIONS_MAX}"))
}

/// Resolves `url` and runs `cases` against it, at most `concurrency` at once, within
/// `time_limit`, which counts the name lookup and the first connection too. Must run inside a
/// `LocalSet`.
pub async fn conform(
    url: &str,
    allow_remote: bool,
    settings: Settings,
    cases: &[&'static Case],
    concurrency: u32,
    time_limit: Duration,
) -> Result<ConformRun, LiveError> {
    check(&settings, concurrency)?;
    let start = tokio::time::Instant::now();
    let target = match reach(url, allow_remote, &settings, start + time_limit).await? {
        Ok(target) => target,
        Err((why, connections)) => return Ok(ConformRun::not_reached(cases, why, connections)),
    };
    let ctx = Context::new(target, settings);
    let done: RefCell<Vec<Option<Judged>>> = RefCell::new(cases.iter().map(|_| None).collect());
    let all = futures_util::stream::iter(cases.iter().enumerate())
        .map(|(i, case)| {
            let ctx = &ctx;
            async move { (i, run_case(ctx, case).await) }
        })
        .buffer_unordered(concurrency as usize)
        .for_each(|(i, judged)| {
            done.borrow_mut()[i] = Some(judged);
            async {}
        });
    let time_limit_reached = tokio::time::timeout_at(start + time_limit, all)
        .await
        .is_err();
    let results = done
        .into_inner()
        .into_iter()
        .zip(cases)
        .map(|(j, case)| {
            j.unwrap_or_else(|| {
                not_run(
                    case,
                    format!(
                        "not finished within the time limit of {} s",
                        time_limit.as_secs()
                    ),
                )
            })
        })
        .collect();
    Ok(ConformRun {
        results,
        unreachable: None,
        time_limit_reached,
        connections: ctx.connections() + 1,
    })
}

/// The target, resolved and reached by one plain TCP connection, each within the request
/// timeout and before `deadline`; or why not and the connections tried. A bad URL or a
/// refused remote address is `Err` (the user's input).
async fn reach(
    url: &str,
    allow_remote: bool,
    settings: &Settings,
    deadline: tokio::time::Instant,
) -> Result<Result<Endpoint, (String, u32)>, LiveError> {
    let request = Duration::from_millis(settings.request_timeout_ms);
    let within = || request.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
    let target = match Endpoint::parse_within(url, allow_remote, within()).await {
        Ok(target) => target,
        Err(LiveError::Io { context, source }) => {
            return Ok(Err((format!("{context}: {source}"), 0)))
        }
        Err(e) => return Err(e),
    };
    Ok(match target.unreachable(within()).await {
        Some(why) => Err((why, 1)),
        None => Ok(target),
    })
}

/// A case that did not run to its end: an error, without a time.
fn not_run(case: &'static Case, detail: String) -> Judged {
    Judged {
        case,
        result: CaseResult::Error,
        detail,
        elapsed_ms: None,
    }
}

impl ConformRun {
    /// The run of a target that could not be reached: every case an error that says why.
    fn not_reached(cases: &[&'static Case], why: String, connections: u32) -> ConformRun {
        let detail = format!("not run: cannot reach the target: {why}");
        ConformRun {
            results: cases.iter().map(|c| not_run(c, detail.clone())).collect(),
            unreachable: Some(why),
            time_limit_reached: false,
            connections,
        }
    }
}

fn check(s: &Settings, concurrency: u32) -> Result<(), LiveError> {
    let usage = |m: String| Err(LiveError::Usage(m));
    if !(2..=BOOKS_MAX).contains(&s.books) {
        return usage(format!("--books must be within 2..={BOOKS_MAX}"));
    }
    if !(1..=CONCURRENCY_MAX).contains(&concurrency) {
        return usage(format!(
            "--concurrency must be within 1..={CONCURRENCY_MAX}"
        ));
    }
    if !(1..=REQUEST_TIMEOUT_MS_MAX).contains(&s.request_timeout_ms) {
        return usage(format!(
            "--request-timeout-ms must be within 1..={REQUEST_TIMEOUT_MS_MAX}"
        ));
    }
    if !(1..=JOB_TIMEOUT_MS_MAX).contains(&s.job_timeout_ms) {
        return usage(format!(
            "--job-timeout-s must be within 1..={} (the job timeout 1..={JOB_TIMEOUT_MS_MAX} ms)",
            JOB_TIMEOUT_MS_MAX / 1000
        ));
    }
    if !valid_job_prefix(&s.job_prefix) {
        return usage(format!(
            "--job-prefix {:?}: job ids are 1..=64 of [A-Za-z0-9_-]; the prefix may have at most {} characters",
            s.job_prefix,
            crate::wire::api::JOB_ID_LEN_MAX - CONNECTIONS_MAX.to_string().len()
        ));
    }
    Ok(())
}

async fn run_case(ctx: &Context, case: &'static Case) -> Judged {
    let start = tokio::time::Instant::now();
    let (result, detail) = match (case.run)(ctx).await {
        Ok(()) => (CaseResult::Pass, String::new()),
        Err(Finding::Fail(d)) => (CaseResult::Fail, d),
        Err(Finding::Error(d)) => (CaseResult::Error, d),
    };
    Judged {
        case,
        result,
        detail,
        elapsed_ms: Some(start.elapsed().as_millis() as u64),
    }
}

/// A random run prefix, `conform-XXXXXXXX-`, from OS randomness (live code only).
pub fn random_job_prefix() -> String {
    format!("conform-{:08x}-", rand::random::<u32>())
}
