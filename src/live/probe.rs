//! `probe`: the simulated client, unchanged, against a real endpoint in real time.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use super::link::EmulatedLink;
use super::{Endpoint, LiveError};
use crate::client::{Connect, Session};
use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::{JobRecord, Outcome, Recorder, Violation};
use crate::scenario::Scenario;
use crate::sim::RunOutput;

/// Most jobs one probe runs, and most in flight.
pub const PROBE_JOBS_MAX: u32 = 100_000;
pub const PROBE_CONCURRENCY_MAX: u32 = 1_000;

pub struct ProbeOptions {
    pub jobs: u32,
    pub concurrency: u32,
    pub seed: u64,
    /// Stop waiting after this long; unfinished jobs count as network errors.
    pub time_limit_s: u64,
    /// The name the records carry in place of a variant (the endpoint's code is unknown).
    pub label: String,
    /// Job `n` posts the id `{job_prefix}{n}`. The CLI's default is a fresh run id
    /// (`probe-XXXXXXXX-`, from OS randomness) so no two runs share a job; `job-` gives the
    /// simulation's ids, whose draws the server keys by `n` (the sim–live agreement tests).
    pub job_prefix: String,
    /// Delay what the probe sends and receives by the scenario's `network.client_edge`
    /// latency ([`super::link`]): for a target on loopback, whose own network adds nothing.
    pub emulate_client_edge: bool,
}

/// What a probe saw, besides its records.
pub struct ProbeRun {
    pub run: RunOutput,
    /// The time limit ended the run: jobs still going count as network errors (with what
    /// they had learned by then: the 202, the first upgrade time).
    pub time_limit_reached: bool,
    /// Why a first TCP connection to the target failed, when it did: the target cannot be
    /// reached at all, and no job was run.
    pub unreachable: Option<String>,
    /// Jobs that got an HTTP answer of any kind (a 202, a 4xx, a 5xx, one too large to read):
    /// 0 means the probe reached nothing it could judge.
    pub answered: u64,
    /// Jobs failed on what the server did wrong, by what (only those that happened).
    pub violations: BTreeMap<Violation, u64>,
}

/// A random run prefix, `probe-XXXXXXXX-`, from OS randomness (live code only).
pub fn random_job_prefix() -> String {
    format!("probe-{:08x}-", rand::random::<u32>())
}

/// Whether `{prefix}{n}` is a well-formed job id for every job a probe may run.
pub fn valid_job_prefix(prefix: &str) -> bool {
    crate::wire::api::valid_job_id(&format!("{prefix}{PROBE_JOBS_MAX}"))
}

/// The options' bounds, and what `[session]` asks of them.
fn check_options(scenario: &Scenario, options: &ProbeOptions) -> Result<(), LiveError> {
    if options.jobs == 0 || options.jobs > PROBE_JOBS_MAX {
        return Err(LiveError::Usage(format!(
            "--jobs must be within 1..={PROBE_JOBS_MAX}"
        )));
    }
    if options.concurrency == 0 || options.concurrency > PROBE_CONCURRENCY_MAX {
        return Err(LiveError::Usage(format!(
            "--concurrency must be within 1..={PROBE_CONCURRENCY_MAX}"
        )));
    }
    if let Some(s) = scenario
        .session
        .as_ref()
        .filter(|s| s.jobs > options.concurrency)
    {
        return Err(LiveError::Usage(format!(
            "session.jobs ({}) exceeds --concurrency ({}): a session's jobs are in flight together",
            s.jobs, options.concurrency
        )));
    }
    let session_id = format!("{}session-{PROBE_JOBS_MAX}", options.job_prefix);
    if scenario.session.is_some() && !crate::wire::api::valid_job_id(&session_id) {
        return Err(LiveError::Usage(format!(
            "--job-prefix {:?}: with [session], a session's id {session_id:?} must be 1..=64 of [A-Za-z0-9_-]; shorten the prefix",
            options.job_prefix
        )));
    }
    if !valid_job_prefix(&options.job_prefix) {
        return Err(LiveError::Usage(format!(
            "--job-prefix {:?}: job ids are 1..=64 of [A-Za-z0-9_-], with the job's number after the prefix",
            options.job_prefix
        )));
    }
    Ok(())
}

