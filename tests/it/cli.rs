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
fn variants_lists_every_built_in_variant() {
    let text = stdout(&["variants"]);
    for v in handshake_sim::internal::names::VariantId::ALL {
        assert!(text.contains(v.name()), "{v}: {text}");
    }
}

/// Issue 15, item 11: a reader that goes away (`| head -1`) ends the command quietly, with
/// the exit code it would have had; before, `--json -` failed with "Broken pipe", exit 1.
#[test]
fn a_closed_standard_output_ends_quietly_with_the_commands_own_exit_code() {
    use std::process::Stdio;
    for args in [
        &["run", "sims/issue407.toml", "--jobs", "50"][..],
        &["run", "sims/issue407.toml", "--jobs", "50", "--json", "-"],
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "50",
            "--records",
            "-",
        ],
        &["replay", "sims/issue407.toml", "--job", "3"],
    ] {
        let mut child = bin()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before the command writes: it prints only after its runs.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} printed to stderr: {err}");
    }
}

/// Issue 15, item 11: an OS error is printed once (it was `…: Address already in use (os
/// error 98): Address already in use (os error 98)`).
#[test]
fn serve_prints_an_os_error_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = bin()
        .args(["serve", "sims/issue407.toml", "--listen", &addr])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
    assert!(err.contains(&format!("listening on {addr}")), "{err}");
}

