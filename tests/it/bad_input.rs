//! Malformed scenario files and arguments: exit code 2 and a message naming the place and the
//! key, never a panic. Each file in tests/bad/ states what its error must say on its first
//! line: `# expect: TEXT` (and `TEXT` may hold several fragments separated by ` && `).

fn run(args: &[&str]) -> (i32, String) {
    let (code, _, err) = crate::exec(args, None);
    (code, err)
}

fn check(args: &[&str], expect: &[&str]) {
    let (code, err) = run(args);
    assert_eq!(code, 2, "{args:?} exited {code}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: {err:?} does not contain {e:?}");
    }
}

#[test]
fn every_file_in_the_corpus_is_refused_with_its_message() {
    let dir = crate::root().join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is missing");
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no '# expect:' line", f.display()));
        let rel = format!("tests/bad/{}", f.file_name().unwrap().to_string_lossy());
        let mut fragments: Vec<&str> = expect.split(" && ").collect();
        fragments.push(&rel);
        check(&["run", &rel], &fragments);
    }
}

#[test]
fn bad_arguments_are_refused() {
    check(
        &["run", "sims/nope.toml"],
        &["sims/nope.toml", "cannot read"],
    );
    check(
        &["run", "sims/issue407.toml", "--set", "nokey"],
        &["--set", "KEY=VALUE"],
    );
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--set",
            "storage.read_ms={ uniform = [9, 1] }",
        ],
        &["--set", "storage.read_ms.uniform", "min 9 > max 1"],
    );
    check(
        &["run", "sims/issue407.toml", "--set", "client.retries=-1"],
        &["client.retries"],
    );
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--set",
            "storage.backend=postgres",
        ],
        &["storage.backend", "postgres"],
    );
    check(
        &["run", "sims/issue407.toml", "--variant", "fastest"],
        &["fastest", "unknown variant"],
    );
    check(
        &["run", "sims/issue407.toml", "--jobs", "0"],
        &["scenario.jobs"],
    );
    check(&["run", "sims/issue407.toml", "--seeds", "0"], &["--seeds"]);
    check(
        &["run", "sims/issue407.toml", "--log", "debug[[["],
        &["--log"],
    );
    check(&["run"], &["SCENARIO"]);
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--variant",
            "parallel",
            "--variant",
            "parallel",
        ],
        &["--variant parallel", "given twice"],
    );
    check(&["probe", "http://127.0.0.1:99999"], &["port"]);
    check(&["probe", "http://192.0.2.1:8787"], &["--allow-remote"]);
    check(&["merge", "/nonexistent-dir"], &["cannot read"]);
    check(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms",
            "--target",
            "sequential.failure_rate=nan",
        ],
        &["not a finite number"],
    );
    check(
        &[
            "sweep",
            "sims/issue407.toml",
            "--param",
            "client.retries=1..100000000:1",
            "--out",
            "/tmp/never",
        ],
        &["exceed the limit of 100000"],
    );
}

/// Issue 15, item 10: a level that does not exist is refused (EnvFilter alone would take it
/// for a target and print nothing); directives keep working.
#[test]
fn unknown_log_levels_are_refused_and_directives_still_work() {
    let valid = "valid: off, error, warn, info, debug, trace";
    check(
        &["run", "sims/issue407.toml", "--log", "verbose"],
        &["--log verbose", "\"verbose\" is not a log level", valid],
    );
    check(
        &["run", "sims/issue407.toml", "--log", "degub"],
        &["did you mean \"debug\"?", valid],
    );
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--log",
            "handshake_sim::timing=loud",
        ],
        &["\"loud\" is not a log level"],
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handshake-sim"))
        .args(["run", "sims/issue407.toml", "--jobs", "1"])
        .current_dir(crate::root())
        .env("RUST_LOG", "degub")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("RUST_LOG=degub") && err.contains(valid),
        "{err}"
    );
    for directive in ["handshake_sim::timing=info", "INFO", "handshake_sim"] {
        let args = [
            "run",
            "sims/issue407.toml",
            "--jobs",
            "1",
            "--log",
            directive,
        ];
        let (code, _, err) = crate::exec(&args, None);
        assert_eq!(code, 0, "{directive}: {err}");
        assert!(
            err.contains("WebSocket upgrade timing"),
            "{directive}: {err}"
        );
    }
}

