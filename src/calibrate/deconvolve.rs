//! Deconvolution: the law of one storage read recovered from totals that are each the sum of
//! two independent reads (the sequential variant's logs), by smoothed EM on a grid.

use statrs::statistics::Statistics as _;

/// Most grid bins the per-read distribution spans: one EM step costs at most this squared.
pub const GRID_BINS_MAX: usize = 512;
/// Most EM steps of one deconvolution.
pub const EM_ITERATIONS_MAX: usize = 5_000;
/// EM stops once a step moves less than this much probability (the L1 change of the law).
const EM_CHANGE_MIN: f64 = 1e-6;
/// Smoothing bandwidth per read as a share of the rule of thumb sd · n^(-1/5): enough to
/// stop a few hundred totals from fitting spikes, small enough to add under 1% to the sd of a
/// few thousand.
const SMOOTHING_SHARE: f64 = 0.5;
/// Share of the starting guess spread evenly over the grid, so no bin starts at 0 (EM's
/// multiplicative step can never move mass into a bin that holds none).
const START_FLOOR_SHARE: f64 = 0.01;
/// Output values are rounded to this, ms (the simulation rounds draws to whole ticks anyway).
const OUTPUT_RESOLUTION_MS: f64 = 0.01;

/// How [`deconvolve`] went.
#[derive(Debug, Clone, PartialEq)]
pub struct Deconvolution {
    /// Width of a grid bin, ms.
    pub step_ms: f64,
    /// Bins of the per-read grid (at most [`GRID_BINS_MAX`]).
    pub bins: usize,
    /// EM steps taken (at most [`EM_ITERATIONS_MAX`]).
    pub iterations: usize,
    /// Whether EM stopped on a negligible change rather than on the step limit.
    pub converged: bool,
}

/// Recovers the law of one read X from totals S = X1 + X2 of two independent reads with
/// that law, and returns it as `totals_ms.len()` quantiles (ascending) with how it went.
///
/// The method is non-parametric maximum likelihood on a grid, fitted by smoothed EM (EMS,
/// Silverman, Jones, Wilson & Nychka 1990):
///
/// - **Grid.** X takes values `i · step_ms` for bins `0..bins`, from 0 to the largest total
///   (no read exceeds it), `bins ≤ GRID_BINS_MAX`; with whole-ms totals (what `Date.now()`
///   differences give) the step is a whole number of ms, so bins sit on the data's resolution.
///   A total falls in its nearest bin, and the sum of bins i and j is bin i + j.
/// - **EM.** With p the per-read probabilities and q = p ∗ p (the law of the sum), a total in
///   bin k was split as (i, k − i) with probability p_i·p_(k−i) / q_k; the new p_i is the
///   expected share of reads in bin i, `p_i ← Σ_k f_k · p_i·p_(k−i) / q_k`, f_k the share of
///   totals in bin k. This is Richardson–Lucy's update with p itself as the blur kernel; it
///   raises the likelihood Σ f_k ln q_k and keeps p ≥ 0 with Σ p = 1.
/// - **Smoothing.** Left alone, EM converges to spikes that fit each total's noise (300
///   exponential totals put a 95th percentile 30% low). After each step p is blurred by a
///   normal kernel of sd `SMOOTHING_SHARE · sd(X) · n^(-1/5)`, which shrinks as totals grow.
/// - **Start.** A normal with mean mean(S)/2 and variance var(S)/2, the two moments that
///   independence alone fixes, plus a small floor on every bin.
/// - **Stop.** When a step moves less than `EM_CHANGE_MIN` of probability, or after
///   `EM_ITERATIONS_MAX` steps: at most `EM_ITERATIONS_MAX · GRID_BINS_MAX²` multiply-adds,
///   no random numbers, the same output for the same input.
///
/// Why not halving each total: S/2 has the right mean but half the variance of one read, so
/// its sd reads 29% low and its tail short. Why not a parametric family (normal, lognormal,
/// uniform chosen by likelihood): real storage latency has no known shape (cache hits and
/// misses make it skewed, often bimodal) and a family would impose one; the sum of two
/// lognormals has no closed-form density either, so its likelihood needs this same numerical
/// convolution. The grid estimate keeps whatever shape the totals show.
pub fn deconvolve(totals_ms: &[f64]) -> (Vec<f64>, Deconvolution) {
    assert!(!totals_ms.is_empty(), "deconvolve needs at least one total");
    let grid = Grid::new(totals_ms);
    let observed = grid.shares(totals_ms);
    let mean_ms = totals_ms.mean() / 2.0;
    let sd_ms = (totals_ms.population_variance() / 2.0).sqrt();
    let bandwidth_ms = SMOOTHING_SHARE * sd_ms * (totals_ms.len() as f64).powf(-0.2);
    let kernel = normal_kernel(bandwidth_ms / grid.step_ms);
    let mut p = grid.start(mean_ms, sd_ms);
    let mut how = Deconvolution {
        step_ms: grid.step_ms,
        bins: grid.bins,
        iterations: 0,
        converged: false,
    };
    while how.iterations < EM_ITERATIONS_MAX {
        let next = smooth(&em_step(&p, &observed), &kernel);
        how.iterations += 1;
        let change: f64 = next.iter().zip(&p).map(|(a, b)| (a - b).abs()).sum();
        p = next;
        if change < EM_CHANGE_MIN {
            how.converged = true;
            break;
        }
    }
    (grid.quantiles(&p, totals_ms.len()), how)
}

