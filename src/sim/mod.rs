//! One run: builds the turmoil world (a client fleet, the worker, the durable objects), drives
//! it to the end, and returns the per-job records. Pure simulation: no wall clock, no OS
//! entropy, no files, no real sockets.
//!
//! The world is one turmoil host. The fleet's jobs are its tasks; a connection to the worker
//! is an in-process pipe (`pipe`) whose far end a task on the same host serves
//! (`connect_in_process`). The worker calls the object host, as `stub.fetch()` is a call
//! (`Upstream::Call`), and an accepted socket's two ends are a pipe of their own
//! (`socket_pair`). Real HTTP and WebSocket bytes cross every pipe, and the network between
//! the ends is the worker's: it sleeps the scenario's latencies and applies loss and
//! partitions. Nothing else takes time: a byte written at T is read at T, so simulated
//! latency is the scenario's latency (turmoil's TCP between hosts costs a tick per hop; see
//! ARCHITECTURE.md, "One host, in-process connections").

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use crate::client::{Connect, Session};
use crate::clock::Clock;
use crate::draw::Draws;
use crate::names::VariantId;
use crate::record::{JobRecord, Recorder};
use crate::scenario::Scenario;
use crate::server::{self, Env, Objects, Upstream, Variant, Worker};
use crate::task;
use crate::wire::IoObject;

mod pipe;

/// The one turmoil host of a run: the client fleet, with the worker and the durable objects
/// as tasks beside it (see `connect_in_process` and `socket_pair`).
pub(crate) const FLEET_HOST: &str = "fleet";
/// The worker's authority in the Host header and the socket URL.
const EDGE_AUTHORITY: &str = "worker:8787";

/// A run that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("variant {variant}, seed {seed}: the simulation failed: {message}")]
    Failed {
        variant: String,
        seed: u64,
        message: String,
    },
    /// The scenario asks for what the variant does not do.
    #[error("variant {variant}: {why}")]
    Unsupported { variant: String, why: String },
    /// The runs asked for are estimated to need more memory than the budget
    /// (`scenario::memory`): refused before any of them starts.
    #[error("{0}")]
    OverMemoryBudget(String),
}

impl crate::failure::BadInput for SimError {
    /// A run that failed is the work, not the input; a variant the scenario cannot run with
    /// is the input.
    fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SimError::Unsupported { .. } | SimError::OverMemoryBudget(_)
        )
    }
}

impl SimError {
    /// Run (`variant`, `seed`) failed because of `message`.
    fn failed(variant: &Variant, seed: u64, message: String) -> Self {
        SimError::Failed {
            variant: variant.name().to_string(),
            seed,
            message,
        }
    }
}

/// The records of one run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The variant's name (`live` for a probe's run).
    pub variant: String,
    pub seed: u64,
    pub records: Vec<JobRecord>,
    /// Simulated time the run took, in ms.
    pub sim_ms: u64,
    /// Faults injected, by kind.
    pub faults: std::collections::BTreeMap<crate::names::FaultKind, u64>,
}

/// Bytes one direction of an in-process connection holds before a write waits for the
/// reader (allocated as used, not up front).
const PIPE_BYTES: usize = 256 * 1024;

/// An in-process connection: one end for the caller, the other served at once by a task on
/// the caller's host. No turmoil hop, so no delivery tick: what a message takes is what the
/// worker sleeps. Dropping an end is the connection's reset: the other end reads EOF and its
/// writes fail.
fn connect_in_process<Fut>(serve: impl FnOnce(pipe::End) -> Fut) -> Box<dyn IoObject>
where
    Fut: std::future::Future<Output = ()> + 'static,
{
    let (near, far) = pipe::pipe(PIPE_BYTES);
    task::spawn(serve(far));
    Box::new(near)
}

/// The two ends of an accepted socket between the worker and an object: the worker calls
/// the object host (`Upstream::Call`), and only the socket's bytes need a stream.
fn socket_pair() -> (Box<dyn IoObject>, Box<dyn IoObject>) {
    let (worker_end, object_end) = pipe::pipe(PIPE_BYTES);
    (Box::new(worker_end), Box::new(object_end))
}

