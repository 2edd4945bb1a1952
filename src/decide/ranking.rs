//! The options in order of one figure, lowest first; which of them the data cannot tell from
//! the best; and the small sweep of `[decide] sweep` that redoes the ranking at each point of
//! a grid, to show where the best option changes.

use serde::Serialize;

use super::{option_scenario, run_seeds, DecideError, Decided};
use crate::metrics;
use crate::names::Figure;
use crate::scenario::{parse_override_from, DecideOption, Override, Scenario};
use crate::stats;
use crate::sweep::{ParamSpec, SweepDef};

/// Orders `options` by `figure` (lowest first; a figure not measured last; ties in the
/// options' order), numbers them, and marks those the data cannot tell from the best: for a
/// rate of jobs, the Newcombe interval of the difference holds 0.
pub fn rank(options: &mut [Decided], figure: Figure) {
    let key = |o: &Decided| o.summary.figure(figure).unwrap_or(f64::INFINITY);
    options.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let counts = |o: &Decided| -> Option<(u64, u64)> {
        let s = &o.summary;
        match figure {
            Figure::FailureRate => Some((s.jobs - s.outcome(crate::record::Outcome::Ok), s.jobs)),
            Figure::SilentFailureRate => Some((s.silent_failures, s.jobs)),
            _ => None,
        }
    };
    let best = options.first().and_then(counts);
    for (i, o) in options.iter_mut().enumerate() {
        o.rank = i + 1;
        o.tied_with_best = i > 0
            && match (best, counts(o)) {
                (Some((bk, bn)), Some((k, n))) => {
                    let (low, high) = stats::newcombe(stats::wilson(bk, bn), stats::wilson(k, n));
                    low <= 0.0 && 0.0 <= high
                }
                _ => false,
            };
    }
}

/// One point of the sweep: its parameter values, each option's figure, and the best: every
/// option whose figure is the lowest (ties are named together).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Point {
    pub values: Vec<(String, String)>,
    /// Each option's ranking figure at the point (in `[decide]` order; `null`: not measured).
    pub figures: Vec<(String, Option<f64>)>,
    pub best: Vec<String>,
}

/// A point of the sweep from each option's figure there: the best are all that share the
/// lowest.
fn point(values: &[(String, String)], figures: Vec<(String, Option<f64>)>) -> Point {
    let key = |x: &Option<f64>| x.unwrap_or(f64::INFINITY);
    let low = figures
        .iter()
        .map(|f| key(&f.1))
        .fold(f64::INFINITY, f64::min);
    let best = figures
        .iter()
        .filter(|f| key(&f.1) == low)
        .map(|f| f.0.clone())
        .collect();
    Point {
        values: values.to_vec(),
        figures,
        best,
    }
}

/// A point's values as overrides.
fn overrides(point: &[(String, String)]) -> Result<Vec<Override>, DecideError> {
    let ov = point
        .iter()
        .map(|(k, v)| parse_override_from("[decide] sweep", &format!("{k}={v}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ov)
}

/// Where the best option changes over the sweep's grid.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SweepOutcome {
    pub params: Vec<String>,
    pub seeds: Vec<u64>,
    pub points: Vec<Point>,
    /// Points where the decision's best option is not among the best.
    pub changes: usize,
}

/// The sweep of `[decide] sweep`, checked before anything runs.
pub(super) struct SweepPlan<'a> {
    origin: &'a str,
    text: &'a str,
    base: &'a [Override],
    options: Vec<DecideOption>,
    keys: Vec<String>,
    points: Vec<Vec<(String, String)>>,
    seeds: usize,
}

impl<'a> SweepPlan<'a> {
    pub(super) fn new(
        origin: &'a str,
        text: &'a str,
        base: &'a [Override],
        scenario: &Scenario,
    ) -> Result<SweepPlan<'a>, DecideError> {
        let d = &scenario.decide;
        let params = d
            .sweep
            .iter()
            .map(|spec| ParamSpec::grid(spec))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DecideError::Usage(format!("decide.sweep: {e}")))?;
        let def = SweepDef {
            scenario_file: origin.to_string(),
            sets: Vec::new(),
            params,
            variants: Vec::new(),
            seeds: Vec::new(),
            swarm: None,
            swarm_seed: 0,
        };
        // Counted before any point is built: a grid too large for the run limit is refused,
        // not built (nor dropped when its count overflows).
        let per_point = d.options.len() * d.sweep_seeds as usize;
        let points = match def.point_count() {
            _ if def.params.is_empty() => Vec::new(),
            Some(n) if n.saturating_mul(per_point) <= super::RUNS_MAX => def.points(),
            _ => {
                return Err(DecideError::Usage(format!(
                    "decide.sweep: the grid's points × {} option(s) × {} seed(s) exceed the \
                     limit of {} runs; use fewer values per parameter",
                    d.options.len(),
                    d.sweep_seeds,
                    super::RUNS_MAX
                )))
            }
        };
        Ok(SweepPlan {
            origin,
            text,
            base,
            options: d.options.clone(),
            keys: def.params.iter().map(|p| p.key.clone()).collect(),
            points,
            seeds: d.sweep_seeds as usize,
        })
    }

    /// Runs it makes.
    pub(super) fn runs(&self) -> usize {
        self.points.len() * self.options.len() * self.seeds
    }

    /// What its runs are estimated to take on one core, s (the `cost` module's estimate).
    pub(super) fn cpu_s(&self) -> Result<f64, DecideError> {
        let mut total = 0.0;
        for point in &self.points {
            let extra = overrides(point)?;
            for o in &self.options {
                let s = option_scenario(self.origin, self.text, self.base, o, &extra)?;
                total += crate::cost::RunCost::of(&s).wall_s() * self.seeds as f64;
            }
        }
        Ok(total)
    }

    /// Every point's ranking, on the first `sweep_seeds` seeds from `seeds`' first.
    pub(super) fn run(
        &self,
        seeds: &[u64],
        figure: Figure,
        best: Option<&str>,
    ) -> Result<Option<SweepOutcome>, DecideError> {
        if self.points.is_empty() {
            return Ok(None);
        }
        let first = seeds.first().copied().unwrap_or(1);
        let seeds: Vec<u64> = (0..self.seeds as u64)
            .map(|i| first.wrapping_add(i))
            .collect();
        let mut points = Vec::with_capacity(self.points.len());
        for values in &self.points {
            let extra = overrides(values)?;
            let mut figures: Vec<(String, Option<f64>)> = Vec::new();
            for o in &self.options {
                let s = option_scenario(self.origin, self.text, self.base, o, &extra)?;
                let name = o.variant.name().to_string();
                let runs = run_seeds(&s, &seeds)?;
                let summary =
                    metrics::summarize(std::slice::from_ref(&name), &runs, &s.network_type_names())
                        .remove(0);
                figures.push((o.name.clone(), summary.figure(figure)));
            }
            points.push(point(values, figures));
        }
        let changes = points
            .iter()
            .filter(|p| !best.is_some_and(|b| p.best.iter().any(|n| n == b)))
            .count();
        Ok(Some(SweepOutcome {
            params: self.keys.clone(),
            seeds,
            points,
            changes,
        }))
    }
}
