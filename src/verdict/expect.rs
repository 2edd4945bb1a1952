//! Judging an `[expect]` line against a run's summaries.

use serde::Serialize;

use crate::metrics::VariantSummary;
use crate::names::{Figure, VariantId};
use crate::scenario::{Expectation, FigureRef};

/// Why an expectation's figure has no value in a run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotMeasured {
    /// The variant it names did not run.
    #[error("variant {0} was not run")]
    NotRun(VariantId),
    /// The variant ran but the figure has no value (a latency of no sample, the delta of the
    /// baseline itself).
    #[error("{0} has no {1}")]
    NoValue(VariantId, Figure),
    /// The run had no network type of this name.
    #[error("the run has no network type {0:?} (see [[network.types]])")]
    NoNetworkType(String),
}

/// One judged expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    pub expectation: String,
    pub variant: String,
    pub actual: f64,
    pub bound: f64,
    pub holds: bool,
}

impl FigureRef {
    /// The figure's value in the summaries; the error says why there is none.
    pub fn value(&self, summaries: &[VariantSummary]) -> Result<f64, NotMeasured> {
        let s = summaries
            .iter()
            .find(|s| s.variant == self.variant.name())
            .ok_or(NotMeasured::NotRun(self.variant))?;
        if let Some(n) = self
            .network
            .as_ref()
            .filter(|n| !s.by_network.contains_key(*n))
        {
            return Err(NotMeasured::NoNetworkType(n.clone()));
        }
        s.figure_of(self.network.as_deref(), self.figure)
            .ok_or(NotMeasured::NoValue(self.variant, self.figure))
    }
}

impl Expectation {
    /// Judges the expectation; an error when a figure it reads was not measured (a variant
    /// that did not run, a latency of no sample, the delta of the baseline itself).
    pub fn judge(&self, summaries: &[VariantSummary]) -> Result<Judged, NotMeasured> {
        let actual = self.lhs.value(summaries)?;
        let bound = match &self.rhs.figure {
            Some(f) => self.rhs.factor * f.value(summaries)?,
            None => self.rhs.factor,
        };
        Ok(Judged {
            expectation: self.to_string(),
            variant: self.lhs.variant.name().to_string(),
            actual,
            bound,
            holds: self.op.holds(actual, bound),
        })
    }

    /// The variant whose figure it judges.
    pub fn judged_variant(&self) -> VariantId {
        self.lhs.variant
    }
}