/// Issue 15, item 11: a misspelt key, value or variant gets the closest known one, and each
/// error names what the user wrote (`--set`, `--param`, `--jobs`), not always `--set`.
#[test]
fn errors_suggest_the_name_meant_and_name_their_own_origin() {
    let run = |extra: &[&'static str]| {
        let mut a = vec!["run", "sims/issue407.toml"];
        a.extend_from_slice(extra);
        a
    };
    check(
        &run(&["--set", "client.handshake_timout_ms=250"]),
        &[
            "--set: client.handshake_timout_ms: unknown field",
            "(did you mean `client.handshake_timeout_ms`?)",
        ],
    );
    check(
        &run(&["--set", "clinet.retries=2"]),
        &["--set: clinet: unknown field", "(did you mean `client`?)"],
    );
    check(
        &run(&["--set", "storage.backend=sqlte"]),
        &["(did you mean `sqlite`?)"],
    );
    check(
        &run(&["--variant", "paralel"]),
        &["unknown variant \"paralel\"; did you mean \"parallel\"?"],
    );
    check(
        &run(&["--set", "scenario.variants=[\"sequental\"]"]),
        &["did you mean \"sequential\"?"],
    );
    check(
        &run(&["--jobs", "0"]),
        &["--jobs: scenario.jobs: must be at least 1"],
    );
    check(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timout_ms",
            "--target",
            "sequential.failure_rate=0.3",
        ],
        &["did you mean client.handshake_timeout_ms?"],
    );
    let sweep = |param: &'static str, extra: &[&'static str]| {
        let mut a = vec![
            "sweep",
            "sims/issue407.toml",
            "--out",
            "/tmp/never",
            "--param",
            param,
        ];
        a.extend_from_slice(extra);
        a
    };
    check(
        &sweep("client.handshake_timout_ms=200,300", &[]),
        &[
            "--param: client.handshake_timout_ms",
            "did you mean `client.handshake_timeout_ms`",
        ],
    );
    check(
        &sweep("client.retries=1,2", &["--jobs", "0"]),
        &["--jobs: scenario.jobs"],
    );
    let (_, err) = run_err(&sweep("client.handshake_timeout_ms=abc,1", &[]));
    assert!(!err.contains("--set"), "{err}");
    let experiment = handshake_sim::Experiment::from_file(crate::root().join("sims/issue407.toml"))
        .unwrap()
        .set("client.handshake_timout_ms", "250");
    let Err(e) = experiment else {
        panic!("an unknown key was accepted")
    };
    let message = e.to_string();
    assert!(
        message.starts_with("Experiment::set: client.handshake_timout_ms")
            && message.contains("did you mean `client.handshake_timeout_ms`"),
        "{message}"
    );
}

fn run_err(args: &[&str]) -> (i32, String) {
    let (code, err) = run(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    (code, err)
}

/// Issue 15, item 11: a grid range without a step, and a plain number for a distribution,
/// say what is expected, with an example.
#[test]
fn a_range_without_a_step_and_a_number_for_a_distribution_explain_the_syntax() {
    check(
        &[
            "sweep",
            "sims/issue407.toml",
            "--out",
            "/tmp/never",
            "--param",
            "client.handshake_timeout_ms=200..300",
        ],
        &[
            "\"200..300\" is a range without a step",
            "LOW..HIGH:STEP (e.g. 200..300:25",
            "--swarm",
        ],
    );
    check(
        &["run", "sims/issue407.toml", "--set", "storage.read_ms=100"],
        &[
            "--set: storage.read_ms: expected a distribution, not the plain number 100",
            "--set 'storage.read_ms={ constant = 100 }'",
            "{ uniform = [LOW, HIGH] }",
        ],
    );
    check(
        &[
            "sweep",
            "sims/issue407.toml",
            "--out",
            "/tmp/never",
            "--param",
            "storage.read_ms=100,200",
        ],
        &[
            "--param: storage.read_ms",
            "--param 'storage.read_ms=[{ constant = 100 }, …]'",
        ],
    );
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--set",
            "storage.read_ms={ constant = 5, uniform = [1, 2] }",
        ],
        &["a distribution has exactly one kind"],
    );
}

