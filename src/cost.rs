//! What runs will cost in wall time, estimated before they start from the scenario alone, so
//! `run` and `sweep` can say so when it is large (and `sweep` can refuse an absurd grid).
//!
//! Two costs dominate: each simulated job (its HTTP and WebSocket bytes through the pipes),
//! and each tick of simulated time, idle or not (turmoil steps the clock tick by tick). The
//! figures below were measured with the release binary on one core of the development
//! machine; a run elsewhere may take half or twice as long, which is why every message
//! calls the result an estimate.

use crate::scenario::{Dist, Scenario};

/// Wall time of one simulated job, one variant, in seconds: `run sims/issue407.toml --set
/// scenario.jobs=20000 --variant parallel` took 5.75 s (0.29 ms a job).
pub const JOB_COST_S: f64 = 0.3e-3;
/// Wall time of one tick of simulated time, in seconds: one job idling an hour of simulated
/// time at `tick_ms = 1` took 8.5 s (2.4 µs a tick; 0.84 s at `tick_ms = 10`).
pub const TICK_COST_S: f64 = 2.5e-6;
/// Runs estimated to take longer than this (wall time, one core) are announced on stderr.
pub const ANNOUNCE_S: f64 = 30.0;
/// Runs whose hard stop alone could take longer than this are announced too.
pub const HARD_STOP_ANNOUNCE_S: f64 = 600.0;

/// The estimated cost of one run (one variant, one seed) of a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunCost {
    pub jobs: u64,
    /// Simulated time the run is expected to take, ms: waves of `concurrency` jobs, each the
    /// mean of its latencies and books, never past `duration_s_max`.
    pub sim_ms: u64,
    /// The hard stop, `scenario.duration_s_max`, in ms.
    pub sim_ms_max: u64,
    pub tick_ms: u64,
}

impl RunCost {
    /// Estimates one run of `s`.
    pub fn of(s: &Scenario) -> RunCost {
        let m = &s.scenario;
        let jobs = u64::from(m.jobs);
        let waves = jobs.div_ceil(u64::from(m.concurrency.max(1)));
        let sim_ms_max = m.duration_s_max.saturating_mul(1000);
        let sim_ms = ((waves as f64) * job_ms(s)).min(sim_ms_max as f64) as u64;
        RunCost {
            jobs,
            sim_ms,
            sim_ms_max,
            tick_ms: m.tick_ms.max(1),
        }
    }

    /// Estimated wall time of the jobs, s.
    pub fn jobs_s(&self) -> f64 {
        self.jobs as f64 * JOB_COST_S
    }

    /// Estimated wall time of stepping the simulated clock, s.
    pub fn ticks_s(&self) -> f64 {
        (self.sim_ms / self.tick_ms) as f64 * TICK_COST_S
    }

    /// Estimated wall time of the run, s.
    pub fn wall_s(&self) -> f64 {
        self.jobs_s() + self.ticks_s()
    }

    /// Wall time if the run goes on to the hard stop, s.
    pub fn wall_s_max(&self) -> f64 {
        self.jobs_s() + (self.sim_ms_max / self.tick_ms) as f64 * TICK_COST_S
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
    let total_s_max = c.wall_s_max() * runs as f64;
    if total_s <= ANNOUNCE_S {
        // Cheap as expected, but a job that never finishes holds the run to the hard stop.
        return (total_s_max > HARD_STOP_ANNOUNCE_S).then(|| {
            format!(
                "note: if a job does not finish, each run goes on to scenario.duration_s_max ({} of \
                 simulated time): up to ~{} of wall time in all (an estimate); lower it to bound that.\n",
                human_s(c.sim_ms_max as f64 / 1000.0),
                human_s(total_s_max)
            )
        });
    }
    let mut text = format!(
        "note: an estimated {} of wall time ({runs} run(s) of {} job(s), each ~{} of simulated time at tick {} ms; \
         scenario.duration_s_max stops each at {}, ~{} in all). An estimate from the scenario, not a measurement.\n",
        human_s(total_s),
        c.jobs,
        human_s(c.sim_ms as f64 / 1000.0),
        c.tick_ms,
        human_s(c.sim_ms_max as f64 / 1000.0),
        human_s(c.wall_s_max() * runs as f64),
    );
    text.push_str(&hint(&c));
    Some(text)
}

/// How to make a run cheaper: whichever of its two costs dominates.
pub fn hint(c: &RunCost) -> String {
    if c.ticks_s() > c.jobs_s() {
        "note: most of it is simulated time (each tick costs wall time, idle or not): raise \
         scenario.tick_ms, lower scenario.duration_s_max, or shorten enrichment.book_ms and the \
         client's timeouts.\n"
            .to_string()
    } else {
        "note: most of it is the jobs: lower scenario.jobs, or run fewer --seeds or variants.\n"
            .to_string()
    }
}
