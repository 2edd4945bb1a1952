//! Parameter sweeps: a grid (or a random swarm) of scenario overrides × variants × seeds, each
//! an independent deterministic run, run in parallel with rayon. Output does not depend on the
//! thread count: runs are collected in grid order. Shards split the points; `merge` joins them.

mod merge;

pub use merge::{merge, seed_rows_of, Part, PlannedRow};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::draw::{Draws, Purpose};
use crate::metrics::{self, VariantSummary};
use crate::names::{Repro, VariantId};
use crate::scenario::{parse_override_from, Override, Scenario, ScenarioError};
use crate::server::variant;
use crate::sim::{self, RunOutput};

/// Most grid points one sweep may have, and most runs (points × variants × seeds).
pub const POINTS_MAX: usize = 100_000;
/// Most swept keys: each is an override of every point's scenario, which takes at most 256
/// (`--set`s included).
pub const PARAMS_MAX: usize = 256;
pub const RUNS_MAX: usize = 2_000_000;

/// One `--param KEY=SPEC` as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub key: String,
    pub spec: String,
    /// The values, as TOML text, in grid order (empty for a swarm range).
    pub values: Vec<String>,
    /// For a swarm: the range drawn from.
    pub range: Option<(f64, f64, bool)>,
}

/// What was swept, enough to rerun or merge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepDef {
    pub scenario_file: String,
    pub sets: Vec<String>,
    pub params: Vec<ParamSpec>,
    pub variants: Vec<VariantId>,
    pub seeds: Vec<u64>,
    /// `--swarm N`: N random points drawn from the params' ranges with this seed.
    pub swarm: Option<u32>,
    pub swarm_seed: u64,
}

/// A failed run inside a sweep (the sweep goes on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRun {
    pub point: usize,
    pub variant: String,
    pub seed: u64,
    pub message: String,
    /// The `run` command that repeats this run alone.
    #[serde(default)]
    pub command: String,
}

/// The figures of one grid point, pooled over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub point: usize,
    /// (key, TOML value) in `--param` order.
    pub params: Vec<(String, String)>,
    pub variants: Vec<VariantSummary>,
}

/// A whole sweep, or one shard of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    pub tool: String,
    pub version: String,
    pub definition: SweepDef,
    /// The scenario with `--set` applied and no sweep parameter, resolved.
    pub base: Scenario,
    /// `[k, n]` for the k-th of n shards (1-based); absent for a whole sweep.
    pub shard: Option<(u32, u32)>,
    pub points: Vec<PointResult>,
    pub failed_runs: Vec<FailedRun>,
}

/// Why a sweep could not start or merge.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("--param {:?}: {message}", crate::scenario::clip(.arg))]
    Param { arg: String, message: String },
    #[error("{0}")]
    Usage(String),
    /// Writing the per-seed figures failed.
    #[error("{0}")]
    Output(String),
}

impl crate::failure::BadInput for SweepError {
    /// A sweep's definition, parameters and shards are input; writing its files is not.
    fn is_bad_input(&self) -> bool {
        !matches!(self, SweepError::Output(_))
    }
}

fn param_err(arg: &str, message: impl Into<String>) -> SweepError {
    SweepError::Param {
        arg: arg.into(),
        message: message.into(),
    }
}

/// A `--param` whose value did not parse as an override: its message, under the `--param`.
fn inner(arg: &str, e: ScenarioError) -> SweepError {
    match e {
        ScenarioError::Override { message, .. } => param_err(arg, message),
        other => param_err(arg, other.to_string()),
    }
}