/// A client's way to the worker.
struct EdgeDial(Rc<Worker>);

impl Connect for EdgeDial {
    fn connect(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>> {
        let worker = self.0.clone();
        Box::pin(async move { Ok(connect_in_process(|s| server::serve_worker_conn(s, worker))) })
    }
    fn authority(&self) -> String {
        EDGE_AUTHORITY.to_string()
    }
}

/// A built simulation: the worker and the durable objects, served in-process to whoever
/// connects through [`World::edge`]; add a client host and run.
pub struct World<'a> {
    pub sim: turmoil::Sim<'a>,
    pub(crate) objects: Rc<Objects>,
    pub(crate) worker: Rc<Worker>,
    pub recorder: Rc<RefCell<Recorder>>,
    pub(crate) scenario: Rc<Scenario>,
    pub(crate) draws: Draws,
    pub(crate) ticks: Ticks,
}

/// How turmoil moves the clock through a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ticks {
    /// The whole run as one turmoil tick, up to the first tick boundary past
    /// `duration_s_max` (turmoil's duration check then comes where ticking would make it): the
    /// host's paused tokio clock moves straight from one timer to the next, so simulated time
    /// in which nothing happens costs nothing. The fleet's end stops every task at the end of
    /// its scenario tick (`StopAtTickEnd`), where ticking would stop the host. Exact: the same
    /// outputs as `Every` (`tests.rs`), with the one host of this world (ARCHITECTURE.md,
    /// "One turmoil tick per run").
    Whole,
    /// One turmoil tick per scenario tick: plain turmoil, for a host of one's own
    /// ([`world`]), and to check that `Whole` changes nothing.
    Every,
}

/// Builds the turmoil world for `scenario`, `variant` and `seed`: the worker and the durable
/// objects, reached in-process (the worker applies the scenario's network latencies), for a
/// client host of one's own. turmoil ticks every `scenario.tick_ms`, as plain turmoil does
/// (the simulation's own runs take the whole run as one tick, which needs their fleet's end
/// to stop the tasks).
pub fn world<'a>(scenario: &Scenario, variant: Variant, seed: u64) -> World<'a> {
    world_ticking(scenario, variant, seed, Ticks::Every)
}

/// The tick turmoil runs: the scenario's, or (`Ticks::Whole`) from the start to the first
/// scenario tick boundary past `duration_s_max`, where ticking one tick at a time would report
/// the duration exceeded (it checks after each tick whether the elapsed time is past it).
fn turmoil_tick(scenario: &Scenario, ticks: Ticks) -> Duration {
    let meta = &scenario.scenario;
    let tick_ms = meta.tick_ms;
    match ticks {
        Ticks::Every => Duration::from_millis(tick_ms),
        // Both are bounded by validation (a tick of 1 s, 7 days), far from overflowing.
        Ticks::Whole => Duration::from_millis((meta.duration_s_max * 1000 / tick_ms + 1) * tick_ms),
    }
}

/// [`world`], with the way the clock moves given.
pub(crate) fn world_ticking<'a>(
    scenario: &Scenario,
    variant: Variant,
    seed: u64,
    ticks: Ticks,
) -> World<'a> {
    let scenario = Rc::new(scenario.clone());
    let meta = &scenario.scenario;
    let sim = turmoil::Builder::new()
        .tick_duration(turmoil_tick(&scenario, ticks))
        .simulation_duration(Duration::from_secs(meta.duration_s_max))
        .rng_seed(seed)
        .build();
    let draws = Draws::new(seed, meta.tick_ms);
    let recorder = Rc::new(RefCell::new(Recorder::for_jobs(meta.jobs as usize)));
    let kv = crate::server::kv_namespace(&scenario, None);
    let env = || Env {
        scenario: scenario.clone(),
        draws: draws.clone(),
        clock: Clock::Sim,
        variant: variant.clone(),
        recorder: recorder.clone(),
        live: None,
        kv: kv.clone(),
        edge_secret: server::SIM_EDGE_SECRET.into(),
    };
    let objects = Objects::new(env());
    let upstream = Upstream::Call {
        objects: objects.clone(),
        pair: socket_pair,
    };
    let worker = Worker::new(env(), upstream);
    World {
        sim,
        objects,
        worker,
        recorder,
        scenario,
        draws,
        ticks,
    }
}

