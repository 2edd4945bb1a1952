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
    #[error("{origin} {:?}: {message}", clip(.arg))]
    Override {
        origin: &'static str,
        arg: String,
        message: String,
    },
    /// A command-line argument other than `--set` (`--variant`, `--log`, `--job`, ...).
    #[error("{arg}: {message}")]
    Usage { arg: String, message: String },
}

/// Most characters of an argument an error message echoes.
pub const ECHO_CHARS_MAX: usize = 80;

/// `arg` as an error echoes it: whole up to `ECHO_CHARS_MAX` characters, else its start and
/// "…" (a key of 60,000 segments would otherwise put 120 KB on stderr).
pub fn clip(arg: &str) -> String {
    match arg.char_indices().nth(ECHO_CHARS_MAX) {
        None => arg.to_string(),
        Some((end, _)) => format!("{}…", &arg[..end]),
    }
}

/// Every scenario error is the user's input.
impl crate::failure::BadInput for ScenarioError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_argument_is_echoed_clipped() {
        let long = format!("{}=1", vec!["a"; 60_000].join("."));
        let e = ScenarioError::Override {
            origin: "--set",
            arg: long,
            message: "too long".into(),
        };
        let text = e.to_string();
        assert_eq!(text, format!("--set \"{}…\": too long", "a.".repeat(40)));
        // Short arguments are echoed whole; a clip never splits a character.
        assert_eq!(clip("scenario.jobs=5"), "scenario.jobs=5");
        assert_eq!(clip(&"é".repeat(81)), format!("{}…", "é".repeat(80)));
    }
}
