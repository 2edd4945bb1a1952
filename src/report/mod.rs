//! Output formats: the terminal table, JSON and the per-job CSV. Only this module knows them.

mod csv;
mod gate;
mod table;

use serde::Serialize;

use crate::metrics::{self, VariantSummary};
use crate::scenario::Scenario;
use crate::sim::RunOutput;

pub use self::csv::write_records;
pub use gate::{gate_table, junit, markdown, run_command, shell_quote};
pub use table::table;

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
