//! A user's handshake, run next to the built-in ones through the public `Handshake` trait.

use std::sync::atomic::{AtomicU64, Ordering};

use handshake_sim::internal::names::Figure;
use handshake_sim::{Experiment, Handshake, HandshakeFuture, Key, Storage, Token};

/// The example's handshake (reads the expiration first, then the token: the same two round
/// trips as `sequential`, in the other order), so these tests check what the example shows.
#[path = "../../examples/own_variant.rs"]
#[allow(dead_code)] // the example's `main`
mod example;
use example::ExpirationFirst;

/// `get([a, b])` with the token kept in memory: `batched`'s read plus `memory-cache`'s cache.
struct BatchedCache;

impl Handshake for BatchedCache {
    fn name(&self) -> &str {
        "batched-cache"
    }
    fn describe(&self) -> &str {
        "token in object memory; one get of both keys after a cold restart"
    }
    fn keeps_token_in_memory(&self) -> bool {
        true
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            if let Some((token, expires_at_ms)) = storage.memory_token() {
                return Ok(Token {
                    token: Some(token),
                    expires_at_ms: Some(expires_at_ms),
                });
            }
            let read = storage
                .get(&[Key::AuthToken, Key::AuthTokenExpiration])
                .await?;
            if let (Some(t), Some(e)) = (&read.token, read.expires_at_ms) {
                storage.remember_token(t, e);
            }
            Ok(Token {
                token: read.token,
                expires_at_ms: read.expires_at_ms,
            })
        })
    }
}

/// Every figure that does not depend on which variant is the baseline.
fn same_figures(outcome: &handshake_sim::Results, a: &str, b: &str) {
    let (sa, sb) = (
        outcome.report.variant(a).unwrap(),
        outcome.report.variant(b).unwrap(),
    );
    for f in Figure::ALL {
        if matches!(f, Figure::Delta(_)) {
            continue;
        }
        assert_eq!(sa.figure(f), sb.figure(f), "{a} vs {b}: {f}");
    }
}

#[test]
fn a_users_variant_runs_next_to_the_built_in_ones_on_the_same_draws() {
    let outcome = Experiment::bundled("issue407")
        .unwrap()
        .set("scenario.jobs", "150")
        .unwrap()
        .with_variant(ExpirationFirst)
        .unwrap()
        .seeds([1, 2])
        .run()
        .unwrap();
    let names: Vec<&str> = outcome
        .report
        .variants
        .iter()
        .map(|v| v.variant.as_str())
        .collect();
    assert_eq!(names, ["sequential", "parallel", "expiration-first"]);
    // The same two round trips, with the same common random numbers: every figure as
    // sequential's, and a paired delta of exactly 0 against it (the baseline).
    same_figures(&outcome, "expiration-first", "sequential");
    assert!(outcome.figure("expiration-first.failure_rate").unwrap() > 0.2);
    assert_eq!(
        outcome.figure("expiration-first.delta_storage_ms").unwrap(),
        0.0
    );
    outcome.assert_expect("expiration-first.p95_upgrade_ms == sequential.p95_upgrade_ms");
    outcome.assert_expect("parallel.p95_upgrade_ms <= 0.6 * expiration-first.p95_upgrade_ms");
    let json = outcome.report.to_json();
    assert!(json.contains("\"variant\": \"expiration-first\""), "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["scenario"]["scenario"]["variants"],
        serde_json::json!(["sequential", "parallel", "expiration-first"])
    );
    // Its own read durations, in issue order, like a built-in's.
    let run = outcome
        .runs
        .iter()
        .find(|r| r.variant == "expiration-first")
        .unwrap();
    assert!(run.records.iter().any(|r| r.reads_ms.len() == 2));
}

#[test]
fn a_users_cache_behaves_as_the_built_in_reads_it_is_made_of() {
    // Every upgrade meets a cold object (issue407): memory never helps, so the cache reads
    // as batched does. Warm objects: the token is in memory, as with memory-cache.
    for (scenario, twin) in [("issue407", "batched"), ("warm", "memory-cache")] {
        let outcome = Experiment::bundled(scenario)
            .unwrap()
            .set("scenario.jobs", "100")
            .unwrap()
            .with_variant(BatchedCache)
            .unwrap()
            .variants(&[twin, "batched-cache", "sequential"])
            .unwrap()
            .run()
            .unwrap();
        same_figures(&outcome, "batched-cache", twin);
    }
}

#[test]
fn a_users_variant_needs_a_name_of_its_own() {
    struct Named(&'static str);
    impl Handshake for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn describe(&self) -> &str {
            "parallel's read under another name"
        }
        fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
            ExpirationFirst.read_token(storage)
        }
    }
    let e = || Experiment::from_toml("").unwrap();
    let err = e().with_variant(Named("parallel")).unwrap_err().to_string();
    assert!(err.contains("is a built-in variant's name"), "{err}");
    let err = e()
        .with_variant(Named("my.variant"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ASCII letters, digits"), "{err}");
    let err = e()
        .with_variant(Named("mine"))
        .unwrap()
        .with_variant(Named("mine"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "variant \"mine\": added twice: each variant needs its own name"
    );
    let err = e().variants(&["mine"]).unwrap_err().to_string();
    assert!(
        err.contains("unknown variant \"mine\"") && err.contains("Experiment::with_variant"),
        "{err}"
    );
    let boxed: Box<dyn Handshake> = Box::new(Named("boxed"));
    let with_box = e().with_variant(boxed).unwrap();
    assert_eq!(with_box.scenario().scenario.variants.len(), 3);
    // Setting other keys keeps it in the run list.
    let kept = e()
        .with_variant(Named("mine"))
        .unwrap()
        .set("scenario.jobs", "10")
        .unwrap();
    assert_eq!(
        kept.scenario().scenario.variants.last().unwrap().name(),
        "mine"
    );
}

/// A handshake that keeps state of its own across calls: its runs are not reproducible.
struct Drifting(AtomicU64);

impl Handshake for Drifting {
    fn name(&self) -> &str {
        "drifting"
    }
    fn describe(&self) -> &str {
        "every third call reads twice: depends on how many calls came before"
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            if self.0.fetch_add(1, Ordering::Relaxed) % 3 == 0 {
                storage.get(&[Key::AuthToken]).await?;
            }
            let read = storage
                .get(&[Key::AuthToken, Key::AuthTokenExpiration])
                .await?;
            Ok(Token {
                token: read.token,
                expires_at_ms: read.expires_at_ms,
            })
        })
    }
}

#[test]
fn the_determinism_check_catches_a_handshake_with_state_of_its_own() {
    let run = |h, check| {
        Experiment::from_toml("[scenario]\njobs = 20\nvariants = [\"parallel\"]\n")
            .unwrap()
            .with_variant(h)
            .unwrap()
            .check_determinism(check)
            .run()
    };
    let err = run(Drifting(AtomicU64::new(0)), true).unwrap_err();
    let message = format!("{err:?}");
    assert!(
        message.starts_with(
            "variant drifting, seed 1: not deterministic: two runs' records differ at job "
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "reproduce: HANDSHAKE_SIM_SEED=1 HANDSHAKE_SIM_CHECK_DETERMINISM=1 cargo test \
             own_variant::the_determinism_check_catches_a_handshake_with_state_of_its_own"
        ),
        "{message}"
    );
    let checked = run(Drifting(AtomicU64::new(1)), false).unwrap();
    assert!(!checked.determinism_checked());
}
