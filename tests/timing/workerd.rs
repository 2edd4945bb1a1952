//! `probe` against the reference Worker in workerd, compared with the simulation of
//! `sims/workerd.toml`.
//!
//! Probe–simulation tolerance: |live − sim| ≤ 10 ms + 10% for the median and p95 of the client
//! upgrade time, and ≤ 0.12 for the failure rate. The Worker draws its latencies from
//! `Math.random`, the simulation from its seeds, so only the distributions match, not the
//! draws: with 240 live jobs the standard error of a median is ~1.3 ms (sd ~20 ms for the
//! sum of two uniform 50–100 ms reads), of a p95 ~3 ms, of a sequential failure rate near
//! 0.25 ~0.028 (binomial; the simulation's 5 pooled seeds, 1,200 jobs, add ~0.012). Live
//! overhead (loopback, workerd's HTTP, the Worker → object hop, timers) is in the scenario as
//! 4 ms of network per upgrade, measured; what varies around it is a machine's load: on the
//! shared 2-core machine (load average 6) single runs had the live p95 up to 40 ms and the
//! sequential failure rate up to 0.1 above the simulation's, where the 170 ms deadline cuts
//! the distribution at 0.012 per ms. 10 ms + 10% is ~3 standard errors plus load for the
//! latencies; 0.12 is ~2 standard errors of the difference plus load for the rate.
//! The test prints the measured figures. It runs in the `timing` binary, so no test of `it`
//! runs beside it, and one timing test at a time ([`crate::serial`]).

use handshake_sim::internal::live::{self, Endpoint, ProbeOptions};
use handshake_sim::internal::metrics::Latency;
use handshake_sim::internal::record::Outcome;
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim::{self, RunOutput};

use crate::common::workerd::Workerd;

/// The simulation of `sims/workerd.toml`, seeds 1..=5 pooled.
fn simulated(variant_name: &str) -> RunOutput {
    let s = crate::load("workerd.toml", &[]);
    let v = variant::by_name(variant_name).unwrap();
    let runs: Vec<RunOutput> = (1..=5)
        .map(|seed| sim::run(&s, v.clone(), seed).unwrap())
        .collect();
    let mut pooled = runs[0].clone();
    pooled.records = runs.into_iter().flat_map(|r| r.records).collect();
    pooled
}

/// `probe` with `sims/workerd.toml`'s client against the Worker.
fn probed(url: &str) -> RunOutput {
    let s = crate::load("workerd.toml", &[]);
    crate::local(async {
        let target = Endpoint::parse(url, false).await.unwrap();
        let options = ProbeOptions {
            jobs: s.scenario.jobs,
            concurrency: s.scenario.concurrency,
            seed: 1,
            time_limit_s: 120,
            label: "workerd".into(),
            job_prefix: live::random_job_prefix(),
        };
        live::probe(&s, target, &options).await.unwrap().run
    })
}

fn failure_rate(run: &RunOutput) -> f64 {
    let failed = run
        .records
        .iter()
        .filter(|r| r.outcome != Some(Outcome::Ok))
        .count();
    failed as f64 / run.records.len() as f64
}

const LATENCY_TOLERANCE_MS: f64 = 10.0;
const LATENCY_TOLERANCE_SHARE: f64 = 0.10;
const FAILURE_RATE_TOLERANCE: f64 = 0.12;

/// `probe` against the Worker in workerd (reads uniform 50–100 ms, injected) agrees with the
/// simulation of the same scenario, for the bug and for the fix.
#[test]
fn probe_against_workerd_agrees_with_the_simulation() {
    let _alone = crate::serial();
    for variant_name in ["sequential", "parallel"] {
        let vars = [
            ("READ_MS_MIN", "50"),
            ("READ_MS_MAX", "100"),
            ("BOOK_MS", "250"),
        ];
        let Some(w) = Workerd::start(variant_name, &vars) else {
            return;
        };
        let live_run = probed(&w.url());
        drop(w);
        let sim_run = simulated(variant_name);
        let unexpected: Vec<_> = live_run
            .records
            .iter()
            .filter(|r| !matches!(r.outcome, Some(Outcome::Ok | Outcome::HandshakeTimeout)))
            .collect();
        assert!(unexpected.is_empty(), "{variant_name}: {unexpected:#?}");
        let lat =
            |run: &RunOutput| Latency::of(run.records.iter().filter_map(|r| r.client_upgrade_ms));
        let (sim_l, live_l) = (lat(&sim_run), lat(&live_run));
        let (sim_f, live_f) = (failure_rate(&sim_run), failure_rate(&live_run));
        eprintln!(
            "{variant_name}: client_upgrade_ms p50/p95 sim {}/{} live {}/{}; failure rate \
             sim {sim_f:.3} live {live_f:.3}",
            sim_l.p50, sim_l.p95, live_l.p50, live_l.p95
        );
        for (what, a, b) in [
            ("p50", sim_l.p50, live_l.p50),
            ("p95", sim_l.p95, live_l.p95),
        ] {
            let tolerance = LATENCY_TOLERANCE_MS + LATENCY_TOLERANCE_SHARE * a as f64;
            assert!(
                (a as f64 - b as f64).abs() <= tolerance,
                "{variant_name} {what}: sim {a} ms, live {b} ms, tolerance {tolerance} ms"
            );
        }
        assert!(
            (sim_f - live_f).abs() <= FAILURE_RATE_TOLERANCE,
            "{variant_name}: failure rate sim {sim_f:.3}, live {live_f:.3}, tolerance \
             {FAILURE_RATE_TOLERANCE}"
        );
    }
}
