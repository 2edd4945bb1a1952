//! Integration tests, one binary. Shared helpers live here.

mod api;
mod auth;
mod bad_input;
mod cli;
mod conform;
mod determinism;
mod faults;
mod figures;
mod gate;
mod gates;
mod hostile;
mod issue407;
mod layout;
mod lifecycle;
mod limits;
mod live;
mod oracle;
mod probe;
mod property;
mod research;
mod serve;
mod serve_limits;
mod serve_process;
mod story;
mod workerd;

use handshake_sim::report::Report;
use handshake_sim::scenario::{parse_override, Scenario};
use handshake_sim::sim::RunOutput;

/// The repository's root, where `sims/` lives.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary in the repository's root: (exit code, stdout, stderr). `threads` sets
/// RAYON_NUM_THREADS.
pub fn exec(args: &[&str], threads: Option<&str>) -> (i32, String, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_handshake-sim"));
    c.args(args).current_dir(root());
    if let Some(t) = threads {
        c.env("RAYON_NUM_THREADS", t);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    handshake_sim::pipeline::run(s, &s.scenario.variants, seeds).unwrap()
}