/// The finest grid step, ms (a microsecond).
const GRID_STEP_MS_MIN: f64 = 1e-3;

/// The per-read grid: bin i is `i · step_ms`.
struct Grid {
    step_ms: f64,
    bins: usize,
}

impl Grid {
    fn new(totals_ms: &[f64]) -> Grid {
        let max_ms = totals_ms.iter().copied().fold(0.0, f64::max);
        let mut step_ms = max_ms / (GRID_BINS_MAX - 1) as f64;
        if totals_ms.iter().all(|v| v.fract() == 0.0) {
            step_ms = step_ms.ceil().max(1.0);
        }
        // A grid finer than a microsecond resolves nothing a log can say, and a total of
        // 3e-321 ms would make the step subnormal and the bins uncountable.
        if step_ms <= 0.0 {
            step_ms = 1.0;
        }
        step_ms = step_ms.max(GRID_STEP_MS_MIN);
        let bins = (max_ms / step_ms).round() as usize + 1;
        assert!(bins <= GRID_BINS_MAX, "{bins} grid bins for {max_ms} ms");
        Grid { step_ms, bins }
    }

    fn bin(&self, v_ms: f64) -> usize {
        ((v_ms / self.step_ms).round() as usize).min(self.bins - 1)
    }

    /// (bin, share of the totals in it), ascending by bin, only bins that hold a total.
    fn shares(&self, totals_ms: &[f64]) -> Vec<(usize, f64)> {
        let mut counts = vec![0usize; self.bins];
        for &v in totals_ms {
            counts[self.bin(v)] += 1;
        }
        let n = totals_ms.len() as f64;
        let shares: Vec<(usize, f64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(k, &c)| (k, c as f64 / n))
            .collect();
        shares
    }

    /// A normal's shape over the bins plus a floor on every bin, summing to 1.
    fn start(&self, mean_ms: f64, sd_ms: f64) -> Vec<f64> {
        let sd_ms = sd_ms.max(self.step_ms);
        let shape: Vec<f64> = (0..self.bins)
            .map(|i| {
                let z = (i as f64 * self.step_ms - mean_ms) / sd_ms;
                (-0.5 * z * z).exp()
            })
            .collect();
        let total: f64 = shape.iter().sum();
        let floor = START_FLOOR_SHARE / self.bins as f64;
        shape
            .iter()
            .map(|v| (1.0 - START_FLOOR_SHARE) * v / total + floor)
            .collect()
    }

