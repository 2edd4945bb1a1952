//! Benchmarks of the simulator itself: wall-clock speed and memory of the `flow`, `upgrade`
//! and `idle` workloads, and how they scale, each beside the `floor`: the flow's jobs with
//! nothing simulated, the protocol's own cost. Wall time is read here, outside the simulation.
//! The [`Driver`] runs each measurement in a fresh process of this program (`bench --child`).

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::names::VariantId;
use crate::record::Outcome;
use crate::scenario::{parse_overrides, Dist, Scenario, ScenarioError};
use crate::server::variant;
use crate::sim::{self, RunOutput, SimError};

/// The scenario of the `upgrade` and `idle` workloads (the `flow` one is `sims/bench.toml`).
const UPGRADE: &str = r#"
[scenario]
name = "bench-upgrade"
jobs = 20000
concurrency = 100
variants = ["sequential"]
[network.client_edge]
latency_ms = { constant = 5 }
[network.edge_object]
latency_ms = { constant = 1 }
[object]
restart_probability = 0.0
[client]
books_per_job = 0
"#;

const IDLE: &str = r#"
[scenario]
name = "bench-idle"
jobs = 20
concurrency = 1
variants = ["sequential"]
[storage]
read_ms = { constant = 30000 }
[object]
restart_probability = 1.0
[client]
handshake_timeout_ms = 60000
ping_timeout_ms = 10000
books_per_job = 0
"#;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// The flow's jobs with every latency 0 and no turmoil (a plain tokio runtime, paused
    /// clock): the protocol's own cost, which the others are measured against.
    Floor,
    /// The full per-job flow of sims/bench.toml (20,000 jobs, 1,000 at a time, cold objects).
    Flow,
    /// Connect, upgrade with the token already stored, ping/pong, close (concurrency 100).
    Upgrade,
    /// One job at a time waiting out the client's 10 s ping timeout: the cost of time passing.
    Idle,
}

impl Workload {
    /// Every workload, in the order `bench` runs them by default: the floor first, so each
    /// later row can show its ratio to it.
    pub const ALL: [Workload; 4] = [
        Workload::Floor,
        Workload::Flow,
        Workload::Upgrade,
        Workload::Idle,
    ];
}

/// What one workload measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Measurement {
    pub workload: Workload,
    pub jobs: u64,
    pub concurrency: u32,
    pub wall_s: f64,
    pub sim_s: f64,
    pub jobs_per_s: f64,
    pub upgrades_per_s: f64,
    /// Simulated seconds per wall second.
    pub sim_speedup: f64,
    /// `jobs_per_s` over the floor's, measured in the same `bench` (flow and upgrade; the
    /// idle workload's jobs mostly wait, and scaling points differ in size from the floor).
    #[serde(default)]
    pub floor_ratio: Option<f64>,
    pub peak_rss_bytes: u64,
    /// Peak sockets open at once on the object host.
    pub connections_peak: u64,
    /// Heap bytes live when the open sockets peaked, less those live when the run started
    /// (the world built; for `upgrade`, its 20,000 tokens preloaded), per socket open then:
    /// what one open WebSocket (client, relay and object ends, and the job around it) holds.
    /// Without the counting allocator: (peak RSS − RSS when the run started) / peak. `None`
    /// when no socket opened.
    pub bytes_per_connection: Option<u64>,
    /// The run's peak live heap, less what was live when it started (the world built), per
    /// job in flight (`scenario.concurrency`, or the jobs when fewer): what a herd costs a job
    /// at its worst moment, the world of the jobs run so far included; exact (the counting
    /// allocator counts it). `None` without the counting allocator.
    #[serde(default)]
    pub heap_peak_bytes_per_job: Option<u64>,
    /// Jobs that did not end `ok` (expected 0, except `idle` where every job times out).
    pub failed_jobs: u64,
}

/// A global allocator that counts the bytes live on the heap while counting is on, so the
/// benchmark can measure what open connections hold (RSS keeps memory the allocator retains
/// after a burst). The binary installs it around mimalloc; counting costs one relaxed load per
/// allocation when off.
pub struct Counting<A>(pub A);

thread_local! {
    // Per thread, without atomics: the benchmark runs on one thread, and a thread-local
    // `Cell` costs an allocation next to nothing. Const-initialised, no destructor.
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LIVE_BYTES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
    static PEAK_BYTES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

fn count(delta: i64) {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = LIVE_BYTES.try_with(|live| {
                let now = live.get() + delta;
                live.set(now);
                if delta > 0 {
                    let _ = PEAK_BYTES.try_with(|peak| peak.set(peak.get().max(now)));
                }
            });
        }
    });
}

