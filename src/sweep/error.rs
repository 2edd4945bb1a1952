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

impl crate::failure::BadInput for SweepError {
    /// A sweep's definition, parameters and shards are input; writing its files is not.
    fn is_bad_input(&self) -> bool {
        !matches!(self, SweepError::Output(_))
    }
}
