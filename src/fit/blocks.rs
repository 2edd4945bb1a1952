//! The block statistics: the seeds cut into disjoint blocks, each fitted on its own, and the
//! Student's t interval of their spread.

use serde::Serialize;

use super::error::FitError;
use super::question::FitSpec;
use super::search::Search;
use super::sims::{Runs, Sims};
use crate::names::Figure;
use crate::stats;

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

/// Most blocks of seeds fitted on their own: `min(seeds, BLOCKS_MAX)` blocks of consecutive
/// seeds, sizes differing by at most one.
pub const BLOCKS_MAX: usize = 10;

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
pub(super) fn spread(
    spec: &FitSpec,
    shared: &Runs,
    value: f64,
) -> Result<(Option<Spread>, usize), FitError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