/// `A..B:S` → A, A+S, … ≤ B; integers when all three are.
fn parse_range(arg: &str, spec: &str) -> Result<Option<Vec<String>>, SweepError> {
    let Some((ab, step)) = spec.split_once(':') else {
        if !spec.starts_with('[') && !spec.contains(',') && spec.contains("..") {
            return Err(param_err(
                arg,
                format!(
                    "{spec:?} is a range without a step; a grid range is LOW..HIGH:STEP \
                     (e.g. 200..300:25 = 200,225,250,275,300: both ends included when hit), \
                     or list the values (200,250,300); LOW..HIGH alone is for --swarm N, \
                     which draws N random points in it"
                ),
            ));
        }
        return Ok(None);
    };
    let Some((a, b)) = ab.split_once("..") else {
        return Ok(None);
    };
    let (a, b, step) = (a.trim(), b.trim(), step.trim());
    if let (Ok(a), Ok(b), Ok(step)) = (a.parse::<i64>(), b.parse::<i64>(), step.parse::<i64>()) {
        if step <= 0 || a > b {
            return Err(param_err(arg, "a range needs LOW <= HIGH and a step > 0"));
        }
        let too_many = || param_err(arg, format!("more than {POINTS_MAX} values"));
        let n = b
            .checked_sub(a)
            .map(|d| d / step)
            .and_then(|d| usize::try_from(d).ok())
            .and_then(|d| d.checked_add(1))
            .ok_or_else(too_many)?;
        if n > POINTS_MAX {
            return Err(param_err(
                arg,
                format!("{n} values exceed the limit of {POINTS_MAX}"),
            ));
        }
        return Ok(Some(
            (0..n as i64).map(|i| (a + i * step).to_string()).collect(),
        ));
    }
    let num = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| param_err(arg, format!("{s:?} is not a number")))
    };
    let (a, b, step) = (num(a)?, num(b)?, num(step)?);
    if step <= 0.0 || a > b {
        return Err(param_err(arg, "a range needs LOW <= HIGH and a step > 0"));
    }
    let count = ((b - a) / step + 1e-9).floor() + 1.0;
    if !count.is_finite() || count > POINTS_MAX as f64 {
        return Err(param_err(arg, format!("more than {POINTS_MAX} values")));
    }
    let n = count as usize;
    if n > POINTS_MAX {
        return Err(param_err(
            arg,
            format!("{n} values exceed the limit of {POINTS_MAX}"),
        ));
    }
    Ok(Some(
        (0..n)
            .map(|i| {
                let v = ((a + i as f64 * step) * 1e9).round() / 1e9;
                let s = format!("{v}");
                if s.contains('.') || s.contains('e') {
                    s
                } else {
                    format!("{s}.0")
                }
            })
            .collect(),
    ))
}

impl ParamSpec {
    /// Parses `KEY=SPEC` for a grid: a list `a,b,c`, a TOML array `[..]`, or `LOW..HIGH:STEP`.
    pub fn grid(arg: &str) -> Result<ParamSpec, SweepError> {
        let (key, spec) = arg
            .split_once('=')
            .ok_or_else(|| param_err(arg, "expected KEY=SPEC"))?;
        let (key, spec) = (key.trim().to_string(), spec.trim().to_string());
        let values = if let Some(v) = parse_range(arg, &spec)? {
            v
        } else if spec.starts_with('[') {
            let t: toml::Table = toml::from_str(&format!("v = {spec}"))
                .map_err(|e| param_err(arg, format!("not a TOML array: {}", e.message())))?;
            match t.get("v") {
                Some(toml::Value::Array(a)) => a.iter().map(render).collect(),
                _ => return Err(param_err(arg, "not a TOML array")),
            }
        } else {
            spec.split(',').map(|s| s.trim().to_string()).collect()
        };
        if values.is_empty() || values.iter().any(|v| v.is_empty()) {
            return Err(param_err(arg, "needs at least one non-empty value"));
        }
        // Each value must be an override the loader accepts (checked fully per point later).
        for v in &values {
            parse_override_from("--param", &format!("{key}={v}")).map_err(|e| inner(arg, e))?;
        }
        Ok(ParamSpec {
            key,
            spec,
            values,
            range: None,
        })
    }

    /// Parses `KEY=LOW..HIGH` for a swarm (integers when both ends are).
    pub fn swarm(arg: &str) -> Result<ParamSpec, SweepError> {
        let (key, spec) = arg
            .split_once('=')
            .ok_or_else(|| param_err(arg, "expected KEY=LOW..HIGH"))?;
        let (lo, hi) = spec
            .trim()
            .split_once("..")
            .ok_or_else(|| param_err(arg, "a swarm parameter is LOW..HIGH"))?;
        let int = lo.trim().parse::<i64>().is_ok() && hi.trim().parse::<i64>().is_ok();
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| param_err(arg, format!("{s:?} is not a number")))
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if lo > hi {
            return Err(param_err(arg, "LOW > HIGH"));
        }
        // The key must be one the loader accepts (its depth and length are capped).
        parse_override_from("--param", &format!("{}=0", key.trim())).map_err(|e| inner(arg, e))?;
        Ok(ParamSpec {
            key: key.trim().into(),
            spec: spec.trim().into(),
            values: Vec::new(),
            range: Some((lo, hi, int)),
        })
    }
}