impl World<'_> {
    /// Connections to the worker, for a client host of this world: each connection is served
    /// by a task on the host that connects.
    pub fn edge(&self) -> Rc<dyn Connect> {
        Rc::new(EdgeDial(self.worker.clone()))
    }
}

/// Runs `scenario` once with `variant` and `seed`.
pub fn run(scenario: &Scenario, variant: Variant, seed: u64) -> Result<RunOutput, SimError> {
    run_ticking(scenario, variant, seed, Ticks::Whole)
}

/// [`run`], with the way the clock moves given.
pub(crate) fn run_ticking(
    scenario: &Scenario,
    variant: Variant,
    seed: u64,
    ticks: Ticks,
) -> Result<RunOutput, SimError> {
    if scenario.session.is_some() && variant.edge_check().is_some() {
        return Err(SimError::Unsupported {
            variant: variant.name().to_string(),
            why: "it checks a job's socket at the edge, and [session] opens a session's socket, \
                  which only its object checks; run it without [session], or run an object's \
                  variant (parallel, …) with it"
                .into(),
        });
    }
    guarded(&variant, seed, || {
        drive(
            world_ticking(scenario, variant.clone(), seed, ticks),
            &variant,
            seed,
            false,
        )
    })
}

/// The target of the span around each run, which the command line's log filter always
/// enables, so that every log line says which variant and seed it is of.
pub const RUN_SPAN_TARGET: &str = "handshake_sim::run";

/// Runs `f`, turning a panic anywhere in the simulation (a host, a task, an invariant) into
/// a failed run, so a sweep reports it and goes on. Inside a `run{variant=… seed=…}` span:
/// turmoil polls every host on this thread, so each event of the run carries it.
fn guarded(
    variant: &Variant,
    seed: u64,
    f: impl FnOnce() -> Result<RunOutput, SimError>,
) -> Result<RunOutput, SimError> {
    let _run =
        tracing::error_span!(target: RUN_SPAN_TARGET, "run", variant = %variant.name(), seed)
            .entered();
    task::take_panic();
    // A stop is of one run's runtime; none is left from an earlier run on this thread.
    task::stop_after(None);
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(SimError::failed(
            variant,
            seed,
            format!("panicked: {}", task::panic_message(p.as_ref())),
        ))
    });
    task::stop_after(None);
    match task::take_panic() {
        Some(message) => Err(SimError::failed(
            variant,
            seed,
            format!("a simulated task panicked: {message}"),
        )),
        None => out,
    }
}

/// Runs only the upgrades: every job's token is stored beforehand on an active object, and
/// each client connects, upgrades, pings and closes (the `upgrade` benchmark).
pub(crate) fn run_upgrades(
    scenario: &Scenario,
    variant: Variant,
    seed: u64,
) -> Result<RunOutput, SimError> {
    guarded(&variant, seed, || {
        let w = world_ticking(scenario, variant.clone(), seed, Ticks::Whole);
        let ttl = scenario.auth.token_ttl_ms;
        for n in 0..scenario.scenario.jobs as u64 {
            let token = crate::client::preloaded_token(&w.draws, n);
            w.objects.preload(&crate::wire::api::job_id(n), &token, ttl);
        }
        drive(w, &variant, seed, true)
    })
}

