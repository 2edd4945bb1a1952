//! Replay: rerun one scenario, variant and seed, and keep the `tracing` events of one job as
//! its timeline in simulated milliseconds.

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::record::JobRecord;
use crate::scenario::Scenario;
use crate::server::Variant;
use crate::sim::{self, SimError};

/// One step of a job.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    pub t_ms: u64,
    /// The turmoil host the step ran on (`fleet`, `worker`, `objects`).
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
    job: u64,
    steps: Arc<Mutex<Vec<Step>>>,
}

/// The host an event ran on, from the module that emitted it (the client runs on the fleet
/// host, the worker relay on the worker, everything else of the server on the object host).
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
        if f.job != Some(self.job) {
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

/// Reruns the scenario and returns job `job`'s record and timeline.
pub fn replay(
    scenario: &Scenario,
    variant: &'static dyn Variant,
    seed: u64,
    job: u64,
) -> Result<(JobRecord, Vec<Step>), SimError> {
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
    let steps = std::mem::take(&mut *steps.lock().expect("replay lock is never poisoned"));
    Ok((record, steps))
}