/// Refuses a key swept twice (the same dotted path, however quoted): its CSV columns would
/// repeat and only the last value would reach the scenario.
pub fn check_distinct(params: &[ParamSpec]) -> Result<(), SweepError> {
    if params.len() > PARAMS_MAX {
        return Err(SweepError::Usage(format!(
            "{} --param keys; at most {PARAMS_MAX}",
            params.len()
        )));
    }
    let mut seen: Vec<Vec<String>> = Vec::with_capacity(params.len());
    for p in params {
        let path = parse_override_from("--param", &format!("{}=0", p.key))
            .map_err(|e| inner(&p.key, e))?
            .path;
        if seen.contains(&path) {
            return Err(param_err(
                &format!("{}={}", p.key, p.spec),
                "the key is swept twice; give each --param key once",
            ));
        }
        seen.push(path);
    }
    Ok(())
}

fn render(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl SweepDef {
    /// The variants' names, as runs and summaries are labelled.
    pub fn variant_names(&self) -> Vec<String> {
        self.variants.iter().map(|v| v.name().to_string()).collect()
    }

    /// How many points the sweep has, without building them (None past `usize`).
    pub fn point_count(&self) -> Option<usize> {
        match self.swarm {
            Some(n) => Some(n as usize),
            None => self
                .params
                .iter()
                .try_fold(1usize, |acc, p| acc.checked_mul(p.values.len())),
        }
    }

    /// The grid points: the product of the params (first param outermost), or the swarm.
    pub fn points(&self) -> Vec<Vec<(String, String)>> {
        let n = self.point_count().unwrap_or(0);
        (0..n).map(|i| self.point(i)).collect()
    }

    /// Point `i` alone (of [`SweepDef::points`]), without building the others: a grid's
    /// index read as digits, the last param fastest; a swarm's draws for `i`.
    pub fn point(&self, i: usize) -> Vec<(String, String)> {
        if self.swarm.is_some() {
            return self.swarm_point(i as u64);
        }
        let mut rest = i;
        let mut point: Vec<(String, String)> = self
            .params
            .iter()
            .rev()
            .map(|p| {
                let len = p.values.len().max(1);
                let v = p.values.get(rest % len).cloned().unwrap_or_default();
                rest /= len;
                (p.key.clone(), v)
            })
            .collect();
        point.reverse();
        point
    }

    fn swarm_point(&self, i: u64) -> Vec<(String, String)> {
        let draws = Draws::new(self.swarm_seed, 1);
        self.params
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let (lo, hi, int) = p.range.unwrap_or((0.0, 0.0, true));
                let u: f64 = rand::Rng::random(&mut draws.rng(i, Purpose::Swarm, j as u64));
                let v = lo + u * (hi - lo);
                let text = if int {
                    (v.round() as i64).clamp(lo as i64, hi as i64).to_string()
                } else {
                    format!("{:?}", (v * 1e6).round() / 1e6)
                };
                (p.key.clone(), text)
            })
            .collect()
    }
}

/// Which points a shard runs: every n-th from k-1 (k is 1-based).
pub fn in_shard(point: usize, shard: Option<(u32, u32)>) -> bool {
    shard.is_none_or(|(k, n)| point % n as usize == (k - 1) as usize)
}

/// A sweep checked and ready to run: every point's scenario loaded once (and dropped), its
/// runs counted and their cost estimated. Scenarios are built again batch by batch as the
/// sweep runs, so memory does not grow with the number of points.
pub struct Plan {
    pub def: SweepDef,
    text: String,
    overrides: Vec<Override>,
    points: Vec<Vec<(String, String)>>,
    pub shard: Option<(u32, u32)>,
    /// `scenario.jobs` of each point (0 outside the shard).
    jobs: Vec<u32>,
    /// Runs in the shard: points × variants × seeds.
    pub runs: u64,
    /// Simulated jobs in the shard, over every run.
    pub sim_jobs: u64,
    /// Estimated wall time on one core, s (see the `cost` module).
    pub cpu_s: f64,
}

