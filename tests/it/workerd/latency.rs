//! The scenario-latency module (`scenario-latency/index.js`) in workerd, with
//! `worker/test/latency.js`'s Probe object: a delayed read holds the input gate, reads in flight
//! together overlap, `get([a, b])` is one operation, the values are untouched, a cold start
//! delays the first event, a malformed configuration names its field, and without the binding
//! the object gets the runtime's own `ctx`. The fixed latencies (reads 500 ms, cold start
//! 700 ms) are lower bounds a loaded machine cannot shorten; the upper bounds leave 500 ms of
//! timer lateness.

use std::time::Instant;

use super::{get_json, http, Config, Workerd};

const READ_MS: u64 = 500;
const COLD_START_MS: u64 = 700;

fn latency() -> Option<Workerd> {
    latency_with(&[])
}

fn latency_with(env: &[(&str, &str)]) -> Option<Workerd> {
    Workerd::start_config(&Config {
        file: "test/latency.capnp",
        constant: "config",
        sockets: &[
            "wrapped",
            "gateoff",
            "restart",
            "exported",
            "based",
            "cold",
            "disabled",
            "malformed",
            "plain",
        ],
        state_dirs: &[],
        env,
        args: &[],
    })
}

fn ms(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn reads_in_flight_together_overlap_and_reads_in_a_row_add_up() {
    let Some(w) = latency() else { return };
    let v = get_json(w.port("wrapped"), "/overlap?id=overlap");
    let (together, in_row) = (ms(&v, "together"), ms(&v, "inRow"));
    assert!(
        (READ_MS..2 * READ_MS).contains(&together),
        "two gets together cost the slower: {v}"
    );
    assert!(in_row >= 2 * READ_MS, "two gets in a row cost the sum: {v}");
}

#[test]
fn a_get_of_two_keys_is_one_delayed_operation() {
    let Some(w) = latency() else { return };
    let v = get_json(w.port("wrapped"), "/many?id=many");
    assert!((READ_MS..2 * READ_MS).contains(&ms(&v, "ms")), "{v}");
}

/// Ten requests at once, each reading memory, then a new key, then writing memory + 1: with
/// the gate held while the read is in flight they run one after another and none is lost;
/// without it (the scenario's `object.input_gate = false`) they all read 0.
#[test]
fn a_delayed_read_holds_the_input_gate_and_without_it_updates_are_lost() {
    let Some(w) = latency() else { return };
    for (socket, want_all) in [("wrapped", true), ("gateoff", false)] {
        let port = w.port(socket);
        std::thread::scope(|s| {
            for _ in 0..10 {
                s.spawn(move || get_json(port, "/incr?id=gate"));
            }
        });
        let n = ms(&get_json(port, "/count?id=gate"), "n");
        if want_all {
            assert_eq!(n, 10, "{socket}: updates lost with the gate held");
        } else {
            assert!(n < 10, "{socket}: no update lost without the gate ({n})");
        }
    }
}

#[test]
fn without_the_binding_the_object_gets_the_runtimes_own_ctx_and_storage() {
    let Some(w) = latency() else { return };
    let disabled = get_json(w.port("disabled"), "/native?id=native");
    assert_eq!(disabled, serde_json::json!({"ctx": true, "storage": true}));
    let wrapped = get_json(w.port("wrapped"), "/native?id=native");
    assert_eq!(wrapped, serde_json::json!({"ctx": true, "storage": false}));
    let v = get_json(w.port("disabled"), "/overlap?id=fast");
    assert!(
        ms(&v, "together") < READ_MS && ms(&v, "inRow") < READ_MS,
        "{v}"
    );
}

#[test]
fn the_wrapper_changes_when_storage_answers_not_what_it_reads_or_holds() {
    let Some(w) = latency() else { return };
    let plain = get_json(w.port("plain"), "/script?id=script");
    let wrapped = get_json(w.port("wrapped"), "/script?id=script");
    assert_eq!(wrapped, plain);
    assert_eq!(
        plain["listed"],
        serde_json::json!({"a": 11, "c": [3, {"d": 4}]})
    );
}

#[test]
fn the_first_event_waits_the_cold_start() {
    let Some(w) = latency() else { return };
    let port = w.port("cold");
    let start = Instant::now();
    get_json(port, "/ping?id=cold");
    let first = start.elapsed().as_millis() as u64;
    assert!(first >= COLD_START_MS, "first event after {first} ms");
}

#[test]
fn a_malformed_configuration_fails_the_object_naming_the_field() {
    let Some(w) = latency() else { return };
    let (status, _, body) = http(w.port("malformed"), "GET /ping?id=bad HTTP/1.1", "");
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("storage.read_ms") && body.contains("gamma"),
        "{body}"
    );
}

/// A token put by one event is in the object's memory for the next: a warm object reads it
/// without a round trip; with `object.restart_probability = 1` the next fetch finds the object
/// restarted, and the read is a round trip; the same with the base class wrapped
/// (`extends withScenarioLatency(DurableObject)`).
#[test]
fn a_restart_before_a_fetch_empties_the_memory_the_next_read_finds() {
    let Some(w) = latency() else { return };
    for (socket, cold) in [("wrapped", false), ("restart", true), ("based", true)] {
        let port = w.port(socket);
        get_json(port, "/put-token?id=restart");
        let v = get_json(port, "/get-token?id=restart");
        assert_eq!(v["token"], "t", "{socket}: {v}");
        if cold {
            assert!(
                ms(&v, "ms") >= READ_MS,
                "{socket}: a round trip after the restart: {v}"
            );
        } else {
            assert!(ms(&v, "ms") < READ_MS, "{socket}: from memory: {v}");
        }
    }
}

/// What `handshake-sim dev-latency` writes is what the module reads: a scenario whose reads
/// take a constant 500 ms, exported by the binary and handed to workerd in the environment.
#[test]
fn the_binarys_export_drives_the_module() {
    if Workerd::binary_or_skip().is_none() {
        return;
    }
    let (code, json, err) = crate::common::exec(
        &[
            "dev-latency",
            "sims/workerd.toml",
            "--set",
            "storage.read_ms={ constant = 500 }",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let Some(w) = latency_with(&[("HANDSHAKE_SIM_LATENCY", &json)]) else {
        return;
    };
    let v = get_json(w.port("exported"), "/many?id=exported");
    assert!((READ_MS..2 * READ_MS).contains(&ms(&v, "ms")), "{v}");
}
