//! The memory a run may take, and what the scenario will need of it, estimated before it
//! runs from the scenario alone: a scenario whose estimate is over the budget is refused
//! (exit 2, with what to lower), as a sweep over its time budget is. The per-job figures were
//! measured with the release binary (docs/performance.md, "A herd of jobs", has the commands):
//! memory follows the jobs in flight (their connections, tasks and buffers) and the jobs run
//! (each job's durable object and record until its run ends, then its record until every run
//! is summarised).

use super::Scenario;

/// The peak resident memory one process's runs may be estimated to need: 8 GB. Fixed, so
/// that a scenario is accepted or refused the same way on every machine; enough for the
/// largest run the limits allow one at a time (a million jobs, 100,000 in flight: ~6.5 GB).
pub const MEMORY_BUDGET_BYTES: u64 = 8_000_000_000;
/// Peak resident bytes per job in flight, rounded up: the flow benchmark measured 29,636 B
/// at concurrency 100,000 (`bench --workload flow --set scenario.jobs=200000 --set
/// scenario.concurrency=100000`: peak RSS over concurrency).
pub const IN_FLIGHT_BYTES_PER_JOB: u64 = 32 * 1024;
/// Heap bytes per job a run holds until it ends, rounded up: the job's durable object (kept,
/// as a durable object's storage is, for a later request to find) with its storage, and its
/// record (heaptrack: 100.6 MB at the peak of `run sims/issue407.toml --set
/// scenario.jobs=40000 --variant sequential`, 2.5 KB a job).
pub const WORLD_BYTES_PER_JOB: u64 = 2_560;
/// Bytes per job of a finished run's records, kept until every run is summarised.
pub const RECORD_BYTES_PER_JOB: u64 = 512;
/// What a run needs whatever its size (the program, the runtime, the world), rounded up.
pub const BASE_BYTES: u64 = 64 * 1024 * 1024;

/// The estimated peak of `runs` runs of `s` (variants × seeds), one after another: the last
/// run's jobs in flight and world, and the records of the runs before it.
pub fn estimate_bytes(s: &Scenario, runs: u64) -> u64 {
    let m = &s.scenario;
    let jobs = u64::from(m.jobs);
    BASE_BYTES
        .saturating_add(u64::from(m.concurrency).saturating_mul(IN_FLIGHT_BYTES_PER_JOB))
        .saturating_add(jobs.saturating_mul(WORLD_BYTES_PER_JOB))
        .saturating_add(
            jobs.saturating_mul(runs.saturating_sub(1))
                .saturating_mul(RECORD_BYTES_PER_JOB),
        )
}

/// Refuses `runs` runs of `s` (variants × seeds) estimated past [`MEMORY_BUDGET_BYTES`]:
/// the message says how much they need and what to lower.
pub fn check(s: &Scenario, runs: u64) -> Result<(), String> {
    let need = estimate_bytes(s, runs);
    if need <= MEMORY_BUDGET_BYTES {
        return Ok(());
    }
    let m = &s.scenario;
    Err(format!(
        "{} job(s) in flight and {} job(s) in each of {runs} run(s) (variants × seeds) need an \
         estimated {:.1} GB, over the memory budget of {:.1} GB; lower scenario.concurrency \
         ({} KiB a job in flight) or scenario.jobs, or run fewer seeds or variants",
        m.concurrency,
        m.jobs,
        need as f64 / 1e9,
        MEMORY_BUDGET_BYTES as f64 / 1e9,
        IN_FLIGHT_BYTES_PER_JOB / 1024,
    ))
}
