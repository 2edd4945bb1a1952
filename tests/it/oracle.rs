//! Closed-form checks: with reads uniform [a, b] and no network latency, sequential storage
//! time averages a + b and parallel the mean of the max of two, a + (b − a)·2/3.

use handshake_sim::server::variant;
use handshake_sim::sim;

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