/// The estimated single-core wall time past which a sweep is refused unless the user
/// confirms it (`sweep --allow-large`): 24 hours.
pub const CPU_S_MAX: f64 = 24.0 * 3600.0;
/// A batch of runs closes once it holds this many job records (it always holds at least one
/// point's runs, whose figures are pooled).
pub const BATCH_JOBS_MAX: u64 = 1_000_000;
/// Most job records one point may hold (`scenario.jobs` × seeds × variants): its pooled
/// percentiles and paired deltas need every record at once. With [`BATCH_JOBS_MAX`] this
/// bounds a batch below 3,000,000 records.
pub const POINT_JOBS_MAX: u64 = 2_000_000;

/// Refuses a point whose runs would hold more than [`POINT_JOBS_MAX`] job records at once.
fn check_point_jobs(jobs: u64, def: &SweepDef) -> Result<(), SweepError> {
    let (seeds, variants) = (def.seeds.len() as u64, def.variants.len() as u64);
    let records = jobs * seeds * variants;
    if records > POINT_JOBS_MAX {
        return Err(SweepError::Usage(format!(
            "a point would hold {records} job records at once (scenario.jobs {jobs} × {seeds} \
             seed(s) × {variants} variant(s)), past the limit of {POINT_JOBS_MAX}: its pooled \
             figures need them all; lower scenario.jobs, --seeds or the variants"
        )));
    }
    Ok(())
}

impl Plan {
    /// Checks every point (before anything runs) and estimates the runs in `shard`.
    pub fn new(
        def: &SweepDef,
        base_overrides: &[Override],
        text: &str,
        shard: Option<(u32, u32)>,
    ) -> Result<Plan, SweepError> {
        match def.point_count() {
            Some(n) if n <= POINTS_MAX => {}
            _ => {
                return Err(SweepError::Usage(format!(
                    "the grid has more than {POINTS_MAX} points"
                )))
            }
        }
        let mut plan = Plan {
            def: def.clone(),
            text: text.to_string(),
            overrides: base_overrides.to_vec(),
            points: def.points(),
            shard,
            jobs: Vec::new(),
            runs: 0,
            sim_jobs: 0,
            cpu_s: 0.0,
        };
        let per_point = (def.variants.len() * def.seeds.len()) as u64;
        let shard_points = (0..plan.points.len())
            .filter(|&p| in_shard(p, shard))
            .count();
        let runs = shard_points as u64 * per_point;
        if runs > RUNS_MAX as u64 {
            return Err(SweepError::Usage(format!(
                "{runs} runs exceed the limit of {RUNS_MAX}"
            )));
        }
        for p in 0..plan.points.len() {
            let s = plan.scenario(p)?;
            let jobs = if in_shard(p, shard) {
                s.scenario.jobs
            } else {
                0
            };
            check_point_jobs(u64::from(s.scenario.jobs), def)?;
            plan.jobs.push(jobs);
            if in_shard(p, shard) {
                plan.runs += per_point;
                plan.sim_jobs += u64::from(jobs) * per_point;
                plan.cpu_s += crate::cost::RunCost::of(&s).wall_s() * per_point as f64;
            }
        }
        Ok(plan)
    }

    /// The grid points.
    pub fn points(&self) -> &[Vec<(String, String)>] {
        &self.points
    }

    /// The scenario of point `p`.
    fn scenario(&self, p: usize) -> Result<Scenario, SweepError> {
        let mut overrides = self.overrides.clone();
        for (k, v) in &self.points[p] {
            overrides.push(parse_override_from("--param", &format!("{k}={v}"))?);
        }
        Ok(Scenario::from_toml_str(
            &self.def.scenario_file,
            &self.text,
            &overrides,
        )?)
    }

    /// Refuses a sweep estimated past [`CPU_S_MAX`] unless `allowed`.
    pub fn check_size(&self, allowed: bool) -> Result<(), SweepError> {
        if self.cpu_s > CPU_S_MAX && !allowed {
            return Err(SweepError::Usage(format!(
                "{} runs of {} simulated jobs in all would take an estimated {} on one core, past \
                 the limit of {}; shrink the grid, --seeds or scenario.jobs, or pass --allow-large",
                self.runs,
                self.sim_jobs,
                crate::cost::human_s(self.cpu_s),
                crate::cost::human_s(CPU_S_MAX)
            )));
        }
        Ok(())
    }