    /// `n` quantiles of `p` at probabilities (m + 0.5) / n, each the first bin whose
    /// cumulative probability reaches it.
    fn quantiles(&self, p: &[f64], n: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(n);
        let mut bin = 0;
        let mut cumulative = p[0];
        for m in 0..n {
            let u = (m as f64 + 0.5) / n as f64;
            while cumulative < u && bin + 1 < p.len() {
                bin += 1;
                cumulative += p[bin];
            }
            let v_ms = bin as f64 * self.step_ms;
            out.push((v_ms / OUTPUT_RESOLUTION_MS).round() * OUTPUT_RESOLUTION_MS);
        }
        out
    }
}

/// One EM step: the new per-read probabilities. `observed` holds (bin of the sum, share of
/// the totals).
fn em_step(p: &[f64], observed: &[(usize, f64)]) -> Vec<f64> {
    let mut next = vec![0.0; p.len()];
    for &(k, share) in observed {
        // Splits (i, k − i) with both halves on the grid.
        let splits = k.saturating_sub(p.len() - 1)..=k.min(p.len() - 1);
        let q: f64 = splits.clone().map(|i| p[i] * p[k - i]).sum();
        let weight = share / q.max(f64::MIN_POSITIVE);
        for i in splits {
            next[i] += weight * p[i] * p[k - i];
        }
    }
    next
}

/// A normal kernel of `sd_bins` bins, cut at 3 sd, summing to 1; `[1]` when narrower than a
/// quarter bin.
fn normal_kernel(sd_bins: f64) -> Vec<f64> {
    if sd_bins.is_nan() || sd_bins < 0.25 {
        return vec![1.0];
    }
    let half = (3.0 * sd_bins).ceil() as usize;
    let shape: Vec<f64> = (0..=2 * half)
        .map(|j| {
            let z = (j as f64 - half as f64) / sd_bins;
            (-0.5 * z * z).exp()
        })
        .collect();
    let total: f64 = shape.iter().sum();
    shape.iter().map(|v| v / total).collect()
}

/// `p` blurred by `kernel` (odd length, centred); mass past an end stays in the end bin.
fn smooth(p: &[f64], kernel: &[f64]) -> Vec<f64> {
    let half = kernel.len() / 2;
    let last = p.len() - 1;
    let mut out = vec![0.0; p.len()];
    for (i, &v) in p.iter().enumerate() {
        for (j, &w) in kernel.iter().enumerate() {
            let to = (i + j).saturating_sub(half).min(last);
            out[to] += v * w;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_totals_deconvolve_to_half_each() {
        let (reads, how) = deconvolve(&[150.0; 40]);
        assert!(how.converged, "{how:?}");
        assert!(reads.iter().all(|&r| (r - 75.0).abs() <= 1.0), "{reads:?}");
    }

    /// Issue 21, item 5: a subnormal total made the step subnormal and tripped the bins
    /// assert (a panic, exit 101).
    #[test]
    fn sub_microsecond_totals_deconvolve_on_a_microsecond_grid() {
        for totals in [vec![3e-321], vec![3e-321, 1e-9, 0.0], vec![3e-321, 2.5]] {
            let (reads, how) = deconvolve(&totals);
            assert!(how.bins <= GRID_BINS_MAX, "{how:?}");
            assert!(how.step_ms >= GRID_STEP_MS_MIN, "{how:?}");
            assert!(reads.iter().all(|r| r.is_finite()), "{reads:?}");
        }
    }

    #[test]
    fn deconvolution_is_bounded_and_repeatable() {
        let totals: Vec<f64> = (0..2000).map(|i| ((i * 7919) % 3001) as f64).collect();
        let (a, how) = deconvolve(&totals);
        assert!(how.bins <= GRID_BINS_MAX && how.iterations <= EM_ITERATIONS_MAX);
        assert_eq!(
            how.step_ms, 6.0,
            "3000 ms over at most {GRID_BINS_MAX} bins"
        );
        assert_eq!(a, deconvolve(&totals).0);
        assert!(a.iter().all(|&v| (0.0..=3000.0).contains(&v)));
    }
}
