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
//!
//! `question` (the arguments, parsed), `search` (one bisection), `sims` (its measure by
//! simulation), `blocks` (the block fits and their spread), `error`.

mod blocks;
mod error;
mod question;
mod search;
mod sims;

pub use blocks::{BlockFit, Edge, Spread, BLOCKS_MAX};
pub use error::FitError;
pub use question::{FitSpec, Goal, Parameter, REPORT_BYTES_MAX};
pub use search::{Evaluation, EVALUATIONS_MAX};

use serde::Serialize;

use blocks::spread;
use search::{Measure, Search};
use sims::Sims;

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
