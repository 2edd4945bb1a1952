use std::fmt;
use std::path::PathBuf;

/// Where a scenario problem is: the file (or the override's origin, e.g. `--set`), line and column when known, the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line_col: Option<(usize, usize)>,
    pub key: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.line_col {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        Ok(())
    }
}

/// Why a scenario could not be loaded. Every variant is the user's input, not a bug.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: cannot read scenario", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    /// An override that did not parse or apply; `origin` is where it came from (`--set`,
    /// `--param`, `--jobs`, `Experiment::set`).
    #[error("{origin} {arg:?}: {message}")]
    Override {
        origin: &'static str,
        arg: String,
        message: String,
    },
    /// A command-line argument other than `--set` (`--variant`, `--log`, `--job`, ...).
    #[error("{arg}: {message}")]
    Usage { arg: String, message: String },
}
