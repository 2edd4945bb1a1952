//! `dev-latency`'s file: the scenario's storage latency, spikes and cold start as the JSON the
//! scenario-latency module (`scenario-latency/index.js`) reads from its `HANDSHAKE_SIM_LATENCY`
//! binding, so one scenario file drives both the simulation and a dev run of a real Worker.

use crate::scenario::Scenario;

/// The format's name and version; the module refuses any other.
pub const FORMAT: &str = "handshake-sim-latency/1";

/// What the module does not inject, each with its scenario key, when the scenario sets it:
/// said on standard error so a dev run is not mistaken for the whole scenario.
pub fn not_exported(s: &Scenario) -> Vec<&'static str> {
    let f = &s.faults;
    let mut keys = Vec::new();
    if f.storage.read_error > 0.0 {
        keys.push("faults.storage.read_error");
    }
    if f.storage.write_error > 0.0 {
        keys.push("faults.storage.write_error");
    }
    keys
}

/// The configuration for `seed`, pretty, with a trailing newline.
pub fn config(s: &Scenario, seed: u64) -> Result<String, serde_json::Error> {
    let mut v = serde_json::json!({
        "format": FORMAT,
        "scenario": s.scenario.name,
        "seed": seed,
        "storage": {
            "backend": s.storage.backend,
            "read_ms": s.storage.read_ms,
            "cached_read_ms": s.storage.cached_read_ms,
            "write_ms": s.storage.write_ms,
            "put_populates_cache": s.storage.put_populates_cache,
        },
        "object": {
            "cold_start_ms": s.object.cold_start_ms,
            "input_gate": s.object.input_gate,
            "restart_probability": s.object.restart_probability,
            "hibernate_after_idle_ms": s.object.hibernate_after_idle_ms.min(s.object.evict_after_idle_ms),
        },
        "spikes": {
            "probability": s.faults.storage.spike_probability,
            "ms": s.faults.storage.spike_ms,
        },
    });
    crate::names::stamp::stamp(&mut v);
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}
