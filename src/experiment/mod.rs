//! The library API for your own `cargo test`: load a scenario (a file, text, or one of the
//! bundled `sims/`), override keys, pick seeds and variants (your own among them), run, read
//! figures, assert expectations. Seeds and a determinism check may come from the
//! environment (`env.rs`).

mod env;
mod error;
mod results;

use std::path::Path;
use std::sync::Arc;

pub use error::Error;
pub use results::Results;

use crate::names::{Repro, VariantId};
use crate::pipeline;
use crate::scenario::{self, parse_override_from, Override, Scenario};
use crate::server::variant::{self, Handshake, Variant};
use crate::sim::RunOutput;
use env::EnvSettings;

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
    /// Names the scenario in errors: a path, `sims/NAME.toml` when bundled, `<string>`.
    origin: String,
    /// Whether `origin` is a file `handshake-sim run` can load.
    is_file: bool,
    text: String,
    overrides: Vec<Override>,
    /// The checked scenario; its `variants` are the run list, users' variants included.
    scenario: Scenario,
    seeds: Vec<u64>,
    /// Users' variants, in the order they were added.
    own: Vec<Variant>,
    check_determinism: bool,
}

impl Experiment {
    /// Loads a scenario file (seeds: the scenario's `seed`; variants: its `variants`). A
    /// relative path is relative to the running test's crate; [`Experiment::bundled`] loads
    /// this crate's own `sims/` from anywhere.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Experiment, Error> {
        let path = path.as_ref();
        let text = scenario::read_text(path)?;
        Experiment::new(path.display().to_string(), true, text)
    }

    /// Parses scenario text; every key left out takes its default.
    pub fn from_toml(text: &str) -> Result<Experiment, Error> {
        Experiment::new("<string>".into(), false, text.into())
    }

    /// One of the scenarios of this repository's `sims/`, compiled into the crate, by name
    /// (`"issue407"`, ...; [`Experiment::bundled_names`]). An unknown name is an error that
    /// lists them.
    pub fn bundled(name: &str) -> Result<Experiment, Error> {
        let b = scenario::bundled(name)?;
        Experiment::new(b.path.into(), true, b.text.into())
    }

    /// The names [`Experiment::bundled`] knows.
    pub fn bundled_names() -> impl Iterator<Item = &'static str> {
        scenario::BUNDLED.iter().map(|b| b.name)
    }

    fn new(origin: String, is_file: bool, text: String) -> Result<Experiment, Error> {
        let scenario = Scenario::from_toml_str(&origin, &text, &[])?;
        Ok(Experiment {
            seeds: vec![scenario.scenario.seed],
            origin,
            is_file,
            text,
            overrides: Vec::new(),
            scenario,
            own: Vec::new(),
            check_determinism: false,
        })
    }

    /// Overrides `key` (dotted) with a TOML value, as `--set key=value` does; re-checks.
    /// Setting `scenario.variants` replaces the run list (users' variants stay, last).
    pub fn set(mut self, key: &str, value: &str) -> Result<Experiment, Error> {
        self.overrides.push(parse_override_from(
            "Experiment::set",
            &format!("{key}={value}"),
        )?);
        let run_list = self.scenario.scenario.variants.clone();
        self.scenario = Scenario::from_toml_str(&self.origin, &self.text, &self.overrides)?;
        let variants = &mut self.scenario.scenario.variants;
        if key.trim() == "scenario.variants" {
            variants.extend(self.own.iter().map(Variant::id));
        } else {
            *variants = run_list;
        }
        Ok(self)
    }

    /// The seeds to run; figures pool them. `HANDSHAKE_SIM_SEED` / `HANDSHAKE_SIM_SEEDS`
    /// take precedence (docs/library-guide.md, "Using handshake-sim from your own tests").
    pub fn seeds(mut self, seeds: impl IntoIterator<Item = u64>) -> Experiment {
        self.seeds = seeds.into_iter().collect();
        self
    }

    /// The variants to run, built-in or added with [`Experiment::with_variant`], the first
    /// being the baseline of paired deltas.
    pub fn variants(mut self, names: &[&str]) -> Result<Experiment, Error> {
        let own: Vec<VariantId> = self.own.iter().map(Variant::id).collect();
        let mut list = Vec::with_capacity(names.len());
        for &name in names {
            let id = VariantId::parse_among(name, &own).map_err(|message| Error::Variant {
                name: name.into(),
                message: format!("{message} (add your own with Experiment::with_variant first)"),
            })?;
            if list.contains(&id) {
                return Err(Error::Variant {
                    name: name.into(),
                    message: "listed twice".into(),
                });
            }
            list.push(id);
        }
        if list.is_empty() {
            return Err(Error::Variant {
                name: String::new(),
                message: "at least one variant must run".into(),
            });
        }
        self.scenario.scenario.variants = list;
        Ok(self)
    }

    /// Adds your own handshake and runs it after the variants listed so far, with the same
    /// scenario and seeds, so it meets the same draws (common random numbers). Its name must
    /// not be a built-in variant's or one added before.
    pub fn with_variant(
        mut self,
        handshake: impl Handshake + 'static,
    ) -> Result<Experiment, Error> {
        let name = handshake.name().to_string();
        let bad = |message: String| Error::Variant {
            name: name.clone(),
            message,
        };
        let v = Variant::own(Arc::new(handshake)).map_err(bad)?;
        if self.own.iter().any(|o| o.id() == v.id()) {
            return Err(bad("added twice: each variant needs its own name".into()));
        }
        self.scenario.scenario.variants.push(v.id());
        self.own.push(v);
        Ok(self)
    }

    /// Runs every variant and seed twice and fails on the first difference in their records
    /// (also `HANDSHAKE_SIM_CHECK_DETERMINISM=1`). Doubles the run's cost.
    pub fn check_determinism(mut self, on: bool) -> Experiment {
        self.check_determinism = on;
        self
    }

    /// The checked scenario as it will run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Runs every variant over every seed (the environment's seeds, when it names them).
    pub fn run(&self) -> Result<Results, Error> {
        let env = EnvSettings::read()?;
        let seeds = env.seeds(&self.seeds);
        if seeds.is_empty() {
            return Err(Error::Seeds {
                message: "no seed to run: give at least one".into(),
            });
        }
        let check = env.check_determinism.unwrap_or(self.check_determinism);
        let variants = self.implementations()?;
        let (report, runs) = pipeline::run_variants(&self.scenario, &variants, &seeds)?;
        if check {
            let (_, again) = pipeline::run_variants(&self.scenario, &variants, &seeds)?;
            self.compare(&runs, &again)?;
        }
        Ok(Results {
            report,
            runs,
            own: self.own.iter().map(Variant::id).collect(),
            reproduce: self.reproduce(&seeds, false),
            determinism_checked: check,
        })
    }

    fn implementations(&self) -> Result<Vec<Variant>, Error> {
        let list = &self.scenario.scenario.variants;
        list.iter()
            .map(|&id| {
                variant::builtin(id)
                    .or_else(|| self.own.iter().find(|o| o.id() == id).cloned())
                    .ok_or_else(|| Error::Variant {
                        name: id.name().into(),
                        message: "not added to this experiment".into(),
                    })
            })
            .collect()
    }

    /// The determinism check: the same runs done twice must give equal records. (Records,
    /// not `replay`'s traces: `tracing`'s callsite cache is process-wide, so another test's
    /// thread can make a trace drop an event.)
    fn compare(&self, first: &[RunOutput], second: &[RunOutput]) -> Result<(), Error> {
        for (a, b) in first.iter().zip(second) {
            let job = a.records.iter().zip(&b.records).find(|(x, y)| x != y);
            let detail = match job {
                Some((x, y)) => format!(
                    "two runs' records differ at job {}:\n    first  {}\n    second {}",
                    x.job,
                    serde_json::to_string(x).unwrap_or_default(),
                    serde_json::to_string(y).unwrap_or_default()
                ),
                None if a.records.len() != b.records.len() || a.faults != b.faults => {
                    "two runs differ in their jobs or faults".into()
                }
                None if a.sim_ms != b.sim_ms => format!(
                    "two runs ended at different simulated times ({} and {} ms)",
                    a.sim_ms, b.sim_ms
                ),
                None => continue,
            };
            return Err(Error::Nondeterministic {
                variant: a.variant.clone(),
                seed: a.seed,
                detail,
                reproduce: self.reproduce(&[a.seed], true).join("\n  or: "),
            });
        }
        Ok(())
    }

    /// The commands that repeat a run of `seeds`: the running test's `cargo test` (when a
    /// test harness named this thread), then `handshake-sim run` (a file, built-in variants).
    fn reproduce(&self, seeds: &[u64], check_determinism: bool) -> Vec<String> {
        let mut commands = Vec::new();
        let thread = std::thread::current();
        if let Some(test) = thread.name().filter(|n| *n != "main") {
            commands.push(Repro::cargo_test(test, seeds, check_determinism).into());
        }
        if self.is_file && self.own.is_empty() {
            let sets: Vec<String> = self.overrides.iter().map(|o| o.arg.clone()).collect();
            let mut cli = Repro::run(&self.origin, seeds.first().copied().unwrap_or(1))
                .sets(&sets)
                .seeds(seeds.len());
            if self.scenario.scenario.variants != self.file_variants() {
                cli = cli.variants(self.scenario.scenario.variants.iter());
            }
            commands.push(cli.into());
        }
        commands
    }

    /// The run list the file and the overrides give, without [`Experiment::variants`].
    fn file_variants(&self) -> Vec<VariantId> {
        Scenario::from_toml_str(&self.origin, &self.text, &self.overrides)
            .map(|s| s.scenario.variants)
            .unwrap_or_default()
    }
}
