//! What `run` prints: its determinism check, the table with its seeds, and the commands that
//! reproduce the run and replay its worst job.

use std::fmt::Write as _;

use super::Report;
use crate::names::{Repro, VariantId};
use crate::replay::{DeterminismCheck, Divergence, JobRef};

/// How a run was asked for, as far as reproducing it goes.
pub struct RunCommand<'a> {
    /// The scenario file, as given.
    pub scenario: &'a str,
    pub sets: &'a [String],
    /// `--jobs`, when given.
    pub jobs: Option<u32>,
}

impl RunCommand<'_> {
    /// The command that reruns exactly `seeds` seeds from `seed` of `variants`.
    pub fn reproduce(&self, variants: &[VariantId], seed: u64, seeds: u64) -> String {
        Repro::run(self.scenario, seed)
            .sets(self.sets)
            .seeds(seeds as usize)
            .variants(variants)
            .jobs(self.jobs)
            .into()
    }

    /// The command that replays `job`.
    pub fn replay(&self, job: &JobRef) -> String {
        Repro::replay(self.scenario, job.seed, job.job, &job.variant)
            .sets(self.sets)
            .jobs(self.jobs)
            .into()
    }
}

/// The line of a run-twice check that found both runs the same.
pub fn determinism_held(variant: &str, seed: u64, c: &DeterminismCheck) -> String {
    format!(
        "determinism {variant} seed {seed}: run twice, {} events, trace hash {} both times",
        c.events, c.hash
    )
}

/// The error of a run-twice check that found the runs differ; `reproduce` reruns the one
/// variant and seed.
pub fn determinism_broken(
    variant: &str,
    seed: u64,
    c: &DeterminismCheck,
    d: &Divergence,
    reproduce: &str,
) -> String {
    format!(
        "determinism {variant} seed {seed}: the two runs differ at event {} (records {}):\n  first:  {:?}\n  second: {:?}\nreproduce: {reproduce} --check-determinism",
        d.index,
        if c.records_equal { "equal" } else { "differ too" },
        d.first,
        d.second,
    )
}

/// The terminal report of a run: heading, table, seeds, the reproduce command and (when the
/// run had a job) the command that replays its worst job.
pub fn run_text(report: &Report, reproduce: &str, worst_job: Option<&str>) -> String {
    let s = &report.scenario.scenario;
    let seeds = &report.seeds;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "scenario {} — {} job(s) × {} seed(s), concurrency {}",
        s.name,
        s.jobs,
        seeds.len(),
        s.concurrency
    );
    t.push_str(&super::table(report));
    let seed_text = if seeds.len() == 1 {
        format!("seed {}", seeds[0])
    } else {
        format!("seeds {}..={}", seeds[0], seeds[seeds.len() - 1])
    };
    let _ = writeln!(t, "\n{seed_text}");
    let _ = writeln!(t, "reproduce: {reproduce}");
    if let Some(cmd) = worst_job {
        let _ = writeln!(t, "worst job: {cmd}");
    }
    t
}
