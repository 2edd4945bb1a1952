//! Faults and the end-to-end invariant: every fault kind fires, the resilient client loses
//! nothing, the app as it was loses jobs silently, and the simulator reports a broken run
//! instead of hanging or dying.

use handshake_sim::internal::metrics::VariantSummary;
use handshake_sim::internal::names::FaultKind;
use handshake_sim::internal::record::Outcome;
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim;

use crate::{exec, load, report, scenario};

fn parallel(s: &handshake_sim::internal::scenario::Scenario, seeds: &[u64]) -> VariantSummary {
    let mut s = s.clone();
    s.scenario.variants = vec![handshake_sim::internal::names::VariantId::Parallel];
    report(&s, seeds).0.variants.remove(0)
}

const NAIVE: [&str; 4] = [
    "client.retries=0",
    "client.reconnect=false",
    "client.refresh_token=false",
    "client.poll_fallback=false",
];

#[test]
fn the_resilient_client_loses_nothing_under_faults_and_the_app_as_it_was_does() {
    let seeds = [1, 2, 3];
    let v = parallel(&load("faults.toml", &["scenario.jobs=200"]), &seeds);
    for kind in FaultKind::ALL
        .iter()
        .filter(|k| **k != FaultKind::AckBeforeTokenWrite)
    {
        assert!(
            v.faults.get(kind).copied().unwrap_or(0) > 0,
            "{kind}: {v:#?}"
        );
    }
    assert_eq!(v.silent_failures, 0, "{v:#?}");
    assert_eq!(v.results_complete, v.jobs);
    assert_eq!(v.safety_violations, 0);
    assert!(v.reconnects > 0 && v.token_refreshes > 0 && v.retries > 0);

    let mut sets = vec!["scenario.jobs=200"];
    sets.extend(NAIVE);
    let naive = parallel(&load("faults.toml", &sets), &seeds);
    assert!(naive.silent_failures > 10, "{naive:#?}");
    assert_eq!(naive.retries + naive.reconnects + naive.polls, 0);
    assert_eq!(naive.safety_violations, 0);
}

/// A small world with constant latencies: 10 ms each way, 100 ms reads, 1 s per book.
fn small(extra: &str) -> handshake_sim::internal::scenario::Scenario {
    scenario(&format!(
        r#"
[scenario]
jobs = 20
concurrency = 20
variants = ["parallel"]
[network.client_edge]
latency_ms = {{ constant = 10 }}
[storage]
read_ms = {{ constant = 100 }}
write_ms = {{ constant = 10 }}
[object]
restart_probability = 1.0
[enrichment]
book_ms = {{ constant = 1000 }}
[client]
books_per_job = 3
retries = 5
backoff_base_ms = 100
reconnect = true
refresh_token = true
{extra}
"#
    ))
}

fn run(s: &handshake_sim::internal::scenario::Scenario) -> sim::RunOutput {
    sim::run(s, variant::by_name("parallel").unwrap(), 1).unwrap()
}

#[test]
fn a_crash_mid_handshake_is_a_503_and_the_retry_succeeds() {
    // The upgrade reaches the object ~40 ms after the POST and reads for 100 ms.
    let out = run(&small(
        "[faults.object_crash]\nprobability = 1.0\nafter_ms = { constant = 80 }",
    ));
    assert_eq!(out.faults[&FaultKind::ObjectCrash], 20);
    for r in &out.records {
        assert_eq!(r.outcome, Some(Outcome::Ok), "{r:#?}");
        assert!(r.retries >= 1, "{r:#?}");
        assert_eq!((r.results, r.silent_failure), (3, false), "{r:#?}");
    }
}

