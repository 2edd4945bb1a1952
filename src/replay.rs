//! Replay: rerun one scenario, variant and seed, and keep the `tracing` events of one job as
//! its timeline in simulated milliseconds.

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::fnv::Fnv1a;
use crate::record::{JobRecord, Outcome};
use crate::scenario::Scenario;
use crate::server::Variant;
use crate::sim::{self, RunOutput, SimError};

/// One step of a job.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    pub t_ms: u64,
    /// The part of the system the step ran in (`fleet`, `worker`, `objects`).
    pub host: String,
    pub level: String,
    pub message: String,
    /// Other fields, in the order the event gave them.
    pub fields: Vec<(String, String)>,
}

/// Most steps kept for one job (a bound on the timeline).
const STEPS_MAX: usize = 100_000;

#[derive(Default)]
struct Fields {
    job: Option<u64>,
    t_ms: Option<u64>,
    message: String,
    rest: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "job" => self.job = Some(value),
            "t_ms" => self.t_ms = Some(value),
            other => self.rest.push((other.into(), value.to_string())),
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        match (field.name(), u64::try_from(value)) {
            ("job", Ok(v)) => self.job = Some(v),
            ("t_ms", Ok(v)) => self.t_ms = Some(v),
            (other, _) => self.rest.push((other.into(), value.to_string())),
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.into(),
            other => self.rest.push((other.into(), value.into())),
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            other => self.rest.push((other.into(), format!("{value:?}"))),
        }
    }
}

struct Collect {
    /// Keep only this job's events; `None` keeps every event (a whole-run trace).
    job: Option<u64>,
    steps: Arc<Mutex<Vec<Step>>>,
}

/// The part an event ran in, from the module that emitted it (the client in the fleet, the
/// worker relay in the worker, everything else of the server in the objects); in the
/// simulation all three are tasks on one turmoil host.
/// This does not depend on turmoil's spans, whose callsite interest another thread may have
/// cached as disabled.
fn host_of(target: &str) -> &'static str {
    if target.starts_with("handshake_sim::client") {
        "fleet"
    } else if target.starts_with("handshake_sim::server::worker") {
        "worker"
    } else if target.starts_with("handshake_sim::server") || target == "handshake_sim::timing" {
        "objects"
    } else {
        "?"
    }
}

impl<S: Subscriber> Layer<S> for Collect {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        if self.job.is_some() && f.job != self.job {
            return;
        }
        let mut steps = self.steps.lock().expect("replay lock is never poisoned");
        if steps.len() < STEPS_MAX {
            steps.push(Step {
                t_ms: f.t_ms.unwrap_or(0),
                host: host_of(event.metadata().target()).to_string(),
                level: event.metadata().level().to_string(),
                message: f.message,
                fields: f.rest,
            });
        }
    }
}

/// Runs once and returns the records with the trace of `job` (or of every job).
fn traced(
    scenario: &Scenario,
    variant: Variant,
    seed: u64,
    job: Option<u64>,
) -> Result<(RunOutput, Vec<Step>), SimError> {
    let steps = Arc::new(Mutex::new(Vec::new()));
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("handshake_sim", Level::DEBUG);
    let subscriber = tracing_subscriber::registry().with(
        Collect {
            job,
            steps: steps.clone(),
        }
        .with_filter(filter),
    );
    let run = tracing::subscriber::with_default(subscriber, || sim::run(scenario, variant, seed))?;
    let steps = std::mem::take(&mut *steps.lock().expect("replay lock is never poisoned"));
    Ok((run, steps))
}

/// Where two runs of the same scenario, variant and seed parted.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Index of the first differing trace event (or the length of the shorter trace).
    pub index: usize,
    pub first: Option<Step>,
    pub second: Option<Step>,
}

/// The outcome of a run-twice check: the trace's length and hash, or where it diverged.
#[derive(Debug, Clone, PartialEq)]
pub struct DeterminismCheck {
    pub events: usize,
    /// FNV-1a over every event of the trace and the records, as 16 hex digits.
    pub hash: String,
    pub divergence: Option<Divergence>,
    /// Whether the two runs' records (outcomes and timings of every job) were equal.
    pub records_equal: bool,
}

/// The first event where two traces differ, if they do.
pub fn diverge(a: &[Step], b: &[Step]) -> Option<Divergence> {
    let index = match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => i,
        None if a.len() == b.len() => return None,
        None => a.len().min(b.len()),
    };
    Some(Divergence {
        index,
        first: a.get(index).cloned(),
        second: b.get(index).cloned(),
    })
}

fn trace_hash(steps: &[Step], run: &RunOutput) -> u64 {
    let mut h = Fnv1a::new();
    for s in steps {
        h.write(format!("{s:?}\n").as_bytes());
    }
    h.write(format!("{:?}", run.records).as_bytes());
    h.finish()
}

/// Runs the scenario twice with the same seed and compares the full event traces and the
/// records (in the manner of madsim's and FoundationDB's run-twice checks).
pub fn check_determinism(
    scenario: &Scenario,
    variant: Variant,
    seed: u64,
) -> Result<DeterminismCheck, SimError> {
    let (run_a, a) = traced(scenario, variant.clone(), seed, None)?;
    let (run_b, b) = traced(scenario, variant, seed, None)?;
    let (ha, hb) = (trace_hash(&a, &run_a), trace_hash(&b, &run_b));
    let divergence = if ha == hb {
        None
    } else {
        // Same events but other records still diverge: point past the end of the trace.
        Some(diverge(&a, &b).unwrap_or(Divergence {
            index: a.len(),
            first: None,
            second: None,
        }))
    };
    Ok(DeterminismCheck {
        records_equal: run_a.records == run_b.records,
        events: a.len(),
        hash: format!("{ha:016x}"),
        divergence,
    })
}

