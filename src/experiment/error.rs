//! What the library API fails with, each a sentence with its context.

use std::fmt;

use crate::scenario::ScenarioError;
use crate::sim::SimError;

/// Everything the API can fail with. Its `Debug` is its message and causes, so a test that
/// `unwrap()`s or returns it prints a sentence, not a struct.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Sim(#[from] SimError),
    /// A figure name that is not `variant.metric` of a variant that ran.
    #[error("figure {name:?}: {message}")]
    Figure { name: String, message: String },
    #[error("expectation {expr:?}: {message}")]
    Expectation { expr: String, message: String },
    /// A user's variant that cannot run (bad or taken name, not registered).
    #[error("variant {name:?}: {message}")]
    Variant { name: String, message: String },
    #[error("seeds: {message}")]
    Seeds { message: String },
    /// An environment variable the API reads holds a value it cannot use.
    #[error("environment variable {var}={value:?}: {message}")]
    Env {
        var: &'static str,
        value: String,
        message: String,
    },
    /// Two runs of the same variant and seed differed (a determinism check).
    #[error(
        "variant {variant}, seed {seed}: not deterministic: {detail}\n  reproduce: {reproduce}"
    )]
    Nondeterministic {
        variant: String,
        seed: u64,
        detail: String,
        reproduce: String,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
