use std::io::Write;

use serde::Serialize;

use crate::sim::RunOutput;

/// One CSV row: a job in a variant and seed.
#[derive(Serialize)]
struct Row<'a> {
    seed: u64,
    job: u64,
    variant: &'a str,
    outcome: &'a str,
    attempts: u32,
    retries: u32,
    cold_start: Option<bool>,
    cold_start_ms: Option<u64>,
    read1_ms: Option<u64>,
    read2_ms: Option<u64>,
    storage_ms: Option<u64>,
    upgrade_ms: Option<u64>,
    client_upgrade_ms: Option<u64>,
    canceled: Option<u32>,
    canceled_at_edge: Option<u32>,
    no_socket_warnings: Option<u32>,
    progress_received: u32,
    results: u32,
    post_accepted: bool,
    results_complete_ms: Option<u64>,
    silent_failure: Option<bool>,
    reconnects: u32,
    token_refreshes: u32,
    polls: u32,
    progress_duplicates: u32,
    progress_reordered: u32,
    unauthorized_accepts: u32,
}

/// The job's network type, a last column only when the scenario has `network.types`.
#[derive(Serialize)]
struct Network<'a> {
    network: &'a str,
}

/// Who saw the jobs: the simulation knows every column; a probe's client does not know what
/// only the server knows, and leaves those cells empty (never a 0 it did not measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Simulation,
    Client,
}

/// Writes one row per job, variant and seed (enough to replay any of them by seed); with
/// `network_types` (the scenario's names), a last column names each job's type.
pub fn write_records<W: Write>(
    out: W,
    runs: &[RunOutput],
    network_types: &[String],
    seen: Seen,
) -> Result<(), ::csv::Error> {
    // The server's columns: empty in a probe's records.
    let sim = seen == Seen::Simulation;
    let mut w = ::csv::Writer::from_writer(out);
    for run in runs {
        for r in &run.records {
            // A sequence of no struct adds no column: the file is as it was without types.
            let network: Vec<Network> = r
                .network_type
                .and_then(|i| network_types.get(usize::from(i)))
                .map(|n| Network { network: n })
                .into_iter()
                .collect();
            let row = Row {
                seed: run.seed,
                job: r.job,
                variant: &run.variant,
                outcome: r.outcome.map_or("none", |o| o.name()),
                attempts: r.attempts,
                retries: r.retries,
                cold_start: sim.then_some(r.cold_start),
                cold_start_ms: r.cold_start_ms.filter(|_| sim),
                read1_ms: r.reads_ms.first().copied().filter(|_| sim),
                read2_ms: r.reads_ms.get(1).copied().filter(|_| sim),
                storage_ms: r.storage_ms.filter(|_| sim),
                upgrade_ms: r.upgrade_ms.filter(|_| sim),
                client_upgrade_ms: r.client_upgrade_ms,
                canceled: sim.then_some(r.canceled),
                canceled_at_edge: sim.then_some(r.canceled_at_edge),
                no_socket_warnings: sim.then_some(r.no_socket_warnings),
                progress_received: r.progress_received,
                results: r.results,
                post_accepted: r.post_accepted,
                results_complete_ms: r.results_complete_ms,
                silent_failure: sim.then_some(r.silent_failure),
                reconnects: r.reconnects,
                token_refreshes: r.token_refreshes,
                polls: r.polls,
                progress_duplicates: r.progress_duplicates,
                progress_reordered: r.progress_reordered,
                unauthorized_accepts: r.unauthorized_accepts,
            };
            w.serialize((row, network))?;
        }
    }
    w.flush()?;
    Ok(())
}
