//! `replay`: one job of a run, rerun, as a timeline in simulated milliseconds.

use std::path::PathBuf;

use std::fmt::Write as _;

use handshake_sim::internal::record::JobRecord;
use handshake_sim::internal::replay::Step;
use handshake_sim::internal::scenario::Scenario;
use handshake_sim::internal::server::variant;

use super::args::jobs_override;
use super::Status;
use super::{CliError, CliResult};

pub(crate) const EXAMPLES: &str =
    "The whole run is repeated (jobs share hosts, so the interleaving matters) and only
the chosen job's steps are printed. `run` prints the replay command of its worst job; --records
has the seed, job and variant of every row.

Examples:
  handshake-sim replay sims/issue407.toml --seed 1 --job 17 --variant sequential";

#[derive(clap::Args)]
#[command(mut_arg("sets", |a| a.help(
    "Override a scenario key, as in the run being replayed (repeatable)"
)))]
pub(crate) struct Args {
    /// Scenario file.
    scenario: PathBuf,
    /// Seed of the run (default: the scenario's `scenario.seed`, as for `run`).
    #[arg(long)]
    seed: Option<u64>,
    /// Job number (the `job` column of --records).
    #[arg(long)]
    job: u64,
    /// Variant (default: the scenario's first).
    #[arg(long)]
    variant: Option<String>,
    #[command(flatten)]
    sets: super::args::Sets,
    /// Shorthand for --set scenario.jobs=N, as in the run being replayed.
    #[arg(long)]
    jobs: Option<u32>,
}

pub(crate) fn replay(args: Args) -> CliResult<Status> {
    let mut overrides = args.sets.overrides()?;
    if let Some(j) = args.jobs {
        overrides.push(jobs_override(j)?);
    }
    let scenario = Scenario::load(&args.scenario, &overrides)?;
    let seed = args.seed.unwrap_or(scenario.scenario.seed);
    let id = match &args.variant {
        Some(name) => super::args::parse_variant(name)?,
        None => scenario.scenario.variants[0],
    };
    let (v, name) = (variant::of(id), id.name());
    if args.job >= scenario.scenario.jobs as u64 {
        return Err(CliError::usage(
            format!("--job {}", args.job),
            format!("the scenario has jobs 0..{}", scenario.scenario.jobs),
        ));
    }
    let (record, steps) = handshake_sim::internal::replay::replay(&scenario, v, seed, args.job)?;
    let of = Replayed {
        scenario: &args.scenario.display().to_string(),
        variant: name,
        seed,
        job: args.job,
    };
    out!("{}", timeline(&of, &record, &steps));
    Ok(Status::Success)
}

// What `replay` prints: one job's outcome and its timeline in simulated milliseconds.

/// Which run a timeline comes from.
struct Replayed<'a> {
    /// The scenario file, as given.
    scenario: &'a str,
    variant: &'a str,
    seed: u64,
    job: u64,
}

/// The heading and one line per step.
fn timeline(of: &Replayed, record: &JobRecord, steps: &[Step]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "replay {} — variant {}, seed {}, job {} (job-{}): {} after {} attempt(s)",
        of.scenario,
        of.variant,
        of.seed,
        of.job,
        of.job,
        record.outcome.map_or("none", |o| o.name()),
        record.attempts
    );
    let _ = writeln!(s, "{:>8}  {:<8} event", "t_ms", "host");
    for step in steps {
        let fields: Vec<String> = step
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let line = format!(
            "{:>8}  {:<8} {} {}",
            step.t_ms,
            step.host,
            step.message,
            fields.join(" ")
        );
        // A step without fields would end in a space: a pasted timeline should diff clean.
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}