/// Reruns the scenario and returns job `job`'s record and timeline.
pub fn replay(
    scenario: &Scenario,
    variant: Variant,
    seed: u64,
    job: u64,
) -> Result<(JobRecord, Vec<Step>), SimError> {
    let (run, steps) = traced(scenario, variant.clone(), seed, Some(job))?;
    let record = run
        .records
        .into_iter()
        .find(|r| r.job == job)
        .ok_or_else(|| SimError::Failed {
            variant: variant.name().into(),
            seed,
            message: format!(
                "job {job} is not in this scenario (jobs 0..{})",
                scenario.scenario.jobs
            ),
        })?;
    Ok((record, steps))
}

/// One job of one run: what `replay` needs to rerun it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    pub seed: u64,
    pub variant: String,
    pub job: u64,
}

/// The job worth replaying after a run: the failed job with the slowest server upgrade; else
/// (nothing failed) the job that had the most trouble — a silent failure first, then the most
/// retries and reconnects — so a faults scenario shows a fault at work; else the job with the
/// slowest client upgrade. Ties go to the lowest job number. `None` when the runs hold no job.
pub fn worst_job(runs: &[RunOutput]) -> Option<JobRef> {
    let all = runs
        .iter()
        .flat_map(|r| r.records.iter().map(move |j| (r, j)));
    let failed = all
        .clone()
        .filter(|(_, j)| j.outcome != Some(Outcome::Ok))
        .max_by_key(|(_, j)| (j.upgrade_ms.unwrap_or(0), std::cmp::Reverse(j.job)));
    let trouble = |j: &JobRecord| (j.silent_failure, j.retries + j.reconnects);
    let troubled = all
        .clone()
        .filter(|(_, j)| trouble(j) != (false, 0))
        .max_by_key(|(_, j)| (trouble(j), std::cmp::Reverse(j.job)));
    let (r, j) = failed
        .or(troubled)
        .or_else(|| all.max_by_key(|(_, j)| (j.client_upgrade_ms, std::cmp::Reverse(j.job))))?;
    Some(JobRef {
        seed: r.seed,
        variant: r.variant.clone(),
        job: j.job,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u64, outcome: Outcome, upgrade_ms: Option<u64>, client_ms: Option<u64>) -> JobRecord {
        let mut j = JobRecord::new(n);
        j.outcome = Some(outcome);
        j.upgrade_ms = upgrade_ms;
        j.client_upgrade_ms = client_ms;
        j
    }

    fn run(variant: &str, seed: u64, records: Vec<JobRecord>) -> RunOutput {
        RunOutput {
            variant: variant.into(),
            seed,
            records,
            sim_ms: 0,
            faults: Default::default(),
        }
    }

    fn check(runs: &[RunOutput], expected: Option<(u64, &str, u64)>) {
        let got = worst_job(runs).map(|r| (r.seed, r.variant, r.job));
        assert_eq!(got, expected.map(|(s, v, j)| (s, v.to_string(), j)));
    }

    #[test]
    fn worst_job_prefers_the_slowest_failed_upgrade_then_the_slowest_client_upgrade() {
        check(&[], None);
        check(&[run("parallel", 1, vec![])], None);
        let ok = |n, ms| job(n, Outcome::Ok, Some(ms), Some(ms + 5));
        // Nothing failed: the slowest client upgrade, the lowest job on a tie.
        check(
            &[run("parallel", 1, vec![ok(0, 10), ok(1, 90), ok(2, 90)])],
            Some((1, "parallel", 1)),
        );
        // A failure beats any success, however slow; across runs and seeds.
        let failed = job(3, Outcome::HandshakeTimeout, Some(40), None);
        let slower = job(1, Outcome::PingTimeout, Some(70), None);
        check(
            &[
                run("parallel", 1, vec![ok(0, 500), failed]),
                run("sequential", 2, vec![ok(0, 10), slower]),
            ],
            Some((2, "sequential", 1)),
        );
        // A failure without a server upgrade still counts (as 0 ms).
        check(
            &[run(
                "batched",
                7,
                vec![ok(0, 500), job(4, Outcome::NetworkError, None, None)],
            )],
            Some((7, "batched", 4)),
        );
    }

    #[test]
    fn with_nothing_failed_the_worst_job_is_the_one_with_the_most_trouble() {
        let ok = |n, ms| job(n, Outcome::Ok, Some(ms), Some(ms + 5));
        let mut retried = ok(2, 10);
        retried.retries = 1;
        let mut reconnected = ok(3, 10);
        reconnected.reconnects = 2;
        check(
            &[run(
                "parallel",
                1,
                vec![ok(0, 500), retried.clone(), reconnected.clone()],
            )],
            Some((1, "parallel", 3)),
        );
        // A silent failure outranks any number of retries.
        let mut silent = ok(4, 10);
        silent.silent_failure = true;
        check(
            &[run(
                "parallel",
                1,
                vec![ok(0, 500), retried, reconnected, silent],
            )],
            Some((1, "parallel", 4)),
        );
    }
}
