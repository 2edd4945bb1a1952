//! The pre-deploy check: runs scenarios over seeds, judges their SLOs and expectations per
//! seed, and says which checks failed with the command that reproduces each.

use serde::Serialize;

use super::slo::{self, Verdict};
use crate::pipeline;
use crate::scenario::Scenario;
use crate::sim::SimError;

/// What a check row judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// An `[slo]` threshold of a variant.
    Slo,
    /// An `[expect]` line.
    Expect,
}

impl std::fmt::Display for CheckKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckKind::Slo => "slo",
            CheckKind::Expect => "expect",
        })
    }
}

/// How a check's values read: as `run` prints its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    /// A share of jobs: `34.0%`.
    Share,
    /// Milliseconds: `98 ms`.
    Ms,
    /// A count or a plain number.
    #[default]
    Plain,
}

impl Unit {
    /// The unit of the figure named `name` (`failure_rate`, `p95_upgrade_ms`, `safety_violations`).
    pub fn of_name(name: &str) -> Unit {
        if name.ends_with("_rate")
            || name.ends_with("_rate_ci95_low")
            || name.ends_with("_rate_ci95_high")
        {
            Unit::Share
        } else if name.ends_with("_ms") {
            Unit::Ms
        } else {
            Unit::Plain
        }
    }
}

/// One check (an SLO of a variant, or an expectation) of one scenario, over every seed.
/// The file and scenario it comes from, the variant and check it judges.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CheckRow {
    pub file: String,
    pub scenario: String,
    pub variant: String,
    pub kind: CheckKind,
    pub check: String,
    /// Per seed: value, bound and verdict.
    pub seeds: Vec<SeedResult>,
    /// The warning threshold of an SLO.
    pub warning: Option<f64>,
    /// The worst verdict over the seeds.
    pub verdict: Verdict,
    /// How its values read in the table (the JSON keeps plain numbers).
    #[serde(skip)]
    pub unit: Unit,
}

/// One seed's judgement of a check.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SeedResult {
    pub seed: u64,
    /// The figure on this seed; `null` when the seed had none (no upgrade reached the object).
    #[schemars(with = "Option<f64>")]
    pub value: f64,
    /// The critical threshold of an SLO, the bound of an expectation (`null` when the bound
    /// names a figure the seed did not have).
    #[schemars(with = "Option<f64>")]
    pub bound: f64,
    pub verdict: Verdict,
}

impl CheckRow {
    /// Whether this check fails the check: a critical SLO or an expectation that did not hold.
    pub fn fails(&self) -> bool {
        self.verdict == Verdict::Critical
    }

    /// Verdict as the tables print it.
    pub fn verdict_text(&self) -> &'static str {
        match (self.kind, self.verdict) {
            (CheckKind::Expect, Verdict::Ok) => "holds",
            (CheckKind::Expect, _) => "FAILED",
            (_, Verdict::Critical) => "CRITICAL",
            (_, v) => v.name(),
        }
    }

    pub fn failing_seeds(&self) -> Vec<u64> {
        self.seeds
            .iter()
            .filter(|s| s.verdict == Verdict::Critical)
            .map(|s| s.seed)
            .collect()
    }
}

/// (failed checks, SLO warnings) of `check`'s rows.
pub fn tally(rows: &[CheckRow]) -> (usize, usize) {
    let failed = rows.iter().filter(|r| r.fails()).count();
    let warnings = rows
        .iter()
        .filter(|r| r.kind == CheckKind::Slo && r.verdict == super::Verdict::Warning)
        .count();
    (failed, warnings)
}

/// Runs `scenario` (loaded from `file`) over `seeds` and judges every SLO and expectation.
pub fn check_scenario(
    file: &str,
    scenario: &Scenario,
    seeds: &[u64],
) -> Result<Vec<CheckRow>, SimError> {
    check_scenario_with(file, scenario, seeds, &|| {})
}

/// [`check_scenario`], telling `progress` after each finished run (variant × seed).
pub fn check_scenario_with(
    file: &str,
    scenario: &Scenario,
    seeds: &[u64],
    progress: &dyn Fn(),
) -> Result<Vec<CheckRow>, SimError> {
    let variants = &scenario.scenario.variants;
    let mut rows = Rows {
        file,
        scenario: &scenario.scenario.name,
        rows: Vec::new(),
    };
    for &seed in seeds {
        let (report, _) = pipeline::run_with_progress(scenario, variants, &[seed], progress)?;
        let summaries = report.variants;
        for j in slo::judge(&scenario.slo, &summaries) {
            let result = SeedResult {
                seed,
                value: j.value,
                bound: j.critical,
                verdict: j.verdict,
            };
            let check = j.slo.to_string();
            let unit = Unit::of_name(j.slo);
            rows.add(
                &j.variant,
                (CheckKind::Slo, unit),
                check,
                Some(j.warning),
                result,
            );
        }
        for e in scenario.expectations() {
            // A figure that does not exist in this run (a delta of the baseline, a latency
            // of no job) cannot hold: the expectation fails with NaN.
            let (value, bound, holds) = match e.judge(&summaries) {
                Ok(j) => (j.actual, j.bound, j.holds),
                Err(_) => (f64::NAN, e.constant_bound().unwrap_or(f64::NAN), false),
            };
            let verdict = if holds {
                Verdict::Ok
            } else {
                Verdict::Critical
            };
            let result = SeedResult {
                seed,
                value,
                bound,
                verdict,
            };
            let variant = e.judged_variant().name();
            let unit = Unit::of_name(&e.lhs.figure.to_string());
            rows.add(
                variant,
                (CheckKind::Expect, unit),
                e.to_string(),
                None,
                result,
            );
        }
    }
    Ok(rows.rows)
}

/// The rows of one scenario: one per (variant, kind, check), each gathering its seeds.
struct Rows<'a> {
    file: &'a str,
    scenario: &'a str,
    rows: Vec<CheckRow>,
}

impl Rows<'_> {
    /// Adds one seed's result to its row (a new row for a new check); the row's verdict is
    /// the worst of its seeds.
    fn add(
        &mut self,
        variant: &str,
        (kind, unit): (CheckKind, Unit),
        check: String,
        warning: Option<f64>,
        result: SeedResult,
    ) {
        let existing = self
            .rows
            .iter_mut()
            .find(|r| r.variant == variant && r.kind == kind && r.check == check);
        match existing {
            Some(r) => {
                r.verdict = r.verdict.max(result.verdict);
                r.seeds.push(result);
            }
            None => self.rows.push(CheckRow {
                file: self.file.to_string(),
                scenario: self.scenario.to_string(),
                variant: variant.to_string(),
                kind,
                check,
                warning,
                verdict: result.verdict,
                seeds: vec![result],
                unit,
            }),
        }
    }
}
