//! Per-job properties on common random numbers: for any read latency parameters, a job's
//! parallel storage time is the larger of its two reads and never more than its sequential
//! time (the sum), and the batched read equals one read.

use std::collections::BTreeMap;

use handshake_sim::internal::record::JobRecord;
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim;
use proptest::prelude::*;

fn by_job(
    s: &handshake_sim::internal::scenario::Scenario,
    v: &str,
    seed: u64,
) -> BTreeMap<u64, JobRecord> {
    let run = sim::run(s, variant::by_name(v).unwrap(), seed).unwrap();
    run.records.into_iter().map(|r| (r.job, r)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn parallel_is_the_max_and_batched_is_one_read(
        lo in 0u32..300,
        width in 0u32..300,
        sd in 0u32..50,
        normal in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let hi = lo + width;
        let dist = if normal {
            format!("{{ normal = {{ mean = {lo}, sd = {sd} }} }}")
        } else {
            format!("{{ uniform = [{lo}, {hi}] }}")
        };
        let s = crate::scenario(&format!(r#"
[scenario]
jobs = 12
concurrency = 12
[network.client_edge]
latency_ms = {{ uniform = [0, 30] }}
[storage]
read_ms = {dist}
[object]
restart_probability = 1.0
[enrichment]
book_ms = {{ constant = 60000 }}
[client]
books_per_job = 1
"#));
        let seq = by_job(&s, "sequential", seed);
        let par = by_job(&s, "parallel", seed);
        let bat = by_job(&s, "batched", seed);
        for (job, p) in &par {
            let q = &seq[job];
            let b = &bat[job];
            // Common random numbers: the same two draws in both variants.
            prop_assert_eq!(&p.reads_ms, &q.reads_ms);
            prop_assert_eq!(p.reads_ms.len(), 2);
            let p_ms = p.storage_ms.unwrap();
            prop_assert_eq!(p_ms, *p.reads_ms.iter().max().unwrap());
            prop_assert!(p_ms <= q.storage_ms.unwrap());
            prop_assert_eq!(q.storage_ms.unwrap(), q.reads_ms.iter().sum::<u64>());
            prop_assert_eq!(b.reads_ms.len(), 1);
            prop_assert_eq!(b.storage_ms.unwrap(), q.reads_ms[0]);
        }
    }
}

/// Simulated latency is the scenario's latency and nothing more: the client sees each upgrade
/// exactly the server's upgrade time plus one draw of every link each way, with no delivery
/// overhead per hop, at any tick (a tick only rounds draws).
#[test]
fn the_client_sees_the_servers_upgrade_time_plus_the_network_exactly() {
    // (tick_ms, client–edge one way, edge–object one way): whole ticks, so no rounding.
    for (tick_ms, client_edge_ms, edge_object_ms) in
        [(1, 0, 0), (10, 0, 0), (1, 20, 1), (10, 20, 10)]
    {
        let s = crate::load(
            "issue407.toml",
            &[
                "scenario.jobs=100",
                &format!("scenario.tick_ms={tick_ms}"),
                &format!("network.client_edge.latency_ms={{ constant = {client_edge_ms} }}"),
                &format!("network.edge_object.latency_ms={{ constant = {edge_object_ms} }}"),
                // Every handshake completes, so every job is compared.
                "client.handshake_timeout_ms=10000",
            ],
        );
        let round_trip_ms = 2 * (client_edge_ms + edge_object_ms);
        for v in ["sequential", "parallel"] {
            let jobs = by_job(&s, v, 1);
            let mut compared = 0;
            for r in jobs.values() {
                let (Some(server), Some(client)) = (r.upgrade_ms, r.client_upgrade_ms) else {
                    continue;
                };
                assert_eq!(
                    client,
                    server + round_trip_ms,
                    "tick {tick_ms} ms, network {client_edge_ms}+{edge_object_ms} ms, \
                     {v}, job {}: client {client} ms, server {server} ms",
                    r.job
                );
                compared += 1;
            }
            assert_eq!(
                compared,
                jobs.len(),
                "tick {tick_ms} ms, {v}: every job upgrades"
            );
        }
    }
}
