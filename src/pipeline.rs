//! The one pipeline from a checked scenario to figures: (scenario, variants, seeds) → one
//! simulated run per variant × seed → per-job records → a summary per variant. `run`,
//! `check`, `fit`, sweeps and the library's `Experiment` all go through it; verdicts and
//! formats come after it.

use serde::Serialize;

use crate::metrics::{self, VariantSummary};
use crate::names::VariantId;
use crate::scenario::Scenario;
use crate::sim::{self, RunOutput, SimError};

/// Everything a run reports: the resolved scenario, the seeds and the figures per variant.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub seed: u64,
    pub seeds: Vec<u64>,
    pub scenario: Scenario,
    pub variants: Vec<VariantSummary>,
}

impl Report {
    /// Summarises the runs (ordered by variant, then seed) of a scenario.
    pub fn new(
        scenario: &Scenario,
        variants: &[String],
        seeds: &[u64],
        runs: &[RunOutput],
    ) -> Report {
        Report {
            tool: "handshake-sim",
            version: env!("CARGO_PKG_VERSION"),
            seed: seeds.first().copied().unwrap_or(scenario.scenario.seed),
            seeds: seeds.to_vec(),
            scenario: scenario.clone(),
            variants: metrics::summarize(variants, runs),
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
    let runs = sim::run_all(scenario, variants, seeds)?;
    let names: Vec<String> = variants.iter().map(|v| v.name().to_string()).collect();
    Ok((Report::new(scenario, &names, seeds, &runs), runs))
}
