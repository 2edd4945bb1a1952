//! `replay`'s report: one job's outcome and its timeline in simulated milliseconds.

use std::fmt::Write as _;

use crate::record::JobRecord;
use crate::replay::Step;

/// Which run a timeline comes from.
pub struct Replayed<'a> {
    /// The scenario file, as given.
    pub scenario: &'a str,
    pub variant: &'a str,
    pub seed: u64,
    pub job: u64,
}

/// The heading and one line per step.
pub fn timeline(of: &Replayed, record: &JobRecord, steps: &[Step]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "replay {} — variant {}, seed {}, job {} (job-{}): {} after {} attempt(s)",
        of.scenario,
        of.variant,
        of.seed,
        of.job,
        of.job,
        record.outcome.map_or("none", |o| o.name()),
        record.attempts
    );
    let _ = writeln!(s, "{:>8}  {:<8} event", "t_ms", "host");
    for step in steps {
        let fields: Vec<String> = step
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            s,
            "{:>8}  {:<8} {} {}",
            step.t_ms,
            step.host,
            step.message,
            fields.join(" ")
        );
    }
    s
}
