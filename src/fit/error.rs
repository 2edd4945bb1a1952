//! Why a fit could not start or did not find its value.

use crate::scenario::ScenarioError;
use crate::sim::SimError;

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    NotBracketed(String),
    /// The figure goes both up and down (or stays flat) over the values seen.
    #[error("{0}")]
    NotMonotone(String),
    #[error("scenario as TOML")]
    Toml(#[source] toml::ser::Error),
}

impl crate::failure::BadInput for FitError {
    /// The scenario and the arguments are input; a bracket that holds no answer, a figure
    /// that does not move one way, a failed run are what the fit found.
    fn is_bad_input(&self) -> bool {
        matches!(self, FitError::Usage(_) | FitError::Scenario(_))
    }
}