#[test]
fn a_crash_mid_job_drops_the_socket_and_the_reconnect_resumes_without_duplicates() {
    let s = small("[faults.object_crash]\nprobability = 1.0\nafter_ms = { constant = 1500 }");
    for r in &run(&s).records {
        assert_eq!(r.reconnects, 1, "{r:#?}");
        assert_eq!((r.results, r.silent_failure), (3, false), "{r:#?}");
        assert_eq!(
            (r.progress_duplicates, r.progress_reordered),
            (0, 0),
            "{r:#?}"
        );
    }
    // Without the reconnect the app keeps what it had when the socket dropped.
    let mut naive = s.clone();
    naive.client.reconnect = false;
    naive.client.retries = 0;
    for r in &run(&naive).records {
        assert_eq!(r.outcome, Some(Outcome::NetworkError), "{r:#?}");
        assert_eq!((r.results, r.silent_failure), (1, true), "{r:#?}");
    }
}

#[test]
fn an_expired_token_is_refreshed_by_posting_again() {
    let s = small("[faults.token_expiry]\nprobability = 1.0\nttl_ms = { constant = 20 }");
    let out = run(&s);
    assert_eq!(
        out.faults[&FaultKind::TokenExpiry],
        20 * 6,
        "a token per POST: the first and five refreshes"
    );
    for r in &out.records {
        // The refreshed token expires too: only the polling fallback could help now.
        assert_eq!(r.token_refreshes, 5, "{r:#?}");
        assert_eq!(r.outcome, Some(Outcome::Rejected), "{r:#?}");
        assert!(r.silent_failure);
    }
    // One short-lived token, then normal ones: the refresh gets the socket.
    let s = small("[faults.token_expiry]\nprobability = 0.3\nttl_ms = { constant = 20 }");
    let out = run(&s);
    assert!(out.records.iter().any(|r| r.token_refreshes > 0));
    assert!(out.records.iter().all(|r| !r.silent_failure));
}

#[test]
fn the_polling_fallback_delivers_when_no_socket_can_be_had() {
    let s = small("poll_fallback = true\nhandshake_timeout_ms = 1\npoll_interval_ms = 500");
    for r in &run(&s).records {
        assert_eq!(r.outcome, Some(Outcome::HandshakeTimeout), "{r:#?}");
        assert!(r.fallback_used && r.polls >= 3, "{r:#?}");
        assert_eq!((r.results, r.silent_failure), (3, false), "{r:#?}");
    }
}

#[test]
fn storage_errors_are_503s_and_a_partition_resets_open_sockets() {
    let mut s = small("[faults.storage]\nread_error = 1.0");
    s.client.retries = 0;
    let out = run(&s);
    assert!(out
        .records
        .iter()
        .all(|r| r.outcome == Some(Outcome::ServerError)));
    // Everyone's socket is open at 1 s, when the first progress crosses; the partition resets them all, the
    // reconnects after it heals catch up.
    let s = small(
        "[[faults.partition_windows]]\nlink = \"client_edge\"\nstart_ms = 950\nduration_ms = 200",
    );
    for r in &run(&s).records {
        assert!(r.reconnects >= 1, "{r:#?}");
        assert_eq!((r.results, r.silent_failure), (3, false), "{r:#?}");
    }
}

/// The #378 race needs the Worker to answer before its `setAuthToken` call completed: with the
/// call not awaited, upgrades that overtake it are refused, with or without the input gate
/// (a put is visible at once and does not hold it); awaited, none is.
#[test]
fn race_378_needs_the_202_before_set_auth_token_completed() {
    let v = |sets: &[&str]| {
        let mut all = vec!["scenario.jobs=200"];
        all.extend(sets);
        report(&load("race-378.toml", &all), &[1]).0.variants
    };
    for gate in ["object.input_gate=true", "object.input_gate=false"] {
        for s in v(&[gate]) {
            assert!(s.outcome(Outcome::Rejected) > 10, "{gate}: {s:#?}");
            assert_eq!(s.unauthorized_accepts, 0);
            assert!(s.silent_failures >= s.outcome(Outcome::Rejected));
        }
    }
    for s in v(&["faults.ack_before_token_write=false"]) {
        assert_eq!(s.outcome(Outcome::Ok), s.jobs, "{s:#?}");
        assert_eq!(s.silent_failures, 0);
        assert_eq!(s.unauthorized_accepts, 0);
    }
}