/// Runs `scenario`'s fleet without turmoil: the same world (worker, objects, in-process pipes,
/// the client fleet, real HTTP and WebSocket bytes) as tasks on a plain current-thread tokio
/// runtime whose clock is paused, so whatever waits moves the clock instead of the wall. With
/// every latency 0 this is the protocol's own cost, the `floor` benchmark: what the
/// simulation of the same jobs would cost if simulating were free. Not a simulation: the
/// model's clock (`Clock::Sim`, turmoil's) reads 0 throughout and a sleep takes the live
/// path, so only a scenario in which nothing takes time means what the simulation means;
/// `duration_s_max` still stops it.
pub(crate) fn run_floor(
    scenario: &Scenario,
    variant: Variant,
    seed: u64,
) -> Result<RunOutput, SimError> {
    guarded(&variant, seed, || {
        let failed = |message: String| SimError::failed(&variant, seed, message);
        let (sim, fleet) = fleet(world(scenario, variant.clone(), seed), false);
        drop(sim);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| failed(format!("a tokio runtime: {e}")))?;
        let local = tokio::task::LocalSet::new();
        crate::record::note_run_start();
        // The same hard stop as the simulation's, on the paused clock.
        let limit = Duration::from_secs(scenario.scenario.duration_s_max);
        let future = fleet.future;
        // Made inside the runtime: a timeout's timer needs its clock.
        let bounded = async move { tokio::time::timeout(limit, future).await };
        let (ran, elapsed) = local.block_on(&rt, crate::clock::timed(bounded));
        let ran = ran.unwrap_or_else(|_| Err(duration_exceeded(&fleet.scenario).into()));
        // The tasks still on the set hold the recorder.
        drop(local);
        drop(rt);
        ran.map_err(|e| failed(e.to_string()))?;
        let sim_ms = elapsed.as_millis() as u64;
        finish(fleet.recorder, fleet.scenario, &variant, seed, sim_ms)
    })
}

/// The peak number of progress sockets open at once in the last run on this thread.
pub(crate) fn last_sockets_open_max() -> usize {
    LAST_SOCKETS_OPEN_MAX.with(|c| c.get())
}

thread_local! {
    static LAST_SOCKETS_OPEN_MAX: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A world's client fleet, ready to be driven: the future of every job and the drain after
/// them, and what the records are taken from when it has finished.
struct Fleet {
    future: LocalBoxFuture<'static, turmoil::Result>,
    recorder: Rc<RefCell<Recorder>>,
    scenario: Rc<Scenario>,
    ticks: Ticks,
}

/// Splits a world into its turmoil simulation and its fleet.
fn fleet<'a>(w: World<'a>, token_preloaded: bool) -> (turmoil::Sim<'a>, Fleet) {
    let connect = w.edge();
    let World {
        sim,
        objects,
        worker,
        recorder,
        scenario,
        draws,
        ticks,
    } = w;
    drop(worker);
    let session = Rc::new(Session {
        scenario: scenario.clone(),
        draws,
        clock: Clock::Sim,
        recorder: recorder.clone(),
        connect,
        token_preloaded,
        job_prefix: "job-".into(),
        session_prefix: "session-".into(),
    });
    let jobs = scenario.scenario.jobs as u64;
    let concurrency = scenario.scenario.concurrency as usize;
    let fleet_recorder = recorder.clone();
    let future = Box::pin(async move {
        crate::client::run_fleet(session, jobs, concurrency).await?;
        // Drain: let the server finish every upgrade it began (a client that gave up is then
        // counted canceled and its timings recorded) and every enrichment (so every "no
        // socket" warning is counted). Bounded by scenario.duration_s_max like the rest.
        while drain_pending(&fleet_recorder.borrow()) && !task::panicked() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        objects.record_costs();
        Ok(())
    });
    let fleet = Fleet {
        future,
        recorder,
        scenario,
        ticks,
    };
    (sim, fleet)
}

fn drive(
    w: World,
    variant: &Variant,
    seed: u64,
    token_preloaded: bool,
) -> Result<RunOutput, SimError> {
    let (mut sim, fleet) = fleet(w, token_preloaded);
    let scenario = fleet.scenario.clone();
    let tick = Duration::from_millis(scenario.scenario.tick_ms);
    let end = Rc::new(Cell::new(None));
    let future = match fleet.ticks {
        Ticks::Every => fleet.future,
        Ticks::Whole => stopping_at_its_end(fleet.future, tick, end.clone()),
    };
    sim.client(FLEET_HOST, future);
    crate::record::note_run_start();
    let failed = |message: String| SimError::failed(variant, seed, message);
    sim.run().map_err(|e| {
        let e = e.to_string();
        if e.starts_with("Ran for duration") {
            failed(duration_exceeded(&scenario))
        } else {
            failed(e)
        }
    })?;
    // Ticking one at a time, the run ends with the tick in which the fleet finished.
    let sim_ms = end.get().unwrap_or_else(|| sim.elapsed()).as_millis() as u64;
    drop(sim);
    finish(fleet.recorder, scenario, variant, seed, sim_ms)
}

