//! The measure of a search by simulation: the figure of a block of seeds pooled at a
//! parameter value, reusing runs another search made at the same value.

use std::collections::BTreeMap;

use super::error::FitError;
use super::question::FitSpec;
use super::search::{fmt_x, Evaluation, Measure};
use crate::metrics;
use crate::names::Figure;
use crate::scenario::{parse_override_from, Scenario};
use crate::server::variant;
use crate::sim;

/// Most job records the pooled search keeps for the block fits to reuse (runs beyond it are
/// run again when a block needs them).
const RECORDS_KEPT_MAX: usize = 500_000;

/// Runs by (parameter value's bits, seed).
pub(super) type Runs = BTreeMap<(u64, u64), sim::RunOutput>;

/// The figure of `seeds` pooled, by simulation.
pub(super) struct Sims<'a> {
    spec: &'a FitSpec<'a>,
    seeds: &'a [u64],
    /// Runs another search made, read here before running a seed again.
    pub(super) shared: Option<&'a Runs>,
    /// Whether to keep this search's runs (in `kept`) for others.
    pub(super) keep: bool,
    pub(super) kept: Runs,
    records_kept: usize,
    pub(super) runs: usize,
}

impl<'a> Sims<'a> {
    pub(super) fn new(spec: &'a FitSpec<'a>, seeds: &'a [u64]) -> Sims<'a> {
        Sims {
            spec,
            seeds,
            shared: None,
            keep: false,
            kept: Runs::new(),
            records_kept: 0,
            runs: 0,
        }
    }
}

impl Measure for Sims<'_> {
    fn measure(&mut self, x: f64) -> Result<Evaluation, FitError> {
        let s = self.spec;
        let mut overrides = s.overrides.to_vec();
        overrides.push(parse_override_from(
            "--param",
            &format!("{}={}", s.key, fmt_x(x, s.integer)),
        )?);
        let scenario = Scenario::from_toml_str(s.origin, s.text, &overrides)?;
        let v = variant::of(s.variant);
        let mut runs = Vec::with_capacity(self.seeds.len());
        for &seed in self.seeds {
            match self.shared.and_then(|c| c.get(&(x.to_bits(), seed))) {
                Some(r) => runs.push(r.clone()),
                None => {
                    runs.push(sim::run(&scenario, v.clone(), seed)?);
                    self.runs += 1;
                }
            }
        }
        let names = scenario.network_type_names();
        let summary = metrics::summarize(&[s.variant.name().to_string()], &runs, &names).remove(0);
        let rate = match s.figure {
            Figure::FailureRate => Some(&summary.failure_rate),
            Figure::SilentFailureRate => Some(&summary.silent_failure_rate),
            _ => None,
        };
        let e = Evaluation {
            x,
            value: summary.figure(s.figure).unwrap_or(f64::NAN),
            ci95_low: rate.map(|r| r.ci95_low),
            ci95_high: rate.map(|r| r.ci95_high),
        };
        for r in runs.into_iter().filter(|_| self.keep) {
            if self.records_kept + r.records.len() <= RECORDS_KEPT_MAX {
                self.records_kept += r.records.len();
                self.kept.insert((x.to_bits(), r.seed), r);
            }
        }
        Ok(e)
    }
}
