//! Closed-form checks: with reads uniform [a, b] and no network latency, sequential storage
//! time averages a + b and parallel the mean of the max of two, a + (b − a)·2/3.

use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim;

fn check(a: f64, b: f64) {
    let s = crate::scenario(&format!(
        r#"
[scenario]
jobs = 3000
concurrency = 500
[storage]
read_ms = {{ uniform = [{a}, {b}] }}
put_populates_cache = false
[object]
cold_start_ms = {{ constant = 0 }}
[enrichment]
book_ms = {{ constant = 20000 }}
[client]
books_per_job = 1
"#
    ));
    let mean = |v: &str| {
        let run = sim::run(&s, variant::by_name(v).unwrap(), 11).unwrap();
        let xs: Vec<f64> = run
            .records
            .iter()
            .map(|r| r.storage_ms.unwrap() as f64)
            .collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    let within = |got: f64, want: f64| (got - want).abs() <= 0.03 * want;
    let seq = mean("sequential");
    assert!(within(seq, a + b), "sequential mean {seq} vs {}", a + b);
    let par = mean("parallel");
    let want = a + (b - a) * 2.0 / 3.0;
    assert!(within(par, want), "parallel mean {par} vs {want}");
    let batched = mean("batched");
    assert!(
        within(batched, (a + b) / 2.0),
        "batched mean {batched} vs {}",
        (a + b) / 2.0
    );
}

#[test]
fn storage_means_match_closed_forms() {
    check(50.0, 100.0);
    check(20.0, 140.0);
    check(75.0, 100.0);
}

/// A run drains: every upgrade the server began is finished and recorded before the run ends,
/// even when the clients are all gone first. 1,000 jobs at once, no network latency, one
/// batched read uniform [40, 160] on cold objects, a 120 ms client deadline, no progress (so
/// no enrichment keeps the run going): the clients that time out are exactly the canceled
/// upgrades, and the storage figures are those of the read distribution — mean 100, p95 154,
/// max 160 — not of the reads that happened to finish before the last client left.
#[test]
fn a_run_drains_every_upgrade_so_timings_are_unbiased_and_timeouts_canceled() {
    let s = crate::scenario(
        r#"
[scenario]
jobs = 1000
concurrency = 1000
variants = ["batched"]
[storage]
read_ms = { uniform = [40, 160] }
[object]
restart_probability = 1.0
cold_start_ms = { constant = 0 }
[client]
books_per_job = 0
handshake_timeout_ms = 120
"#,
    );
    let run = sim::run(&s, variant::by_name("batched").unwrap(), 1).unwrap();
    let timeouts: Vec<_> = run
        .records
        .iter()
        .filter(|r| r.outcome == Some(handshake_sim::internal::record::Outcome::HandshakeTimeout))
        .collect();
    assert!(timeouts.len() > 100, "{} timeouts", timeouts.len());
    for r in &timeouts {
        assert_eq!(r.canceled, 1, "a timed-out upgrade is canceled: {r:#?}");
    }
    let canceled: u32 = run.records.iter().map(|r| r.canceled).sum();
    assert_eq!(canceled as usize, timeouts.len());
    let mut xs: Vec<u64> = run
        .records
        .iter()
        .map(|r| r.storage_ms.expect("every upgrade's timing is recorded"))
        .collect();
    xs.sort_unstable();
    let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
    assert!((mean - 100.0).abs() <= 3.0, "storage mean {mean} vs 100");
    let p95 = xs[xs.len() * 95 / 100];
    assert!((150..=158).contains(&p95), "storage p95 {p95} vs 154");
    let max = *xs.last().unwrap();
    assert!((157..=160).contains(&max), "storage max {max} vs 160");
}
