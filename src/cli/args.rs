//! Arguments several commands take: `--set KEY=VALUE` overrides and a `--seeds N` /
//! `--seed FIRST` range. Each command keeps its own help text (and `fit` its own range): it
//! flattens the shared struct and rewords the argument with `#[command(mut_arg(...))]`.

use std::path::Path;

use handshake_sim::internal::names::VariantId;
use handshake_sim::internal::scenario::{self, Override, Scenario, ScenarioError};

use super::{CliError, CliResult};

/// `--set KEY=VALUE`, repeatable.
#[derive(clap::Args, Clone)]
pub(crate) struct Sets {
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) sets: Vec<String>,
}

impl Sets {
    /// The overrides, parsed.
    pub(crate) fn overrides(&self) -> Result<Vec<Override>, ScenarioError> {
        scenario::parse_overrides(&self.sets)
    }

    /// With `--jobs N` (check, decide, fit) as one more `--set scenario.jobs=N`, last: what
    /// the command's reproduce lines then repeat.
    pub(crate) fn with_jobs(mut self, jobs: Option<u32>) -> Sets {
        self.sets.extend(jobs.map(|j| format!("scenario.jobs={j}")));
        self
    }

    /// The scenario at `path` (else the defaults) with the overrides.
    pub(crate) fn load(&self, path: Option<&Path>) -> Result<Scenario, ScenarioError> {
        load_with_sets(path, &self.sets)
    }
}

/// The scenario at `path` (else the defaults) with `sets` applied.
pub(crate) fn load_with_sets(
    path: Option<&Path>,
    sets: &[String],
) -> Result<Scenario, ScenarioError> {
    let overrides = scenario::parse_overrides(sets)?;
    match path {
        Some(p) => Scenario::load(p, &overrides),
        None => Scenario::from_toml_str("<defaults>", "", &overrides),
    }
}

/// `--jobs N`: `--set scenario.jobs=N`, named `--jobs` in errors.
pub(crate) fn jobs_override(jobs: u32) -> Result<Override, ScenarioError> {
    scenario::parse_override_from("--jobs", &format!("scenario.jobs={jobs}"))
}

/// `--seeds N` (default 3) consecutive seeds from `--seed FIRST` (default: the scenario's).
#[derive(clap::Args)]
pub(crate) struct SeedRange {
    /// Seeds per point, consecutive from --seed; figures pool them.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) seeds: u64,
    /// First seed (default: the scenario's).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
}

impl SeedRange {
    /// The first seed: `--seed`, else `scenario_seed`.
    pub(crate) fn first(&self, scenario_seed: u64) -> u64 {
        self.seed.unwrap_or(scenario_seed)
    }

    /// Every seed, from the first.
    pub(crate) fn seeds(&self, scenario_seed: u64) -> Vec<u64> {
        seed_range(self.first(scenario_seed), self.seeds)
    }
}

/// `count` consecutive seeds from `first` (wrapping past `u64::MAX`).
pub(crate) fn seed_range(first: u64, count: u64) -> Vec<u64> {
    (0..count).map(|i| first.wrapping_add(i)).collect()
}

/// The `--variant`s given (known, each once), else the scenario's.
pub(crate) fn pick_variants(given: &[String], scenario: &Scenario) -> CliResult<Vec<VariantId>> {
    if given.is_empty() {
        return Ok(scenario.scenario.variants.clone());
    }
    let mut picked = Vec::with_capacity(given.len());
    for (i, v) in given.iter().enumerate() {
        picked.push(parse_variant(v)?);
        if given[..i].contains(v) {
            return Err(CliError::usage(format!("--variant {v}"), "given twice"));
        }
    }
    Ok(picked)
}

/// One `--variant` name.
pub(crate) fn parse_variant(name: &str) -> CliResult<VariantId> {
    // The library's message names the variant, suggests the closest and lists the known ones.
    VariantId::parse(name).map_err(|message| CliError::usage("--variant", message))
}