    /// The points of the shard in batches: each at least one point, closed once it holds
    /// `runs_target` runs or [`BATCH_JOBS_MAX`] job records.
    fn batches(&self, runs_target: u64) -> Vec<Vec<usize>> {
        let per_point = (self.def.variants.len() * self.def.seeds.len()) as u64;
        let mut batches = vec![Vec::new()];
        let (mut runs, mut jobs) = (0u64, 0u64);
        for p in (0..self.points.len()).filter(|&p| in_shard(p, self.shard)) {
            if runs >= runs_target || jobs >= BATCH_JOBS_MAX {
                batches.push(Vec::new());
                (runs, jobs) = (0, 0);
            }
            batches.last_mut().expect("one batch at least").push(p);
            runs += per_point;
            jobs += u64::from(self.jobs[p]) * per_point;
        }
        batches
    }
}

/// Runs a batch gives each thread (see [`run_by_seed`]).
const RUNS_PER_THREAD: u64 = 16;

/// One simulated run of a sweep: (point, variant, seed).
type Task = (usize, VariantId, u64);

/// Runs the sweep (or its shard) batch by batch: a batch's runs go in parallel, and its
/// points are summarised and their records dropped before the next batch starts, so memory
/// is bounded by the runs in flight, not by the size of the grid. `progress` is told after
/// every finished run.
pub fn run(
    plan: &Plan,
    base: &Scenario,
    progress: &(dyn Fn() + Sync),
) -> Result<SweepResult, SweepError> {
    run_by_seed(plan, base, progress, None)
}

/// The figures of one grid point on one seed: its runs alone, paired deltas on that seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedPoint {
    pub point: usize,
    /// (key, TOML value) in `--param` order.
    pub params: Vec<(String, String)>,
    pub seed: u64,
    /// One summary per variant whose run on this seed finished (a failed run has none).
    pub variants: Vec<VariantSummary>,
}

/// What receives the per-seed figures as they are made (in point, then seed order); an error
/// stops the sweep.
pub type SeedSink<'a> = &'a mut dyn FnMut(SeedPoint) -> Result<(), String>;

/// [`run`], and with `by_seed` each point's figures per seed too, handed over point by point
/// as batches finish (never all held at once).
pub fn run_by_seed(
    plan: &Plan,
    base: &Scenario,
    progress: &(dyn Fn() + Sync),
    mut by_seed: Option<SeedSink<'_>>,
) -> Result<SweepResult, SweepError> {
    let def = &plan.def;
    // Enough runs per thread that waiting for a batch's slowest run costs little; the
    // records cap bounds memory whatever this is.
    let runs_target = (rayon::current_num_threads() as u64).max(1) * RUNS_PER_THREAD;
    let (mut points_done, mut failed_runs) = (Vec::new(), Vec::new());
    for batch in plan.batches(runs_target) {
        // Everything of a batch but the hand-over to `by_seed` runs on the pool, and is
        // collected in order: the thread count changes no byte.
        let scenarios = batch
            .par_iter()
            .map(|&p| plan.scenario(p))
            .collect::<Result<Vec<_>, _>>()?;
        let tasks = tasks(def, &batch);
        // Collected in task order, never completion order: the thread count changes no byte.
        let outputs: Vec<Result<RunOutput, sim::SimError>> = tasks
            .par_iter()
            .map(|&(i, v, seed)| {
                let out = sim::run(&scenarios[i], variant::of(v), seed);
                progress();
                out
            })
            .collect();
        drop(scenarios);
        let by_point = collect(
            def,
            plan.points(),
            &batch,
            &tasks,
            outputs,
            &mut failed_runs,
        );
        let want_seeds = by_seed.is_some();
        let summarised: Vec<(PointResult, Vec<SeedPoint>)> = by_point
            .into_par_iter()
            .enumerate()
            .map(|(i, runs)| {
                let point = PointResult {
                    point: batch[i],
                    params: plan.points()[batch[i]].clone(),
                    variants: metrics::summarize(&def.variant_names(), &runs),
                };
                let seeds = if want_seeds {
                    per_seed(def, &point, runs)
                } else {
                    Vec::new()
                };
                (point, seeds)
            })
            .collect();
        for (point, seeds) in summarised {
            if let Some(sink) = by_seed.as_mut() {
                for seed_point in seeds {
                    sink(seed_point).map_err(SweepError::Output)?;
                }
            }
            points_done.push(point);
        }
    }
    Ok(SweepResult {
        tool: "handshake-sim".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        definition: def.clone(),
        base: base.clone(),
        shard: plan.shard,
        points: points_done,
        failed_runs,
    })
}

