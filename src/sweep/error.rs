//! Why a sweep could not start or merge.

use crate::scenario::ScenarioError;

/// Why a sweep could not start or merge.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("--param {:?}: {message}", crate::scenario::clip(.arg))]
    Param { arg: String, message: String },
    #[error("{0}")]
    Usage(String),
    /// Writing the per-seed figures failed.
    #[error("{0}")]
    Output(String),
}
