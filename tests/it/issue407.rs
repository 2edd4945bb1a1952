//! The bug reproduces and the fix holds, on the bundled scenario.

use crate::{load, report};

#[test]
fn sequential_fails_and_parallel_fixes_it_over_five_seeds() {
    let s = load("issue407.toml", &[]);
    let (r, _) = report(&s, &[1, 2, 3, 4, 5]);
    let seq = r.variant("sequential").unwrap();
    let par = r.variant("parallel").unwrap();
    assert_eq!(seq.jobs, 5 * s.scenario.jobs as u64);
    assert!(
        seq.failure_rate.value >= 0.25,
        "sequential failure rate {:?}",
        seq.failure_rate
    );
    assert!(
        par.failure_rate.value < 0.05,
        "parallel failure rate {:?}",
        par.failure_rate
    );
    assert!(
        par.upgrade_ms.p95 as f64 <= 0.6 * seq.upgrade_ms.p95 as f64,
        "parallel p95 {} vs sequential p95 {}",
        par.upgrade_ms.p95,
        seq.upgrade_ms.p95
    );
    // The write-up's table: sequential reads ~150–200 ms, parallel ~50–100 ms, on cold objects.
    assert_eq!(seq.cold_starts, seq.jobs);
    assert!(
        (150..=200).contains(&seq.storage_ms.p50),
        "{:?}",
        seq.storage_ms
    );
    assert!(
        (50..=100).contains(&par.storage_ms.p50),
        "{:?}",
        par.storage_ms
    );
    assert!(
        (160..=210).contains(&seq.upgrade_ms.p50),
        "{:?}",
        seq.upgrade_ms
    );
    // Clients that gave up are seen by the server as canceled upgrades.
    assert_eq!(
        seq.canceled,
        seq.jobs - seq.outcome(handshake_sim::internal::record::Outcome::Ok)
    );
    assert!(seq.no_socket_warnings > 0);
    let delta = par.paired_delta.as_ref().unwrap().storage_ms.unwrap();
    assert!(
        delta.ci95_high.unwrap() < -50.0,
        "paired storage delta {delta:?}"
    );
}

#[test]
fn the_writeups_ten_second_timeout_fails_nobody() {
    let s = load("issue407-reported.toml", &[]);
    let (r, _) = report(&s, &[1, 2]);
    for v in &r.variants {
        assert_eq!(v.failure_rate.value, 0.0, "{}: {:?}", v.variant, v.outcomes);
    }
    let seq = r.variant("sequential").unwrap();
    let par = r.variant("parallel").unwrap();
    assert!(par.upgrade_ms.p50 * 10 < seq.upgrade_ms.p50 * 6);
}

#[test]
fn warm_objects_and_sqlite_make_the_variants_equal() {
    for name in ["warm.toml", "sqlite.toml"] {
        let s = load(name, &["scenario.jobs=100"]);
        let (r, _) = report(&s, &[3]);
        let base = &r.variants[0];
        for v in &r.variants {
            assert_eq!(v.failure_rate.value, 0.0, "{name} {}", v.variant);
            assert_eq!(
                v.storage_ms.max, 0,
                "{name} {}: {:?}",
                v.variant, v.storage_ms
            );
            assert_eq!(v.upgrade_ms, base.upgrade_ms, "{name} {}", v.variant);
        }
    }
}

#[test]
fn memory_cache_reads_storage_only_after_a_cold_restart() {
    let half = load(
        "issue407.toml",
        &[
            "object.restart_probability=0.5",
            "scenario.jobs=200",
            r#"scenario.variants=["memory-cache", "sequential"]"#,
        ],
    );
    let (_, runs) = report(&half, &[9]);
    let cached = runs.iter().find(|r| r.variant == "memory-cache").unwrap();
    let (cold, warm): (Vec<_>, Vec<_>) = cached.records.iter().partition(|r| r.cold_start);
    assert!(!cold.is_empty() && !warm.is_empty());
    assert!(warm
        .iter()
        .all(|r| r.reads_ms.is_empty() && r.storage_ms == Some(0)));
    assert!(cold
        .iter()
        .all(|r| r.reads_ms.len() == 2 && r.storage_ms.unwrap() >= 75));
}