// SAFETY: every call is passed to the inner allocator unchanged; counting only reads sizes.
unsafe impl<A: std::alloc::GlobalAlloc> std::alloc::GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { self.0.dealloc(ptr, layout) };
        count(-(layout.size() as i64));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Starts counting live heap bytes on this thread from 0; false when the global allocator
/// does not count.
fn start_counting() -> bool {
    COUNTING.with(|c| c.set(true));
    LIVE_BYTES.with(|l| l.set(0));
    // Probe: an allocation seen means the global allocator is a `Counting` one.
    let probe = std::hint::black_box(Box::new(0u64));
    let counted = live_bytes() >= 8;
    drop(probe);
    LIVE_BYTES.with(|l| l.set(0));
    PEAK_BYTES.with(|p| p.set(0));
    counted
}

/// The most heap bytes live at once on this thread since counting started.
fn peak_bytes() -> i64 {
    PEAK_BYTES.with(|p| p.get())
}

fn stop_counting() {
    COUNTING.with(|c| c.set(false));
}

/// Heap bytes allocated and not freed on this thread since counting started.
fn live_bytes() -> i64 {
    LIVE_BYTES.with(|l| l.get())
}

/// Resident and peak resident memory of this process, from /proc (Linux); 0 elsewhere.
fn rss_bytes() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak-RSS mark so each workload reports its own peak (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn measure(
    workload: Workload,
    scenario: &Scenario,
    run: fn(&Scenario, variant::Variant, u64) -> Result<RunOutput, SimError>,
) -> Result<Measurement, SimError> {
    let v = variant::of(scenario.scenario.variants[0]);
    reset_peak_rss();
    let (rss_before, _) = rss_bytes();
    // Live heap when the run starts (a "peak" of 0 sockets) and at the latest peak of open
    // sockets.
    let counting = start_counting();
    let at_start = std::rc::Rc::new(std::cell::Cell::new((0i64, rss_before)));
    let at_peak = std::rc::Rc::new(std::cell::Cell::new((0usize, 0i64)));
    let (start_sample, sample) = (at_start.clone(), at_peak.clone());
    crate::record::set_open_sockets_peak_hook(Some(Box::new(move |open| match open {
        0 => start_sample.set((live_bytes(), rss_bytes().0)),
        _ => sample.set((open, live_bytes())),
    })));
    let start = Instant::now();
    let out = run(scenario, v, scenario.scenario.seed);
    let wall_s = start.elapsed().as_secs_f64();
    crate::record::set_open_sockets_peak_hook(None);
    stop_counting();
    let out = out?;
    let (open_at_peak, live_at_peak) = at_peak.get();
    let (_, peak) = rss_bytes();
    let jobs = out.records.len() as u64;
    let upgrades = out
        .records
        .iter()
        .filter(|r| r.client_upgrade_ms.is_some())
        .count() as f64;
    let connections_peak = sim::last_sockets_open_max() as u64;
    let sim_s = out.sim_ms as f64 / 1000.0;
    Ok(Measurement {
        workload,
        jobs,
        concurrency: scenario.scenario.concurrency,
        wall_s,
        sim_s,
        jobs_per_s: jobs as f64 / wall_s,
        upgrades_per_s: upgrades / wall_s,
        sim_speedup: sim_s / wall_s,
        floor_ratio: None,
        peak_rss_bytes: peak,
        connections_peak,
        bytes_per_connection: if connections_peak == 0 {
            None
        } else if counting && open_at_peak > 0 {
            Some((live_at_peak - at_start.get().0).max(0) as u64 / open_at_peak as u64)
        } else {
            Some(peak.saturating_sub(at_start.get().1) / connections_peak)
        },
        // Per job in flight: at most `concurrency` at once, and never more than the jobs.
        heap_peak_bytes_per_job: counting.then(|| {
            let in_flight = scenario
                .scenario
                .concurrency
                .min(scenario.scenario.jobs)
                .max(1);
            (peak_bytes() - at_start.get().0).max(0) as u64 / u64::from(in_flight)
        }),
        failed_jobs: out
            .records
            .iter()
            .filter(|r| r.outcome != Some(Outcome::Ok))
            .count() as u64,
    })
}

/// The scenario of a workload, with `key=value` overrides.
pub fn scenario(
    workload: Workload,
    flow: &Scenario,
    sets: &[String],
) -> Result<Scenario, ScenarioError> {
    let overrides = parse_overrides(sets)?;
    let flow = || {
        let text = toml::to_string(flow).expect("a scenario serialises to TOML");
        Scenario::from_toml_str("sims/bench.toml", &text, &overrides)
    };
    match workload {
        Workload::Floor => flow().map(without_latency),
        Workload::Flow => flow(),
        Workload::Upgrade => Scenario::from_toml_str("<bench upgrade>", UPGRADE, &overrides),
        Workload::Idle => Scenario::from_toml_str("<bench idle>", IDLE, &overrides),
    }
}

/// `scenario` with every latency 0: nothing but the protocol takes time, and nothing waits.
fn without_latency(mut s: Scenario) -> Scenario {
    let zero = || Dist::Constant(0.0);
    s.network.client_edge.latency_ms = zero();
    s.network.edge_object.latency_ms = zero();
    s.storage.read_ms = zero();
    s.storage.cached_read_ms = zero();
    s.storage.write_ms = zero();
    s.object.cold_start_ms = zero();
    s.object.pair_ms = zero();
    s.object.accept_ms = zero();
    s.client.connect_delay_ms = zero();
    s.enrichment.book_ms = zero();
    s
}

/// Runs one workload on this thread.
pub fn run(workload: Workload, scenario: &Scenario) -> Result<Measurement, SimError> {
    match workload {
        Workload::Floor => measure(workload, scenario, sim::run_floor),
        Workload::Flow | Workload::Idle => measure(workload, scenario, sim::run),
        Workload::Upgrade => measure(workload, scenario, sim::run_upgrades),
    }
}

/// How a sweep speeds up from 1 to 2 threads, and whether its output stayed the same.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SweepScaling {
    pub runs: usize,
    pub wall_s_1_thread: f64,
    pub wall_s_2_threads: f64,
    pub speedup: f64,
    pub identical_output: bool,
}

