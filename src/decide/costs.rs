//! What an option buys and what it costs, each figure with its 95% interval: rates with
//! Wilson's, a percentile with the order-statistic (distribution-free) one, per-job means
//! with Student's t.

use serde::Serialize;

use crate::metrics::{Rate, VariantSummary};
use crate::names::Figure;
use crate::record::JobRecord;
use crate::sim::RunOutput;
use crate::stats;

/// A mean per job with its 95% Student's t interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PerJob {
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

impl PerJob {
    /// The mean of `values` and its interval; none of fewer than two values (one has no
    /// spread to take an interval from).
    pub fn of(values: &[f64]) -> Option<PerJob> {
        if values.len() < 2 {
            return None;
        }
        let (mean, half) = stats::mean_t95(values.iter().copied())?;
        let r = |x: f64| (x * 1e3).round() / 1e3;
        Some(PerJob {
            mean: r(mean),
            ci95_low: r(mean - half),
            ci95_high: r(mean + half),
        })
    }
}

/// A percentile with its order-statistic 95% interval; an end whose rank falls outside the
/// sample (too few values) is absent, not the extreme value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Percentile {
    pub value: u64,
    pub ci95_low: Option<u64>,
    pub ci95_high: Option<u64>,
}

impl Percentile {
    /// The `q` quantile of `values` (the summary's `value`), with the interval between the
    /// order statistics of ranks n·q ∓ 1.96·√(n·q·(1−q)) (the normal approximation of the
    /// binomial); none of no value.
    pub fn of(mut values: Vec<u64>, q: f64, value: u64) -> Option<Percentile> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let n = values.len() as f64;
        let half = 1.96 * (n * q * (1.0 - q)).sqrt();
        let at = |rank: f64| (1.0..=n).contains(&rank).then(|| values[rank as usize - 1]);
        Some(Percentile {
            value,
            ci95_low: at((n * q - half).floor()),
            ci95_high: at((n * q + half).ceil()),
        })
    }
}

/// What an option buys.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Benefit {
    pub failure_rate: Rate,
    pub silent_failure_rate: Rate,
    /// The client's upgrade time of first attempts that got a 101 (censored by the
    /// deadline), ms.
    pub p95_client_upgrade_ms: Option<Percentile>,
    /// Jobs whose first upgrade met a cold object, per job.
    pub cold_start_rate: Rate,
}

impl Benefit {
    pub fn of(s: &VariantSummary, runs: &[RunOutput]) -> Benefit {
        let ups: Vec<u64> = records(runs).filter_map(|r| r.client_upgrade_ms).collect();
        Benefit {
            failure_rate: s.failure_rate,
            silent_failure_rate: s.silent_failure_rate,
            p95_client_upgrade_ms: Percentile::of(ups, 0.95, s.client_upgrade_ms.p95),
            cold_start_rate: Rate::wilson(s.cold_starts, s.jobs),
        }
    }
}

/// What an option costs, per job, and its security cost.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Costs {
    /// Socket handshakes the app tried (one per job and attempt; with `[session]`, one per
    /// session and attempt).
    pub handshakes: Option<PerJob>,
    /// The object's storage operations (gets, cached or not, and puts).
    pub storage_ops: Option<PerJob>,
    /// Workers KV reads and writes (puts and deletes) at the edge.
    pub kv_reads: Option<PerJob>,
    pub kv_writes: Option<PerJob>,
    /// The object's wall time while active, s: what Cloudflare bills as duration.
    pub object_wall_s: Option<PerJob>,
    /// Upgrades accepted with a revoked token, and the longest an edge location kept
    /// serving one after its revocation, ms (none without revocations).
    pub stale_accepts: Option<f64>,
    pub stale_window_ms_max: Option<f64>,
}

impl Costs {
    pub fn of(s: &VariantSummary, runs: &[RunOutput]) -> Costs {
        let per_job =
            |f: fn(&JobRecord) -> f64| PerJob::of(&records(runs).map(f).collect::<Vec<_>>());
        let revoked = s.figure(Figure::Revocations).is_some_and(|n| n > 0.0);
        Costs {
            handshakes: per_job(|r| f64::from(r.attempts)),
            storage_ops: per_job(|r| f64::from(r.storage_ops)),
            kv_reads: per_job(|r| f64::from(r.kv_reads)),
            kv_writes: per_job(|r| f64::from(r.kv_writes)),
            object_wall_s: per_job(|r| r.object_wall_ms as f64 / 1e3),
            stale_accepts: s.figure(Figure::StaleAccepts).filter(|_| revoked),
            stale_window_ms_max: s.figure(Figure::StaleWindowMsMax).filter(|_| revoked),
        }
    }
}

fn records(runs: &[RunOutput]) -> impl Iterator<Item = &JobRecord> {
    runs.iter().flat_map(|r| r.records.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mean_per_job_has_students_interval() {
        assert_eq!(PerJob::of(&[]), None);
        assert_eq!(PerJob::of(&[4.0]), None, "one value has no interval");
        let p = PerJob::of(&[1.0, 2.0, 3.0]).unwrap();
        // sd 1, t(2) = 4.303: ±2.484.
        assert_eq!((p.mean, p.ci95_low, p.ci95_high), (2.0, -0.484, 4.484));
    }

    #[test]
    fn the_p95_interval_lies_between_order_statistics_around_rank_n_q() {
        // 1..=1000: n·q = 950, half-width 1.96·√47.5 = 13.5 ⇒ ranks 936 and 964.
        let v: Vec<u64> = (1..=1000).collect();
        let p = Percentile::of(v, 0.95, 950).unwrap();
        assert_eq!((p.ci95_low, p.ci95_high), (Some(936), Some(964)));
        assert_eq!(Percentile::of(vec![], 0.95, 0), None);
        // One value: 0.95 + 0.43 = 1.38 rounds up past the sample; the lower rank is 0.
        let one = Percentile::of(vec![7], 0.95, 7).unwrap();
        assert_eq!((one.ci95_low, one.ci95_high), (None, None));
    }
}
