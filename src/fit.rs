//! Fit: the value of one numeric parameter that reproduces an observed figure, by bisection
//! over a metric that is monotone in it (pooled seeds, common random numbers).
//!
//! The uncertainty of the value comes from fitting again on disjoint blocks of the seeds:
//! the seeds are cut into `min(seeds, BLOCKS_MAX)` blocks of consecutive seeds, each block is
//! fitted on its own (a count's target scaled to the block's share of seeds), and the interval
//! is `value ± t · sd / √blocks` over the block fits (Student's t, 95%, blocks − 1 degrees of
//! freedom): a 95% interval for the parameter value that hits the target on average over
//! seeds, for every metric. It is widened to hold the last bisection bracket (the search's
//! resolution) and, for a rate, the parameter values whose 95% Wilson interval contains the
//! target. A block whose figure does not reach the target inside the range stretches the
//! interval to that edge. One seed gives no blocks and no spread: use `--seeds 2` or more
//! (3 blocks give t = 4.30, 5 give 2.78, 10 give 2.26). A `max_*` figure of a block sees fewer
//! jobs than the pooled one, so its block fits lean toward larger maxima: read that interval
//! as approximate.
//!
//! Cost: the block searches run only their own seeds and reuse the pooled search's runs at
//! the same parameter values, so a fit makes at most about twice the runs of the pooled
//! search alone (`FitResult::runs` counts them); each search, pooled or block, stops after
//! [`EVALUATIONS_MAX`] evaluations. A figure that goes both up and down over the values seen
//! is "not monotone in this range", not a reason to widen it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics;
use crate::names::{Figure, VariantId};
use crate::scenario::{parse_override_from, NoNumber, Number, Override, Scenario, ScenarioError};
use crate::server::variant;
use crate::sim::{self, SimError};
use crate::stats;

/// Most evaluations of one search (the pooled one runs every seed, a block's only its own).
pub const EVALUATIONS_MAX: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    NotBracketed(String),
    /// The figure goes both up and down (or stays flat) over the values seen.
    #[error("{0}")]
    NotMonotone(String),
    #[error("scenario as TOML")]
    Toml(#[source] toml::ser::Error),
}

/// The question: which `key` makes `variant`'s `figure` equal `target`.
pub struct FitSpec<'a> {
    pub origin: &'a str,
    pub text: &'a str,
    pub overrides: &'a [Override],
    pub key: &'a str,
    pub variant: VariantId,
    pub figure: Figure,
    /// The figure as `--target` spelled it (any of its spellings), which the report echoes.
    pub metric: &'a str,
    pub target: f64,
    pub range: (f64, f64),
    /// Whether the parameter takes integers only.
    pub integer: bool,
    pub seeds: &'a [u64],
}

/// The observed figure of `--target VARIANT.METRIC=VALUE`, its names parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub variant: VariantId,
    pub figure: Figure,
    /// METRIC as written (any spelling of the figure), for the report to echo.
    pub metric: String,
    pub value: f64,
}

impl Target {
    /// Parses `VARIANT.METRIC=VALUE`, or `METRIC=VALUE` for `default_variant`: a built-in
    /// variant, a figure that is not a paired delta (one variant has no baseline) and a
    /// finite value.
    pub fn parse(arg: &str, default_variant: &str) -> Result<Target, FitError> {
        let (lhs, value) = arg
            .split_once('=')
            .ok_or_else(|| FitError::Usage(format!("--target {arg:?}: expected METRIC=VALUE")))?;
        let parsed: f64 = value
            .trim()
            .parse()
            .map_err(|_| FitError::Usage(format!("--target {arg:?}: {value:?} is not a number")))?;
        let (variant, metric) = lhs.split_once('.').unwrap_or((default_variant, lhs));
        let variant = VariantId::parse(variant).map_err(FitError::Usage)?;
        if metric.starts_with("delta_") {
            return Err(FitError::Usage(format!(
                "{metric}: a paired delta needs a baseline run; fit the variant's own figure instead"
            )));
        }
        if !parsed.is_finite() {
            return Err(FitError::Usage(format!(
                "the target {parsed} is not a finite number"
            )));
        }
        Ok(Target {
            variant,
            figure: Figure::parse(metric).map_err(FitError::Usage)?,
            metric: metric.to_string(),
            value: parsed,
        })
    }
}