/// The runs of a batch's points (by index in the batch), point by point, then variant, then
/// seed.
fn tasks(def: &SweepDef, batch: &[usize]) -> Vec<Task> {
    (0..batch.len())
        .flat_map(|i| {
            def.variants
                .iter()
                .flat_map(move |&v| def.seeds.iter().map(move |&s| (i, v, s)))
        })
        .collect()
}

/// A batch's finished runs by point (by index in the batch); a failed run is kept with its
/// reproduce command.
fn collect(
    def: &SweepDef,
    points: &[Vec<(String, String)>],
    batch: &[usize],
    tasks: &[Task],
    outputs: Vec<Result<RunOutput, sim::SimError>>,
    failed_runs: &mut Vec<FailedRun>,
) -> Vec<Vec<RunOutput>> {
    let mut by_point: Vec<Vec<RunOutput>> = vec![Vec::new(); batch.len()];
    for (&(i, v, seed), out) in tasks.iter().zip(outputs) {
        let p = batch[i];
        match out {
            Ok(run) => by_point[i].push(run),
            Err(e) => failed_runs.push(FailedRun {
                point: p,
                variant: v.to_string(),
                seed,
                message: e.to_string(),
                command: {
                    let mut sets = def.sets.clone();
                    sets.extend(points[p].iter().map(|(k, v)| format!("{k}={v}")));
                    Repro::run(&def.scenario_file, seed)
                        .sets(&sets)
                        .variants([v])
                        .into()
                },
            }),
        }
    }
    by_point
}

/// A point's runs summarised seed by seed, in the definition's seed order; a variant whose
/// run failed on a seed has no summary there.
fn per_seed(def: &SweepDef, point: &PointResult, runs: Vec<RunOutput>) -> Vec<SeedPoint> {
    let mut by_seed: Vec<Vec<RunOutput>> = vec![Vec::new(); def.seeds.len()];
    for run in runs {
        if let Some(i) = def.seeds.iter().position(|&s| s == run.seed) {
            by_seed[i].push(run);
        }
    }
    def.seeds
        .iter()
        .zip(by_seed)
        .map(|(&seed, runs)| {
            // Summarised over every variant so that the baseline stays the first one, even
            // when its run failed (its deltas are then absent), as in the pooled figures.
            let mut variants = metrics::summarize(&def.variant_names(), &runs);
            variants.retain(|s| runs.iter().any(|r| r.variant == s.variant));
            SeedPoint {
                point: point.point,
                params: point.params.clone(),
                seed,
                variants,
            }
        })
        .collect()
}

