//! What runs will cost in wall time, estimated before they start from the scenario alone, so
//! `run` and `sweep` can say so when it is large (and `sweep` can refuse an absurd grid).
//!
//! The jobs are the cost: each simulated job's HTTP and WebSocket bytes through the pipes and
//! its timers. Simulated time itself costs next to nothing, because a run is one turmoil tick
//! in which the paused clock jumps from one timer to the next (`sim`, `Ticks::Whole`): a job
//! whose 167 hour-long books take 7 days of simulated time runs in ~5 ms. The figure below was measured with the release binary on one core of the
//! development machine; a run elsewhere may take half or twice as long, which is why every
//! message calls the result an estimate.

use crate::scenario::{Dist, Scenario};

/// Wall time of one simulated job, one variant, in seconds: `run sims/issue407.toml --set
/// scenario.jobs=20000 --variant parallel` took 1.25 s (0.063 ms a job), the flow benchmark
/// (5 books a job, `bench --workload flow`) 0.072 ms a job; the larger, rounded.
pub const JOB_COST_S: f64 = 0.07e-3;
/// Runs estimated to take longer than this (wall time, one core) are announced on stderr.
pub const ANNOUNCE_S: f64 = 30.0;

/// The estimated cost of one run (one variant, one seed) of a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunCost {
    pub jobs: u64,
    /// Simulated time the run is expected to take, ms: waves of `concurrency` jobs, each the
    /// mean of its latencies and books, never past `duration_s_max` (said, not charged).
    pub sim_ms: u64,
}

impl RunCost {
    /// Estimates one run of `s`.
    pub fn of(s: &Scenario) -> RunCost {
        let m = &s.scenario;
        let jobs = u64::from(m.jobs);
        let waves = jobs.div_ceil(u64::from(m.concurrency.max(1)));
        let sim_ms_max = m.duration_s_max.saturating_mul(1000);
        let sim_ms = ((waves as f64) * job_ms(s)).min(sim_ms_max as f64) as u64;
        RunCost { jobs, sim_ms }
    }

    /// Estimated wall time of the run, s.
    pub fn wall_s(&self) -> f64 {
        self.jobs as f64 * JOB_COST_S
    }
}

/// The simulated time one job takes when nothing fails, ms: its connect delay, the mean
/// latency of its requests (POST, upgrade, ping, close: four round trips over both links),
/// the object's cold start, token write and reads, and its books.
fn job_ms(s: &Scenario) -> f64 {
    let round_trip =
        2.0 * (mean(&s.network.client_edge.latency_ms) + mean(&s.network.edge_object.latency_ms));
    let server = mean(&s.object.cold_start_ms)
        + mean(&s.storage.write_ms)
        + 2.0 * mean(&s.storage.read_ms)
        + mean(&s.object.pair_ms)
        + mean(&s.object.accept_ms);
    let books = f64::from(s.client.books_per_job) * mean(&s.enrichment.book_ms);
    mean(&s.client.connect_delay_ms) + 4.0 * round_trip + server + books
}

fn mean(d: &Dist) -> f64 {
    let m = d.mean_ms();
    if m.is_finite() {
        m.max(0.0)
    } else {
        0.0
    }
}

/// A duration for a person: `42 s`, `12 min`, `3.5 h`, `2.1 days`.
pub fn human_s(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 90.0 * 60.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

/// The notice `run` prints before a run estimated past [`ANNOUNCE_S`]: what it will cost
/// and how to make it cheaper. `None` for a run below it.
pub fn run_notice(s: &Scenario, runs: u64) -> Option<String> {
    let c = RunCost::of(s);
    let total_s = c.wall_s() * runs as f64;
    (total_s > ANNOUNCE_S).then(|| {
        format!(
            "note: an estimated {} of wall time ({runs} run(s) of {} job(s), each ~{} of simulated \
             time). An estimate from the scenario, not a measurement.\n\
             note: the cost is the jobs: lower scenario.jobs, or run fewer --seeds or variants.\n",
            human_s(total_s),
            c.jobs,
            human_s(c.sim_ms as f64 / 1000.0),
        )
    })
}
