//! The library API as another crate's test would use it.

use handshake_sim::Experiment;

#[test]
fn the_api_loads_overrides_runs_and_judges() {
    let path = crate::root().join("sims/issue407.toml");
    let outcome = Experiment::from_file(&path)
        .unwrap()
        .set("scenario.jobs", "120")
        .unwrap()
        .variants(&["sequential", "batched"])
        .unwrap()
        .seeds([4, 5])
        .run()
        .unwrap();
    assert_eq!(outcome.figure("sequential.jobs").unwrap(), 240.0);
    assert!(outcome.figure("batched.mean_storage_ms").unwrap() < 100.0);
    outcome.assert_expect("batched.p95_upgrade_ms <= 0.6 * sequential.p95_upgrade_ms");
    assert!(!outcome.expect("batched.failure_rate > 0.5").unwrap().holds);
    assert!(
        outcome.figure("parallel.failure_rate").is_err(),
        "parallel was not run"
    );
    assert!(Experiment::from_toml("[scenario]\njobs = 0\n").is_err());
    assert!(Experiment::from_toml("")
        .unwrap()
        .set("client.retries", "-1")
        .is_err());
}

#[test]
#[should_panic(
    expected = "expectation failed: parallel.failure_rate > 0.5\n  actual 0 vs bound \
                           0.5\n  reproduce: HANDSHAKE_SIM_SEED=1 cargo test \
                           api::a_failed_assertion_says_how_to_reproduce -- --exact"
)]
fn a_failed_assertion_says_how_to_reproduce() {
    let outcome = Experiment::from_toml("[scenario]\njobs = 10\n")
        .unwrap()
        .run()
        .unwrap();
    outcome.assert_expect("parallel.failure_rate > 0.5");
}

#[test]
fn a_file_runs_reproduce_from_cargo_test_and_from_the_command_line() {
    let outcome = Experiment::bundled("issue407")
        .unwrap()
        .set("scenario.jobs", "20")
        .unwrap()
        .variants(&["batched", "parallel"])
        .unwrap()
        .seeds([5, 6])
        .run()
        .unwrap();
    assert_eq!(
        outcome.reproduce(),
        [
            "HANDSHAKE_SIM_SEED=5 HANDSHAKE_SIM_SEEDS=2 cargo test \
             api::a_file_runs_reproduce_from_cargo_test_and_from_the_command_line -- --exact",
            "handshake-sim run sims/issue407.toml --seed 5 --set scenario.jobs=20 --seeds 2 \
             --variant batched --variant parallel",
        ]
    );
    let failed = std::panic::catch_unwind(|| outcome.assert_expectations()).unwrap_err();
    let message = failed.downcast_ref::<String>().unwrap();
    assert!(
        message.contains(" expectation(s) of the scenario failed:\n")
            && message
                .contains("\n  sequential.failure_rate >= 0.25: variant sequential was not run\n"),
        "{message}"
    );
    assert!(
        message.contains("\n  or: handshake-sim run sims/issue407.toml"),
        "{message}"
    );
}

