//! The figures a run reports per variant: one table of what each figure is — its canonical
//! name, the other spellings outputs use for it, its kind and unit, whether it carries an
//! interval, its row label and what it means — that JSON and CSV columns, the terminal table,
//! the HTML legend, `[expect]`, `fit`, `compare` and the docs' figure lists all read.
//! A figure's value is an `Option<f64>`: a figure nobody measured (a percentile of no
//! sample, the paired delta of the baseline itself) is absent, never a silent 0.

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

    /// What the timing measures.
    pub fn meaning(self) -> &'static str {
        match self {
            Timing::Storage => "time the object spent reading the token (storageDuration)",
            Timing::Upgrade => {
                "request at the object to 101 sent, activation included (totalUpgrade)"
            }
            Timing::ClientUpgrade => {
                "request sent to 101 received at the client; only attempts that got a 101 \
                 (censored by the deadline)"
            }
        }
    }

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
    pub const ALL: [Stat; 5] = [Stat::Mean, Stat::P50, Stat::P95, Stat::P99, Stat::Max];

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

/// What kind of quantity a figure is: how outputs show it and how `compare` judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A count of jobs or events.
    Count,
    /// A proportion of jobs (0..1).
    Rate,
    /// Milliseconds: a latency's mean or percentile.
    Ms,
    /// A mean paired difference to the baseline, in ms.
    Delta,
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
    CanceledAtEdge,
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
    KvReads,
    KvHotReads,
    KvWrites,
    EdgeFallbacks,
    EdgeRefusals,
    Revocations,
    StaleAttempts,
    StaleAccepts,
    StaleWindowMsMax,
    StaleAcceptAfterMsMax,
    Sessions,
    Handshakes,
    SessionFailures,
    SessionFailureRate,
    SessionSilentFailures,
    ProgressGaps,
    SessionProgressGaps,
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

/// What one plain figure (no fault kind, statistic or timing in it) is: (figure, canonical
/// name, JSON path, kind, unit, run-table label, meaning). The one table of them.
type Plain = (
    Figure,
    &'static str,
    &'static str,
    Kind,
    &'static str,
    Option<&'static str>,
    &'static str,
);

const JOBS: &str = "jobs";
const COUNT: &str = "count";
const SHARE: &str = "share of jobs";
const RESILIENT: &str = "the resilient client at work";

