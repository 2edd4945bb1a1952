//! The command line: parses arguments, calls the library, prints, and picks the exit code
//! (0 success, 1 a run failed, 2 bad input).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use handshake_sim::live::{self, LiveError};
use handshake_sim::report::{self, Report};
use handshake_sim::scenario::{self, Scenario, ScenarioError};
use handshake_sim::sweep::{ParamSpec, SweepDef, SweepError, SweepResult};
use handshake_sim::{server, sim};

// The simulator allocates per message (hyper, tungstenite, turmoil); mimalloc cuts that cost.
// `Counting` lets `bench` measure the live heap per open connection.
#[global_allocator]
static ALLOCATOR: handshake_sim::bench::Counting<mimalloc::MiMalloc> =
    handshake_sim::bench::Counting(mimalloc::MiMalloc);

/// `println!` that ends the program quietly when standard output is closed (`| head`).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// `print!` with the same treatment of a closed standard output.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

#[derive(Parser)]
#[command(
    name = "handshake-sim",
    version,
    about = "Deterministic simulation of the Issue #407 WebSocket upgrade path",
    long_about = "Rebuilds the Issue #407 system (an app posting a batch to a Cloudflare Worker, then opening a \
progress WebSocket that a Durable Object accepts after reading its auth token from storage) inside a turmoil \
simulation with real HTTP and WebSocket frames, runs handshake variants on the same seeded latencies, and \
reports what the clients experienced. Same scenario + variant + seed => byte-identical output.",
    after_help = "Start with:  handshake-sim run sims/issue407.toml\nExit codes: 0 success, 1 a run failed, 2 bad input."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario: every variant on the same seeded latencies, side by side.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Sweep parameters over a grid (or a random swarm) × variants × seeds, in parallel.
    #[command(after_help = SWEEP_EXAMPLES)]
    Sweep(SweepArgs),
    /// Join the outputs of sweep shards into what one unsharded sweep writes.
    #[command(after_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Rerun one job of a run and print its timeline in simulated milliseconds.
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay(ReplayArgs),
    /// Find the parameter value that reproduces an observed figure (bisection).
    #[command(after_help = FIT_EXAMPLES)]
    Fit(FitArgs),
    /// Turn upgrade timing logs (or a CSV) into an empirical storage.read_ms distribution.
    #[command(after_help = CALIBRATE_EXAMPLES)]
    Calibrate(CalibrateArgs),
    /// Pre-deploy gate: run scenarios over seeds and judge their SLOs and expectations.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Serve the simulated Worker and Durable Objects on a real socket, in real time.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Run the simulated client against a real endpoint and judge the SLOs.
    #[command(after_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),
    /// Measure the simulator: speed and memory of the flow, upgrade and idle workloads.
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
    /// List the handshake variants.
    Variants,
}

const BENCH_EXAMPLES: &str =
    "Single thread, release build (cargo run --release -- bench). jobs_per_s and
upgrades_per_s are per wall second; sim_speedup is simulated seconds per wall second;
bytes_per_connection is the live heap per open socket when the open sockets peaked
(what one open WebSocket holds, ends and job included; 0 when no socket opened).

Examples:
  handshake-sim bench
  handshake-sim bench --workload upgrade --json bench.json
  handshake-sim bench --scaling";

#[derive(clap::Args)]
struct BenchArgs {
    /// Workload to run (repeatable; default: all three).
    #[arg(long = "workload", value_enum)]
    workloads: Vec<handshake_sim::bench::Workload>,
    /// The flow workload's scenario.
    #[arg(long, default_value = "sims/bench.toml")]
    scenario: PathBuf,
    /// Override a key of every workload's scenario (repeatable), e.g. scenario.jobs=2000.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Also run the flow at 1k/10k/100k jobs and concurrency 10..10,000, and a sweep on 1 and 2 threads.
    #[arg(long)]
    scaling: bool,
    /// Write the measurements as JSON ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run the one workload in this process and print its measurement as JSON (internal: each
    /// workload runs in a fresh process so that its peak RSS is its own).
    #[arg(long, hide = true)]
    child: bool,
}