/// A numeric key of a scenario, as the fit sees it before the search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parameter {
    /// The scenario's value of the key.
    pub current: f64,
    /// Whether the key takes integers only (its value is a TOML integer).
    pub integer: bool,
}

impl Parameter {
    /// Looks up `key` (dotted; array items by index, e.g. `storage.read_ms.uniform.1`).
    pub fn lookup(scenario: &Scenario, key: &str) -> Result<Parameter, FitError> {
        match scenario.number_at(key) {
            Ok(Number::Integer(i)) => Ok(Parameter {
                current: i as f64,
                integer: true,
            }),
            Ok(Number::Float(f)) => Ok(Parameter {
                current: f,
                integer: false,
            }),
            Err(NoNumber::Toml(e)) => Err(FitError::Toml(e)),
            Err(NoNumber::NotANumber { did_you_mean }) => Err(FitError::Usage(format!(
                "--param {key}: not a numeric key of the scenario{}",
                did_you_mean.map_or(String::new(), |k| format!("; did you mean {k}?"))
            ))),
        }
    }

    /// The search range: `given` (`LOW..HIGH`), else half to twice the current value.
    pub fn range(&self, given: Option<&str>) -> Result<(f64, f64), FitError> {
        match given {
            Some(r) => parse_range(r),
            None if self.current > 0.0 => Ok((self.current / 2.0, self.current * 2.0)),
            None => Err(FitError::Usage(
                "the current value is 0: give --range LOW..HIGH".into(),
            )),
        }
    }
}

/// `LOW..HIGH` → (LOW, HIGH); the order is checked by [`fit`].
fn parse_range(s: &str) -> Result<(f64, f64), FitError> {
    let bad = || FitError::Usage(format!("--range {s:?}: expected LOW..HIGH"));
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

/// One evaluation: the parameter, the figure (NaN, `null` in JSON, when it was not measured)
/// and, for a rate with one (`failure_rate`, `silent_failure_rate`), its 95% Wilson interval;
/// `None` for any other figure, which has no interval of its own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    pub x: f64,
    pub value: f64,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
}

/// The edge of the range a block's fit lies beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Edge {
    Low,
    High,
}

/// The fit of one block of seeds, on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockFit {
    /// The block's seeds (no seed is in two blocks).
    pub seeds: Vec<u64>,
    /// The parameter value that gives the block's figure the target (a count's target scaled
    /// to the block's share of the seeds).
    pub value: f64,
    /// Set when the block's figure does not reach the target inside the range: its fit lies
    /// beyond that edge, and `value` is the edge.
    pub beyond: Option<Edge>,
}

/// The spread of the fitted parameter over disjoint blocks of seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub blocks: Vec<BlockFit>,
    /// Mean and sample standard deviation of the block fits.
    pub mean: f64,
    pub sd: f64,
    /// Student's t, 97.5% quantile with (blocks − 1) degrees of freedom.
    pub t: f64,
    /// `value ± t · sd / √blocks`, stretched to a range edge some block fit lies beyond.
    pub ci95: (f64, f64),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitResult {
    pub value: f64,
    /// The figure at `value`.
    pub achieved: Evaluation,
    /// The uncertainty of `value`: the smallest interval holding the block fits' 95%
    /// t-interval (`spread.ci95`), the last bisection bracket (`bracket`) and, for a rate, the
    /// values whose 95% interval contains the target (`rate_interval`).
    pub interval: (f64, f64),
    /// Whether `interval` takes in the rate's confidence interval (`rate_interval` is set).
    pub from_confidence: bool,
    /// Rates only: the parameter values whose 95% Wilson interval contains the target.
    pub rate_interval: Option<(f64, f64)>,
    /// The last bracket of the pooled bisection (its numerical resolution, not a statistical
    /// uncertainty).
    pub bracket: (f64, f64),
    /// Fits on disjoint blocks of seeds; `None` with a single seed.
    pub spread: Option<Spread>,
    /// The pooled search's evaluations, by parameter value.
    pub evaluations: Vec<Evaluation>,
    /// Simulation runs made, pooled search and block fits together (one run = one seed).
    pub runs: usize,
}

