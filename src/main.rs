//! The command line: parses arguments, calls the library, prints, and picks the exit code
//! (0 success, 1 a run failed, 2 bad input).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use handshake_sim::report::{self, Report};
use handshake_sim::scenario::{self, Scenario, ScenarioError};
use handshake_sim::{server, sim};

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
    /// List the handshake variants.
    Variants,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Variants => {
            for v in server::variant::ALL {
                println!("{:<14} {}", v.name(), v.describe());
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("handshake-sim: error: {e:#}");
            if e.downcast_ref::<ScenarioError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn init_tracing(level: Option<&str>) -> anyhow::Result<()> {
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
        Some(l) => EnvFilter::try_new(with_turmoil(l)).map_err(|e| ScenarioError::Override {
            arg: format!("--log {l}"),
            message: e.to_string(),
        })?,
        None => match std::env::var("RUST_LOG") {
            Ok(v) if !v.is_empty() => EnvFilter::try_new(with_turmoil(&v)).context("RUST_LOG")?,
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
    let mut overrides = args
        .sets
        .iter()
        .map(|s| scenario::parse_override(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(j) = args.jobs {
        overrides.push(scenario::parse_override(&format!("scenario.jobs={j}"))?);
    }
    let scenario = Scenario::load(&args.scenario, &overrides)?;
    let variants = if args.variants.is_empty() {
        scenario.scenario.variants.clone()
    } else {
        for v in &args.variants {
            if server::variant::by_name(v).is_none() {
                return Err(ScenarioError::Override {
                    arg: format!("--variant {v}"),
                    message: format!(
                        "unknown variant; known: {}",
                        server::variant::NAMES.join(", ")
                    ),
                }
                .into());
            }
        }
        args.variants.clone()
    };
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
    if !json_to_stdout && !records_to_stdout {
        let s = &report.scenario.scenario;
        println!(
            "scenario {} — {} job(s) × {} seed(s), concurrency {}",
            s.name,
            s.jobs,
            seeds.len(),
            s.concurrency
        );
        print!("{}", report::table(&report));
        let seed_text = if seeds.len() == 1 {
            format!("seed {first_seed}")
        } else {
            format!("seeds {first_seed}..={}", seeds[seeds.len() - 1])
        };
        println!("\n{seed_text}");
        println!(
            "reproduce: {}",
            reproduce(&args, &variants, first_seed, args.seeds)
        );
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

/// The command that reruns exactly this run.
fn reproduce(args: &RunArgs, variants: &[String], seed: u64, seeds: u64) -> String {
    let mut cmd = format!(
        "handshake-sim run {} --seed {seed}",
        shell_quote(&args.scenario.display().to_string())
    );
    if seeds > 1 {
        cmd.push_str(&format!(" --seeds {seeds}"));
    }
    for v in variants {
        cmd.push_str(&format!(" --variant {v}"));
    }
    for s in &args.sets {
        cmd.push_str(&format!(" --set {}", shell_quote(s)));
    }
    if let Some(j) = args.jobs {
        cmd.push_str(&format!(" --jobs {j}"));
    }
    cmd
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
