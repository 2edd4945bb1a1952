//! The command line: one file per command (its clap `Args`, its `after_help` text and its
//! handler), the arguments they share (`args`), and the one place that turns a command's
//! result into the exit code: 0 success, 1 a run failed, 2 bad input.

/// `println!` that stops writing, quietly, once standard output is closed (`| head`).
macro_rules! outln {
    ($($t:tt)*) => {
        crate::cli::output::stdout_fmt(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` with the same treatment of a closed standard output.
macro_rules! out {
    ($($t:tt)*) => {
        crate::cli::output::stdout_fmt(format_args!($($t)*))
    };
}

mod args;
mod bench;
mod calibrate;
mod check;
mod compare;
mod conform;
mod decide;
mod dev_latency;
mod error;
mod fit;
mod merge;
mod output;
mod probe;
mod progress;
mod replay;
mod run;
mod serve;
mod sweep;
mod variants;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use error::{CliError, CliResult, Context};

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
    #[command(after_help = run::EXAMPLES)]
    Run(run::Args),
    /// Sweep parameters over a grid (or a random swarm) × variants × seeds, in parallel.
    #[command(after_help = sweep::EXAMPLES)]
    Sweep(sweep::Args),
    /// Join the outputs of sweep shards into what one unsharded sweep writes.
    #[command(after_help = merge::EXAMPLES)]
    Merge(merge::Args),
    /// Rerun one job of a run and print its timeline in simulated milliseconds.
    #[command(after_help = replay::EXAMPLES)]
    Replay(replay::Args),
    /// Find the parameter value that reproduces an observed figure (bisection).
    #[command(after_help = fit::EXAMPLES)]
    Fit(fit::Args),
    /// Turn upgrade timing logs (or a CSV) into an empirical storage.read_ms distribution.
    #[command(after_help = calibrate::EXAMPLES)]
    Calibrate(calibrate::Args),
    /// Compare two runs' --json outputs figure by figure: what changed beyond noise.
    #[command(after_help = compare::EXAMPLES)]
    Compare(compare::Args),
    /// The write-up's next steps side by side: each option's benefit and cost, ranked.
    #[command(after_help = decide::EXAMPLES)]
    Decide(decide::Args),
    /// Pre-deploy check: run scenarios over seeds and judge their SLOs and expectations.
    #[command(after_help = check::EXAMPLES)]
    Check(check::Args),
    /// Serve the simulated Worker and Durable Objects on a real socket, in real time.
    #[command(after_help = serve::EXAMPLES)]
    Serve(serve::Args),
    /// Run the simulated client against a real endpoint and judge the SLOs.
    #[command(after_help = probe::EXAMPLES)]
    Probe(probe::Args),
    /// Check an endpoint against the documented HTTP API: status codes, messages, close.
    #[command(after_help = conform::EXAMPLES)]
    Conform(conform::Args),
    /// Write the scenario's storage latency and cold start for a real Worker (scenario-latency).
    #[command(name = "dev-latency", after_help = dev_latency::EXAMPLES)]
    DevLatency(dev_latency::Args),
    /// Measure the simulator: speed and memory of the flow, upgrade and idle workloads, beside the floor.
    #[command(after_help = bench::EXAMPLES)]
    Bench(bench::Args),
    /// List the handshake variants.
    Variants,
}

/// What a command concluded, when it did not fail with an error.
pub(crate) enum Status {
    /// Everything held: exit code 0.
    Success,
    /// The command ran, and what it judged failed (a critical SLO, a failed run): exit code 1.
    Failed,
}

/// Parses the command line, runs the command and picks the exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    exit_code(run(cli.command))
}

fn run(command: Command) -> CliResult<Status> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::check(args),
        Command::Compare(args) => compare::compare(args),
        Command::Decide(args) => decide::decide(args),
        Command::Bench(args) => bench::bench(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => merge::merge(args),
        Command::Replay(args) => replay::replay(args),
        Command::Fit(args) => fit::fit(args),
        Command::Calibrate(args) => calibrate::calibrate(args),
        Command::Serve(args) => serve::serve(args),
        Command::Probe(args) => probe::probe(args),
        Command::Conform(args) => conform::conform(args),
        Command::DevLatency(args) => dev_latency::dev_latency(args),
        Command::Variants => variants::variants(),
    }
}

/// The exit-code policy, in one place: errors print as `handshake-sim: error: {e:#}` and exit
/// 2 when they are the user's input (decided where they were made: [`CliError`]), 1 otherwise.
fn exit_code(result: CliResult<Status>) -> ExitCode {
    match result {
        Ok(Status::Success) => ExitCode::SUCCESS,
        Ok(Status::Failed) => ExitCode::from(1),
        Err(e) => {
            // What was made for the outputs before the command failed goes, if still empty.
            handshake_sim::internal::files::remove_created_dirs();
            eprintln!("handshake-sim: error: {}", message(&e.error));
            ExitCode::from(if e.bad_input { 2 } else { 1 })
        }
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text the message
/// already holds (an error that prints its source, such as `listening on …: {source}`, would
/// otherwise print the OS error twice).
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// From now on a panic (a broken internal invariant) also prints the command that
/// reproduces it.
fn on_panic_print_reproduce(command: String) {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!("handshake-sim: internal invariant broken; reproduce: {command}");
    }));
}
