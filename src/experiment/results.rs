//! A finished run as a test reads it: figures by name, expectations judged, assertions that
//! panic with the command that repeats the run.

use std::fmt::Write as _;

use super::Error;
use crate::names::VariantId;
use crate::pipeline::Report;
use crate::scenario::{Expectation, FigureRef};
use crate::sim::RunOutput;
use crate::verdict::Judged;

/// The figures and records of a run.
#[derive(Debug, Clone)]
pub struct Results {
    pub report: Report,
    pub runs: Vec<RunOutput>,
    pub(super) own: Vec<VariantId>,
    pub(super) reproduce: Vec<String>,
    pub(super) determinism_checked: bool,
}

impl Results {
    /// A figure as `variant.metric` (see [`crate::names::Figure`]), pooled over seeds; the
    /// error names the unknown part and the closest known name.
    pub fn figure(&self, name: &str) -> Result<f64, Error> {
        let bad = |message: String| Error::Figure {
            name: name.into(),
            message,
        };
        FigureRef::parse_among(name.trim(), &self.own)
            .map_err(bad)?
            .value(&self.report.variants)
            .map_err(|e| bad(e.to_string()))
    }

    /// Judges `"variant.metric OP TERM"`, e.g. `"parallel.failure_rate < 0.05"`.
    pub fn expect(&self, expr: &str) -> Result<Judged, Error> {
        let bad = |message: String| Error::Expectation {
            expr: expr.into(),
            message,
        };
        let (lhs, rhs) = expr
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad("expected \"variant.metric OP TERM\"".into()))?;
        Expectation::parse_among(lhs, rhs, &self.own)
            .map_err(bad)?
            .judge(&self.report.variants)
            .map_err(|e| bad(e.to_string()))
    }

    /// Panics, with the figures and the commands that repeat the run, unless `expr` holds.
    #[track_caller]
    pub fn assert_expect(&self, expr: &str) {
        match self.expect(expr) {
            Ok(j) if j.holds => {}
            Ok(j) => panic!(
                "expectation failed: {expr}\n  actual {} vs bound {}{}",
                j.actual,
                j.bound,
                self.reproduce_lines()
            ),
            Err(e) => panic!("{e}{}", self.reproduce_lines()),
        }
    }

    /// Judges the scenario's own `[expect]` lines; one naming a figure the run lacks fails.
    pub fn expectations(&self) -> Vec<Judged> {
        self.report
            .scenario
            .expectations()
            .iter()
            .map(|e| {
                e.judge(&self.report.variants).unwrap_or_else(|_| Judged {
                    expectation: e.to_string(),
                    variant: e.judged_variant().to_string(),
                    actual: f64::NAN,
                    bound: f64::NAN,
                    holds: false,
                })
            })
            .collect()
    }

    /// Panics, listing each failed one and the commands that repeat the run, unless every
    /// `[expect]` line of the scenario holds.
    #[track_caller]
    pub fn assert_expectations(&self) {
        let mut failed = Vec::new();
        for e in self.report.scenario.expectations() {
            match e.judge(&self.report.variants) {
                Ok(j) if j.holds => {}
                Ok(j) => failed.push(format!("{e}: actual {} vs bound {}", j.actual, j.bound)),
                Err(why) => failed.push(format!("{e}: {why}")),
            }
        }
        if failed.is_empty() {
            return;
        }
        let mut message = format!("{} expectation(s) of the scenario failed:", failed.len());
        for f in &failed {
            let _ = write!(message, "\n  {f}");
        }
        panic!("{message}{}", self.reproduce_lines());
    }

    /// The commands that repeat this run: the `cargo test` one with its seeds in the
    /// environment, then the command line's when the scenario is a file the CLI can run.
    pub fn reproduce(&self) -> &[String] {
        &self.reproduce
    }

    /// Whether every variant and seed was run twice and compared (the determinism check).
    pub fn determinism_checked(&self) -> bool {
        self.determinism_checked
    }

    fn reproduce_lines(&self) -> String {
        let mut lines = String::new();
        for (i, command) in self.reproduce.iter().enumerate() {
            let label = if i == 0 { "reproduce" } else { "or" };
            let _ = write!(lines, "\n  {label}: {command}");
        }
        lines
    }
}