/// The fleet's future for a run in one turmoil tick (`Ticks::Whole`): when it ends, however
/// (finished, failed or unwinding), every task stops at the end of the scenario tick it ended
/// in, and `end` says when that is.
fn stopping_at_its_end(
    fleet: LocalBoxFuture<'static, turmoil::Result>,
    tick: Duration,
    end: Rc<Cell<Option<Duration>>>,
) -> LocalBoxFuture<'static, turmoil::Result> {
    Box::pin(async move {
        let _stop = StopAtTickEnd { tick, end };
        fleet.await
    })
}

/// Stops the tasks when dropped with the fleet's future, at the end of the current tick: ticking
/// one tick at a time, turmoil looks at the fleet only at the end of each tick, and the host's
/// tick ends as its clock reaches that boundary, before any task woken then runs (so a boundary
/// belongs to the next tick). Every task woken before it still runs, none woken at it or after.
struct StopAtTickEnd {
    tick: Duration,
    end: Rc<Cell<Option<Duration>>>,
}

impl Drop for StopAtTickEnd {
    fn drop(&mut self) {
        // Outside the simulation (the world dropped with the fleet unfinished) there is no
        // clock, and no task will run again.
        let Some(elapsed) = turmoil::sim_elapsed() else {
            return;
        };
        let ticks = elapsed.as_nanos() / self.tick.as_nanos() + 1;
        let end = self.tick * u32::try_from(ticks).expect("a run is at most 7 days of ticks");
        task::stop_after(Some(end - elapsed));
        self.end.set(Some(end));
    }
}

/// Why a run that hit its hard stop failed.
fn duration_exceeded(scenario: &Scenario) -> String {
    format!(
        "the simulated clock reached scenario.duration_s_max ({} s) before every job finished",
        scenario.scenario.duration_s_max
    )
}

/// The run's output from its recorder, once the fleet and the world are gone.
fn finish(
    recorder: Rc<RefCell<Recorder>>,
    scenario: Rc<Scenario>,
    variant: &Variant,
    seed: u64,
    sim_ms: u64,
) -> Result<RunOutput, SimError> {
    let failed = |message: String| SimError::failed(variant, seed, message);
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
    variant: &Variant,
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

/// Runs every (built-in) variant over every seed, ordered by variant, then seed, telling
/// `progress` after each finished run (it sees nothing of the run, so a progress display
/// cannot change an output).
pub fn run_all(
    scenario: &Scenario,
    variants: &[VariantId],
    seeds: &[u64],
    progress: &dyn Fn(),
) -> Result<Vec<RunOutput>, SimError> {
    let variants = variants
        .iter()
        .map(|&id| {
            server::variant::builtin(id).ok_or_else(|| SimError::Failed {
                variant: id.name().to_string(),
                seed: seeds.first().copied().unwrap_or(scenario.scenario.seed),
                message: "a user's variant has no built-in implementation: run it with \
                          Experiment::with_variant"
                    .into(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    run_variants(scenario, &variants, seeds, progress)
}

/// [`run_all`] with the variants' implementations given (built-in or a user's).
pub fn run_variants(
    scenario: &Scenario,
    variants: &[Variant],
    seeds: &[u64],
    progress: &dyn Fn(),
) -> Result<Vec<RunOutput>, SimError> {
    let count = variants.len() * seeds.len();
    crate::scenario::memory::check(scenario, count as u64).map_err(SimError::OverMemoryBudget)?;
    let mut runs = Vec::with_capacity(count);
    for variant in variants {
        for &seed in seeds {
            runs.push(run(scenario, variant.clone(), seed)?);
            progress();
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests;