#[rustfmt::skip]
const PLAIN: [Plain; 47] = [
    (F::Jobs, "jobs", "jobs", Kind::Count, JOBS, Some("jobs"),
     "client sessions (one batch POST, one progress socket, one durable object each), pooled over every seed"),
    (F::Ok, "ok", "outcomes.ok", Kind::Count, JOBS, Some("ok"),
     "jobs that ended ok: 101, pong in time, socket kept until the job completed"),
    (F::HandshakeTimeout, "handshake_timeout", "outcomes.handshake_timeout", Kind::Count, JOBS, Some("handshake_timeout"),
     "jobs that ended handshake_timeout: no 101 before client.handshake_timeout_ms"),
    (F::PingTimeout, "ping_timeout", "outcomes.ping_timeout", Kind::Count, JOBS, Some("ping_timeout"),
     "jobs that ended ping_timeout: no pong within client.ping_timeout_ms of the (queued) ping"),
    (F::Rejected, "rejected", "outcomes.rejected", Kind::Count, JOBS, Some("rejected"),
     "jobs that ended rejected: the upgrade was answered 400/401/426"),
    (F::ServerError, "server_error", "outcomes.server_error", Kind::Count, JOBS, Some("server_error"),
     "jobs that ended server_error: the upgrade was answered 5xx"),
    (F::NetworkError, "network_error", "outcomes.network_error", Kind::Count, JOBS, Some("network_error"),
     "jobs that ended network_error: the connection failed, reset or closed early"),
    (F::Failures, "failures", "", Kind::Count, JOBS, None,
     "jobs not ok"),
    (F::FailureRate, "failure_rate", "failure_rate.value", Kind::Rate, SHARE, Some("failure rate [95% CI]"),
     "jobs not ok / jobs, with a 95% Wilson score interval"),
    (F::FailureRateCi95Low, "failure_rate_ci95_low", "failure_rate.ci95_low", Kind::Rate, SHARE, None,
     "the lower end of the failure rate's 95% Wilson score interval"),
    (F::FailureRateCi95High, "failure_rate_ci95_high", "failure_rate.ci95_high", Kind::Rate, SHARE, None,
     "the upper end of the failure rate's 95% Wilson score interval"),
    (F::Canceled, "canceled", "canceled", Kind::Count, COUNT, Some("canceled (server)"),
     "upgrades the object finished for a client that was gone (the object's \"canceled\" outcome)"),
    (F::CanceledAtEdge, "canceled_at_edge", "canceled_at_edge", Kind::Count, COUNT, Some("canceled (edge)"),
     "upgrade requests the client abandoned while the edge held them: they never reached the object"),
    (F::CanceledRate, "canceled_rate", "", Kind::Rate, SHARE, None,
     "upgrades canceled at the object or the edge / jobs: what a Worker's logs count as canceled (no interval: a job may have several)"),
    (F::NoSocketWarnings, "no_socket_warnings", "no_socket_warnings", Kind::Count, COUNT, Some("no-socket warnings"),
     "progress messages pushed while the job had no open socket (\"No WebSocket connection available\")"),
    (F::JobsMissingProgress, "jobs_missing_progress", "jobs_missing_progress", Kind::Count, JOBS, Some("jobs missing progress"),
     "jobs with at least one progress message lost that way"),
    (F::ColdStarts, "cold_starts", "cold_starts", Kind::Count, JOBS, Some("cold upgrades"),
     "jobs whose first upgrade found the object cold"),
    (F::Retries, "retries", "retries", Kind::Count, COUNT, Some("retries"),
     "retries taken, of the POST and of the socket (reconnects included)"),
    (F::SilentFailures, "silent_failures", "silent_failures", Kind::Count, JOBS, Some("silent failures [95% CI]"),
     "jobs the client saw accepted and the server finished, whose results the client did not all have by client.result_deadline_ms"),
    (F::SilentFailureRate, "silent_failure_rate", "silent_failure_rate.value", Kind::Rate, SHARE, None,
     "silent failures / jobs, with a 95% Wilson score interval"),
    (F::ResultsComplete, "results_complete", "results_complete", Kind::Count, JOBS, Some("results complete"),
     "jobs whose client had every book's result and the completion by the deadline"),
    (F::Reconnects, "reconnects", "reconnects", Kind::Count, COUNT, Some("reconnects"), RESILIENT),
    (F::TokenRefreshes, "token_refreshes", "token_refreshes", Kind::Count, COUNT, Some("token refreshes"), RESILIENT),
    (F::Polls, "polls", "polls", Kind::Count, COUNT, None,
     "status polls of the fallback"),
    (F::Fallbacks, "fallbacks", "fallbacks", Kind::Count, JOBS, Some("fallback jobs (polls)"), RESILIENT),
    (F::ProgressDuplicates, "progress_duplicates", "progress_duplicates", Kind::Count, COUNT, None,
     "progress messages that reached the app twice"),
    (F::ProgressReordered, "progress_reordered", "progress_reordered", Kind::Count, COUNT, None,
     "progress messages that reached the app out of order"),
    (F::UnauthorizedAccepts, "unauthorized_accepts", "unauthorized_accepts", Kind::Count, COUNT, None,
     "sockets accepted with a token the durable store did not hold"),
    (F::SafetyViolations, "safety_violations", "safety_violations", Kind::Count, COUNT, Some("safety violations"),
     "progress that reached the app twice or out of order, plus sockets accepted with a token the store did not hold; must be 0"),
    (F::Faults, "faults", "", Kind::Count, COUNT, None,
     "faults injected, of every kind"),
    (F::KvReads, "kv_reads", "edge.kv_reads", Kind::Count, COUNT, Some("KV reads at the edge"),
     "the edge's Workers KV reads of an upgrade's token (kv-edge variants); absent in a run without the edge cache or revocations"),
    (F::KvHotReads, "kv_hot_reads", "edge.kv_hot_reads", Kind::Count, COUNT, Some("  served by the location's cache"),
     "KV reads a location's cache served (hot; the rest went through the tiers to the central stores)"),
    (F::KvWrites, "kv_writes", "edge.kv_writes", Kind::Count, COUNT, Some("KV writes"),
     "the Worker's KV puts (each 202's token) and deletes (each revocation)"),
    (F::EdgeFallbacks, "edge_fallbacks", "edge.edge_fallbacks", Kind::Count, COUNT, Some("edge fallbacks to the object"),
     "upgrades whose token the edge did not accept, forwarded to the object (kv-edge)"),
    (F::EdgeRefusals, "edge_refusals", "edge.edge_refusals", Kind::Count, COUNT, Some("edge refusals (401)"),
     "upgrades whose token the edge did not accept, refused there (kv-edge-strict)"),
    (F::Revocations, "revocations", "edge.revocations", Kind::Count, JOBS, Some("revoked tokens"),
     "jobs whose token was revoked (auth.revoke_probability)"),
    (F::StaleAttempts, "stale_attempts", "edge.stale_attempts", Kind::Count, COUNT, Some("stale-token tries"),
     "upgrades a holder of a revoked token tried (auth.stale_attempt_after_ms after the revocation)"),
    (F::StaleAccepts, "stale_accepts", "edge.stale_accepts", Kind::Count, COUNT, Some("stale-token accepts"),
     "upgrades accepted with a token the object had revoked: the edge cache's security cost (also unauthorized_accepts, which counts a replaced token too)"),
    (F::StaleWindowMsMax, "stale_window_ms_max", "edge.stale_window_ms.max", Kind::Ms, "ms", Some("stale-accept window max (ms)"),
     "the longest time, over revocations, that some edge location could still serve the old token from its KV cache (at most: KV may refresh it sooner)"),
    (F::StaleAcceptAfterMsMax, "stale_accept_after_ms_max", "edge.stale_accept_after_ms.max", Kind::Ms, "ms", Some("latest stale accept (ms after)"),
     "the longest time after a revocation that the server accepted the revoked token"),
    (F::Sessions, "sessions", "session.sessions", Kind::Count, COUNT, Some("app sessions"),
     "app sessions, each with one socket for its jobs ([session]); absent in a run without sessions"),
    (F::Handshakes, "handshakes", "session.handshakes", Kind::Count, COUNT, Some("socket handshakes"),
     "socket opens the app tried, every session's (one or more each)"),
    (F::SessionFailures, "session_failures", "session.session_failures", Kind::Count, COUNT, Some("sessions with a failed job"),
     "sessions with at least one job not ok"),
    (F::SessionFailureRate, "session_failure_rate", "session.session_failure_rate", Kind::Rate, "share of sessions", Some("  share of sessions"),
     "sessions with a failed job / sessions"),
    (F::SessionSilentFailures, "session_silent_failures", "session.session_silent_failures", Kind::Count, COUNT, Some("sessions with a silent failure"),
     "sessions with at least one silent failure"),
    (F::ProgressGaps, "progress_gaps", "session.progress_gaps", Kind::Count, JOBS, Some("jobs with a progress gap"),
     "jobs whose app, at the job's end, still lacked a book's result while having a later one's"),
    (F::SessionProgressGaps, "session_progress_gaps", "session.session_progress_gaps", Kind::Count, COUNT, Some("sessions with a progress gap"),
     "sessions with at least one job with a progress gap"),
];