/// Most blocks of seeds fitted on their own: `min(seeds, BLOCKS_MAX)` blocks of consecutive
/// seeds, sizes differing by at most one.
pub const BLOCKS_MAX: usize = 10;

/// Most job records the pooled search keeps for the block fits to reuse (runs beyond it are
/// run again when a block needs them).
const RECORDS_KEPT_MAX: usize = 500_000;

/// Runs by (parameter value's bits, seed).
type Runs = BTreeMap<(u64, u64), sim::RunOutput>;

/// What one search evaluates: the figure at a parameter value.
trait Measure {
    fn measure(&mut self, x: f64) -> Result<Evaluation, FitError>;
}

impl<F: FnMut(f64) -> Result<Evaluation, FitError>> Measure for F {
    fn measure(&mut self, x: f64) -> Result<Evaluation, FitError> {
        self(x)
    }
}

fn fmt_x(x: f64, integer: bool) -> String {
    if integer {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:?}")
    }
}

/// The figure of `seeds` pooled, by simulation.
struct Sims<'a> {
    spec: &'a FitSpec<'a>,
    seeds: &'a [u64],
    /// Runs another search made, read here before running a seed again.
    shared: Option<&'a Runs>,
    /// Whether to keep this search's runs (in `kept`) for others.
    keep: bool,
    kept: Runs,
    records_kept: usize,
    runs: usize,
}

impl<'a> Sims<'a> {
    fn new(spec: &'a FitSpec<'a>, seeds: &'a [u64]) -> Sims<'a> {
        Sims {
            spec,
            seeds,
            shared: None,
            keep: false,
            kept: Runs::new(),
            records_kept: 0,
            runs: 0,
        }
    }
}

impl Measure for Sims<'_> {
    fn measure(&mut self, x: f64) -> Result<Evaluation, FitError> {
        let s = self.spec;
        let mut overrides = s.overrides.to_vec();
        overrides.push(parse_override_from(
            "--param",
            &format!("{}={}", s.key, fmt_x(x, s.integer)),
        )?);
        let scenario = Scenario::from_toml_str(s.origin, s.text, &overrides)?;
        let v = variant::of(s.variant);
        let mut runs = Vec::with_capacity(self.seeds.len());
        for &seed in self.seeds {
            match self.shared.and_then(|c| c.get(&(x.to_bits(), seed))) {
                Some(r) => runs.push(r.clone()),
                None => {
                    runs.push(sim::run(&scenario, v.clone(), seed)?);
                    self.runs += 1;
                }
            }
        }
        let summary = metrics::summarize(&[s.variant.name().to_string()], &runs).remove(0);
        let rate = match s.figure {
            Figure::FailureRate => Some(&summary.failure_rate),
            Figure::SilentFailureRate => Some(&summary.silent_failure_rate),
            _ => None,
        };
        let e = Evaluation {
            x,
            value: summary.figure(s.figure).unwrap_or(f64::NAN),
            ci95_low: rate.map(|r| r.ci95_low),
            ci95_high: rate.map(|r| r.ci95_high),
        };
        for r in runs.into_iter().filter(|_| self.keep) {
            if self.records_kept + r.records.len() <= RECORDS_KEPT_MAX {
                self.records_kept += r.records.len();
                self.kept.insert((x.to_bits(), r.seed), r);
            }
        }
        Ok(e)
    }
}

/// How a figure moves over the parameter values seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Increasing,
    Decreasing,
    Flat,
    NotMonotone,
}

/// The shape of `values` (in order of their parameter); a NaN is skipped.
fn shape(values: &[f64]) -> Shape {
    let values: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let up = values.windows(2).any(|w| w[1] > w[0]);
    let down = values.windows(2).any(|w| w[1] < w[0]);
    match (up, down) {
        (true, true) => Shape::NotMonotone,
        (true, false) => Shape::Increasing,
        (false, true) => Shape::Decreasing,
        (false, false) => Shape::Flat,
    }
}

/// One bisection over the range, its evaluations cached by parameter value.
struct Search<M> {
    measure: M,
    range: (f64, f64),
    integer: bool,
    cache: BTreeMap<u64, Evaluation>,
}

