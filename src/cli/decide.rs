//! `decide`: the options of a scenario's `[decide]` side by side on the same draws, ranked,
//! with their benefit and cost, and where the best changes.

use std::path::PathBuf;

use handshake_sim::internal::decide;
use handshake_sim::internal::report::decision::{decision_json, decision_text};
use handshake_sim::internal::report::decision_html;
use handshake_sim::internal::scenario::{self, Scenario};

use super::args::{seed_range, Sets};
use super::output::{check_outputs, is_stdout, write_output};
use super::{CliResult, Status};

pub(crate) const EXAMPLES: &str =
    "Each [[decide.options]] of the scenario is a handshake variant with its own --set-style
overrides (`set = [...]`); every option runs on the same seeds, so every job meets the same
draws in every option. For each: the benefit (failure rate, silent failures, p95 client upgrade,
cold first upgrades) and the cost (storage operations, Workers KV reads and writes and object
wall time per job; stale-token accepts and their window), with 95% intervals. The options are
ranked by `decide.rank_by` (default failure_rate), and an option the data cannot tell from the
best is marked. `decide.sweep` (KEY=SPEC, as sweep --param) redoes the ranking over a small grid
and says where the best option changes.

Exit codes: 0 decided; 1 a run failed; 2 bad input (no [decide] options, an override or sweep
spec that does not apply, too many runs).

Examples:
  handshake-sim decide sims/next-steps.toml
  handshake-sim decide sims/next-steps.toml --seeds 10 --html next-steps.html --json next-steps.json
  handshake-sim decide sims/next-steps.toml --set kv.move_probability=0.5";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scenario file with [decide] options (sims/next-steps.toml has them).
    scenario: PathBuf,
    /// First seed (default: the scenario's `scenario.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Seeds per option, consecutive from --seed; figures pool them.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: u64,
    #[command(flatten)]
    sets: Sets,
    /// Shorthand for --set scenario.jobs=N, as for `run`.
    #[arg(long, value_name = "JOBS")]
    jobs: Option<u32>,
    /// Write the decision as JSON to FILE ('-' for standard output, which then holds only the JSON).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the decision page (self-contained HTML) to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Print no table: only errors, and the files asked for.
    #[arg(short, long)]
    quiet: bool,
}

impl Args {
    /// The command that repeats the decision.
    fn reproduce(&self, first_seed: u64) -> String {
        let mut cmd = format!(
            "handshake-sim decide {} --seed {first_seed} --seeds {}",
            self.scenario.display(),
            self.seeds
        );
        for s in &self.sets.sets {
            cmd.push_str(&format!(" --set '{s}'"));
        }
        cmd
    }

    /// The `sweep` over the decision's grid, for the options that are a variant alone (each
    /// variant once); none without a sweep or such an option.
    fn sweep_command(&self, s: &Scenario, first_seed: u64) -> Option<String> {
        let d = &s.decide;
        let mut variants: Vec<&str> = Vec::new();
        for o in d.options.iter().filter(|o| o.set.is_empty()) {
            if !variants.contains(&o.variant.name()) {
                variants.push(o.variant.name());
            }
        }
        if d.sweep.is_empty() || variants.is_empty() {
            return None;
        }
        let mut cmd = format!("handshake-sim sweep {}", self.scenario.display());
        for p in &d.sweep {
            cmd.push_str(&format!(" --param {p}"));
        }
        for v in variants {
            cmd.push_str(&format!(" --variant {v}"));
        }
        for set in &self.sets.sets {
            cmd.push_str(&format!(" --set '{set}'"));
        }
        cmd.push_str(&format!(
            " --seed {first_seed} --seeds {} --out decide-sweep",
            d.sweep_seeds
        ));
        Some(cmd)
    }
}

pub(crate) fn decide(args: Args) -> CliResult<Status> {
    let args = Args {
        sets: args.sets.clone().with_jobs(args.jobs),
        ..args
    };
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--html", args.html.as_deref()),
    ];
    check_outputs(&outputs, &[("SCENARIO", &args.scenario)])?;
    let text = scenario::read_text(&args.scenario)?;
    let origin = args.scenario.display().to_string();
    let overrides = args.sets.overrides()?;
    let base = Scenario::from_toml_str(&origin, &text, &overrides)?;
    let first = args.seed.unwrap_or(base.scenario.seed);
    let seeds = seed_range(first, args.seeds);
    let decision = decide::decide(&origin, &text, &overrides, &seeds)?;
    let reproduce = args.reproduce(first);
    if let Some(path) = &args.json {
        write_output(path, decision_json(&decision).as_bytes())?;
    }
    if let Some(path) = &args.html {
        let page = decision_html(
            &decision,
            &reproduce,
            args.sweep_command(&base, first).as_deref(),
        );
        write_output(path, page.as_bytes())?;
    }
    if !args.quiet && !is_stdout(args.json.as_deref()) {
        out!("{}", decision_text(&decision, &reproduce));
    }
    Ok(Status::Success)
}
