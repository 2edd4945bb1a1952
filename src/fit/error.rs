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