/// Issue 15, item 10: every line of a multi-variant log names its variant and seed, and
/// `calibrate --variant` takes one variant's lines out of it: the same snippet as a log of
/// that variant alone.
#[test]
fn log_lines_name_variant_and_seed_and_calibrate_splits_them() {
    let dir = std::env::temp_dir().join(format!("hs-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = |variants: &[&str], name: &str| {
        let mut args = vec!["run", "sims/issue407.toml", "--jobs", "60", "--seeds", "2"];
        for v in variants {
            args.extend(["--variant", v]);
        }
        args.extend(["--log", "debug"]);
        let (code, _, err) = crate::exec(&args, None);
        assert_eq!(code, 0, "{err}");
        let path = dir.join(name);
        std::fs::write(&path, &err).unwrap();
        (path, err)
    };
    let (both, text) = log(&["sequential", "parallel"], "both.log");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 500, "{} lines", lines.len());
    for l in &lines {
        assert!(l.contains("run{variant=") && l.contains(" seed="), "{l}");
    }
    for seed in [1, 2] {
        assert!(text.contains(&format!("run{{variant=parallel seed={seed}}}")));
    }
    let (alone, _) = log(&["sequential"], "sequential.log");
    let snippet = |path: &std::path::Path, variant: Option<&str>| {
        let mut args = vec!["calibrate", path.to_str().unwrap(), "--sequential"];
        args.extend(variant.map(|v| ["--variant", v]).into_iter().flatten());
        let out = stdout(&args);
        out.lines()
            .find(|l| l.starts_with("read_ms"))
            .unwrap()
            .to_string()
    };
    assert_eq!(snippet(&both, Some("sequential")), snippet(&alone, None));
    assert_ne!(snippet(&both, Some("sequential")), snippet(&both, None));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 15, item 12: `sweep --jobs N` is `--set scenario.jobs=N`, as for `run`; `replay`
/// defaults `--seed` to the scenario's, as `run` does.
#[test]
fn sweep_jobs_and_replay_seed_behave_as_for_run() {
    let dir = std::env::temp_dir().join(format!("hs-sweep-jobs-{}", std::process::id()));
    let sweep = |how: &[&str], out: &str| {
        let out = dir.join(out);
        let mut args = vec![
            "sweep",
            "sims/issue407.toml",
            "--seeds",
            "1",
            "--param",
            "client.retries=0,1",
        ];
        args.extend_from_slice(how);
        args.extend(["--out", out.to_str().unwrap()]);
        stdout(&args);
        std::fs::read_to_string(out.join("points.csv")).unwrap()
    };
    let a = sweep(&["--jobs", "20"], "a");
    assert_eq!(a, sweep(&["--set", "scenario.jobs=20"], "b"));
    assert!(a.lines().nth(1).unwrap().contains(",20,"), "{a}");
    let _ = std::fs::remove_dir_all(&dir);
    let seed = crate::load("issue407.toml", &[]).scenario.seed.to_string();
    assert_eq!(
        stdout(&["replay", "sims/issue407.toml", "--job", "3"]),
        stdout(&[
            "replay",
            "sims/issue407.toml",
            "--job",
            "3",
            "--seed",
            &seed
        ])
    );
}

/// `dev-latency` writes the scenario's latency, cold start and restarts as the module's JSON:
/// the resolved values (after `--set`), the seed asked for, and the usual exit 2 on bad input.
#[test]
fn dev_latency_writes_what_the_scenario_says_and_refuses_bad_input() {
    let (code, out, err) = crate::common::exec(
        &[
            "dev-latency",
            "sims/issue407.toml",
            "--seed",
            "3",
            "--set",
            "storage.write_ms={ constant = 7 }",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["format"], "handshake-sim-latency/1");
    assert_eq!(v["seed"], 3);
    assert_eq!(v["scenario"], "issue407");
    assert_eq!(
        v["storage"]["read_ms"],
        serde_json::json!({"uniform": [75.0, 100.0]})
    );
    assert_eq!(
        v["storage"]["write_ms"],
        serde_json::json!({"constant": 7.0})
    );
    assert_eq!(v["object"]["restart_probability"], 1.0);
    assert_eq!(v["object"]["input_gate"], true);
    let (code, _, err) = crate::common::exec(&["dev-latency", "sims/faults.toml"], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("faults.storage.read_error is set but not injected"),
        "{err}"
    );
    for bad in [
        vec!["dev-latency", "sims/no-such.toml"],
        vec![
            "dev-latency",
            "sims/issue407.toml",
            "--set",
            "storage.read_ms=5x",
        ],
        vec![
            "dev-latency",
            "sims/issue407.toml",
            "--out",
            "sims/issue407.toml",
        ],
    ] {
        let (code, _, err) = crate::common::exec(&bad, None);
        assert_eq!(code, 2, "{bad:?}: {err}");
    }
}

/// `-q` means the same on every command that has it: nothing on standard output, the files
/// asked for written (merge, fit and bench had no `-q`).
#[test]
fn quiet_prints_nothing_on_standard_output_on_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (a, sweep, shard) = (p("a.json"), p("sweep"), p("shard"));
    let (fit, bench, merged) = (p("fit.json"), p("bench.json"), p("merged"));
    let commands: [&[&str]; 9] = [
        &[
            "run",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "20",
            "--json",
            &a,
        ],
        &[
            "sweep",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "20",
            "--param",
            "client.handshake_timeout_ms=200,300",
            "--out",
            &sweep,
        ],
        &[
            "sweep",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "20",
            "--param",
            "client.handshake_timeout_ms=200,300",
            "--shard",
            "1/1",
            "--out",
            &shard,
        ],
        &["merge", &shard, "-q", "--out", &merged],
        &[
            "check",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "20",
            "--seeds",
            "1",
        ],
        &["compare", &a, &a, "-q"],
        &[
            "decide",
            "sims/next-steps.toml",
            "-q",
            "--jobs",
            "20",
            "--seeds",
            "1",
        ],
        &[
            "fit",
            "sims/issue407.toml",
            "-q",
            "--param",
            "client.handshake_timeout_ms",
            "--range",
            "200..300",
            "--target",
            "sequential.failure_rate=0.3",
            "--seeds",
            "1",
            "--jobs",
            "40",
            "--json",
            &fit,
        ],
        &[
            "bench",
            "-q",
            "--workload",
            "floor",
            "--set",
            "scenario.jobs=3",
            "--json",
            &bench,
        ],
    ];
    for args in commands {
        let (code, out, err) = crate::exec(args, None);
        assert!(
            code == 0 || (args[0] == "check" && code == 1),
            "{args:?}: {err}"
        );
        assert_eq!(out, "", "{args:?} printed with -q");
    }
    for file in [&a, &fit, &bench] {
        assert!(std::path::Path::new(file).is_file(), "{file} not written");
    }
    assert!(std::path::Path::new(&merged).join("sweep.json").is_file());
}
