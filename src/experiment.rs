//! The library API for your own `cargo test`: load a scenario, override keys, pick seeds and
//! variants, run, read figures, assert expectations.

use std::path::Path;

use crate::names::Repro;
use crate::pipeline;
use crate::pipeline::Report;
use crate::scenario::{parse_override_from, Override, Scenario, ScenarioError};
use crate::scenario::{Expectation, FigureRef};
use crate::sim::{RunOutput, SimError};
use crate::verdict::Judged;

/// Everything the API can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("expectation {expr:?}: {message}")]
    Expectation { expr: String, message: String },
}

/// A scenario with overrides, seeds and variants, ready to run.
///
/// ```
/// use handshake_sim::Experiment;
///
/// let outcome = Experiment::from_toml(
///     r#"
///     [scenario]
///     jobs = 60
///     variants = ["sequential", "parallel"]
///     [object]
///     restart_probability = 1.0      # every upgrade meets a cold object
///     [client]
///     handshake_timeout_ms = 190
///     "#,
/// )?
/// .set("storage.read_ms", "{ uniform = [75, 100] }")?
/// .seeds([1, 2])
/// .run()?;
///
/// assert!(outcome.figure("sequential.failure_rate")? > 0.2);
/// outcome.assert_expect("parallel.failure_rate < 0.05");
/// outcome.assert_expect("parallel.p95_upgrade_ms <= 0.6 * sequential.p95_upgrade_ms");
/// # Ok::<(), handshake_sim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Experiment {
    origin: String,
    text: String,
    overrides: Vec<Override>,
    scenario: Scenario,
    seeds: Vec<u64>,
}

impl Experiment {
    /// Loads a scenario file (seeds: the scenario's `seed`; variants: its `variants`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Experiment, Error> {
        let path = path.as_ref();
        let text = crate::scenario::read_text(path)?;
        Experiment::new(path.display().to_string(), text)
    }

    /// Parses scenario text; every key left out takes its default.
    pub fn from_toml(text: &str) -> Result<Experiment, Error> {
        Experiment::new("<string>".into(), text.into())
    }

    fn new(origin: String, text: String) -> Result<Experiment, Error> {
        let scenario = Scenario::from_toml_str(&origin, &text, &[])?;
        Ok(Experiment {
            seeds: vec![scenario.scenario.seed],
            origin,
            text,
            overrides: Vec::new(),
            scenario,
        })
    }

    /// Overrides `key` (dotted) with a TOML value, as `--set key=value` does; re-checks.
    pub fn set(mut self, key: &str, value: &str) -> Result<Experiment, Error> {
        self.overrides.push(parse_override_from(
            "Experiment::set",
            &format!("{key}={value}"),
        )?);
        self.scenario = Scenario::from_toml_str(&self.origin, &self.text, &self.overrides)?;
        Ok(self)
    }

    /// The seeds to run; figures pool them.
    pub fn seeds(mut self, seeds: impl IntoIterator<Item = u64>) -> Experiment {
        self.seeds = seeds.into_iter().collect();
        self
    }

    /// The variants to run, the first being the baseline of paired deltas (sets
    /// `scenario.variants`).
    pub fn variants(self, variants: &[&str]) -> Result<Experiment, Error> {
        let list: Vec<String> = variants.iter().map(|v| format!("{v:?}")).collect();
        self.set("scenario.variants", &format!("[{}]", list.join(", ")))
    }

    /// The checked scenario as it will run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Runs every variant over every seed.
    pub fn run(&self) -> Result<Outcome, Error> {
        let variants = &self.scenario.scenario.variants;
        let (report, runs) = pipeline::run(&self.scenario, variants, &self.seeds)?;
        Ok(Outcome {
            report,
            runs,
            command: self.command(),
        })
    }

    fn command(&self) -> String {
        let sets: Vec<String> = self.overrides.iter().map(|o| o.arg.clone()).collect();
        Repro::run(&self.origin, self.seeds.first().copied().unwrap_or(1))
            .sets(&sets)
            .seeds(self.seeds.len())
            .into()
    }
}

/// The figures and records of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: Report,
    pub runs: Vec<RunOutput>,
    command: String,
}

impl Outcome {
    /// A figure as `variant.metric` (see [`crate::names::Figure`]), pooled over seeds.
    pub fn figure(&self, name: &str) -> Result<f64, Error> {
        FigureRef::parse(name.trim())
            .and_then(|f| f.value(&self.report.variants))
            .map_err(|message| Error::Expectation {
                expr: name.into(),
                message,
            })
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
        Expectation::parse(lhs, rhs)
            .map_err(bad)?
            .judge(&self.report.variants)
            .map_err(bad)
    }

    /// Panics, with the figures and the command that reproduces the run, unless `expr` holds.
    #[track_caller]
    pub fn assert_expect(&self, expr: &str) {
        match self.expect(expr) {
            Ok(j) if j.holds => {}
            Ok(j) => panic!(
                "expectation failed: {expr}\n  actual {} vs bound {}\n  reproduce: {}",
                j.actual, j.bound, self.command
            ),
            Err(e) => panic!("{e}\n  reproduce: {}", self.command),
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
}
