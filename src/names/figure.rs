//! The figures a run reports per variant, by name: what `[expect]` lines, `[slo]` thresholds,
//! `fit --target` and `Outcome::figure` read. A figure's value is an `Option<f64>`: a figure
//! nobody measured (a percentile of no sample, the paired delta of the baseline itself) is
//! absent, never a silent 0.

use std::fmt;

use super::FaultKind;

/// A latency the run times per job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timing {
    /// The object's storage reads (`storageDuration`).
    Storage,
    /// Request at the object → 101 sent (`totalUpgrade`).
    Upgrade,
    /// Request sent → 101 received, at the client.
    ClientUpgrade,
}

impl Timing {
    pub const ALL: [Timing; 3] = [Timing::Storage, Timing::Upgrade, Timing::ClientUpgrade];

    /// The name of the latency, as in `p95_storage_ms`.
    pub fn name(self) -> &'static str {
        match self {
            Timing::Storage => "storage_ms",
            Timing::Upgrade => "upgrade_ms",
            Timing::ClientUpgrade => "client_upgrade_ms",
        }
    }
}

/// A statistic of a latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stat {
    Mean,
    P50,
    P95,
    P99,
    Max,
}

impl Stat {
    /// The prefix of the figure, as in `p95_storage_ms`.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::P50 => "p50",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::Max => "max",
        }
    }
}

/// A figure of one variant's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    Jobs,
    Ok,
    HandshakeTimeout,
    PingTimeout,
    Rejected,
    ServerError,
    NetworkError,
    Failures,
    FailureRate,
    FailureRateCi95Low,
    FailureRateCi95High,
    Canceled,
    CanceledRate,
    NoSocketWarnings,
    JobsMissingProgress,
    ColdStarts,
    Retries,
    SilentFailures,
    SilentFailureRate,
    ResultsComplete,
    Reconnects,
    TokenRefreshes,
    Polls,
    Fallbacks,
    ProgressDuplicates,
    ProgressReordered,
    UnauthorizedAccepts,
    SafetyViolations,
    /// Faults of every kind.
    Faults,
    /// Faults of one kind (`fault_KIND`).
    Fault(FaultKind),
    /// A statistic of a latency (`STAT_TIMING`).
    Latency(Stat, Timing),
    /// The mean paired difference to the baseline variant (`delta_TIMING`).
    Delta(Timing),
}

use Figure as F;
use Stat::{Max, Mean, P50, P95, P99};
use Timing::{ClientUpgrade, Storage, Upgrade};

impl Figure {
    /// Every figure, in the order error messages and the API list them.
    pub const ALL: [Figure; 56] = [
        F::Jobs,
        F::Ok,
        F::HandshakeTimeout,
        F::PingTimeout,
        F::Rejected,
        F::ServerError,
        F::NetworkError,
        F::Failures,
        F::FailureRate,
        F::FailureRateCi95Low,
        F::FailureRateCi95High,
        F::Canceled,
        F::CanceledRate,
        F::NoSocketWarnings,
        F::JobsMissingProgress,
        F::ColdStarts,
        F::Retries,
        F::SilentFailures,
        F::SilentFailureRate,
        F::ResultsComplete,
        F::Reconnects,
        F::TokenRefreshes,
        F::Polls,
        F::Fallbacks,
        F::ProgressDuplicates,
        F::ProgressReordered,
        F::UnauthorizedAccepts,
        F::SafetyViolations,
        F::Faults,
        F::Fault(FaultKind::ClientEdgeLoss),
        F::Fault(FaultKind::EdgeObjectLoss),
        F::Fault(FaultKind::PartitionDrop),
        F::Fault(FaultKind::ObjectCrash),
        F::Fault(FaultKind::StorageReadError),
        F::Fault(FaultKind::StorageWriteError),
        F::Fault(FaultKind::StorageSpike),
        F::Fault(FaultKind::TokenExpiry),
        F::Fault(FaultKind::AckBeforeTokenWrite),
        F::Latency(Mean, Storage),
        F::Latency(P50, Storage),
        F::Latency(P95, Storage),
        F::Latency(P99, Storage),
        F::Latency(Max, Storage),
        F::Latency(Mean, Upgrade),
        F::Latency(P50, Upgrade),
        F::Latency(P95, Upgrade),
        F::Latency(P99, Upgrade),
        F::Latency(Max, Upgrade),
        F::Latency(Mean, ClientUpgrade),
        F::Latency(P50, ClientUpgrade),
        F::Latency(P95, ClientUpgrade),
        F::Latency(P99, ClientUpgrade),
        F::Latency(Max, ClientUpgrade),
        F::Delta(Storage),
        F::Delta(ClientUpgrade),
        F::Delta(Upgrade),
    ];