/// A 16-point sweep of `flow` (2,000 jobs each: big enough that the runs, not the set-up,
/// take the time), on 1 and then 2 rayon threads.
pub fn sweep_scaling(flow: &Scenario) -> Result<SweepScaling, crate::sweep::SweepError> {
    use crate::sweep::{self, ParamSpec, SweepDef};
    let text = toml::to_string(flow).expect("a scenario serialises to TOML");
    let base_sets = [
        "scenario.jobs=2000".to_string(),
        "scenario.concurrency=100".to_string(),
    ];
    let overrides = parse_overrides(&base_sets)?;
    let base = Scenario::from_toml_str("sims/bench.toml", &text, &overrides)?;
    let def = SweepDef {
        scenario_file: "sims/bench.toml".into(),
        sets: base_sets.to_vec(),
        params: vec![ParamSpec::grid("client.handshake_timeout_ms=150..300:10")?],
        variants: vec![VariantId::Sequential],
        seeds: vec![1],
        swarm: None,
        swarm_seed: 1,
    };
    let plan = sweep::Plan::new(&def, &overrides, &text, None)?;
    let timed = |threads: usize| -> Result<(f64, String), sweep::SweepError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| sweep::SweepError::Usage(format!("thread pool: {e}")))?;
        let start = Instant::now();
        let result = pool.install(|| sweep::run(&plan, &base, &|| {}))?;
        Ok((start.elapsed().as_secs_f64(), result.to_json()))
    };
    let (one, out1) = timed(1)?;
    let (two, out2) = timed(2)?;
    Ok(SweepScaling {
        runs: plan.runs as usize,
        wall_s_1_thread: one,
        wall_s_2_threads: two,
        speedup: one / two,
        identical_output: out1 == out2,
    })
}

