//! `decide`: the write-up's next steps side by side. Each `[decide]` option is a variant with
//! its own overrides of the scenario, run on the same seeds — so every job meets the same
//! draws in every option (common random numbers) — and reported as its benefit (failure
//! rate, silent failures, p95 client upgrade, cold starts) and its costs (storage
//! operations, KV reads and writes and object wall time per job, stale-token accepts and
//! their window), each with its interval; the options ranked by one figure, with the ones the
//! data cannot tell from the best; and a small sweep of the scenario's parameters showing
//! where the best option changes.

mod costs;
mod ranking;

pub use costs::{Benefit, Costs, PerJob, Percentile};
pub use ranking::{rank, Point, SweepOutcome};

use rayon::prelude::*;
use serde::Serialize;

use crate::metrics::{self, VariantSummary};
use crate::names::Figure;
use crate::scenario::{parse_override_from, DecideOption, Override, Scenario, ScenarioError};
use crate::server::variant;
use crate::sim::{self, RunOutput, SimError};

/// Most runs one `decide` makes, the sweep's included.
pub const RUNS_MAX: usize = 5_000;

/// Why a decision could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The scenario, an option's override or a sweep point is not a valid scenario.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario asks for something `decide` cannot do (no options, a bad sweep spec,
    /// too many runs).
    #[error("{0}")]
    Usage(String),
    /// A run failed.
    #[error(transparent)]
    Sim(#[from] SimError),
}

impl crate::failure::BadInput for DecideError {
    fn is_bad_input(&self) -> bool {
        match self {
            DecideError::Scenario(e) => e.is_bad_input(),
            DecideError::Usage(_) => true,
            DecideError::Sim(e) => e.is_bad_input(),
        }
    }
}

/// One option as decided: what it is, its figures and its costs.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Decided {
    pub name: String,
    pub variant: String,
    pub what: String,
    pub set: Vec<String>,
    /// Its place in the ranking, 1 for the best.
    pub rank: usize,
    /// The data cannot tell it from the best (the 95% interval of the difference in the
    /// ranking figure holds 0; rates only).
    pub tied_with_best: bool,
    pub benefit: Benefit,
    pub costs: Costs,
    /// The same figures as `run --json` gives the variant.
    pub summary: VariantSummary,
}

/// A decision: every option on the same seeds, ranked, and the sweep.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Decision {
    pub tool: &'static str,
    pub version: &'static str,
    pub schema_version: u32,
    pub scenario: String,
    pub jobs: u32,
    pub seeds: Vec<u64>,
    pub rank_by: String,
    /// The scenario's network types, in file order (the per-type tables' columns).
    pub network_types: Vec<String>,
    /// In ranking order.
    pub options: Vec<Decided>,
    pub sweep: Option<SweepOutcome>,
}

/// The scenario of one option: the text with the command's overrides, the option's and
/// `extra` (a sweep point's), running the option's variant alone.
pub(crate) fn option_scenario(
    origin: &str,
    text: &str,
    base: &[Override],
    option: &DecideOption,
    extra: &[Override],
) -> Result<Scenario, DecideError> {
    let mut overrides = base.to_vec();
    for s in &option.set {
        overrides.push(parse_override_from("[decide]", s)?);
    }
    overrides.extend_from_slice(extra);
    let mut s = Scenario::from_toml_str(origin, text, &overrides)?;
    s.scenario.variants = vec![option.variant];
    Ok(s)
}

/// Runs every option of `scenario`'s `[decide]` (loaded from `text` at `origin` with `base`
/// overrides) on `seeds`, ranks them, and runs the sweep.
pub fn decide(
    origin: &str,
    text: &str,
    base: &[Override],
    seeds: &[u64],
) -> Result<Decision, DecideError> {
    let scenario = Scenario::from_toml_str(origin, text, base)?;
    let d = &scenario.decide;
    if d.options.is_empty() {
        return Err(DecideError::Usage(format!(
            "{origin} has no [decide] options; add [[decide.options]] tables, each a name and \
             a variant (sims/next-steps.toml has them)"
        )));
    }
    let scenarios = d
        .options
        .iter()
        .map(|o| option_scenario(origin, text, base, o, &[]))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = ranking::SweepPlan::new(origin, text, base, &scenario)?;
    let runs = d.options.len() * seeds.len() + plan.runs();
    if runs > RUNS_MAX {
        return Err(DecideError::Usage(format!(
            "{runs} runs (options × seeds, and the sweep's) exceed the limit of {RUNS_MAX}; \
             use fewer seeds, options or sweep points"
        )));
    }
    let cpu_s: f64 = scenarios
        .iter()
        .map(|s| crate::cost::RunCost::of(s).wall_s() * seeds.len() as f64)
        .sum::<f64>()
        + plan.cpu_s()?;
    if cpu_s > crate::sweep::CPU_S_MAX {
        return Err(DecideError::Usage(format!(
            "the runs would take about {} of CPU, past the limit of {}; lower scenario.jobs, \
             the seeds or the sweep's points",
            crate::cost::human_s(cpu_s),
            crate::cost::human_s(crate::sweep::CPU_S_MAX)
        )));
    }
    let rank_by = Figure::parse(&d.rank_by).map_err(DecideError::Usage)?;
    let mut options: Vec<Decided> = Vec::with_capacity(scenarios.len());
    for (o, s) in d.options.iter().zip(&scenarios) {
        options.push(decided(o, s, &run_seeds(s, seeds)?));
    }
    rank(&mut options, rank_by);
    let best = options.first().map(|o| o.name.clone());
    let sweep = plan.run(seeds, rank_by, best.as_deref())?;
    Ok(Decision {
        tool: crate::names::stamp::TOOL,
        version: crate::names::stamp::VERSION,
        schema_version: crate::names::stamp::SCHEMA_VERSION,
        scenario: scenario.scenario.name.clone(),
        jobs: scenario.scenario.jobs,
        seeds: seeds.to_vec(),
        rank_by: rank_by.to_string(),
        network_types: scenario.network_type_names(),
        options,
        sweep,
    })
}

/// One option's runs over `seeds`, in parallel, collected in seed order. One option at a
/// time, each summarised before the next runs: memory holds one option's records, as `run`
/// of one variant does.
pub(crate) fn run_seeds(scenario: &Scenario, seeds: &[u64]) -> Result<Vec<RunOutput>, DecideError> {
    let v = variant::builtin(scenario.scenario.variants[0]).expect("[decide] names built-ins");
    let done: Vec<Result<RunOutput, SimError>> = seeds
        .par_iter()
        .map(|&seed| sim::run(scenario, v.clone(), seed))
        .collect();
    Ok(done.into_iter().collect::<Result<Vec<_>, _>>()?)
}

/// One option's figures from its runs.
fn decided(option: &DecideOption, scenario: &Scenario, runs: &[RunOutput]) -> Decided {
    let name = option.variant.name().to_string();
    let summary = metrics::summarize(
        std::slice::from_ref(&name),
        runs,
        &scenario.network_type_names(),
    )
    .remove(0);
    Decided {
        name: option.name.clone(),
        variant: name,
        what: option.what.clone(),
        set: option.set.clone(),
        rank: 0,
        tied_with_best: false,
        benefit: Benefit::of(&summary, runs),
        costs: Costs::of(&summary, runs),
        summary,
    }
}
