//! One run: builds the turmoil world (a client fleet, the worker, the object host), drives it
//! to the end, and returns the per-job records. Pure simulation: no wall clock, no OS entropy,
//! no files, no real sockets.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use crate::client::{Connect, Session};
use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::{JobRecord, Recorder};
use crate::scenario::Scenario;
use crate::server::{self, Dial, Env, Objects, Variant, Worker};
use crate::task;
use crate::wire::IoObject;

pub(crate) const WORKER_HOST: &str = "worker";
pub(crate) const OBJECT_HOST: &str = "objects";
pub(crate) const FLEET_HOST: &str = "fleet";
pub(crate) const PORT: u16 = 8787;

/// A run that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("variant {variant}, seed {seed}: the simulation failed: {message}")]
    Failed {
        variant: String,
        seed: u64,
        message: String,
    },
}

/// The records of one run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub variant: String,
    pub seed: u64,
    pub records: Vec<JobRecord>,
    /// Simulated time the run took, in ms.
    pub sim_ms: u64,
    /// Faults injected, by kind.
    pub faults: std::collections::BTreeMap<String, u64>,
}

struct TurmoilDial(&'static str);

impl Dial for TurmoilDial {
    fn dial(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>> {
        let host = self.0;
        Box::pin(async move {
            let s = turmoil::net::TcpStream::connect((host, PORT)).await?;
            Ok(Box::new(s) as Box<dyn IoObject>)
        })
    }
}

impl Connect for TurmoilDial {
    fn connect(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>> {
        self.dial()
    }
    fn authority(&self) -> String {
        format!("{}:{PORT}", self.0)
    }
}

/// Serves `host` connections with `serve` until the simulation ends.
async fn accept_loop<F, Fut>(serve: F) -> turmoil::Result
where
    F: Fn(turmoil::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        task::spawn(serve(stream));
    }
}

/// A built simulation: the object host and the worker are running; add clients and run.
pub struct World<'a> {
    pub sim: turmoil::Sim<'a>,
    pub(crate) objects: Rc<Objects>,
    pub recorder: Rc<RefCell<Recorder>>,
    pub(crate) scenario: Rc<Scenario>,
    pub(crate) draws: Draws,
}

/// Builds the turmoil world for `scenario`, `variant` and `seed`: the object host and the
/// worker, with turmoil's link latency at 0 (the worker applies the scenario's latencies).
pub fn world<'a>(scenario: &Scenario, variant: &'static dyn Variant, seed: u64) -> World<'a> {
    let scenario = Rc::new(scenario.clone());
    let meta = &scenario.scenario;
    let mut sim = turmoil::Builder::new()
        .tick_duration(Duration::from_millis(meta.tick_ms))
        .simulation_duration(Duration::from_secs(meta.duration_s_max))
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::ZERO)
        .tcp_capacity(1 << 16)
        // Each job in flight holds up to two client ports; turmoil's default range (16k)
        // wraps onto ports still connected at high concurrency.
        .ephemeral_ports(1024..=65535)
        .rng_seed(seed)
        .build();
    let draws = Draws::new(seed, meta.tick_ms);
    let recorder = Rc::new(RefCell::new(Recorder::default()));
    let env = || Env {
        scenario: scenario.clone(),
        draws: draws.clone(),
        clock: Clock::Sim,
        variant,
        recorder: recorder.clone(),
    };
    let objects = Objects::new(env());
    let host_objects = objects.clone();
    sim.host(OBJECT_HOST, move || {
        let objects = host_objects.clone();
        async move { accept_loop(move |s| server::serve_objects_conn(s, objects.clone())).await }
    });
    let worker = Worker::new(env(), Box::new(TurmoilDial(OBJECT_HOST)));
    sim.host(WORKER_HOST, move || {
        let worker = worker.clone();
        async move { accept_loop(move |s| server::serve_worker_conn(s, worker.clone())).await }
    });
    World {
        sim,
        objects,
        recorder,
        scenario,
        draws,
    }
}

/// A connection to the worker from inside the simulation (for clients of the world).
pub fn edge() -> Rc<dyn Connect> {
    Rc::new(TurmoilDial(WORKER_HOST))
}

/// Runs `scenario` once with `variant` and `seed`.
pub fn run(
    scenario: &Scenario,
    variant: &'static dyn Variant,
    seed: u64,
) -> Result<RunOutput, SimError> {
    guarded(variant, seed, || {
        drive(world(scenario, variant, seed), variant, seed, false)
    })
}

/// Runs `f`, turning a panic anywhere in the simulation (a host, a task, an invariant) into
/// a failed run, so a sweep reports it and goes on.
fn guarded(
    variant: &'static dyn Variant,
    seed: u64,
    f: impl FnOnce() -> Result<RunOutput, SimError>,
) -> Result<RunOutput, SimError> {
    task::take_panic();
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(SimError::Failed {
            variant: variant.name().to_string(),
            seed,
            message: format!("panicked: {}", task::panic_message(p.as_ref())),
        })
    });
    match task::take_panic() {
        Some(message) => Err(SimError::Failed {
            variant: variant.name().to_string(),
            seed,
            message: format!("a simulated task panicked: {message}"),
        }),
        None => out,
    }
}

