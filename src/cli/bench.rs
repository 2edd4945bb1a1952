//! `bench`: speed and memory of the simulator on the flow, upgrade and idle workloads, each
//! beside the floor (the same protocol with nothing simulated).

use std::path::PathBuf;

use handshake_sim::internal::bench::{self, Driver, Measurement, Progress, SweepScaling, Workload};
use handshake_sim::internal::report;
use handshake_sim::internal::scenario::Scenario;

use super::args::Sets;
use super::output::{check_outputs, is_stdout, write_output};
use super::Status;
use super::{CliResult, Context as _};

pub(crate) const EXAMPLES: &str =
    "Single thread, release build (cargo run --release -- bench). jobs_per_s and
upgrades_per_s are per wall second; ×floor (floor_ratio) is jobs_per_s over the floor's,
measured in the same invocation (the floor always runs first: the flow's jobs with every
latency 0 on a plain tokio runtime, no turmoil, so it is the protocol's own cost; the
upgrade workload does less per job, so its ratio can pass 1); sim_speedup is simulated
seconds per wall second; bytes_per_connection is the live heap per open socket when the
open sockets peaked (what one open WebSocket holds, ends and job included);
heap_peak_bytes_per_job (heap/job) is the run's peak live heap per job in flight
(scenario.concurrency), the world it starts with left out: what a herd costs each job at its
worst moment. A figure not measured is – in the table and null in the JSON.

Examples:
  handshake-sim bench
  handshake-sim bench --workload upgrade --json bench.json
  handshake-sim bench --scaling
  handshake-sim bench --workload flow --set scenario.jobs=200000 --set scenario.concurrency=100000";

#[derive(clap::Args)]
#[command(mut_arg("sets", |a| a.help(
    "Override a key of every workload's scenario (repeatable), e.g. scenario.jobs=2000"
)))]
pub(crate) struct Args {
    /// Workload to run (repeatable; default: all; the floor runs first in any case).
    #[arg(long = "workload", value_enum)]
    workloads: Vec<Workload>,
    /// The flow workload's scenario.
    #[arg(long, default_value = "sims/bench.toml")]
    scenario: PathBuf,
    #[command(flatten)]
    sets: Sets,
    /// Also run the flow at 1k/10k/100k jobs and concurrency 10..10,000, and a sweep on 1 and 2 threads.
    #[arg(long)]
    scaling: bool,
    /// Write the measurements as JSON ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print no table: only errors, and the files asked for.
    #[arg(short, long)]
    quiet: bool,
    /// Run the one workload in this process and print its measurement as JSON (internal: each
    /// workload runs in a fresh process so that its peak RSS is its own).
    #[arg(long, hide = true)]
    child: bool,
}

pub(crate) fn bench(args: Args) -> CliResult<Status> {
    let flow = Scenario::load(&args.scenario, &[])?;
    let workloads = if args.workloads.is_empty() {
        Workload::ALL.to_vec()
    } else {
        args.workloads.clone()
    };
    if args.child {
        return child(workloads[0], &flow, &args.sets.sets);
    }
    // Each workload's scenario with the overrides, made here first: a bad --set is the
    // user's input (exit 2), not a workload that failed in its process.
    for &w in workloads.iter().chain(&[Workload::Floor]) {
        bench::scenario(w, &flow, &args.sets.sets)?;
    }
    check_outputs(
        &[("--json", args.json.as_deref())],
        &[("--scenario", &args.scenario)],
    )?;
    // With the JSON on standard output, the table would corrupt it.
    let quiet = args.quiet || is_stdout(args.json.as_deref());
    let say = |line: String| {
        if !quiet {
            outln!("{line}");
        }
    };
    say(header());
    let driver = Driver {
        scenario: &args.scenario,
        sets: &args.sets.sets,
    };
    let scaling = args.scaling.then_some(&flow);
    let results = driver.run(&workloads, scaling, &mut |p| say(progress(&p)))?;
    if let Some(path) = &args.json {
        let text = report::bench::json(&results).context("bench JSON")?;
        write_output(path, text.as_bytes())?;
    }
    Ok(Status::Success)
}

/// `--child`: one workload in this process, its measurement on standard output for the
/// driver.
fn child(w: Workload, flow: &Scenario, sets: &[String]) -> CliResult<Status> {
    let m = bench::run(w, &bench::scenario(w, flow, sets)?)?;
    let line = report::bench::child_line(&m).context("measurement as JSON")?;
    outln!("{line}");
    Ok(Status::Success)
}

// What `bench` prints: one row per measurement, as they come.

/// The table's header line.
fn header() -> String {
    format!(
        "{:<8} {:>7} {:>6} {:>8} {:>9} {:>11} {:>7} {:>13} {:>10} {:>11} {:>11} {:>9} {:>8}",
        "workload",
        "jobs",
        "conc",
        "wall_s",
        "sim_s",
        "jobs/s",
        "×floor",
        "upgrades/s",
        "sim×",
        "peak_rss",
        "B/conn",
        "heap/job",
        "conns"
    )
}

/// One measurement's row.
fn row(m: &Measurement) -> String {
    format!(
        "{:<8} {:>7} {:>6} {:>8.3} {:>9.1} {:>11.0} {:>7} {:>13.0} {:>10.0} {:>10.1}M {:>11} {:>9} {:>8}",
        format!("{:?}", m.workload).to_lowercase(),
        m.jobs,
        m.concurrency,
        m.wall_s,
        m.sim_s,
        m.jobs_per_s,
        m.floor_ratio.map_or("–".into(), |r| format!("{r:.2}")),
        m.upgrades_per_s,
        m.sim_speedup,
        m.peak_rss_bytes as f64 / 1048576.0,
        m.bytes_per_connection.map_or("–".into(), |b| b.to_string()),
        m.heap_peak_bytes_per_job
            .map_or("–".into(), |b| b.to_string()),
        m.connections_peak
    )
}

/// What to print (one or more lines, without the final newline) when the driver progresses.
fn progress(p: &Progress) -> String {
    match p {
        Progress::Measured(m) => row(m),
        Progress::Scaling => format!(
            "\nscaling of the flow workload (jobs at concurrency 1000; concurrency at 5000 jobs):\n{}",
            header()
        ),
        Progress::SweepScaled(sw) => sweep_scaling(sw),
    }
}

fn sweep_scaling(sw: &SweepScaling) -> String {
    format!(
        "\nsweep of {} points: {:.2} s on 1 thread, {:.2} s on 2 threads: {:.2}x, identical output: {}",
        sw.runs, sw.wall_s_1_thread, sw.wall_s_2_threads, sw.speedup, sw.identical_output
    )
}