/// Issue 15, item 11: an output that cannot be written is refused before the runs (exit 2,
/// nothing printed), not after them.
#[test]
fn unwritable_outputs_are_refused_before_any_run() {
    // A path below a regular file can be neither a file nor a directory.
    let below_a_file = "Cargo.toml/out";
    for (flag, cmd) in [
        ("--html", "run"),
        ("--json", "run"),
        ("--records", "run"),
        ("--plots", "run"),
        ("--out", "sweep"),
        ("--html", "sweep"),
        ("--junit", "check"),
        ("--json", "check"),
        ("--markdown", "check"),
    ] {
        let mut args = vec![cmd, "sims/issue407.toml", flag, below_a_file];
        if cmd == "sweep" {
            args.extend(["--param", "client.retries=0,1"]);
            if flag == "--html" {
                args.extend(["--out", "/tmp/never"]);
            }
        }
        let (code, out, err) = crate::exec(&args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} ran: {out}");
        assert!(
            err.contains(&format!("{flag} {below_a_file}: cannot be written"))
                && err.contains("nothing was run"),
            "{args:?}: {err}"
        );
    } // The live commands refuse before they connect, `bench` before its workloads run
      // (port 9 on loopback: nothing listens, so a connection would fail with exit 1).
    for args in [
        ["probe", "http://127.0.0.1:9", "--json", below_a_file],
        ["probe", "http://127.0.0.1:9", "--records", below_a_file],
        ["conform", "http://127.0.0.1:9", "--json", below_a_file],
        ["conform", "http://127.0.0.1:9", "--junit", below_a_file],
        ["bench", "--workload=flow", "--json", below_a_file],
    ] {
        let (code, out, err) = crate::exec(&args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} ran: {out}");
        assert!(
            err.contains(&format!(
                "{} {below_a_file}: cannot be written",
                args[args.len() - 2]
            )) && err.contains("nothing was run"),
            "{args:?}: {err}"
        );
    }
}