/// Runs only the upgrades: every job's token is stored beforehand on an active object, and
/// each client connects, upgrades, pings and closes (the `upgrade` benchmark).
pub(crate) fn run_upgrades(
    scenario: &Scenario,
    variant: &'static dyn Variant,
    seed: u64,
) -> Result<RunOutput, SimError> {
    guarded(variant, seed, || {
        let w = world(scenario, variant, seed);
        let ttl = scenario.auth.token_ttl_ms;
        for n in 0..scenario.scenario.jobs as u64 {
            let token = crate::client::preloaded_token(&w.draws, n);
            w.objects.preload(&crate::wire::api::job_id(n), &token, ttl);
        }
        drive(w, variant, seed, true)
    })
}

/// The peak number of progress sockets open at once in the last run on this thread.
pub(crate) fn last_sockets_open_max() -> usize {
    LAST_SOCKETS_OPEN_MAX.with(|c| c.get())
}

thread_local! {
    static LAST_SOCKETS_OPEN_MAX: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn drive(
    w: World,
    variant: &'static dyn Variant,
    seed: u64,
    token_preloaded: bool,
) -> Result<RunOutput, SimError> {
    let World {
        mut sim,
        objects,
        recorder,
        scenario,
        draws,
    } = w;
    drop(objects);
    let session = Rc::new(Session {
        scenario: scenario.clone(),
        draws,
        clock: Clock::Sim,
        recorder: recorder.clone(),
        connect: edge(),
        token_preloaded,
    });
    let jobs = scenario.scenario.jobs as u64;
    let concurrency = scenario.scenario.concurrency as usize;
    let fleet_recorder = recorder.clone();
    sim.client(FLEET_HOST, async move {
        crate::client::run_fleet(session, jobs, concurrency).await?;
        // Drain: let the server finish every upgrade it began (a client that gave up is then
        // counted canceled and its timings recorded) and every enrichment (so every "no
        // socket" warning is counted). Bounded by scenario.duration_s_max like the rest.
        while drain_pending(&fleet_recorder.borrow()) && !task::panicked() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    });
    let failed = |message: String| SimError::Failed {
        variant: variant.name().to_string(),
        seed,
        message,
    };
    sim.run().map_err(|e| {
        let e = e.to_string();
        if e.starts_with("Ran for duration") {
            failed(format!(
                "the simulated clock reached scenario.duration_s_max ({} s) before every job finished",
                scenario.scenario.duration_s_max
            ))
        } else {
            failed(e)
        }
    })?;
    let sim_ms = sim.elapsed().as_millis() as u64;
    drop(sim);
    let scenario_deadline_ms = scenario.client.result_deadline_ms;
    drop(scenario);
    let recorder = Rc::try_unwrap(recorder)
        .map_err(|_| failed("records still shared after the run".into()))?
        .into_inner();
    LAST_SOCKETS_OPEN_MAX.with(|c| c.set(recorder.sockets_open_max()));
    let faults = recorder.faults();
    let mut records = recorder.into_records();
    judge_end_to_end(&mut records, scenario_deadline_ms, variant, seed);
    Ok(RunOutput {
        variant: variant.name().to_string(),
        seed,
        records,
        sim_ms,
        faults,
    })
}

/// Whether the server still has work the records must include: an upgrade it began and has
/// not finished, or an enrichment.
fn drain_pending(recorder: &Recorder) -> bool {
    recorder.enrichments_open() > 0 || recorder.upgrades_open() > 0
}

/// The end-to-end invariant, per job: a job the client saw accepted and the server finished
/// is known to the client by the result deadline, or it is a silent failure. (A job whose
/// 202 never arrived is a failure the app knows about.) Every job must have an outcome.
fn judge_end_to_end(
    records: &mut [JobRecord],
    result_deadline_ms: u64,
    variant: &'static dyn Variant,
    seed: u64,
) {
    for r in records {
        assert!(
            r.outcome.is_some(),
            "job {} has no outcome after the run (variant {}, seed {seed})",
            r.job,
            variant.name()
        );
        r.results_in_time = r
            .results_complete_ms
            .is_some_and(|ms| ms <= result_deadline_ms);
        r.silent_failure = r.enrichment_done && r.post_accepted && !r.results_in_time;
    }
}

/// Runs every variant (by name, checked) over every seed; ordered by variant, then seed.
pub fn run_all(
    scenario: &Scenario,
    variants: &[String],
    seeds: &[u64],
) -> Result<Vec<RunOutput>, SimError> {
    let mut runs = Vec::with_capacity(variants.len() * seeds.len());
    for name in variants {
        let variant = server::variant::by_name(name).ok_or_else(|| SimError::Failed {
            variant: name.clone(),
            seed: seeds.first().copied().unwrap_or(0),
            message: "unknown variant".into(),
        })?;
        for &seed in seeds {
            runs.push(run(scenario, variant, seed)?);
        }
    }
    Ok(runs)
}
