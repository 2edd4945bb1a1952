//! Integration tests, one binary. Shared helpers live here.

mod api;
mod auth;
mod bad_input;
mod cli;
mod determinism;
mod gate;
mod issue407;
mod lifecycle;
mod live;
mod oracle;
mod property;
mod research;

use handshake_sim::report::Report;
use handshake_sim::scenario::{parse_override, Scenario};
use handshake_sim::sim::{self, RunOutput};

/// The repository's root, where `sims/` lives.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Loads a bundled scenario with `key=value` overrides.
pub fn load(name: &str, sets: &[&str]) -> Scenario {
    let overrides: Vec<_> = sets.iter().map(|s| parse_override(s).unwrap()).collect();
    Scenario::load(&root().join("sims").join(name), &overrides).unwrap()
}

/// Parses scenario text (with the defaults for every key it leaves out).
pub fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str("<test>", text, &[]).unwrap()
}

/// Runs the scenario's variants over `seeds` and summarises them.
pub fn report(s: &Scenario, seeds: &[u64]) -> (Report, Vec<RunOutput>) {
    let variants = s.scenario.variants.clone();
    let runs = sim::run_all(s, &variants, seeds).unwrap();
    (Report::new(s, &variants, seeds, &runs), runs)
}