/// `conform --request-timeout-ms` had two ranges: the flag's 1..=600000 and the library's
/// "at least 1 ms" (it ran with 600001), and the help stated neither. One now, stated by the
/// help, the flag's error and the library's alike.
#[test]
fn conform_request_timeout_has_one_range() {
    let range = "1..=600000";
    check(
        &[
            "conform",
            "http://127.0.0.1:9",
            "--request-timeout-ms",
            "600001",
        ],
        &[range],
    );
    let (_, help, _) = crate::exec(&["conform", "--help"], None);
    let line = help
        .split("--request-timeout-ms")
        .nth(1)
        .and_then(|rest| rest.split("--job-timeout-s").next())
        .unwrap();
    assert!(line.contains(range), "{help}");
    let settings = handshake_sim::internal::live::conform::Settings {
        job_prefix: "range-".into(),
        books: 3,
        request_timeout_ms: 600_001,
        job_timeout_ms: 1_000,
    };
    let run = crate::common::local(handshake_sim::internal::live::conform::conform(
        "http://127.0.0.1:9",
        false,
        settings,
        handshake_sim::internal::live::conform::CASES
            .iter()
            .collect::<Vec<_>>()
            .as_slice(),
        1,
        std::time::Duration::from_secs(5),
    ));
    match run {
        Err(handshake_sim::internal::live::LiveError::Usage(m)) => {
            assert!(m.contains(range), "{m}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("the library ran with --request-timeout-ms 600001"),
    }
    // The job timeout likewise: the flag's 1..=3600 s is the library's range.
    let settings = handshake_sim::internal::live::conform::Settings {
        job_prefix: "range-".into(),
        books: 3,
        request_timeout_ms: 1_000,
        job_timeout_ms: 3_600_001,
    };
    let cases: Vec<_> = handshake_sim::internal::live::conform::CASES
        .iter()
        .collect();
    let run = crate::common::local(handshake_sim::internal::live::conform::conform(
        "http://127.0.0.1:9",
        false,
        settings,
        &cases,
        1,
        std::time::Duration::from_secs(5),
    ));
    match run {
        Err(handshake_sim::internal::live::LiveError::Usage(m)) => {
            assert!(m.contains("1..=3600"), "{m}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("the library ran with a job timeout of 3,600,001 ms"),
    }
}

/// A new user's trial: `--param scenario.seed=1,2,3` swept three points that were one run
/// (the seed is each run's, from --seed/--seeds), `--param scenario.variants=…` was ignored,
/// and `fit --param scenario.seed` reported a flat metric. Each is refused, saying what to use.
#[test]
fn keys_each_run_sets_itself_are_not_parameters() {
    let sweep = ["sweep", "sims/issue407.toml", "--jobs", "10", "--out"];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let out = out.to_str().unwrap();
    check(
        &[&sweep[..], &[out, "--param", "scenario.seed=1,2,3"]].concat(),
        &["scenario.seed=1,2,3", "--seeds"],
    );
    check(
        &[
            &sweep[..],
            &[
                out,
                "--param",
                r#"scenario.variants=[["parallel"],["sequential"]]"#,
            ],
        ]
        .concat(),
        &["scenario.variants", "--variant"],
    );
    check(
        &[&sweep[..], &[out, "--param", "scenario={seed=1},{seed=2}"]].concat(),
        &["scenario={seed=1},{seed=2}", "one at a time"],
    );
    check(
        &[
            &sweep[..],
            &[
                out,
                "--param",
                r#"scenario.variants.1="parallel","batched""#,
            ],
        ]
        .concat(),
        &["scenario.variants.1", "--variant"],
    );
    check(
        &[
            &sweep[..],
            &[out, "--swarm", "4", "--param", "scenario.seed=1..9"],
        ]
        .concat(),
        &["scenario.seed", "--seeds"],
    );
    check(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "scenario.seed",
            "--target",
            "sequential.failure_rate=0.3",
        ],
        &["--param scenario.seed", "--seeds"],
    );
    assert!(!dir.path().join("s").exists());
}

/// A new user's trial: a bad `--set` on `bench` was reported as a workload that failed
/// (exit 1) from the workload's own process.
#[test]
fn bench_refuses_a_bad_override_before_any_workload() {
    check(
        &["bench", "--workload", "flow", "--set", "nosuch=1"],
        &["--set", "nosuch"],
    );
}

/// A new user's trial: three messages that misled. A regular file as a sweep's `--out` was
/// called "not a regular file"; `fit --range 1..1e30` named a number nobody typed
/// (9223372036854775807); a target no run can have (a rate of 2) searched, then failed with
/// exit 1 asking to widen the range.
#[test]
fn misleading_messages_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("victim.txt");
    std::fs::write(&file, "keep").unwrap();
    check(
        &[&crate::SMALL_SWEEP[..], &["--out", file.to_str().unwrap()]].concat(),
        &["is a regular file, not a directory"],
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
    let fit = [
        "fit",
        "sims/issue407.toml",
        "--param",
        "client.handshake_timeout_ms",
    ];
    check(
        &[
            &fit[..],
            &[
                "--range",
                "1..1e30",
                "--target",
                "sequential.failure_rate=0.3",
            ],
        ]
        .concat(),
        &["--range \"1..1e30\"", "past the integers"],
    );
    for (target, why) in [
        ("sequential.failure_rate=2", "between 0 and 1"),
        ("sequential.failure_rate=-0.1", "between 0 and 1"),
        ("sequential.upgrade_ms.p95=-5", "never negative"),
    ] {
        check(&[&fit[..], &["--target", target]].concat(), &[target, why]);
    }
}