impl<M: Measure> Search<M> {
    fn new(measure: M, range: (f64, f64), integer: bool) -> Search<M> {
        Search {
            measure,
            range,
            integer,
            cache: BTreeMap::new(),
        }
    }

    fn eval(&mut self, x: f64) -> Result<Evaluation, FitError> {
        let x = if self.integer { x.round() } else { x };
        if let Some(e) = self.cache.get(&x.to_bits()) {
            return Ok(*e);
        }
        if self.cache.len() >= EVALUATIONS_MAX {
            return Err(FitError::Usage(format!(
                "more than {EVALUATIONS_MAX} evaluations"
            )));
        }
        let e = self.measure.measure(x)?;
        self.cache.insert(x.to_bits(), e);
        Ok(e)
    }

    /// The evaluations made so far, by parameter value.
    fn seen(&self) -> Vec<Evaluation> {
        let mut seen: Vec<Evaluation> = self.cache.values().copied().collect();
        seen.sort_by(|a, b| a.x.total_cmp(&b.x));
        seen
    }

    /// `f` at every value seen, for an error message.
    fn show_seen(&self, f: fn(&Evaluation) -> f64) -> String {
        let seen: Vec<String> = (self.seen().iter())
            .map(|e| format!("{} at {}", f(e), fmt_x(e.x, self.integer)))
            .collect();
        seen.join(", ")
    }

    /// An error when the values of `f` seen so far go both up and down.
    fn check_monotone(&self, f: fn(&Evaluation) -> f64) -> Result<(), FitError> {
        let values: Vec<f64> = self.seen().iter().map(f).collect();
        match shape(&values) {
            Shape::NotMonotone => Err(FitError::NotMonotone(format!(
                "the figure is not monotone in this range (it goes both up and down: {}); \
                 bisection needs a monotone figure: narrow --range to one side of the turn",
                self.show_seen(f)
            ))),
            _ => Ok(()),
        }
    }

    /// Why the ends of the range do not bracket `target`: looks inside (at the quartiles)
    /// and says "not monotone" when the figure turns or stays flat, "widen --range" only when
    /// it is monotone and misses the target.
    fn unbracketed(&mut self, f: fn(&Evaluation) -> f64, target: f64) -> FitError {
        let (lo, hi) = self.range;
        for q in [0.25, 0.5, 0.75] {
            if let Err(e) = self.eval(lo + (hi - lo) * q) {
                return e;
            }
        }
        let values: Vec<f64> = self.seen().iter().map(f).collect();
        let (flo, fhi) = (values[0], values[values.len() - 1]);
        match shape(&values) {
            Shape::NotMonotone => self.check_monotone(f).expect_err("not monotone"),
            Shape::Flat => FitError::NotMonotone(format!(
                "the figure is not monotone in this range: it is flat ({}), so the parameter \
                 does not move it here",
                self.show_seen(f)
            )),
            Shape::Increasing | Shape::Decreasing => FitError::NotBracketed(format!(
                "the target {target} is not between {flo} (at {lo}) and {fhi} (at {hi}); widen --range"
            )),
        }
    }

