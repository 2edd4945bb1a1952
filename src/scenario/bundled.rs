//! The scenario files of `sims/`, compiled into the crate, so another crate's tests can load
//! them by name (`Experiment::bundled("issue407")`): a path such as `sims/issue407.toml` is
//! relative to the running test's crate, not to this one.

use super::ScenarioError;

/// One bundled scenario: its name, the path it has in this repository, its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bundled {
    pub name: &'static str,
    /// Where it lives in this repository, for error locations and `handshake-sim run FILE`.
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        [$(Bundled {
            name: $name,
            path: concat!("sims/", $name, ".toml"),
            text: include_str!(concat!("../../sims/", $name, ".toml")),
        }),*]
    };
}

/// Every file of `sims/`, by name (a test checks the list against the directory).
pub static BUNDLED: [Bundled; 9] = bundled!(
    "issue407",
    "next-steps",
    "issue407-reported",
    "faults",
    "race-378",
    "sqlite",
    "warm",
    "workerd",
    "bench",
);

/// The bundled scenario of this name; the error lists the names (and the closest one).
pub fn bundled(name: &str) -> Result<&'static Bundled, ScenarioError> {
    BUNDLED
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| ScenarioError::Usage {
            arg: format!("bundled scenario {name:?}"),
            message: crate::names::unknown(
                "no such bundled scenario",
                name,
                BUNDLED.iter().map(|b| b.name),
            ),
        })
}