/// Every figure, in the order error messages and the API list them: the plain ones, one per
/// fault kind, every statistic of every timing, the paired deltas.
const fn all() -> [Figure; ALL_LEN] {
    let mut out = [F::Jobs; ALL_LEN];
    let mut i = 0;
    while i < PLAIN.len() {
        out[i] = PLAIN[i].0;
        i += 1;
    }
    let mut k = 0;
    while k < FaultKind::ALL.len() {
        out[i] = F::Fault(FaultKind::ALL[k]);
        (i, k) = (i + 1, k + 1);
    }
    let mut t = 0;
    while t < Timing::ALL.len() {
        let mut s = 0;
        while s < Stat::ALL.len() {
            out[i] = F::Latency(Stat::ALL[s], Timing::ALL[t]);
            (i, s) = (i + 1, s + 1);
        }
        t += 1;
    }
    // The deltas' order is the outputs' (storage, client, server), kept as it was.
    let deltas = [Timing::Storage, Timing::ClientUpgrade, Timing::Upgrade];
    let mut d = 0;
    while d < deltas.len() {
        out[i] = F::Delta(deltas[d]);
        (i, d) = (i + 1, d + 1);
    }
    out
}

const ALL_LEN: usize = PLAIN.len() + FaultKind::ALL.len() + Stat::ALL.len() * Timing::ALL.len() + 3;

