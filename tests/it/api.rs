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
#[should_panic(expected = "reproduce: handshake-sim run '<string>' --seed 1")]
fn a_failed_assertion_says_how_to_reproduce() {
    let outcome = Experiment::from_toml("[scenario]\njobs = 10\n")
        .unwrap()
        .run()
        .unwrap();
    outcome.assert_expect("parallel.failure_rate > 0.5");
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