#[test]
fn a_panic_or_a_run_past_its_duration_is_a_failed_run_and_a_sweep_goes_on() {
    let s = small("[faults]\npanic_on_job = 3");
    let e = sim::run(&s, variant::by_name("parallel").unwrap(), 4).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("seed 4") && e.contains("panicked"), "{e}");
    let mut s = small("");
    s.scenario.duration_s_max = 2;
    let e = sim::run(&s, variant::by_name("parallel").unwrap(), 1).unwrap_err();
    assert!(e.to_string().contains("duration_s_max"), "{e}");

    let dir = std::env::temp_dir().join(format!("hs-panic-{}", std::process::id()));
    let (code, _, err) = exec(
        &[
            "sweep",
            "sims/issue407.toml",
            "--set",
            "scenario.jobs=20",
            "--param",
            "faults.panic_on_job=5,1000",
            "--variant",
            "parallel",
            "--out",
            dir.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("3 run(s) failed")
            && err.contains("reproduce: handshake-sim run sims/issue407.toml --seed 1"),
        "{err}"
    );
    let points = std::fs::read_to_string(dir.join("points.csv")).unwrap();
    assert!(
        points.lines().any(|l| l.starts_with("1,1000,parallel")),
        "{points}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_silent_failure_fails_the_gate() {
    let mut args = vec!["check", "sims/faults.toml", "--seeds", "1"];
    for s in NAIVE {
        args.extend(["--set", s]);
    }
    args.extend(["--set", "scenario.jobs=100"]);
    let (code, out, err) = exec(&args, None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("faults / parallel: slo silent_failure_rate"),
        "{out}"
    );
    assert!(
        out.contains("expect parallel.silent_failures == 0"),
        "{out}"
    );
}

#[test]
fn a_job_whose_202_never_arrived_is_a_visible_failure() {
    let mut s = small("[faults]\nclient_edge_loss = 0.3");
    s.client.retries = 0;
    s.scenario.jobs = 40;
    s.scenario.concurrency = 40;
    let out = run(&s);
    let lost_202 = out
        .records
        .iter()
        .filter(|r| !r.post_accepted && r.enrichment_done)
        .count();
    assert!(lost_202 > 0, "no 202 was lost: {:#?}", out.faults);
    for r in &out.records {
        assert_eq!(
            r.silent_failure,
            r.post_accepted && r.enrichment_done && !r.results_in_time,
            "{r:#?}"
        );
    }
}

#[test]
fn retries_stay_within_their_time_budget_and_requests_time_out() {
    // Every request is dropped: backoffs 100, 200, 400, 800, then 1000 ms, each retry ~10 ms
    // of latency later. The 8th would start after 5.5 s, past the 5 s budget.
    let mut s = small(
        "backoff_max_ms = 1000\nbackoff_jitter = 0.0\nretry_budget_ms = 5000\n\
         [[faults.partition_windows]]\nlink = \"client_edge\"\nstart_ms = 0\nduration_ms = 100000",
    );
    s.client.retries = 100;
    s.scenario.jobs = 1;
    let r = &run(&s).records[0];
    assert_eq!((r.retries, r.post_accepted), (7, false), "{r:#?}");

    // A POST stuck behind a two-minute storage spike gives up at the request timeout.
    let mut s = small(
        "request_timeout_ms = 1000\n[faults.storage]\nspike_probability = 1.0\nspike_ms = { constant = 120000 }",
    );
    s.client.retries = 0;
    s.scenario.jobs = 1;
    let r = &run(&s).records[0];
    assert_eq!(r.outcome, Some(Outcome::NetworkError), "{r:#?}");
    assert!(!r.post_accepted && !r.silent_failure, "{r:#?}");
}

#[test]
fn results_count_only_when_they_arrive_by_the_deadline() {
    // Three books of a second each cannot be done 1.5 s after the POST.
    let s = small("result_deadline_ms = 1500");
    let v = parallel(&s, &[1]);
    assert_eq!(
        (v.results_complete, v.silent_failures),
        (0, v.jobs),
        "{v:#?}"
    );
}