impl Figure {
    /// Every figure, in the order error messages and the API list them.
    pub const ALL: [Figure; ALL_LEN] = all();

    /// The edge cache's and revocation's figures, in table order: measured only in a run
    /// that used either (`VariantSummary::edge`), absent otherwise.
    pub const EDGE: [Figure; 10] = [
        F::KvReads,
        F::KvHotReads,
        F::KvWrites,
        F::EdgeFallbacks,
        F::EdgeRefusals,
        F::Revocations,
        F::StaleAttempts,
        F::StaleAccepts,
        F::StaleWindowMsMax,
        F::StaleAcceptAfterMsMax,
    ];

    /// The app sessions' figures (`[session]`), in table order: measured only in a run with
    /// sessions (`VariantSummary::session`), absent otherwise.
    pub const SESSION: [Figure; 7] = [
        F::Sessions,
        F::Handshakes,
        F::SessionFailures,
        F::SessionFailureRate,
        F::SessionSilentFailures,
        F::ProgressGaps,
        F::SessionProgressGaps,
    ];

    /// Whether less of it is better (failures, latencies, costs): what `decide` may rank by.
    /// Not so for what a run is made of or achieves (jobs, ok, results complete, hot reads),
    /// nor for an interval's end or a paired delta (which depends on the baseline).
    pub fn lower_is_better(self) -> bool {
        !matches!(
            self,
            F::Jobs
                | F::Sessions
                | F::Ok
                | F::ResultsComplete
                | F::KvHotReads
                | F::FailureRateCi95Low
                | F::FailureRateCi95High
                | F::Delta(_)
        )
    }

    /// Whether it is one of [`Figure::EDGE`].
    pub fn is_edge(self) -> bool {
        Figure::EDGE.contains(&self)
    }

    /// Whether it is one of [`Figure::SESSION`].
    pub fn is_session(self) -> bool {
        Figure::SESSION.contains(&self)
    }