    /// The name of a figure with no parts (everything but faults, latencies and deltas).
    fn plain_name(self) -> Option<&'static str> {
        Some(match self {
            F::Jobs => "jobs",
            F::Ok => "ok",
            F::HandshakeTimeout => "handshake_timeout",
            F::PingTimeout => "ping_timeout",
            F::Rejected => "rejected",
            F::ServerError => "server_error",
            F::NetworkError => "network_error",
            F::Failures => "failures",
            F::FailureRate => "failure_rate",
            F::FailureRateCi95Low => "failure_rate_ci95_low",
            F::FailureRateCi95High => "failure_rate_ci95_high",
            F::Canceled => "canceled",
            F::CanceledRate => "canceled_rate",
            F::NoSocketWarnings => "no_socket_warnings",
            F::JobsMissingProgress => "jobs_missing_progress",
            F::ColdStarts => "cold_starts",
            F::Retries => "retries",
            F::SilentFailures => "silent_failures",
            F::SilentFailureRate => "silent_failure_rate",
            F::ResultsComplete => "results_complete",
            F::Reconnects => "reconnects",
            F::TokenRefreshes => "token_refreshes",
            F::Polls => "polls",
            F::Fallbacks => "fallbacks",
            F::ProgressDuplicates => "progress_duplicates",
            F::ProgressReordered => "progress_reordered",
            F::UnauthorizedAccepts => "unauthorized_accepts",
            F::SafetyViolations => "safety_violations",
            F::Faults => "faults",
            F::Fault(_) | F::Latency(..) | F::Delta(_) => return None,
        })
    }

    /// Parses a figure's name; the error lists the known ones.
    pub fn parse(name: &str) -> Result<Figure, String> {
        Figure::ALL
            .into_iter()
            .find(|f| f.to_string() == name)
            .ok_or_else(|| {
                let names: Vec<String> = Figure::ALL.iter().map(|f| f.to_string()).collect();
                super::unknown("unknown metric", name, names.iter().map(String::as_str))
            })
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            F::Fault(kind) => write!(f, "fault_{}", kind.name()),
            F::Latency(stat, timing) => write!(f, "{}_{}", stat.name(), timing.name()),
            F::Delta(timing) => write!(f, "delta_{}", timing.name()),
            plain => f.write_str(plain.plain_name().expect("a plain figure")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_parses_back_from_its_name_and_names_are_unique() {
        let mut names: Vec<String> = Figure::ALL.iter().map(|f| f.to_string()).collect();
        for (f, n) in Figure::ALL.iter().zip(&names) {
            assert_eq!(Figure::parse(n), Ok(*f));
        }
        assert_eq!(names[40], "p95_storage_ms");
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Figure::ALL.len());
        let err = Figure::parse("p96_storage_ms").unwrap_err();
        assert!(
            err.starts_with(
                "unknown metric \"p96_storage_ms\"; did you mean \"p95_storage_ms\"? \
                 (known: jobs, ok,"
            ),
            "{err}"
        );
    }
}