/// Runs `options.jobs` client sessions against `target`. Must run inside a `LocalSet`.
pub async fn probe(
    scenario: &Scenario,
    target: Endpoint,
    options: &ProbeOptions,
) -> Result<ProbeRun, LiveError> {
    check_options(scenario, options)?;
    // One plain TCP connect first: a target that cannot be reached at all is said once, with
    // the reason, instead of as N network errors. It counts against the time limit.
    let time_limit = Duration::from_secs(options.time_limit_s);
    let deadline = tokio::time::Instant::now() + time_limit;
    if let Some(why) = target.unreachable(time_limit).await {
        return Ok(ProbeRun {
            run: RunOutput {
                variant: options.label.clone(),
                seed: options.seed,
                records: Vec::new(),
                sim_ms: 0,
                faults: Default::default(),
            },
            time_limit_reached: false,
            unreachable: Some(why),
            answered: 0,
            violations: BTreeMap::new(),
        });
    }
    let recorder = Rc::new(RefCell::new(Recorder::default()));
    let draws = Draws::new(options.seed, scenario.scenario.tick_ms);
    let connect: Rc<dyn Connect> = if options.emulate_client_edge {
        let latency_ms = scenario.network.client_edge.latency_ms.clone();
        Rc::new(EmulatedLink::new(target, latency_ms, draws.clone()))
    } else {
        Rc::new(target)
    };
    let session = Rc::new(Session {
        scenario: Rc::new(scenario.clone()),
        draws,
        clock: Clock::live_from_now(),
        recorder: recorder.clone(),
        connect,
        token_preloaded: false,
        job_prefix: options.job_prefix.clone(),
        session_prefix: format!("{}session-", options.job_prefix),
    });
    let all = crate::client::run_fleet(session, options.jobs as u64, options.concurrency as usize);
    let finished = tokio::time::timeout_at(deadline, all).await;
    let deadline_ms = scenario.client.result_deadline_ms;
    let mut rec = recorder.borrow_mut();
    for n in 0..options.jobs as u64 {
        judge_end_to_end(rec.job(n), deadline_ms);
    }
    let time_limit_reached = finished.is_err();
    if time_limit_reached {
        tracing::warn!(
            limit_s = options.time_limit_s,
            "time limit reached; unfinished jobs count as network errors"
        );
    }
    drop(rec);
    let records = Rc::try_unwrap(recorder)
        .map(|r| r.into_inner().into_records())
        .unwrap_or_else(|rc| rc.borrow().clone_records());
    let answered = records
        .iter()
        .filter(|r| r.post_accepted || r.outcome != Some(Outcome::NetworkError))
        .count() as u64;
    let mut violations = BTreeMap::new();
    for v in records.iter().filter_map(|r| r.violation) {
        *violations.entry(v).or_insert(0) += 1;
    }
    Ok(ProbeRun {
        run: RunOutput {
            variant: options.label.clone(),
            seed: options.seed,
            records,
            sim_ms: 0,
            faults: Default::default(),
        },
        time_limit_reached,
        unreachable: None,
        answered,
        violations,
    })
}

/// The end-to-end invariant as the client can judge it (the simulation's is
/// `sim::judge_end_to_end`, which also knows what the server finished): a job is `ok` only with
/// every result, each once and in order, and the completion, by `client.result_deadline_ms`,
/// and nothing the server did wrong on the way. A job that ended `ok` without that is a
/// `server_error` with the violation named: the server said it was done (the client's `ok`
/// needs its `complete`) and the app lacks what it was promised. A job the time limit cut
/// short is a network error.
fn judge_end_to_end(r: &mut JobRecord, deadline_ms: u64) {
    if r.outcome.is_none() {
        r.outcome = Some(Outcome::NetworkError);
    }
    r.results_in_time = r.results_complete_ms.is_some_and(|ms| ms <= deadline_ms);
    if r.outcome != Some(Outcome::Ok) {
        return;
    }
    if r.violation.is_none() {
        r.violation = if r.progress_duplicates + r.progress_reordered > 0 {
            Some(Violation::ProgressOutOfOrder)
        } else if r.progress_gap || r.results_complete_ms.is_none() {
            Some(Violation::ProgressGap)
        } else if !r.results_in_time {
            Some(Violation::ResultsLate)
        } else {
            None
        };
    }
    if r.violation.is_some() {
        r.outcome = Some(Outcome::ServerError);
    }
}