    fn plain(self) -> Option<&'static Plain> {
        PLAIN.iter().find(|p| p.0 == self)
    }

    /// What kind of quantity it is.
    pub fn kind(self) -> Kind {
        match self {
            F::Fault(_) => Kind::Count,
            F::Latency(..) => Kind::Ms,
            F::Delta(_) => Kind::Delta,
            _ => self.plain().map_or(Kind::Count, |p| p.3),
        }
    }

    /// Its unit: `jobs`, `count` (of events), `share of jobs`, `ms`.
    pub fn unit(self) -> &'static str {
        match self {
            F::Fault(_) => COUNT,
            F::Latency(..) | F::Delta(_) => "ms",
            _ => self.plain().map_or(COUNT, |p| p.4),
        }
    }

    /// Whether outputs carry a 95% interval for it (Wilson for the two rates of jobs,
    /// Student's t for a paired delta of two pairs or more); `compare` judges only these.
    pub fn has_interval(self) -> bool {
        matches!(self, F::FailureRate | F::SilentFailureRate | F::Delta(_))
    }

    /// Its row in `run`'s table, for the plain figures that have one.
    pub fn label(self) -> Option<&'static str> {
        self.plain().and_then(|p| p.5)
    }

    /// What it counts or measures (the HTML legend, the docs' figure lists).
    pub fn meaning(self) -> String {
        match self {
            F::Fault(kind) => format!("faults of kind {kind} injected"),
            F::Latency(stat, timing) => format!(
                "{} of {}, ms, each job's first upgrade attempt",
                stat.name(),
                timing.meaning()
            ),
            F::Delta(timing) => format!(
                "mean per-job difference in {} to the first variant, on the same job and seed, \
                 with a 95% Student's t interval (negative: faster)",
                timing.name()
            ),
            _ => self.plain().map_or("", |p| p.6).to_string(),
        }
    }

    /// Where it is in a run's JSON (`run --json`, each `variants[]` entry), as a dotted path;
    /// none for a figure derived from others.
    pub fn json_path(self) -> Option<String> {
        match self {
            F::Fault(kind) => Some(format!("faults.{kind}")),
            F::Latency(stat, timing) => Some(format!("{}.{}", timing.name(), stat.name())),
            F::Delta(timing) => Some(format!("paired_delta.{}.mean", timing.name())),
            _ => self
                .plain()
                .map(|p| p.2)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        }
    }

    /// Whether `points.csv` and `points-by-seed.csv` have a column for it (named as the
    /// figure is); not the derived `failures` and `canceled_rate`, nor the edge cache's and
    /// sessions' figures, which are in the JSON only: a sweep's CSV keeps its columns.
    pub fn in_csv(self) -> bool {
        !(matches!(self, F::Failures | F::CanceledRate) || self.is_edge() || self.is_session())
    }

    /// The column a sweep's CSV gave it until its columns took the figures' names
    /// (`storage_ms_p95`, `delta_storage_ms_mean`; CHANGELOG): still accepted wherever a
    /// figure is named.
    fn old_csv_column(self) -> Option<String> {
        match self {
            F::Latency(stat, timing) => Some(format!("{}_{}", timing.name(), stat.name())),
            F::Delta(timing) => Some(format!("delta_{}_mean", timing.name())),
            _ => None,
        }
    }

    /// Every spelling that names it: the canonical name first (also its CSV column), then its
    /// JSON path and its old CSV column where they differ.
    pub fn spellings(self) -> Vec<String> {
        let mut names = vec![self.to_string()];
        for alias in [self.json_path(), self.old_csv_column()]
            .into_iter()
            .flatten()
        {
            if !names.contains(&alias) {
                names.push(alias);
            }
        }
        names
    }

    /// Parses any spelling of a figure (its canonical name, its JSON path, its CSV column);
    /// the error suggests the closest canonical name and lists them all.
    pub fn parse(name: &str) -> Result<Figure, String> {
        Figure::ALL
            .into_iter()
            .find(|f| f.spellings().iter().any(|s| s == name))
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
            plain => f.write_str(plain.plain().map_or("?", |p| p.1)),
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
        // The order: plain figures, one per fault kind, then each timing's statistics.
        let p95_storage = PLAIN.len() + FaultKind::ALL.len() + 2;
        assert_eq!(names[p95_storage], "p95_storage_ms");
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

    #[test]
    fn every_spelling_names_one_figure_and_the_old_ones_still_parse() {
        let mut all: Vec<(String, Figure)> = Figure::ALL
            .iter()
            .flat_map(|f| f.spellings().into_iter().map(move |s| (s, *f)))
            .collect();
        all.sort();
        for w in all.windows(2) {
            assert!(w[0].0 != w[1].0 || w[0].1 == w[1].1, "{w:?}");
        }
        let p50 = Figure::Latency(Stat::P50, Timing::Storage);
        for old in ["p50_storage_ms", "storage_ms.p50", "storage_ms_p50"] {
            assert_eq!(Figure::parse(old), Ok(p50), "{old}");
        }
        // A sweep's CSV named a paired delta's mean so until its columns took the figures'
        // names.
        assert_eq!(
            Figure::parse("delta_storage_ms_mean"),
            Ok(Figure::Delta(Timing::Storage))
        );
        assert_eq!(Figure::parse("outcomes.ok"), Ok(Figure::Ok));
        assert_eq!(Figure::parse("failure_rate.value"), Ok(Figure::FailureRate));
        assert_eq!(
            Figure::parse("paired_delta.client_upgrade_ms.mean"),
            Ok(Figure::Delta(Timing::ClientUpgrade))
        );
    }

    #[test]
    fn every_figure_has_a_kind_a_unit_and_a_meaning() {
        for f in Figure::ALL {
            assert!(!f.meaning().is_empty() && !f.unit().is_empty(), "{f}");
            assert_eq!(
                f.kind() == Kind::Rate,
                f.unit().starts_with("share of"),
                "{f}"
            );
        }
        // A fault kind added to the list is a figure without anything else to write.
        assert_eq!(
            Figure::ALL
                .iter()
                .filter(|f| matches!(f, F::Fault(_)))
                .count(),
            FaultKind::ALL.len()
        );
    }
}