#[test]
fn bundled_scenarios_are_the_files_of_sims_by_name() {
    let mut files: Vec<String> = std::fs::read_dir(crate::root().join("sims"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|f| f.strip_suffix(".toml").map(String::from))
        .collect();
    files.sort();
    let mut names: Vec<&str> = Experiment::bundled_names().collect();
    names.sort();
    assert_eq!(
        names, files,
        "every sims/*.toml is bundled, and nothing else"
    );
    for b in &handshake_sim::internal::scenario::BUNDLED {
        let text = std::fs::read_to_string(crate::root().join(b.path)).unwrap();
        assert_eq!(b.text, text, "{}", b.path);
        let from_file = Experiment::from_file(crate::root().join(b.path)).unwrap();
        let bundled = Experiment::bundled(b.name).unwrap();
        assert_eq!(bundled.scenario(), from_file.scenario(), "{}", b.name);
    }
    let err = Experiment::bundled("issue-407").unwrap_err();
    assert_eq!(
        format!("{err:?}"),
        "bundled scenario \"issue-407\": no such bundled scenario \"issue-407\"; did you mean \
         \"issue407\"? (known: issue407, next-steps, issue407-reported, faults, race-378, sqlite, \
         warm, workerd, bench)"
    );
}

#[test]
fn errors_print_as_sentences_even_through_unwrap() {
    let missing = Experiment::from_file("no/such/scenario.toml").unwrap_err();
    assert_eq!(
        format!("{missing:?}"),
        "no/such/scenario.toml: cannot read scenario: No such file or directory (os error 2)"
    );
    let outcome = Experiment::from_toml("[scenario]\njobs = 5\n")
        .unwrap()
        .run()
        .unwrap();
    let typo = outcome.figure("parallel.failure_rat").unwrap_err();
    assert!(
        format!("{typo:?}").starts_with(
            "figure \"parallel.failure_rat\": unknown metric \"failure_rat\"; did you mean \
             \"failure_rate\"? (known: jobs, ok,"
        ),
        "{typo:?}"
    );
    let variant = outcome.figure("paralel.ok").unwrap_err().to_string();
    assert!(variant.starts_with("figure \"paralel.ok\": unknown variant \"paralel\""));
    let in_expect = outcome.expect("parallel.p95_upgrade < 1").unwrap_err();
    assert!(
        format!("{in_expect}").contains("did you mean \"p95_upgrade_ms\"?"),
        "{in_expect}"
    );
    let bad = Experiment::from_toml("")
        .unwrap()
        .set("client.retries", "-1");
    assert!(!format!("{:?}", bad.unwrap_err()).contains("Override {"));
}

/// Run by `seeds_and_the_determinism_check_come_from_the_environment` in a child process
/// with its environment; alone, it checks the defaults.
#[test]
fn env_child() {
    let outcome = Experiment::from_toml("[scenario]\njobs = 5\nvariants = [\"batched\"]\n")
        .unwrap()
        .seeds([3, 4])
        .run()
        .unwrap();
    println!(
        "seeds {:?} checked {} reproduce {:?}",
        outcome.report.seeds,
        outcome.determinism_checked(),
        outcome.reproduce()
    );
    if std::env::var_os("HANDSHAKE_SIM_SEED").is_none()
        && std::env::var_os("HANDSHAKE_SIM_SEEDS").is_none()
    {
        assert_eq!(outcome.report.seeds, [3, 4]);
    }
}

#[test]
fn seeds_and_the_determinism_check_come_from_the_environment() {
    let child = |vars: &[(&str, &str)]| {
        let mut c = std::process::Command::new(std::env::current_exe().unwrap());
        c.args([
            "api::env_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ]);
        for v in [
            "HANDSHAKE_SIM_SEED",
            "HANDSHAKE_SIM_SEEDS",
            "HANDSHAKE_SIM_CHECK_DETERMINISM",
        ] {
            c.env_remove(v);
        }
        c.envs(vars.iter().copied());
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, out) = child(&[]);
    assert!(ok && out.contains("seeds [3, 4] checked false"), "{out}");
    assert!(
        out.contains("HANDSHAKE_SIM_SEED=3 HANDSHAKE_SIM_SEEDS=2 cargo test api::env_child"),
        "{out}"
    );
    let (ok, out) = child(&[
        ("HANDSHAKE_SIM_SEED", "7"),
        ("HANDSHAKE_SIM_SEEDS", "2"),
        ("HANDSHAKE_SIM_CHECK_DETERMINISM", "1"),
    ]);
    assert!(ok && out.contains("seeds [7, 8] checked true"), "{out}");
    assert!(
        out.contains("HANDSHAKE_SIM_SEED=7 HANDSHAKE_SIM_SEEDS=2 cargo test api::env_child"),
        "{out}"
    );
    let (ok, out) = child(&[("HANDSHAKE_SIM_SEED", "9")]);
    assert!(ok && out.contains("seeds [9] checked false"), "{out}");
    let (ok, out) = child(&[("HANDSHAKE_SIM_SEEDS", "ten")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "environment variable HANDSHAKE_SIM_SEEDS=\"ten\": a count of seeds, 1..=10000"
        ),
        "{out}"
    );
}

/// The README's example, as a user's crate has it (`Experiment::bundled`, not a path).
#[test]
fn slower_storage_keeps_the_fix() -> Result<(), handshake_sim::Error> {
    let outcome = Experiment::bundled("issue407")?
        .set("storage.read_ms", "{ uniform = [90, 130] }")?
        .variants(&["sequential", "parallel"])?
        .seeds(1..=3)
        .run()?;
    assert!(outcome.figure("sequential.failure_rate")? > 0.2);
    outcome.assert_expect("parallel.p95_upgrade_ms <= 0.6 * sequential.p95_upgrade_ms");
    Ok(())
}

#[test]
fn the_scenarios_own_expectations_are_judged() {
    let outcome = Experiment::from_file(crate::root().join("sims/issue407.toml"))
        .unwrap()
        .run()
        .unwrap();
    let judged = outcome.expectations();
    assert_eq!(judged.len(), 6);
    assert!(judged.iter().all(|j| j.holds), "{judged:#?}");
}

#[test]
fn the_readme_shows_this_files_example_as_it_runs_here() {
    let readme = std::fs::read_to_string(crate::root().join("docs/library-guide.md")).unwrap();
    let body = |s: &str| {
        let start = s.find("fn slower_storage_keeps_the_fix").unwrap();
        let end = start + s[start..].find("\n}\n").unwrap();
        s[start..end].to_string()
    };
    assert_eq!(body(&readme), body(include_str!("api.rs")));
    // The crate's own guide (its rustdoc front page, whose examples are doctests) shows it too.
    let guide = std::fs::read_to_string(crate::root().join("docs/library.md")).unwrap();
    assert_eq!(body(&guide), body(include_str!("api.rs")));
}
