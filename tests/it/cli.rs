//! The binary: the README's main command, JSON keys, reproduce line, byte-identical output.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_handshake-sim"));
    c.current_dir(crate::root());
    c
}

fn stdout(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn run_prints_variants_side_by_side_and_the_reproduce_command() {
    let text = stdout(&["run", "sims/issue407.toml", "--jobs", "60", "--seed", "3"]);
    let header = text.lines().nth(1).unwrap();
    assert!(
        header.contains("sequential") && header.contains("parallel"),
        "{text}"
    );
    assert!(text.contains("failure rate"), "{text}");
    assert!(
        text.contains("reproduce: handshake-sim run sims/issue407.toml --seed 3 --variant sequential --variant parallel --jobs 60"),
        "{text}"
    );
}

#[test]
fn json_has_the_documented_keys_and_is_byte_identical() {
    let args = ["run", "sims/issue407.toml", "--jobs", "50", "--json", "-"];
    let a = stdout(&args);
    assert_eq!(a, stdout(&args));
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["seed"], 1);
    assert_eq!(v["scenario"]["scenario"]["name"], "issue407");
    let variants = v["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    for key in [
        "variant",
        "jobs",
        "outcomes",
        "failure_rate",
        "canceled",
        "no_socket_warnings",
        "storage_ms",
        "upgrade_ms",
        "client_upgrade_ms",
        "paired_delta",
    ] {
        assert!(variants[0].get(key).is_some(), "missing {key}");
    }
    for key in [
        "ok",
        "handshake_timeout",
        "ping_timeout",
        "rejected",
        "network_error",
    ] {
        assert!(
            variants[0]["outcomes"].get(key).is_some(),
            "missing outcome {key}"
        );
    }
    for key in ["count", "mean", "p50", "p95", "p99", "max"] {
        assert!(
            variants[1]["client_upgrade_ms"].get(key).is_some(),
            "missing {key}"
        );
    }
    assert!(variants[1]["failure_rate"]["ci95_high"].as_f64().is_some());
    assert_eq!(variants[1]["paired_delta"]["baseline"], "sequential");
}

#[test]
fn records_csv_has_one_row_per_job_and_variant_and_is_byte_identical() {
    let args = [
        "run",
        "sims/issue407.toml",
        "--jobs",
        "40",
        "--seeds",
        "2",
        "--records",
        "-",
    ];
    let a = stdout(&args);
    assert_eq!(a, stdout(&args));
    let mut lines = a.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("seed,job,variant,outcome,attempts,retries,cold_start"),
        "{header}"
    );
    assert_eq!(lines.count(), 40 * 2 * 2);
}

#[test]
fn variants_lists_all_four() {
    let text = stdout(&["variants"]);
    for v in ["sequential", "parallel", "batched", "memory-cache"] {
        assert!(text.contains(v));
    }
}