const SERVE_EXAMPLES: &str =
    "The server speaks the API in the README: POST /api/enrichment/batch with
{\"jobId\":\"job-1\",\"books\":5}, then GET ws://HOST/ws/progress?jobId=job-1&token=TOKEN.
It logs one timing line per upgrade in the write-up's format. Ctrl-C stops it.

Examples:
  handshake-sim serve sims/issue407.toml --variant sequential
  handshake-sim serve sims/issue407.toml --variant parallel --listen 127.0.0.1:9000";

const PROBE_EXAMPLES: &str =
    "Exit codes: 0 no critical SLO breach, 1 a critical breach, 2 bad input.

Examples:
  handshake-sim probe http://127.0.0.1:8787 --scenario sims/issue407.toml --jobs 50
  handshake-sim probe wss://staging.example.com --allow-remote --jobs 20 --concurrency 2";

#[derive(clap::Args)]
struct ServeArgs {
    /// Scenario file: its latencies, storage model and lifecycle are served in real time.
    scenario: PathBuf,
    /// Variant to serve (default: the first of `scenario.variants`).
    #[arg(long)]
    variant: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: std::net::SocketAddr,
    /// Seed of the latency draws (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    allow_remote: bool,
    /// Log filter (default: the timing lines and warnings).
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
}

#[derive(clap::Args)]
struct ProbeArgs {
    /// Endpoint: http://, ws://, https:// or wss:// HOST[:PORT].
    #[arg(default_value = "http://127.0.0.1:8787")]
    url: String,
    /// Client sessions to run.
    #[arg(long, default_value_t = 20)]
    jobs: u32,
    /// Sessions in flight at once.
    #[arg(long, default_value_t = 5)]
    concurrency: u32,
    /// Scenario whose [client] model and [slo] thresholds to use (default: the defaults).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Seed of the client's own draws (connect delay, backoff).
    #[arg(long)]
    seed: Option<u64>,
    /// Give up waiting after this many seconds; unfinished jobs count as network errors.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    time_limit_s: u64,
    /// Write the figures as JSON ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one CSV row per job ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Allow a target outside the loopback range.
    #[arg(long)]
    allow_remote: bool,
    /// Print the client's trace events at LEVEL to stderr.
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
}

const CHECK_EXAMPLES: &str =
    "Exit codes: 0 every check holds (warnings allowed), 1 a critical SLO or an expectation failed,
2 bad input.

Examples:
  handshake-sim check                                  # every scenario in sims/
  handshake-sim check sims/issue407.toml --seeds 5 --junit check.xml --markdown summary.md
  handshake-sim check sims/issue407.toml --set client.handshake_timeout_ms=100";

const SWEEP_EXAMPLES: &str = "SPEC: a list (100,200,500), a range with a step (50..300:25, ends included),
or a TOML array ([{ uniform = [50, 100] }, { uniform = [75, 100] }]). Array items of a key are
addressed by index: storage.read_ms.uniform.1=60..200:20.

Writes DIR/points.csv (one row per point × variant), DIR/sweep.json, and plots: failure rate
against a 1-D parameter, or a heatmap per variant for 2-D.

Examples:
  handshake-sim sweep sims/issue407.toml --param client.handshake_timeout_ms=200..300:10 --out out/deadline
  handshake-sim sweep sims/issue407.toml --seeds 3 --out out/grid \\
      --param storage.read_ms.uniform.1=80..140:20 --param client.handshake_timeout_ms=200,250,300
  handshake-sim sweep sims/issue407.toml --shard 1/4 --out out/s1 --param ...   # then: merge
  handshake-sim sweep sims/issue407.toml --swarm 200 --param storage.read_ms.uniform.1=75..200 \\
      --param client.handshake_timeout_ms=150..400 --out out/swarm";

const MERGE_EXAMPLES: &str = "Examples:
  handshake-sim merge out/s1 out/s2 out/s3 out/s4 --out out/all";

#[derive(clap::Args)]
struct SweepArgs {
    /// Scenario file.
    scenario: PathBuf,
    /// A swept key: KEY=SPEC (repeatable; the grid is their product, first outermost).
    #[arg(long = "param", value_name = "KEY=SPEC", required = true)]
    params: Vec<String>,
    /// Seeds per point, consecutive from --seed; figures pool them.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: u64,
    /// First seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Variant to run (repeatable; default: the scenario's).
    #[arg(long = "variant", value_name = "V")]
    variants: Vec<String>,
    /// Override a key at every point (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Output directory.
    #[arg(long, default_value = "sweep-out")]
    out: PathBuf,
    /// Run only the K-th of N disjoint slices of the points (1-based), for `merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Draw N random points within the --param ranges (KEY=LOW..HIGH) instead of a grid.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    swarm: Option<u32>,
    /// Also write a self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the plots as PNG.
    #[arg(long)]
    png: bool,
}

const REPLAY_EXAMPLES: &str =
    "The whole run is repeated (jobs share hosts, so the interleaving matters) and only
the chosen job's steps are printed. `run` prints the replay command of its worst job; --records
has the seed, job and variant of every row.

Examples:
  handshake-sim replay sims/issue407.toml --seed 1 --job 17 --variant sequential";

const FIT_EXAMPLES: &str =
    "The metric must move monotonically with the parameter (common random numbers keep
it so per seed). For failure_rate the uncertainty is the range of parameter values whose 95%
interval contains the target.

Examples:
  handshake-sim fit sims/issue407.toml --param client.handshake_timeout_ms \\
      --target sequential.failure_rate=0.35 --range 200..300 --seeds 5";