    /// Bisection for `f(x) = target` on the range: the value nearest the target and the last
    /// bracket. The figure must be measured at both ends and bracket the target there.
    fn solve(
        &mut self,
        f: fn(&Evaluation) -> f64,
        target: f64,
    ) -> Result<(f64, f64, f64), FitError> {
        let (mut lo, mut hi) = self.range;
        let (flo, fhi) = (f(&self.eval(lo)?), f(&self.eval(hi)?));
        if flo.is_nan() || fhi.is_nan() {
            return Err(FitError::NotBracketed(format!(
                "the figure was not measured at both ends of the range ({flo} at {lo}, {fhi} at {hi})"
            )));
        }
        if (flo - target) * (fhi - target) > 0.0 {
            return Err(self.unbracketed(f, target));
        }
        let increasing = fhi >= flo;
        let resolution = if self.integer {
            1.0
        } else {
            (hi - lo).abs() * 1e-4
        };
        for _ in 0..64 {
            if hi - lo <= resolution {
                break;
            }
            let mid = if self.integer {
                ((lo + hi) / 2.0).floor()
            } else {
                (lo + hi) / 2.0
            };
            if mid <= lo || mid >= hi {
                break;
            }
            let fm = f(&self.eval(mid)?);
            self.check_monotone(f)?;
            if (fm < target) == increasing {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (el, eh) = (f(&self.eval(lo)?), f(&self.eval(hi)?));
        let best = if (el - target).abs() <= (eh - target).abs() {
            lo
        } else {
            hi
        };
        Ok((best, lo, hi))
    }
}

/// Whether a figure counts events over all seeds (so a block of seeds sees its share).
fn is_count(figure: Figure) -> bool {
    !matches!(
        figure,
        Figure::FailureRate
            | Figure::FailureRateCi95Low
            | Figure::FailureRateCi95High
            | Figure::CanceledRate
            | Figure::SilentFailureRate
            | Figure::Latency(..)
            | Figure::Delta(_)
    )
}

/// `seeds` cut into `min(len, BLOCKS_MAX)` runs of consecutive seeds; none for one seed.
fn blocks(seeds: &[u64]) -> Vec<&[u64]> {
    let k = seeds.len().min(BLOCKS_MAX);
    if k < 2 {
        return Vec::new();
    }
    let (size, extra) = (seeds.len() / k, seeds.len() % k);
    let mut out = Vec::with_capacity(k);
    let mut start = 0;
    for b in 0..k {
        let len = size + usize::from(b < extra);
        out.push(&seeds[start..start + len]);
        start += len;
    }
    out
}

/// Names the block of seeds in an error of its search.
fn in_block(e: FitError, seeds: &[u64]) -> FitError {
    let name = format!("seeds {}..={}", seeds[0], seeds[seeds.len() - 1]);
    match e {
        FitError::NotMonotone(m) => FitError::NotMonotone(format!("{name}: {m}")),
        FitError::NotBracketed(m) => FitError::NotBracketed(format!("{name}: {m}")),
        other => other,
    }
}

/// The fit of one block of seeds, reusing the pooled search's runs; with the runs it made.
fn block_fit(spec: &FitSpec, shared: &Runs, seeds: &[u64]) -> Result<(BlockFit, usize), FitError> {
    let target = if is_count(spec.figure) {
        spec.target * seeds.len() as f64 / spec.seeds.len() as f64
    } else {
        spec.target
    };
    let mut sims = Sims::new(spec, seeds);
    sims.shared = Some(shared);
    let mut search = Search::new(sims, spec.range, spec.integer);
    let (value, beyond) = match search.solve(|e| e.value, target) {
        Ok((x, _, _)) => (x, None),
        Err(FitError::NotBracketed(_)) => {
            // Beyond the edge whose figure is nearer the target.
            let (lo, hi) = spec.range;
            let off = |v: f64| {
                if v.is_nan() {
                    f64::INFINITY
                } else {
                    (v - target).abs()
                }
            };
            let (flo, fhi) = (search.eval(lo)?.value, search.eval(hi)?.value);
            if off(flo) <= off(fhi) {
                (lo, Some(Edge::Low))
            } else {
                (hi, Some(Edge::High))
            }
        }
        Err(e) => return Err(in_block(e, seeds)),
    };
    let fit = BlockFit {
        seeds: seeds.to_vec(),
        value,
        beyond,
    };
    Ok((fit, search.measure.runs))
}

/// Fits every block of seeds (in parallel; the result does not depend on the order) and the
/// t-interval of their spread around `value`; with the runs made.
fn spread(spec: &FitSpec, shared: &Runs, value: f64) -> Result<(Option<Spread>, usize), FitError> {
    use rayon::prelude::*;
    let blocks = blocks(spec.seeds);
    if blocks.is_empty() {
        return Ok((None, 0));
    }
    let results: Vec<Result<(BlockFit, usize), FitError>> = blocks
        .par_iter()
        .map(|seeds| block_fit(spec, shared, seeds))
        .collect();
    let (mut fits, mut runs) = (Vec::with_capacity(blocks.len()), 0);
    for r in results {
        let (fit, n) = r?;
        fits.push(fit);
        runs += n;
    }
    let k = fits.len() as f64;
    let mean = fits.iter().map(|b| b.value).sum::<f64>() / k;
    let sd = (fits.iter().map(|b| (b.value - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    let t = stats::t95(fits.len() - 1);
    let half = t * sd / k.sqrt();
    let mut ci95 = (value - half, value + half);
    if fits.iter().any(|b| b.beyond == Some(Edge::Low)) {
        ci95.0 = ci95.0.min(spec.range.0);
    }
    if fits.iter().any(|b| b.beyond == Some(Edge::High)) {
        ci95.1 = ci95.1.max(spec.range.1);
    }
    let spread = Spread {
        blocks: fits,
        mean,
        sd,
        t,
        ci95,
    };
    Ok((Some(spread), runs))
}

/// Where the rate's interval edges cross the target (the range's edge when they do not).
fn rate_interval<M: Measure>(
    search: &mut Search<M>,
    spec: &FitSpec,
    value: f64,
) -> Result<(f64, f64), FitError> {
    let mut edge = |f: fn(&Evaluation) -> f64| match search.solve(f, spec.target) {
        Ok((x, _, _)) => Ok(Some(x)),
        Err(FitError::NotBracketed(_)) => Ok(None),
        Err(e) => Err(e),
    };
    let a = edge(|e| e.ci95_low.unwrap_or(f64::NAN))?.unwrap_or(spec.range.0);
    let b = edge(|e| e.ci95_high.unwrap_or(f64::NAN))?.unwrap_or(spec.range.1);
    Ok((a.min(b).min(value), a.max(b).max(value)))
}

/// Checks the question before any run (its names were checked as they were parsed).
fn check(spec: &FitSpec) -> Result<(), FitError> {
    if spec.range.0 >= spec.range.1 || !spec.range.0.is_finite() || !spec.range.1.is_finite() {
        return Err(FitError::Usage("--range needs LOW < HIGH".into()));
    }
    if spec.seeds.is_empty() {
        return Err(FitError::Usage("at least one seed".into()));
    }
    Ok(())
}

/// Runs the fit: a bisection on all seeds pooled, then the same bisection on each block of
/// seeds on its own (see the module's documentation for the interval and its cost).
pub fn fit(spec: &FitSpec) -> Result<FitResult, FitError> {
    check(spec)?;
    let mut sims = Sims::new(spec, spec.seeds);
    sims.keep = true;
    let mut pooled = Search::new(sims, spec.range, spec.integer);
    let (value, lo, hi) = pooled.solve(|e| e.value, spec.target)?;
    let achieved = pooled.eval(value)?;
    let rate_interval = match achieved.ci95_low {
        Some(_) => Some(rate_interval(&mut pooled, spec, value)?),
        None => None,
    };
    let evaluations = pooled.seen();
    let (spread, block_runs) = spread(spec, &pooled.measure.kept, value)?;
    let mut interval = (lo.min(value), hi.max(value));
    for (a, b) in [rate_interval, spread.as_ref().map(|s| s.ci95)]
        .into_iter()
        .flatten()
    {
        interval = (interval.0.min(a), interval.1.max(b));
    }
    Ok(FitResult {
        value,
        achieved,
        interval,
        from_confidence: rate_interval.is_some(),
        rate_interval,
        bracket: (lo, hi),
        spread,
        evaluations,
        runs: pooled.measure.runs + block_runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_the_variant_or_takes_the_default() {
        let t = Target::parse("sequential.failure_rate=0.35", "parallel").unwrap();
        assert_eq!(
            (t.variant, t.figure, t.value),
            (VariantId::Sequential, Figure::FailureRate, 0.35)
        );
        let t = Target::parse("failure_rate= 0.5", "parallel").unwrap();
        assert_eq!((t.variant, t.value), (VariantId::Parallel, 0.5));
        let t = Target::parse("parallel.storage_ms.p50=70", "sequential").unwrap();
        assert_eq!(
            (t.variant, t.metric.as_str()),
            (VariantId::Parallel, "storage_ms.p50")
        );
        for bad in [
            "failure_rate",
            "failure_rate=x",
            "nope.failure_rate=1",
            "parallel.delta_storage_ms=1",
            "failure_rate=inf",
            "p96_storage_ms=1",
        ] {
            assert!(matches!(
                Target::parse(bad, "parallel"),
                Err(FitError::Usage(_))
            ));
        }
    }

    #[test]
    fn parameter_lookup_knows_integers_floats_and_array_items() {
        let s = Scenario::from_toml_str(
            "<test>",
            "[storage]\nread_ms = { uniform = [50, 100] }",
            &[],
        )
        .unwrap();
        let p = Parameter::lookup(&s, "client.handshake_timeout_ms").unwrap();
        assert!(p.integer && p.current > 0.0);
        assert_eq!(p.range(None).unwrap(), (p.current / 2.0, p.current * 2.0));
        assert_eq!(p.range(Some("1 .. 2.5")).unwrap(), (1.0, 2.5));
        assert!(p.range(Some("1-2")).is_err());
        let item = Parameter::lookup(&s, "storage.read_ms.uniform.1").unwrap();
        assert_eq!(item.current, 100.0);
        for bad in ["client.nope", "storage.read_ms.uniform.9", "scenario.name"] {
            assert!(matches!(
                Parameter::lookup(&s, bad),
                Err(FitError::Usage(_))
            ));
        }
        let zero = Parameter {
            current: 0.0,
            integer: true,
        };
        assert!(zero.range(None).is_err());
    }

    fn point(x: f64, value: f64) -> Result<Evaluation, FitError> {
        Ok(Evaluation {
            x,
            value,
            ci95_low: None,
            ci95_high: None,
        })
    }

    #[test]
    fn shapes_of_the_values_seen() {
        assert_eq!(shape(&[1.0, 1.0, 2.0]), Shape::Increasing);
        assert_eq!(shape(&[3.0, f64::NAN, 2.0, 2.0]), Shape::Decreasing);
        assert_eq!(shape(&[4.0, 4.0, 4.0]), Shape::Flat);
        assert_eq!(shape(&[1.0, 3.0, 2.0]), Shape::NotMonotone);
    }

    #[test]
    fn a_figure_that_turns_is_not_monotone_and_only_a_monotone_miss_says_widen() {
        let solve = |f: fn(f64) -> f64, target: f64| {
            let mut search = Search::new(|x| point(x, f(x)), (0.0, 10.0), false);
            search.solve(|e| e.value, target)
        };
        // Up then down: the ends agree, the quartiles show the turn.
        let hill = |x: f64| -(x - 5.0) * (x - 5.0);
        let err = solve(hill, -100.0).unwrap_err().to_string();
        assert!(err.contains("not monotone in this range"), "{err}");
        assert!(err.contains("0 at 5"), "what was seen: {err}");
        // The ends bracket the target, but the first midpoint is above both.
        let err = solve(|x| if x < 6.0 { x } else { 12.0 - x }, 1.0).unwrap_err();
        assert!(matches!(err, FitError::NotMonotone(_)), "{err}");
        // Flat.
        let err = solve(|_| 3.0, 1.0).unwrap_err().to_string();
        assert!(
            err.contains("not monotone in this range: it is flat"),
            "{err}"
        );
        // Monotone and missing the target: widen.
        let err = solve(|x| x, 20.0).unwrap_err();
        assert!(matches!(&err, FitError::NotBracketed(m) if m.contains("widen --range")));
        let (x, lo, hi) = solve(|x| 2.0 * x, 7.0).unwrap();
        assert!((x - 3.5).abs() < 1e-3 && lo <= 3.5 && 3.5 <= hi);
    }

    #[test]
    fn seeds_are_cut_into_disjoint_blocks_of_near_equal_size() {
        let seeds: Vec<u64> = (1..=23).collect();
        let b = blocks(&seeds);
        assert_eq!(b.len(), BLOCKS_MAX);
        assert_eq!(b.concat(), seeds);
        assert!(b.iter().all(|b| b.len() == 2 || b.len() == 3));
        assert_eq!(blocks(&[1, 2, 3]), vec![&[1][..], &[2], &[3]]);
        assert!(blocks(&[7]).is_empty());
        assert!(is_count(Figure::Failures) && !is_count(Figure::FailureRate));
    }
}
