//! The memory runs may take, and what a scenario's runs will need of it, estimated before
//! they start from the scenario alone: runs whose estimate is over the budget are refused
//! (exit 2, naming what to lower), as a sweep over its time budget is. Memory follows the jobs
//! in flight (their connections, tasks and buffers) and the jobs run (each job's durable
//! object and record until its run ends, then its record until every run is summarised). The
//! per-job figures were measured with the release binary, as docs/performance.md ("A herd of
//! jobs") shows with the commands; the estimate is meant to be high, never low.

use super::Scenario;

/// The peak resident memory the runs of one command may be estimated to need: 8 GB. Fixed,
/// so that a scenario is accepted or refused the same way on every machine. The largest single
/// run the limits allow (a million jobs, 100,000 in flight) is estimated at 3.4 GB, both
/// variants of `sims/issue407.toml` at 4.0 GB, and those peaked at 2.85 GB. Both variants of a
/// million jobs at the file's concurrency of 50 are estimated at 2.69 GB, and peaked at 1.96 GB
/// (docs/performance.md, "A million jobs").
pub const MEMORY_BUDGET_BYTES: u64 = 8_000_000_000;
/// Peak resident bytes per job in flight: the flow at 100,000 in flight peaked at 1.56 GB
/// (`bench --child --workload flow --scenario sims/bench.toml --set scenario.jobs=200000 --set
/// scenario.concurrency=100000`, median of three; 1,563.7 MB), 15,637 B a slot; less the world
/// of its two jobs a slot (1,420 B each at `1ffdad7`, measured as below), 12,797 B; rounded up
/// to a whole KiB (515 B to spare). With crates.io's hyper
/// instead of the vendored one (a crate depending on this one without the `[patch]`) a job in
/// flight takes ~100 KB, and this estimate is low for it.
pub const IN_FLIGHT_BYTES_PER_JOB: u64 = 13 * 1024;
/// Heap bytes per job a run holds until it ends: the job's durable object (kept, as a durable
/// object's storage is, for a later request to find), its storage and its record (heaptrack:
/// 66.9 MB at the peak of `run sims/issue407.toml --set scenario.jobs=40000 --variant
/// sequential` at `16cba3d`, 1,672 B a job; 56.8 MB at `1ffdad7`, 1,420 B a job, since the
/// records are a vector), rounded up to 2 KiB for what the heap does not show: the
/// network's hash map of message counts doubles as it grows (at a million jobs ~105 B a job,
/// ~157 B while it doubles, by hashbrown's layout: 82 B here); both variants of a million
/// jobs at concurrency 50 peaked at 2.21 GB of RSS at `f2748dc` (2.36 GB at `16cba3d`), 1%
/// above the 2.19 GB of world and records these heap figures add up to, and at 1.96 GB at
/// `1ffdad7`, whose records are a vector (smaller than the ordered map's nodes).
pub const WORLD_BYTES_PER_JOB: u64 = 2_048;
/// Bytes per job of a finished run's records, kept until every run is summarised, rounded up
/// (the records were 20.7 MB of the 66.9 MB above: 518 B a job; 272 B a job at `1ffdad7`, a
/// vector's slot each).
pub const RECORD_BYTES_PER_JOB: u64 = 576;
/// What a run needs whatever its size, rounded up: `run sims/issue407.toml` (400 jobs) peaks
/// at 19 MB (`/usr/bin/time -f '%M KB'`).
pub const BASE_BYTES: u64 = 64 * 1024 * 1024;

/// What `runs` runs of a scenario, one after another, are estimated to need at their peak:
/// the last run's jobs in flight and world, and the records of the runs before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub in_flight_bytes: u64,
    pub world_bytes: u64,
    pub records_bytes: u64,
}

impl Estimate {
    /// `runs` runs (variants × seeds) of `s`.
    pub fn of(s: &Scenario, runs: u64) -> Estimate {
        let m = &s.scenario;
        let jobs = u64::from(m.jobs);
        Estimate {
            in_flight_bytes: u64::from(m.concurrency).saturating_mul(IN_FLIGHT_BYTES_PER_JOB),
            world_bytes: jobs.saturating_mul(WORLD_BYTES_PER_JOB),
            records_bytes: jobs
                .saturating_mul(runs.saturating_sub(1))
                .saturating_mul(RECORD_BYTES_PER_JOB),
        }
    }

    /// The whole estimate, bytes.
    pub fn bytes(&self) -> u64 {
        BASE_BYTES
            .saturating_add(self.in_flight_bytes)
            .saturating_add(self.world_bytes)
            .saturating_add(self.records_bytes)
    }
}

/// Refuses `runs` runs of `s` (variants × seeds) estimated past [`MEMORY_BUDGET_BYTES`]: the
/// message gives the estimate by part, the largest first, and what lowers it.
pub fn check(s: &Scenario, runs: u64) -> Result<(), String> {
    let e = Estimate::of(s, runs);
    if e.bytes() <= MEMORY_BUDGET_BYTES {
        return Ok(());
    }
    let m = &s.scenario;
    let gb = |b: u64| format!("{:.1} GB", b as f64 / 1e9);
    let mut parts = [
        (
            e.in_flight_bytes,
            format!(
                "{} job(s) in flight, {} KiB each (lower scenario.concurrency)",
                m.concurrency,
                IN_FLIGHT_BYTES_PER_JOB / 1024
            ),
        ),
        (
            e.world_bytes,
            format!(
                "the world of a run of {} job(s) (lower scenario.jobs)",
                m.jobs
            ),
        ),
        (
            e.records_bytes,
            format!(
                "the records of {} earlier run(s) (run fewer seeds or variants)",
                runs.saturating_sub(1)
            ),
        ),
    ];
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    let parts: Vec<String> = parts
        .iter()
        .filter(|(b, _)| *b > 0)
        .map(|(b, what)| format!("{} for {what}", gb(*b)))
        .collect();
    Err(format!(
        "{runs} run(s) need an estimated {}, over the memory budget of {}: {}",
        gb(e.bytes()),
        gb(MEMORY_BUDGET_BYTES),
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(jobs: u32, concurrency: u32) -> Scenario {
        let mut s = Scenario::default();
        s.scenario.jobs = jobs;
        s.scenario.concurrency = concurrency;
        s
    }

    #[test]
    fn the_estimate_adds_its_parts_and_the_message_names_the_largest_first() {
        let s = scenario(1_000_000, 100_000);
        let one = Estimate::of(&s, 1);
        assert_eq!(one.in_flight_bytes, 100_000 * 13 * 1024);
        assert_eq!(one.world_bytes, 2_048_000_000);
        assert_eq!(one.records_bytes, 0);
        assert_eq!(one.bytes(), BASE_BYTES + 1_331_200_000 + 2_048_000_000);
        assert!(check(&s, 2).is_ok());
        let why = check(&s, 10).unwrap_err();
        assert!(
            why.starts_with(
                "10 run(s) need an estimated 8.6 GB, over the memory budget of 8.0 GB: \
                 5.2 GB for the records of 9 earlier run(s) (run fewer seeds or variants); \
                 2.0 GB for the world of a run of 1000000 job(s) (lower scenario.jobs); \
                 1.3 GB for 100000 job(s) in flight, 13 KiB each"
            ),
            "{why}"
        );
        // Jobs, not concurrency, are what to lower here.
        let why = check(&scenario(1_000_000, 50), 20).unwrap_err();
        assert!(why.contains(": 10.9 GB for the records of 19"), "{why}");
        assert!(
            why.contains("; 2.0 GB for the world of a run of 1000000 job(s)"),
            "{why}"
        );
    }
}
