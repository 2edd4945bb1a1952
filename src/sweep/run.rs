//! Running a planned sweep batch by batch on rayon: each batch's runs in parallel, collected
//! in grid order (never completion order), summarised, and its records dropped before the next.

use rayon::prelude::*;

use super::error::SweepError;
use super::plan::Plan;
use super::result::{FailedRun, PointResult, SweepResult};
use super::spec::SweepDef;
use crate::metrics::{self, VariantSummary};
use crate::names::{Repro, VariantId};
use crate::scenario::Scenario;
use crate::server::variant;
use crate::sim::{self, RunOutput};

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
        let summarised = summarise(
            plan,
            &batch,
            by_point,
            by_seed.is_some(),
            &base.network_type_names(),
        );
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
        tool: crate::names::stamp::TOOL.into(),
        version: crate::names::stamp::VERSION.into(),
        schema_version: crate::names::stamp::SCHEMA_VERSION,
        definition: def.clone(),
        base: base.clone(),
        shard: plan.shard,
        points: points_done,
        failed_runs,
    })
}

/// A batch's points summarised (in parallel, collected in batch order), each with its
/// per-seed figures when `want_seeds`.
fn summarise(
    plan: &Plan,
    batch: &[usize],
    by_point: Vec<Vec<RunOutput>>,
    want_seeds: bool,
    network_types: &[String],
) -> Vec<(PointResult, Vec<SeedPoint>)> {
    let def = &plan.def;
    by_point
        .into_par_iter()
        .enumerate()
        .map(|(i, runs)| {
            let point = PointResult {
                point: batch[i],
                params: plan.points()[batch[i]].clone(),
                variants: metrics::summarize(&def.variant_names(), &runs, network_types),
            };
            let seeds = if want_seeds {
                per_seed(def, &point, runs, network_types)
            } else {
                Vec::new()
            };
            (point, seeds)
        })
        .collect()
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
fn per_seed(
    def: &SweepDef,
    point: &PointResult,
    runs: Vec<RunOutput>,
    network_types: &[String],
) -> Vec<SeedPoint> {
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
            let mut variants = metrics::summarize(&def.variant_names(), &runs, network_types);
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