impl SweepResult {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("sweep types serialise");
        s.push('\n');
        s
    }

    /// [`SweepResult::to_json`] as a stream, never held whole (a merged sweep.json may be
    /// larger than a gigabyte).
    pub fn write_json(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n")
    }

    /// The worst points per variant (highest failure rate first), at most `n` each.
    pub fn worst(&self, n: usize) -> Vec<(String, Vec<(&PointResult, f64)>)> {
        self.definition
            .variants
            .iter()
            .map(|v| {
                let mut pts: Vec<(&PointResult, f64)> = self
                    .points
                    .iter()
                    .filter_map(|p| {
                        let s = p.variants.iter().find(|s| s.variant == v.name())?;
                        Some((p, s.failure_rate.value))
                    })
                    .collect();
                pts.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.point.cmp(&b.0.point)));
                pts.truncate(n);
                (v.name().to_string(), pts)
            })
            .collect()
    }

    /// The `run` command that reproduces one point (first seed).
    pub fn point_command(&self, point: &PointResult) -> String {
        let mut sets = self.definition.sets.clone();
        sets.extend(point.params.iter().map(|(k, v)| format!("{k}={v}")));
        Repro::run(
            &self.definition.scenario_file,
            self.definition.seeds.first().copied().unwrap_or(1),
        )
        .sets(&sets)
        .variants(&self.definition.variants)
        .seeds(self.definition.seeds.len())
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_override;

    fn def(params: Vec<ParamSpec>) -> SweepDef {
        SweepDef {
            scenario_file: "x.toml".into(),
            sets: Vec::new(),
            params,
            variants: vec![VariantId::Parallel],
            seeds: vec![1],
            swarm: None,
            swarm_seed: 1,
        }
    }

    #[test]
    fn ranges_lists_and_arrays_expand_in_order() {
        let ints = ParamSpec::grid("client.handshake_timeout_ms=200..260:30").unwrap();
        assert_eq!(ints.values, ["200", "230", "260"]);
        let floats = ParamSpec::grid("object.restart_probability=0..0.3:0.1").unwrap();
        assert_eq!(floats.values, ["0.0", "0.1", "0.2", "0.3"]);
        let list = ParamSpec::grid("client.retries=0, 2,5").unwrap();
        assert_eq!(list.values, ["0", "2", "5"]);
        let array = ParamSpec::grid("storage.backend=[\"kv\", \"sqlite\"]").unwrap();
        assert_eq!(array.values, ["\"kv\"", "\"sqlite\""]);
        for bad in ["k", "k=10..0:1", "k=0..10:0", "k=0..1e9:1e-9", "k="] {
            assert!(ParamSpec::grid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grid_is_the_product_with_the_first_param_outermost() {
        let d = def(vec![
            ParamSpec::grid("a=1,2").unwrap(),
            ParamSpec::grid("b=x,y,z").unwrap(),
        ]);
        assert_eq!(d.point_count(), Some(6));
        let points = d.points();
        let flat: Vec<String> = points
            .iter()
            .map(|p| format!("{}{}", p[0].1, p[1].1))
            .collect();
        assert_eq!(flat, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        // Shards split the points without overlap.
        let shards: Vec<Vec<usize>> = (1..=2)
            .map(|k| (0..6).filter(|&p| in_shard(p, Some((k, 2)))).collect())
            .collect();
        assert_eq!(shards, [vec![0, 2, 4], vec![1, 3, 5]]);
    }

    #[test]
    fn batches_hold_enough_runs_for_the_threads_and_at_most_a_million_records() {
        let mut d = def(vec![ParamSpec::grid("client.retries=0..9:1").unwrap()]);
        let plan = Plan::new(&d, &[], "", None).unwrap();
        assert_eq!(plan.runs, 10);
        let sizes = |b: Vec<Vec<usize>>| b.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(plan.batches(4)), [4, 4, 2]);
        assert_eq!(plan.batches(4).concat(), (0..10).collect::<Vec<_>>());
        // 600,000 jobs a point: a batch closes at the records cap, whatever the thread count.
        let big = [crate::scenario::parse_override("scenario.jobs=600000").unwrap()];
        assert_eq!(
            sizes(Plan::new(&d, &big, "", None).unwrap().batches(64)),
            [2; 5]
        );
        // A point of more than POINT_JOBS_MAX records is refused, one at the cap is not.
        let at_cap = [parse_override("scenario.jobs=1000000").unwrap()];
        d.seeds = vec![1, 2, 3];
        let err = Plan::new(&d, &at_cap, "", None)
            .err()
            .expect("past the cap");
        assert!(err.to_string().contains("3000000 job records"), "{err}");
        d.seeds = vec![1, 2];
        assert!(Plan::new(&d, &at_cap, "", None).is_ok());
        // A shard's batches hold only its points.
        d.seeds = vec![1, 2];
        let shard = Plan::new(&d, &[], "", Some((2, 3))).unwrap();
        assert_eq!(shard.runs, 6);
        assert_eq!(shard.batches(4), [vec![1, 4], vec![7]]);
    }

    #[test]
    fn a_swarm_draws_the_same_points_for_the_same_seed_within_the_range() {
        let mut d = def(vec![ParamSpec::swarm(
            "client.handshake_timeout_ms=100..300",
        )
        .unwrap()]);
        d.swarm = Some(20);
        let points = d.points();
        assert_eq!(points, d.points());
        for p in &points {
            let v: i64 = p[0].1.parse().unwrap();
            assert!((100..=300).contains(&v), "{v}");
        }
    }
}
