//! The pipeline from a checked scenario to figures: (scenario, variants, seeds) → one
//! simulated run per variant × seed → per-job records → a summary per variant. `run`,
//! `check` and the library's `Experiment` go through it; sweeps and `fit` run their own grid
//! of points and call `metrics::summarize` per point, and `probe` makes its `Report` from
//! one live run. Verdicts and formats come after it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::{self, VariantSummary};
use crate::names::VariantId;
use crate::scenario::Scenario;
use crate::server::variant::Variant;
use crate::sim::{self, RunOutput, SimError};

/// Everything a run reports: the resolved scenario, the seeds and the figures per variant.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    /// The layout of the JSON outputs ([`crate::names::stamp::SCHEMA_VERSION`]).
    pub schema_version: u32,
    pub seed: u64,
    pub seeds: Vec<u64>,
    pub scenario: Scenario,
    pub variants: Vec<VariantSummary>,
    /// What each latency figure includes (which jobs and attempts), by JSON key.
    pub includes: BTreeMap<&'static str, &'static str>,
}

/// What each latency figure includes, as the JSON's `includes` states it.
pub const INCLUDES: [(&str, &str); 6] = [
    (
        "storage_ms",
        "the object's token reads of each job's first upgrade attempt that reached the object",
    ),
    (
        "upgrade_ms",
        "request at the object to 101 sent, first attempts the object finished (the run drains \
         them, so upgrades whose client gave up are included)",
    ),
    (
        "client_upgrade_ms",
        "request sent to 101 received at the client, first attempts that got a 101 (censored \
         by client.handshake_timeout_ms)",
    ),
    (
        "paired_delta.storage_ms",
        "per-job difference to the baseline, jobs with a storage time in both variants",
    ),
    (
        "paired_delta.upgrade_ms",
        "per-job difference to the baseline, jobs the object upgraded in both variants (not \
         censored by the client's deadline)",
    ),
    (
        "paired_delta.client_upgrade_ms",
        "per-job difference to the baseline, jobs that got a 101 in both variants (censored)",
    ),
];

impl Report {
    /// Summarises the runs (ordered by variant, then seed) of a scenario.
    pub fn new(
        scenario: &Scenario,
        variants: &[String],
        seeds: &[u64],
        runs: &[RunOutput],
    ) -> Report {
        let seed = seeds.first().copied().unwrap_or(scenario.scenario.seed);
        // The resolved scenario shows the seed that ran, not the file's.
        let mut resolved = scenario.clone();
        resolved.scenario.seed = seed;
        Report {
            tool: crate::names::stamp::TOOL,
            version: crate::names::stamp::VERSION,
            schema_version: crate::names::stamp::SCHEMA_VERSION,
            seed,
            seeds: seeds.to_vec(),
            scenario: resolved,
            variants: metrics::summarize(variants, runs, &scenario.network_type_names()),
            includes: INCLUDES.into_iter().collect(),
        }
    }

    /// The summary of one variant, by name.
    pub fn variant(&self, name: &str) -> Option<&VariantSummary> {
        self.variants.iter().find(|v| v.variant == name)
    }

    /// Pretty JSON with a trailing newline; byte-identical for the same input.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report types serialise");
        s.push('\n');
        s
    }
}

/// Runs every variant over every seed and summarises them: the report and the runs it came
/// from (ordered by variant, then seed).
pub fn run(
    scenario: &Scenario,
    variants: &[VariantId],
    seeds: &[u64],
) -> Result<(Report, Vec<RunOutput>), SimError> {
    run_with_progress(scenario, variants, seeds, &|| {})
}

/// [`run`], telling `progress` after each finished run (variant × seed).
pub fn run_with_progress(
    scenario: &Scenario,
    variants: &[VariantId],
    seeds: &[u64],
    progress: &dyn Fn(),
) -> Result<(Report, Vec<RunOutput>), SimError> {
    let runs = sim::run_all(scenario, variants, seeds, progress)?;
    let names: Vec<String> = variants.iter().map(|v| v.name().to_string()).collect();
    Ok((Report::new(scenario, &names, seeds, &runs), runs))
}

/// [`run`] with the variants' implementations given (a user's among them): the library's
/// `Experiment` runs through it.
pub fn run_variants(
    scenario: &Scenario,
    variants: &[Variant],
    seeds: &[u64],
) -> Result<(Report, Vec<RunOutput>), SimError> {
    let runs = sim::run_variants(scenario, variants, seeds, &|| {})?;
    let names: Vec<String> = variants.iter().map(|v| v.name().to_string()).collect();
    Ok((Report::new(scenario, &names, seeds, &runs), runs))
}