const CALIBRATE_EXAMPLES: &str = "Reads lines like
  [job-1] 📊 WebSocket upgrade timing: { storageDuration: \"75ms\", pairCreation: \"1ms\", ... }
(other lines are ignored) or a CSV with a storage_ms column. Lines that look like timing lines
but cannot be read are counted and reported, not fatal.

Examples:
  handshake-sim calibrate worker.log --sequential --out sims/calibrated-read.toml";

#[derive(clap::Args)]
struct ReplayArgs {
    /// Scenario file.
    scenario: PathBuf,
    /// Seed of the run.
    #[arg(long)]
    seed: u64,
    /// Job number (the `job` column of --records).
    #[arg(long)]
    job: u64,
    /// Variant (default: the scenario's first).
    #[arg(long)]
    variant: Option<String>,
    /// Override a scenario key, as in the run being replayed (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Shorthand for --set scenario.jobs=N, as in the run being replayed.
    #[arg(long)]
    jobs: Option<u32>,
}

#[derive(clap::Args)]
struct FitArgs {
    /// Scenario file.
    scenario: PathBuf,
    /// The numeric key to solve for, e.g. client.handshake_timeout_ms.
    #[arg(long, value_name = "KEY")]
    param: String,
    /// The observed figure: VARIANT.METRIC=VALUE, e.g. sequential.failure_rate=0.35.
    #[arg(long, value_name = "METRIC=VALUE")]
    target: String,
    /// Variant, when --target names only the metric.
    #[arg(long)]
    variant: Option<String>,
    /// Search range LOW..HIGH (default: half to twice the scenario's value).
    #[arg(long, value_name = "LOW..HIGH")]
    range: Option<String>,
    /// Seeds pooled at every evaluation.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    seeds: u64,
    /// First seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

#[derive(clap::Args)]
struct CalibrateArgs {
    /// Log file (timing lines) or CSV (storage_ms column); '-' for standard input.
    logfile: PathBuf,
    /// The logs come from the sequential variant: halve each total into one read.
    #[arg(long)]
    sequential: bool,
    /// Write the scenario snippet to FILE (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// Shard output directories (each with a sweep.json).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "sweep-out")]
    out: PathBuf,
    /// Also write a self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the plots as PNG.
    #[arg(long)]
    png: bool,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Scenario files or directories of them (default: sims/).
    paths: Vec<PathBuf>,
    /// Seeds per scenario, consecutive from --seed.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: u64,
    /// First seed (default: each scenario's `scenario.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a key in every scenario, e.g. client.handshake_timeout_ms=250 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Write a JUnit XML report (one test case per scenario × variant × check).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary (for a CI job page).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

const RUN_EXAMPLES: &str = "Examples:
  handshake-sim run sims/issue407.toml
  handshake-sim run sims/issue407.toml --seed 7 --seeds 5 --json out.json --records jobs.csv
  handshake-sim run sims/issue407.toml --variant sequential --variant batched \\
      --set 'storage.read_ms={ uniform = [20, 140] }' --set client.handshake_timeout_ms=250
  handshake-sim run sims/issue407.toml --jobs 3 --log debug      # every step, in simulated ms";

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (TOML); see the README's scenario reference.
    scenario: PathBuf,
    /// Root seed (default: the scenario's `scenario.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Run this many consecutive seeds from --seed and pool the figures.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: u64,
    /// Variant to run (repeatable; default: the scenario's `scenario.variants`).
    #[arg(long = "variant", value_name = "V")]
    variants: Vec<String>,
    /// Override a scenario key with a TOML value, e.g. client.handshake_timeout_ms=250 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Shorthand for --set scenario.jobs=N.
    #[arg(long)]
    jobs: Option<u32>,
    /// Write the figures as JSON to FILE ('-' for standard output, which then holds only the JSON).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one CSV row per job, variant and seed to FILE ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Print the simulation's trace events at LEVEL (error, warn, info, debug, trace) to stderr;
    /// RUST_LOG works too.
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
    /// Write plots to DIR: upgrade-cdf.svg (client upgrade time per variant, with the
    /// deadline) and storage-histogram.svg.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Also write the plots as PNG (with --plots).
    #[arg(long, requires = "plots")]
    png: bool,
    /// Write a self-contained HTML report (table, plots, resolved scenario).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// First run every variant and seed twice and compare hashes of the full event traces
    /// and records; a difference fails with the first differing event.
    #[arg(long)]
    check_determinism: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Check(args) => check(args),
        Command::Bench(args) => bench(args),
        Command::Sweep(args) => sweep(args),
        Command::Merge(args) => merge(args),
        Command::Replay(args) => replay(args),
        Command::Fit(args) => fit(args),
        Command::Calibrate(args) => calibrate(args),
        Command::Serve(args) => serve(args),
        Command::Probe(args) => probe(args),
        Command::Variants => {
            for v in server::variant::ALL {
                outln!("{:<14} {}", v.name(), v.describe());
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("handshake-sim: error: {e:#}");
            let usage = is_bad_input(&e);
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The `--variant`s given (known, each once), else the scenario's.
fn pick_variants(given: &[String], scenario: &Scenario) -> Result<Vec<String>, ScenarioError> {
    if given.is_empty() {
        return Ok(scenario.scenario.variants.clone());
    }
    for (i, v) in given.iter().enumerate() {
        if server::variant::by_name(v).is_none() {
            return Err(ScenarioError::Usage {
                arg: format!("--variant {v}"),
                message: format!(
                    "unknown variant; known: {}",
                    server::variant::NAMES.join(", ")
                ),
            });
        }
        if given[..i].contains(v) {
            return Err(ScenarioError::Usage {
                arg: format!("--variant {v}"),
                message: "given twice".into(),
            });
        }
    }
    Ok(given.to_vec())
}

/// Whether an error is the user's input (exit 2) rather than a failed run (exit 1).
fn is_bad_input(e: &anyhow::Error) -> bool {
    use handshake_sim::fit::FitError;
    e.downcast_ref::<ScenarioError>().is_some()
        || matches!(e.downcast_ref::<LiveError>(), Some(LiveError::Usage(_)))
        || matches!(
            e.downcast_ref::<SweepError>(),
            Some(SweepError::Param { .. } | SweepError::Usage(_) | SweepError::Scenario(_))
        )
        || matches!(
            e.downcast_ref::<FitError>(),
            Some(FitError::Usage(_) | FitError::Scenario(_))
        )
}

fn init_tracing(level: Option<&str>) -> anyhow::Result<()> {
    init_tracing_or(level, None)
}

/// Installs a subscriber for `level`, else `RUST_LOG`, else `default` (else none at all).
fn init_tracing_or(level: Option<&str>, default: Option<&str>) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    // turmoil's own host and bind messages are noise unless asked for by name.
    let with_turmoil = |f: &str| {
        if f.contains("turmoil") {
            f.to_string()
        } else {
            format!("{f},turmoil=warn")
        }
    };
    let filter = match level {
        Some(l) => EnvFilter::try_new(with_turmoil(l)).map_err(|e| ScenarioError::Usage {
            arg: format!("--log {l}"),
            message: e.to_string(),
        })?,
        None => match (std::env::var("RUST_LOG"), default) {
            (Ok(v), _) if !v.is_empty() => {
                EnvFilter::try_new(with_turmoil(&v)).context("RUST_LOG")?
            }
            (_, Some(d)) => EnvFilter::try_new(d).context("default log filter")?,
            _ => return Ok(()),
        },
    };
    // No timestamps: the events carry simulated time (t_ms); wall time would break replays.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    init_tracing(args.log.as_deref())?;
    let mut overrides = scenario::parse_overrides(&args.sets)?;
    if let Some(j) = args.jobs {
        overrides.push(scenario::parse_override(&format!("scenario.jobs={j}"))?);
    }
    let scenario = Scenario::load(&args.scenario, &overrides)?;
    let variants = pick_variants(&args.variants, &scenario)?;
    let first_seed = args.seed.unwrap_or(scenario.scenario.seed);
    let seeds: Vec<u64> = (0..args.seeds)
        .map(|i| first_seed.wrapping_add(i))
        .collect();
    // A broken invariant crashes the run; say how to get the same crash again.
    let command = reproduce(&args, &variants, first_seed, args.seeds);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!("handshake-sim: internal invariant broken; reproduce: {command}");
    }));
    if args.check_determinism {
        for v in &variants {
            let variant = server::variant::by_name(v).expect("pick_variants checked it");
            for &seed in &seeds {
                let c = handshake_sim::replay::check_determinism(&scenario, variant, seed)?;
                match c.divergence {
                    None => outln!(
                        "determinism {v} seed {seed}: run twice, {} events, trace hash {} both times",
                        c.events,
                        c.hash
                    ),
                    Some(d) => anyhow::bail!(
                        "determinism {v} seed {seed}: the two runs differ at event {} (records {}):\n  first:  {:?}\n  second: {:?}\nreproduce: {} --check-determinism",
                        d.index,
                        if c.records_equal { "equal" } else { "differ too" },
                        d.first,
                        d.second,
                        reproduce(&args, std::slice::from_ref(v), seed, 1)
                    ),
                }
            }
        }
    }
    let runs = sim::run_all(&scenario, &variants, &seeds).map_err(|e| {
        anyhow::anyhow!(
            "{e}\nreproduce: {}",
            reproduce(&args, &variants, first_seed, args.seeds)
        )
    })?;
    let report = Report::new(&scenario, &variants, &seeds, &runs);
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let records_to_stdout = args
        .records
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = &args.json {
        write_output(path, report.to_json().as_bytes())?;
    }
    if let Some(path) = &args.records {
        let mut buf = Vec::new();
        report::write_records(&mut buf, &runs).context("formatting records")?;
        write_output(path, &buf)?;
    }
    let command = reproduce(&args, &variants, first_seed, args.seeds);
    if args.plots.is_some() || args.html.is_some() {
        if let Some(dir) = &args.plots {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let plots = report::plot::run_plots(
            &report,
            &runs,
            args.png.then_some(()).and(args.plots.as_deref()),
        )
        .map_err(anyhow::Error::msg)?;
        if let Some(dir) = &args.plots {
            report::plot::write_svgs(dir, &plots)
                .with_context(|| format!("writing plots to {}", dir.display()))?;
        }
        if let Some(path) = &args.html {
            write_output(path, report::run_html(&report, &plots, &command).as_bytes())?;
        }
    }
    if !json_to_stdout && !records_to_stdout {
        let s = &report.scenario.scenario;
        outln!(
            "scenario {} — {} job(s) × {} seed(s), concurrency {}",
            s.name,
            s.jobs,
            seeds.len(),
            s.concurrency
        );
        out!("{}", report::table(&report));
        let seed_text = if seeds.len() == 1 {
            format!("seed {first_seed}")
        } else {
            format!("seeds {first_seed}..={}", seeds[seeds.len() - 1])
        };
        outln!("\n{seed_text}");
        outln!("reproduce: {command}");
        if let Some((seed, variant, job)) = worst_job(&runs) {
            let mut cmd = format!(
                "handshake-sim replay {} --seed {seed} --job {job} --variant {variant}",
                report::shell_quote(&args.scenario.display().to_string())
            );
            for s in &args.sets {
                cmd.push_str(&format!(" --set {}", report::shell_quote(s)));
            }
            if let Some(j) = args.jobs {
                cmd.push_str(&format!(" --jobs {j}"));
            }
            outln!("worst job: {cmd}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_output(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        std::io::stdout()
            .write_all(bytes)
            .context("writing to standard output")?;
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn load_with_sets(path: Option<&std::path::Path>, sets: &[String]) -> anyhow::Result<Scenario> {
    let overrides = scenario::parse_overrides(sets)?;
    Ok(match path {
        Some(p) => Scenario::load(p, &overrides)?,
        None => Scenario::from_toml_str("<defaults>", "", &overrides)?,
    })
}

/// A current-thread runtime with a `LocalSet`: the server and client are single-threaded.
fn block_on_local<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    Ok(tokio::task::LocalSet::new().block_on(&rt, f))
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_tracing_or(args.log.as_deref(), Some("warn,handshake_sim::timing=info"))?;
    let scenario = load_with_sets(Some(&args.scenario), &args.sets)?;
    let name = args
        .variant
        .clone()
        .unwrap_or_else(|| scenario.scenario.variants[0].clone());
    let variant = server::variant::by_name(&name).ok_or_else(|| {
        LiveError::Usage(format!(
            "unknown variant {name:?}; known: {}",
            server::variant::NAMES.join(", ")
        ))
    })?;
    live::ensure_loopback(&[args.listen], args.allow_remote, "listen address")?;
    let seed = args.seed.unwrap_or(scenario.scenario.seed);
    block_on_local(async move {
        let server = live::Server::bind(&scenario, variant, seed, args.listen).await?;
        let addr = server.local_addr().context("listen address")?;
        outln!(
            "handshake-sim serve: {} with variant {name}, seed {seed}, on http://{addr}\n  POST http://{addr}/api/enrichment/batch  {{\"jobId\":\"job-1\",\"books\":5}}\n  GET  ws://{addr}/ws/progress?jobId=job-1&token=TOKEN\nCtrl-C stops it.",
            scenario.scenario.name
        );
        server
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        outln!("handshake-sim serve: stopped");
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })?
}

fn probe(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    init_tracing(args.log.as_deref())?;
    let scenario = load_with_sets(args.scenario.as_deref(), &args.sets)?;
    let options = live::ProbeOptions {
        jobs: args.jobs,
        concurrency: args.concurrency,
        seed: args.seed.unwrap_or(scenario.scenario.seed),
        time_limit_s: args.time_limit_s,
        label: "live".into(),
    };
    let run = block_on_local(async {
        let target = live::ProbeTarget::parse(&args.url, args.allow_remote).await?;
        live::probe(&scenario, target, &options).await
    })??;
    let label = [options.label.clone()];
    let seeds = [options.seed];
    let runs = [run];
    let report = Report::new(&scenario, &label, &seeds, &runs);
    let verdicts =
        handshake_sim::verdict::slo::judge_client_side(&scenario.slo, &report.variants[0]);
    if let Some(path) = &args.json {
        let mut v = serde_json::to_value(&report).context("report as JSON")?;
        v["url"] = serde_json::Value::from(args.url.clone());
        v["slo"] = serde_json::to_value(&verdicts).context("verdicts as JSON")?;
        let mut text = serde_json::to_string_pretty(&v).context("report as JSON")?;
        text.push('\n');
        write_output(path, text.as_bytes())?;
    }
    if let Some(path) = &args.records {
        let mut buf = Vec::new();
        report::write_records(&mut buf, &runs).context("formatting records")?;
        write_output(path, &buf)?;
    }
    let quiet = [&args.json, &args.records]
        .iter()
        .any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"));
    if !quiet {
        outln!(
            "probe {} — {} job(s), concurrency {}",
            args.url,
            args.jobs,
            args.concurrency
        );
        out!("{}", report::table(&report));
        outln!("\nSLOs (client side: upgrade = request sent → 101; canceled = gave up):");
        for v in &verdicts {
            outln!(
                "  {:<16} {:>10.3}   warn > {}, crit > {}   {}",
                v.slo,
                v.value,
                v.warning,
                v.critical,
                v.verdict.name()
            );
        }
    }
    let critical = verdicts
        .iter()
        .any(|v| v.verdict == handshake_sim::verdict::Verdict::Critical);
    Ok(if critical {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn parse_shard(s: &str) -> anyhow::Result<(u32, u32)> {
    let bad = || SweepError::Usage(format!("--shard {s:?}: expected K/N with 1 <= K <= N"));
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || k > n {
        return Err(bad().into());
    }
    Ok((k, n))
}

/// A progress bar on a terminal, nothing otherwise.
fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{bar:40}} {{pos}}/{{len}} {what} {{per_sec}} ETA {{eta}}"
    )) {
        bar.set_style(style);
    }
    bar
}

fn finish_sweep(
    result: &SweepResult,
    out: &std::path::Path,
    html: Option<&std::path::Path>,
    png: bool,
) -> anyhow::Result<ExitCode> {
    let plots = report::write_sweep_dir(out, result, png).map_err(anyhow::Error::msg)?;
    if let Some(path) = html {
        write_output(path, report::sweep_html(result, &plots).as_bytes())?;
    }
    let def = &result.definition;
    outln!(
        "{} point(s) × {} variant(s) × {} seed(s){} → {}",
        result.points.len(),
        def.variants.len(),
        def.seeds.len(),
        result
            .shard
            .map_or(String::new(), |(k, n)| format!(" (shard {k}/{n})")),
        out.display()
    );
    let worst_n = if def.swarm.is_some() { 5 } else { 3 };
    for (v, pts) in result.worst(worst_n) {
        outln!("worst points for {v}:");
        for (p, rate) in pts {
            let params: Vec<String> = p.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            outln!(
                "  {:>6.1}%  {}\n          {}",
                rate * 100.0,
                params.join(" "),
                result.point_command(p)
            );
        }
    }
    if !result.failed_runs.is_empty() {
        eprintln!("{} run(s) failed:", result.failed_runs.len());
        for f in &result.failed_runs {
            eprintln!(
                "  point {} {} seed {}: {}\n    reproduce: {}",
                f.point, f.variant, f.seed, f.message, f.command
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let overrides = scenario::parse_overrides(&args.sets)?;
    let base = Scenario::load(&args.scenario, &overrides)?;
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("reading {}", args.scenario.display()))?;
    let params = args
        .params
        .iter()
        .map(|p| {
            if args.swarm.is_some() {
                ParamSpec::swarm(p)
            } else {
                ParamSpec::grid(p)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let first = args.seed.unwrap_or(base.scenario.seed);
    let def = SweepDef {
        scenario_file: args.scenario.display().to_string(),
        sets: args.sets.clone(),
        params,
        variants: pick_variants(&args.variants, &base)?,
        seeds: (0..args.seeds).map(|i| first.wrapping_add(i)).collect(),
        swarm: args.swarm,
        swarm_seed: first,
    };
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let scenarios = handshake_sim::sweep::point_scenarios(&def, &overrides, &text)?;
    let runs = (0..scenarios.len())
        .filter(|p| handshake_sim::sweep::in_shard(*p, shard))
        .count()
        * def.variants.len()
        * def.seeds.len();
    let bar = progress_bar(runs as u64, "runs");
    let result = handshake_sim::sweep::run(&def, &base, &scenarios, shard, &|| bar.inc(1))?;
    bar.finish_and_clear();
    finish_sweep(&result, &args.out, args.html.as_deref(), args.png)
}

fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let mut parts = Vec::new();
    for d in &args.dirs {
        let path = d.join("sweep.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SweepError::Usage(format!("{}: cannot read: {e}", path.display())))?;
        let part: SweepResult = serde_json::from_str(&text)
            .map_err(|e| SweepError::Usage(format!("{}: not a sweep.json: {e}", path.display())))?;
        parts.push(part);
    }
    let merged = handshake_sim::sweep::merge(parts)?;
    finish_sweep(&merged, &args.out, args.html.as_deref(), args.png)
}

fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut sets = args.sets.clone();
    if let Some(j) = args.jobs {
        sets.push(format!("scenario.jobs={j}"));
    }
    let scenario = load_with_sets(Some(&args.scenario), &sets)?;
    let name = args
        .variant
        .clone()
        .unwrap_or_else(|| scenario.scenario.variants[0].clone());
    let variant = server::variant::by_name(&name).ok_or_else(|| ScenarioError::Usage {
        arg: format!("--variant {name}"),
        message: format!(
            "unknown variant; known: {}",
            server::variant::NAMES.join(", ")
        ),
    })?;
    if args.job >= scenario.scenario.jobs as u64 {
        return Err(ScenarioError::Usage {
            arg: format!("--job {}", args.job),
            message: format!("the scenario has jobs 0..{}", scenario.scenario.jobs),
        }
        .into());
    }
    let (record, steps) = handshake_sim::replay::replay(&scenario, variant, args.seed, args.job)?;
    outln!(
        "replay {} — variant {name}, seed {}, job {} (job-{}): {} after {} attempt(s)",
        args.scenario.display(),
        args.seed,
        args.job,
        args.job,
        record.outcome.map_or("none", |o| o.name()),
        record.attempts
    );
    outln!("{:>8}  {:<8} event", "t_ms", "host");
    for s in &steps {
        let fields: Vec<String> = s.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        outln!(
            "{:>8}  {:<8} {} {}",
            s.t_ms,
            s.host,
            s.message,
            fields.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_range_arg(s: &str) -> anyhow::Result<(f64, f64)> {
    let bad = || handshake_sim::fit::FitError::Usage(format!("--range {s:?}: expected LOW..HIGH"));
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

fn fit(args: FitArgs) -> anyhow::Result<ExitCode> {
    use handshake_sim::fit::{FitError, FitSpec};
    let overrides = scenario::parse_overrides(&args.sets)?;
    let text = std::fs::read_to_string(&args.scenario).map_err(|source| ScenarioError::Read {
        path: args.scenario.clone(),
        source,
    })?;
    let origin = args.scenario.display().to_string();
    let base = Scenario::from_toml_str(&origin, &text, &overrides)?;
    let (lhs, target) = args.target.split_once('=').ok_or_else(|| {
        FitError::Usage(format!("--target {:?}: expected METRIC=VALUE", args.target))
    })?;
    let target: f64 = target.trim().parse().map_err(|_| {
        FitError::Usage(format!(
            "--target {:?}: {target:?} is not a number",
            args.target
        ))
    })?;
    let (variant, metric) = match lhs.split_once('.') {
        Some((v, m)) => (v.to_string(), m.to_string()),
        None => (
            args.variant
                .clone()
                .unwrap_or_else(|| base.scenario.variants[0].clone()),
            lhs.to_string(),
        ),
    };
    // The parameter's current value says whether it is an integer and gives a default range.
    let table = toml::Value::try_from(&base).context("scenario as TOML")?;
    let current = args.param.split('.').try_fold(&table, |v, k| match v {
        toml::Value::Table(t) => t.get(k),
        toml::Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    });
    let (integer, current) = match current {
        Some(toml::Value::Integer(i)) => (true, *i as f64),
        Some(toml::Value::Float(f)) => (false, *f),
        _ => {
            return Err(FitError::Usage(format!(
                "--param {}: not a numeric key of the scenario",
                args.param
            ))
            .into())
        }
    };
    let range = match &args.range {
        Some(r) => parse_range_arg(r)?,
        None if current > 0.0 => (current / 2.0, current * 2.0),
        None => {
            return Err(
                FitError::Usage("the current value is 0: give --range LOW..HIGH".into()).into(),
            )
        }
    };
    let first = args.seed.unwrap_or(base.scenario.seed);
    let seeds: Vec<u64> = (0..args.seeds).map(|i| first.wrapping_add(i)).collect();
    let spec = FitSpec {
        origin: &origin,
        text: &text,
        overrides: &overrides,
        key: &args.param,
        variant: &variant,
        metric: &metric,
        target,
        range,
        integer,
        seeds: &seeds,
    };
    let r = handshake_sim::fit::fit(&spec)?;
    let show = |x: f64| {
        if integer {
            format!("{}", x as i64)
        } else {
            format!("{x:.4}")
        }
    };
    outln!(
        "fit {origin} — {variant}.{metric} = {target}, seeds {first}..={}",
        seeds[seeds.len() - 1]
    );
    for e in &r.evaluations {
        outln!(
            "  {} = {:>10}  →  {metric} {:.4} [{:.4}, {:.4}]",
            args.param,
            show(e.x),
            e.value,
            e.ci95_low,
            e.ci95_high
        );
    }
    outln!(
        "\n{} = {}  ({variant}.{metric} = {:.4}, 95% CI [{:.4}, {:.4}])",
        args.param,
        show(r.value),
        r.achieved.value,
        r.achieved.ci95_low,
        r.achieved.ci95_high
    );
    outln!(
        "uncertainty: {} in {}..={} ({})",
        args.param,
        show(r.interval.0),
        show(r.interval.1),
        if r.from_confidence {
            "values whose 95% interval contains the target"
        } else {
            "the last bisection bracket"
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn calibrate(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let text = if args.logfile.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("reading standard input")?;
        s
    } else {
        let bytes = std::fs::read(&args.logfile).map_err(|source| ScenarioError::Read {
            path: args.logfile.clone(),
            source,
        })?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let c = handshake_sim::calibrate::calibrate(&text, args.sequential);
    let source = args.logfile.display().to_string();
    for (line, why) in c.malformed.iter().take(20) {
        eprintln!("{source}:{line}: malformed, skipped: {why}");
    }
    if c.malformed.len() > 20 {
        eprintln!("... and {} more malformed line(s)", c.malformed.len() - 20);
    }
    eprintln!(
        "calibrate: {} sample(s) from {} {} line(s), {} malformed{}",
        c.samples_ms.len(),
        c.candidates,
        c.format,
        c.malformed.len(),
        if c.halved {
            "; totals halved (sequential)"
        } else {
            ""
        }
    );
    if c.samples_ms.is_empty() {
        return Err(ScenarioError::Invalid {
            location: scenario::Location {
                file: source,
                line_col: None,
                key: None,
            },
            message: "no usable timing sample".into(),
        }
        .into());
    }
    let snippet = c.snippet(&source);
    match &args.out {
        Some(path) => write_output(path, snippet.as_bytes())?,
        None => out!("{snippet}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    use handshake_sim::bench::{self as b, Workload};
    let flow = Scenario::load(&args.scenario, &[])?;
    let workloads = if args.workloads.is_empty() {
        vec![Workload::Flow, Workload::Upgrade, Workload::Idle]
    } else {
        args.workloads.clone()
    };
    if args.child {
        let w = workloads[0];
        let m = b::run(w, &b::scenario(w, &flow, &args.sets)?)?;
        outln!(
            "{}",
            serde_json::to_string(&m).context("measurement as JSON")?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let quiet = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let say = |line: String| {
        if !quiet {
            outln!("{line}");
        }
    };
    let header = format!(
        "{:<8} {:>7} {:>6} {:>8} {:>9} {:>11} {:>13} {:>10} {:>11} {:>11} {:>8}",
        "workload",
        "jobs",
        "conc",
        "wall_s",
        "sim_s",
        "jobs/s",
        "upgrades/s",
        "sim×",
        "peak_rss",
        "B/conn",
        "conns"
    );
    let row = |m: &b::Measurement| {
        format!(
            "{:<8} {:>7} {:>6} {:>8.3} {:>9.1} {:>11.0} {:>13.0} {:>10.0} {:>10.1}M {:>11} {:>8}",
            format!("{:?}", m.workload).to_lowercase(),
            m.jobs,
            m.concurrency,
            m.wall_s,
            m.sim_s,
            m.jobs_per_s,
            m.upgrades_per_s,
            m.sim_speedup,
            m.peak_rss_bytes as f64 / 1048576.0,
            m.bytes_per_connection,
            m.connections_peak
        )
    };
    say(header.clone());
    // Each measurement in a fresh process: peak RSS is per process, and memory a previous
    // workload freed would hide this one's growth.
    let measure = |w: Workload, sets: &[String]| -> anyhow::Result<b::Measurement> {
        let exe = std::env::current_exe().context("locating this program")?;
        let mut cmd = std::process::Command::new(exe);
        cmd.args([
            "bench",
            "--child",
            "--workload",
            &format!("{w:?}").to_lowercase(),
            "--scenario",
        ])
        .arg(&args.scenario);
        for s in sets {
            cmd.args(["--set", s]);
        }
        let out = cmd.output().context("running a benchmark process")?;
        if !out.status.success() {
            anyhow::bail!(
                "benchmark {w:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        serde_json::from_slice(&out.stdout).context("reading a benchmark result")
    };
    let mut results = Vec::new();
    for w in workloads {
        let m = measure(w, &args.sets)?;
        say(row(&m));
        results.push(m);
    }
    let mut scaling = Vec::new();
    let mut sweep_scaling = None;
    if args.scaling {
        say(
            "\nscaling of the flow workload (jobs at concurrency 1000; concurrency at 5000 jobs):"
                .into(),
        );
        say(header);
        let points: [(u32, u32); 7] = [
            (1_000, 1_000),
            (10_000, 1_000),
            (100_000, 1_000),
            (5_000, 10),
            (5_000, 100),
            (5_000, 1_000),
            (20_000, 10_000),
        ];
        for (jobs, conc) in points {
            let mut sets = args.sets.clone();
            sets.push(format!("scenario.jobs={jobs}"));
            sets.push(format!("scenario.concurrency={conc}"));
            let m = measure(Workload::Flow, &sets)?;
            say(row(&m));
            scaling.push(m);
        }
        let sw = b::sweep_scaling(&flow)?;
        say(format!(
            "\nsweep of {} points: {:.2} s on 1 thread, {:.2} s on 2 threads: {:.2}x, identical output: {}",
            sw.runs, sw.wall_s_1_thread, sw.wall_s_2_threads, sw.speedup, sw.identical_output
        ));
        sweep_scaling = Some(sw);
    }
    if let Some(path) = &args.json {
        let v = serde_json::json!({
            "workloads": results,
            "scaling": scaling,
            "sweep_scaling": sweep_scaling,
        });
        let mut text = serde_json::to_string_pretty(&v).context("bench JSON")?;
        text.push('\n');
        write_output(path, text.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Scenario files named by `paths`: files as given, directories' `*.toml` in name order.
fn scenario_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let default = [PathBuf::from("sims")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(ScenarioError::Invalid {
                    location: scenario::Location {
                        file: p.display().to_string(),
                        line_col: None,
                        key: None,
                    },
                    message: "no *.toml scenario files here".into(),
                }
                .into());
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let overrides = scenario::parse_overrides(&args.sets)?;
    // Load everything first: bad input stops the gate before any run.
    let mut scenarios = Vec::new();
    for f in scenario_files(&args.paths)? {
        let s = Scenario::load(&f, &overrides)?;
        s.check_gate_variants()
            .map_err(|(key, message)| ScenarioError::Invalid {
                location: scenario::Location {
                    file: f.display().to_string(),
                    line_col: None,
                    key: Some(key),
                },
                message,
            })?;
        scenarios.push((f.display().to_string(), s));
    }
    let mut rows = Vec::new();
    for (file, s) in &scenarios {
        let first = args.seed.unwrap_or(s.scenario.seed);
        let seeds: Vec<u64> = (0..args.seeds).map(|i| first.wrapping_add(i)).collect();
        let r = handshake_sim::verdict::check_scenario(file, s, &seeds).map_err(|e| {
            anyhow::anyhow!(
                "{e}\nreproduce: {}",
                report::run_command(file, first, &args.sets)
            )
        })?;
        rows.extend(r);
    }
    out!("{}", report::gate_table(&rows, &args.sets));
    if let Some(path) = &args.junit {
        write_output(path, report::junit(&rows, &args.sets).as_bytes())?;
    }
    if let Some(path) = &args.markdown {
        write_output(path, report::markdown(&rows, &args.sets).as_bytes())?;
    }
    let failed = rows.iter().filter(|r| r.fails()).count();
    let warnings = rows
        .iter()
        .filter(|r| {
            r.kind == handshake_sim::verdict::CheckKind::Slo
                && r.verdict == handshake_sim::verdict::Verdict::Warning
        })
        .count();
    outln!(
        "\n{} scenario(s), {} check(s): {} failed, {} warning(s)",
        scenarios.len(),
        rows.len(),
        failed,
        warnings
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The failed job with the slowest server upgrade (else the slowest client upgrade).
fn worst_job(runs: &[sim::RunOutput]) -> Option<(u64, String, u64)> {
    let all = runs
        .iter()
        .flat_map(|r| r.records.iter().map(move |j| (r, j)));
    let failed = all
        .clone()
        .filter(|(_, j)| j.outcome != Some(handshake_sim::record::Outcome::Ok))
        .max_by_key(|(_, j)| (j.upgrade_ms.unwrap_or(0), std::cmp::Reverse(j.job)));
    let (r, j) = failed
        .or_else(|| all.max_by_key(|(_, j)| (j.client_upgrade_ms, std::cmp::Reverse(j.job))))?;
    Some((r.seed, r.variant.clone(), j.job))
}

/// The command that reruns exactly this run.
fn reproduce(args: &RunArgs, variants: &[String], seed: u64, seeds: u64) -> String {
    let mut cmd = report::run_command(&args.scenario.display().to_string(), seed, &args.sets);
    if seeds > 1 {
        cmd.push_str(&format!(" --seeds {seeds}"));
    }
    for v in variants {
        cmd.push_str(&format!(" --variant {v}"));
    }
    if let Some(j) = args.jobs {
        cmd.push_str(&format!(" --jobs {j}"));
    }
    cmd
}