/// Why a benchmark could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("locating this program")]
    Exe(#[source] std::io::Error),
    #[error("running a benchmark process")]
    Spawn(#[source] std::io::Error),
    #[error("benchmark {} failed: {stderr}", format!("{workload:?}").to_lowercase())]
    Child { workload: Workload, stderr: String },
    #[error("reading a benchmark result")]
    Result(#[source] serde_json::Error),
    #[error(transparent)]
    Sweep(#[from] crate::sweep::SweepError),
}

impl crate::failure::BadInput for BenchError {
    /// A bad `--scaling` sweep or scenario is input; a benchmark that failed is not.
    fn is_bad_input(&self) -> bool {
        matches!(self, BenchError::Sweep(s) if crate::failure::BadInput::is_bad_input(s))
    }
}

/// `workloads` in the order asked, with the floor run first once (asked for or not): every
/// figure is read beside it.
fn with_floor_first(workloads: &[Workload]) -> Vec<Workload> {
    let mut all = vec![Workload::Floor];
    all.extend(workloads.iter().filter(|&&w| w != Workload::Floor));
    all
}

/// The flow workload's scaling points: (jobs, concurrency), jobs at concurrency 1000 first,
/// then concurrency at 5000 jobs, then both large.
const SCALING_POINTS: [(u32, u32); 7] = [
    (1_000, 1_000),
    (10_000, 1_000),
    (100_000, 1_000),
    (5_000, 10),
    (5_000, 100),
    (5_000, 1_000),
    (20_000, 10_000),
];

/// What the driver has done so far, for a table that grows as it goes.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    Measured(&'a Measurement),
    /// The scaling measurements start.
    Scaling,
    SweepScaled(&'a SweepScaling),
}

/// Everything one `bench` measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub workloads: Vec<Measurement>,
    /// Empty unless scaling was asked for.
    pub scaling: Vec<Measurement>,
    pub sweep_scaling: Option<SweepScaling>,
}

/// Runs measurements, each in a fresh process of this program: peak RSS is per process, and
/// memory a previous workload freed would hide this one's growth. The child is
/// `bench --child --workload W --scenario FILE [--set KEY=VALUE]...`, which prints its
/// [`Measurement`] as one line of JSON.
pub struct Driver<'a> {
    /// The flow workload's scenario file.
    pub scenario: &'a Path,
    /// Overrides of every workload's scenario.
    pub sets: &'a [String],
}

impl Driver<'_> {
    /// Measures `workloads`, then with `scaling` (the flow scenario) the flow at 1k/10k/100k
    /// jobs and concurrency 10..10,000, and a sweep on 1 and 2 threads; `progress` hears of
    /// each result.
    pub fn run(
        &self,
        workloads: &[Workload],
        scaling: Option<&Scenario>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Results, BenchError> {
        let mut results = Results::default();
        let mut floor_jobs_per_s = None;
        for w in with_floor_first(workloads) {
            let mut m = self.measure(w, self.sets)?;
            match w {
                Workload::Floor => floor_jobs_per_s = Some(m.jobs_per_s),
                Workload::Flow | Workload::Upgrade => {
                    m.floor_ratio = floor_jobs_per_s.map(|floor| m.jobs_per_s / floor);
                }
                Workload::Idle => {}
            }
            progress(Progress::Measured(&m));
            results.workloads.push(m);
        }
        if let Some(flow) = scaling {
            progress(Progress::Scaling);
            for (jobs, concurrency) in SCALING_POINTS {
                let mut sets = self.sets.to_vec();
                sets.push(format!("scenario.jobs={jobs}"));
                sets.push(format!("scenario.concurrency={concurrency}"));
                let m = self.measure(Workload::Flow, &sets)?;
                progress(Progress::Measured(&m));
                results.scaling.push(m);
            }
            let sw = sweep_scaling(flow)?;
            progress(Progress::SweepScaled(&sw));
            results.sweep_scaling = Some(sw);
        }
        Ok(results)
    }

    /// One measurement in a child process.
    fn measure(&self, workload: Workload, sets: &[String]) -> Result<Measurement, BenchError> {
        let exe = std::env::current_exe().map_err(BenchError::Exe)?;
        let mut cmd = std::process::Command::new(exe);
        cmd.args([
            "bench",
            "--child",
            "--workload",
            &format!("{workload:?}").to_lowercase(),
            "--scenario",
        ])
        .arg(self.scenario);
        for s in sets {
            cmd.args(["--set", s]);
        }
        let out = cmd.output().map_err(BenchError::Spawn)?;
        if !out.status.success() {
            // The child's own "handshake-sim: error: " would be said twice.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stderr = stderr.trim().trim_start_matches("handshake-sim: error: ");
            return Err(BenchError::Child {
                workload,
                stderr: stderr.to_string(),
            });
        }
        serde_json::from_slice(&out.stdout).map_err(BenchError::Result)
    }
}
