//! Records → figures: outcome counts, failure rates with 95% Wilson intervals, hdrhistogram
//! percentiles, and paired per-job deltas against the first variant.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::names::{FaultKind, Figure, Stat, Timing};
use crate::record::{JobRecord, Outcome};
use crate::sim::RunOutput;
use crate::stats;

/// A proportion with its 95% Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rate {
    pub value: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

impl Rate {
    /// `successes` of `n` with its Wilson interval (`stats::wilson`), rounded to 6 places.
    pub fn wilson(successes: u64, n: u64) -> Rate {
        let p = stats::wilson(successes, n);
        Rate {
            value: round6(p.value),
            ci95_low: round6(p.low),
            ci95_high: round6(p.high),
        }
    }
}

/// Percentiles of a latency, in ms (hdrhistogram, 3 significant digits).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Latency {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl Latency {
    pub fn of(values: impl Iterator<Item = u64>) -> Latency {
        let mut h = Histogram::<u64>::new(3).expect("3 significant digits is valid");
        for v in values {
            h.record(v)
                .expect("auto-resizing histogram accepts any u64");
        }
        if h.is_empty() {
            return Latency {
                count: 0,
                mean: 0.0,
                p50: 0,
                p95: 0,
                p99: 0,
                max: 0,
            };
        }
        Latency {
            count: h.len(),
            mean: round3(h.mean()),
            p50: h.value_at_quantile(0.50),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }

    /// A statistic; `None` of no sample (not 0: an expectation or SLO on it fails).
    pub fn stat(&self, stat: Stat) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        Some(match stat {
            Stat::Mean => self.mean,
            Stat::P50 => self.p50 as f64,
            Stat::P95 => self.p95 as f64,
            Stat::P99 => self.p99 as f64,
            Stat::Max => self.max as f64,
        })
    }
}

/// A latency of no sample is `null` in JSON (absent, not a row of zeros).
mod latency_or_null {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Latency;

    pub fn serialize<S: Serializer>(l: &Latency, s: S) -> Result<S::Ok, S::Error> {
        if l.count == 0 {
            s.serialize_none()
        } else {
            s.serialize_some(l)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Latency, D::Error> {
        Ok(Option::<Latency>::deserialize(d)?.unwrap_or_else(|| Latency::of(std::iter::empty())))
    }
}

/// Mean of per-job differences (this variant minus the baseline), with a 95% interval from
/// Student's t (the normal's z is too narrow for few pairs); one pair has no interval (null),
/// not one of zero width.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Delta {
    pub pairs: u64,
    pub mean: f64,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    pub min: i64,
    pub max: i64,
}

impl Delta {
    fn of(diffs: &[i64]) -> Option<Delta> {
        let (mean, half) = stats::mean_t95(diffs.iter().map(|&d| d as f64))?;
        let spread = diffs.len() >= 2;
        Some(Delta {
            pairs: diffs.len() as u64,
            mean: round3(mean),
            ci95_low: spread.then(|| round3(mean - half)),
            ci95_high: spread.then(|| round3(mean + half)),
            min: *diffs.iter().min().expect("not empty"),
            max: *diffs.iter().max().expect("not empty"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Paired {
    pub baseline: String,
    /// Jobs the object upgraded (or began to) in both variants: the server's own timing.
    pub storage_ms: Option<Delta>,
    /// Jobs the object upgraded in both variants: not censored by the client's deadline (the
    /// run drains every upgrade it began).
    #[serde(default)]
    pub upgrade_ms: Option<Delta>,
    /// Jobs whose first attempt got a 101 in both variants: censored by the client's deadline.
    pub client_upgrade_ms: Option<Delta>,
}

/// The edge cache's figures and its security cost, over one variant's jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EdgeSummary {
    /// KV reads at the edge, and how many a location's cache served.
    pub kv_reads: u64,
    pub kv_hot_reads: u64,
    /// The Worker's KV puts and deletes.
    pub kv_writes: u64,
    /// Upgrades the edge did not accept: forwarded to the object, or refused (401).
    pub edge_fallbacks: u64,
    pub edge_refusals: u64,
    /// Jobs whose token was revoked, and the stale holders' tries and the server's accepts.
    pub revocations: u64,
    pub stale_attempts: u64,
    pub stale_accepts: u64,
    /// Per revocation: how long some location still served the old token from KV, ms.
    #[serde(with = "latency_or_null")]
    #[schemars(with = "Option<Latency>")]
    pub stale_window_ms: Latency,
    /// Per stale accept: how long after the revocation it came, ms.
    #[serde(with = "latency_or_null")]
    #[schemars(with = "Option<Latency>")]
    pub stale_accept_after_ms: Latency,
}

/// The app sessions' figures (`[session]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SessionSummary {
    /// App sessions, each seed's counted apart.
    pub sessions: u64,
    /// Socket opens the app tried (a session's are its first job's attempts).
    pub handshakes: u64,
    /// Sessions with a job not ok, and their share of the sessions (absent of none).
    pub session_failures: u64,
    pub session_failure_rate: Option<f64>,
    /// Sessions with a silent failure.
    pub session_silent_failures: u64,
    /// Jobs whose app saw a progress gap, and the sessions with one.
    pub progress_gaps: u64,
    pub session_progress_gaps: u64,
}

impl SessionSummary {
    /// The session figures of these records (seed, record).
    fn of(recs: &[(u64, &JobRecord)]) -> SessionSummary {
        // Per (seed, session): any failed, any silent failure, any gap.
        let mut per: BTreeMap<(u64, u64), [bool; 3]> = BTreeMap::new();
        for (seed, r) in recs {
            let Some(s) = r.session else { continue };
            let e = per.entry((*seed, s)).or_default();
            e[0] |= r.outcome != Some(Outcome::Ok);
            e[1] |= r.silent_failure;
            e[2] |= r.progress_gap;
        }
        let sessions = per.len() as u64;
        let with = |i: usize| per.values().filter(|e| e[i]).count() as u64;
        let handshakes: u64 = recs.iter().map(|(_, r)| u64::from(r.attempts)).sum();
        let session_failures = with(0);
        SessionSummary {
            sessions,
            handshakes,
            session_failures,
            session_failure_rate: (sessions > 0)
                .then(|| round6(session_failures as f64 / sessions as f64)),
            session_silent_failures: with(1),
            progress_gaps: recs.iter().filter(|(_, r)| r.progress_gap).count() as u64,
            session_progress_gaps: with(2),
        }
    }
}

impl EdgeSummary {
    /// The edge figures of these records, if any of them touched KV or was revoked.
    fn of(recs: &[(u64, &JobRecord)]) -> EdgeSummary {
        let sum = |f: fn(&JobRecord) -> u32| -> u64 { recs.iter().map(|(_, r)| f(r) as u64).sum() };
        EdgeSummary {
            kv_reads: sum(|r| r.kv_reads),
            kv_hot_reads: sum(|r| r.kv_hot_reads),
            kv_writes: sum(|r| r.kv_writes),
            edge_fallbacks: sum(|r| r.edge_fallbacks),
            edge_refusals: sum(|r| r.edge_refusals),
            revocations: recs.iter().filter(|(_, r)| r.revoked).count() as u64,
            stale_attempts: sum(|r| r.stale_attempts),
            stale_accepts: sum(|r| r.stale_accepts),
            stale_window_ms: Latency::of(recs.iter().filter_map(|(_, r)| r.stale_window_ms)),
            stale_accept_after_ms: Latency::of(
                recs.iter().filter_map(|(_, r)| r.stale_accept_after_ms),
            ),
        }
    }

    /// Whether a record shows the edge cache or a revocation at work.
    fn touched(r: &JobRecord) -> bool {
        r.kv_reads + r.kv_writes > 0 || r.revoked || r.stale_attempts > 0
    }
}

/// The figures of one variant over all seeds of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VariantSummary {
    pub variant: String,
    pub jobs: u64,
    #[serde(with = "crate::names::by_name")]
    #[schemars(with = "BTreeMap<String, u64>")]
    pub outcomes: BTreeMap<Outcome, u64>,
    pub failure_rate: Rate,
    pub canceled: u64,
    pub canceled_at_edge: u64,
    pub no_socket_warnings: u64,
    /// Jobs with at least one progress message pushed while no socket was open (lost).
    pub jobs_missing_progress: u64,
    pub cold_starts: u64,
    pub retries: u64,
    /// Jobs the server finished whose results the client did not have by the deadline.
    pub silent_failures: u64,
    pub silent_failure_rate: Rate,
    /// Jobs whose client had every result and the completion by the deadline.
    pub results_complete: u64,
    pub reconnects: u64,
    pub token_refreshes: u64,
    pub polls: u64,
    /// Jobs that used the polling fallback.
    pub fallbacks: u64,
    pub progress_duplicates: u64,
    pub progress_reordered: u64,
    pub unauthorized_accepts: u64,
    /// Duplicated or reordered progress, plus sockets accepted without a valid token.
    pub safety_violations: u64,
    /// Faults injected, by kind (only kinds that occurred).
    #[serde(with = "crate::names::by_name")]
    #[schemars(with = "BTreeMap<String, u64>")]
    pub faults: BTreeMap<FaultKind, u64>,
    #[serde(with = "latency_or_null")]
    #[schemars(with = "Option<Latency>")]
    pub storage_ms: Latency,
    #[serde(with = "latency_or_null")]
    #[schemars(with = "Option<Latency>")]
    pub upgrade_ms: Latency,
    #[serde(with = "latency_or_null")]
    #[schemars(with = "Option<Latency>")]
    pub client_upgrade_ms: Latency,
    pub paired_delta: Option<Paired>,
    /// The edge cache and revocation (`kv-edge` variants, `auth.revoke_probability`): none
    /// in a run that used neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeSummary>,
    /// The app sessions' figures, in a run with `[session]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSummary>,
    /// The same figures over each network type's jobs (by name; none without
    /// `network.types`). Faults are counted per run, not per job, so these carry none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_network: BTreeMap<String, VariantSummary>,
}

impl VariantSummary {
    /// A figure over the jobs of one network type (none: every job); `None` when the type
    /// ran no job or the figure is not measured per type (faults, counted per run).
    pub fn figure_of(&self, network: Option<&str>, figure: Figure) -> Option<f64> {
        match network {
            None => self.figure(figure),
            Some(_) if matches!(figure, Figure::Faults | Figure::Fault(_)) => None,
            Some(n) => self.by_network.get(n)?.figure(figure),
        }
    }

    pub fn outcome(&self, o: Outcome) -> u64 {
        self.outcomes.get(&o).copied().unwrap_or(0)
    }

    /// A figure (see [`Figure`]); `None` when it was not measured: a latency of no sample,
    /// or the paired delta of the baseline itself.
    pub fn figure(&self, figure: Figure) -> Option<f64> {
        let count = |n: u64| Some(n as f64);
        match figure {
            Figure::Jobs => count(self.jobs),
            Figure::Ok => count(self.outcome(Outcome::Ok)),
            Figure::HandshakeTimeout => count(self.outcome(Outcome::HandshakeTimeout)),
            Figure::PingTimeout => count(self.outcome(Outcome::PingTimeout)),
            Figure::Rejected => count(self.outcome(Outcome::Rejected)),
            Figure::ServerError => count(self.outcome(Outcome::ServerError)),
            Figure::NetworkError => count(self.outcome(Outcome::NetworkError)),
            Figure::Failures => count(self.jobs.saturating_sub(self.outcome(Outcome::Ok))),
            // A rate of no job is not measured (a network type no job drew).
            Figure::FailureRate => self.of_jobs(self.failure_rate.value),
            Figure::FailureRateCi95Low => self.of_jobs(self.failure_rate.ci95_low),
            Figure::FailureRateCi95High => self.of_jobs(self.failure_rate.ci95_high),
            Figure::Canceled => count(self.canceled),
            Figure::CanceledAtEdge => count(self.canceled_at_edge),
            // What a Worker's logs count as canceled: at the object or at the edge.
            Figure::CanceledRate => self.rate(self.canceled + self.canceled_at_edge),
            Figure::NoSocketWarnings => count(self.no_socket_warnings),
            Figure::JobsMissingProgress => count(self.jobs_missing_progress),
            Figure::ColdStarts => count(self.cold_starts),
            Figure::Retries => count(self.retries),
            Figure::SilentFailures => count(self.silent_failures),
            Figure::SilentFailureRate => self.of_jobs(self.silent_failure_rate.value),
            Figure::ResultsComplete => count(self.results_complete),
            Figure::Reconnects => count(self.reconnects),
            Figure::TokenRefreshes => count(self.token_refreshes),
            Figure::Polls => count(self.polls),
            Figure::Fallbacks => count(self.fallbacks),
            Figure::ProgressDuplicates => count(self.progress_duplicates),
            Figure::ProgressReordered => count(self.progress_reordered),
            Figure::UnauthorizedAccepts => count(self.unauthorized_accepts),
            Figure::SafetyViolations => count(self.safety_violations),
            Figure::KvReads => self.edge_count(|e| e.kv_reads),
            Figure::KvHotReads => self.edge_count(|e| e.kv_hot_reads),
            Figure::KvWrites => self.edge_count(|e| e.kv_writes),
            Figure::EdgeFallbacks => self.edge_count(|e| e.edge_fallbacks),
            Figure::EdgeRefusals => self.edge_count(|e| e.edge_refusals),
            Figure::Revocations => self.edge_count(|e| e.revocations),
            Figure::StaleAttempts => self.edge_count(|e| e.stale_attempts),
            Figure::StaleAccepts => self.edge_count(|e| e.stale_accepts),
            Figure::StaleWindowMsMax => self.edge.as_ref()?.stale_window_ms.stat(Stat::Max),
            Figure::StaleAcceptAfterMsMax => {
                self.edge.as_ref()?.stale_accept_after_ms.stat(Stat::Max)
            }
            Figure::Sessions => self.session_count(|s| s.sessions),
            Figure::Handshakes => self.session_count(|s| s.handshakes),
            Figure::SessionFailures => self.session_count(|s| s.session_failures),
            Figure::SessionFailureRate => self.session.as_ref()?.session_failure_rate,
            Figure::SessionSilentFailures => self.session_count(|s| s.session_silent_failures),
            Figure::ProgressGaps => self.session_count(|s| s.progress_gaps),
            Figure::SessionProgressGaps => self.session_count(|s| s.session_progress_gaps),
            Figure::Faults => count(self.faults.values().sum::<u64>()),
            Figure::Fault(kind) => count(self.faults.get(&kind).copied().unwrap_or(0)),
            Figure::Latency(stat, timing) => self.latency(timing).stat(stat),
            Figure::Delta(timing) => {
                let paired = self.paired_delta.as_ref()?;
                match timing {
                    Timing::Storage => Some(paired.storage_ms?.mean),
                    Timing::ClientUpgrade => Some(paired.client_upgrade_ms?.mean),
                    Timing::Upgrade => Some(paired.upgrade_ms?.mean),
                }
            }
        }
    }

    /// A count of the edge cache's; none in a run without it.
    fn edge_count(&self, f: fn(&EdgeSummary) -> u64) -> Option<f64> {
        self.edge.as_ref().map(|e| f(e) as f64)
    }

    /// A count of the sessions'; none in a run without sessions.
    fn session_count(&self, f: fn(&SessionSummary) -> u64) -> Option<f64> {
        self.session.as_ref().map(|s| f(s) as f64)
    }

    /// A rate's value, when there was a job to take it over.
    fn of_jobs(&self, value: f64) -> Option<f64> {
        (self.jobs > 0).then_some(value)
    }

    /// `n` per job; none of no job (a rate nobody measured is absent, not 0).
    fn rate(&self, n: u64) -> Option<f64> {
        (self.jobs > 0).then(|| n as f64 / self.jobs as f64)
    }

    /// The summary of one timing.
    pub fn latency(&self, timing: Timing) -> &Latency {
        match timing {
            Timing::Storage => &self.storage_ms,
            Timing::Upgrade => &self.upgrade_ms,
            Timing::ClientUpgrade => &self.client_upgrade_ms,
        }
    }
}

/// Most jobs a summary read back from a file may count: a million jobs a seed
/// (`scenario::JOBS_MAX`) over a million seeds, past any run this tool makes.
pub const SUMMARY_JOBS_MAX: u64 = 1_000_000_000_000;
/// Most of any other count a summary read back may hold: 2^53, below which every count is
/// exact as a JSON number and as an `f64`.
pub const SUMMARY_COUNT_MAX: u64 = 1 << 53;
/// Largest latency, in ms, a summary read back may hold (about 31 years).
pub const SUMMARY_MS_MAX: f64 = 1e12;

/// A figure read back from a file that this tool cannot have written (`VariantSummary::check`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SummaryError(String);

impl From<String> for SummaryError {
    fn from(message: String) -> SummaryError {
        SummaryError(message)
    }
}

impl VariantSummary {
    /// Checks a summary read back from a file (`merge`'s shards, `compare`'s runs) for
    /// figures this tool cannot have written: counts past their bounds or not adding up,
    /// rates outside [0, 1] or outside their own interval, latencies out of order. The
    /// first problem found, with the field's name.
    pub fn check(&self) -> Result<(), SummaryError> {
        let within = |name: &str, n: u64, max: u64| {
            if n > max {
                Err(SummaryError(format!("{name} is {n}, more than {max}")))
            } else {
                Ok(())
            }
        };
        within("jobs", self.jobs, SUMMARY_JOBS_MAX)?;
        let mut outcomes = 0u64;
        for (outcome, &n) in &self.outcomes {
            within(&format!("outcomes.{}", outcome.name()), n, self.jobs)?;
            outcomes += n;
        }
        if outcomes != self.jobs {
            return Err(format!(
                "the outcomes add up to {outcomes}, not to jobs ({})",
                self.jobs
            )
            .into());
        }
        for (name, n) in self.job_counts() {
            within(name, n, self.jobs)?;
        }
        for (name, n) in self.event_counts() {
            within(name, n, SUMMARY_COUNT_MAX)?;
        }
        for (kind, &n) in &self.faults {
            within(&format!("faults.{kind}"), n, SUMMARY_COUNT_MAX)?;
        }
        self.failure_rate.check("failure_rate")?;
        self.silent_failure_rate.check("silent_failure_rate")?;
        for timing in Timing::ALL {
            self.latency(timing).check(timing.name())?;
        }
        match &self.paired_delta {
            Some(p) => p.check(self.jobs),
            None => Ok(()),
        }
    }

    /// The counts of jobs, each at most `jobs`.
    fn job_counts(&self) -> [(&'static str, u64); 5] {
        [
            ("jobs_missing_progress", self.jobs_missing_progress),
            ("cold_starts", self.cold_starts),
            ("silent_failures", self.silent_failures),
            ("results_complete", self.results_complete),
            ("fallbacks", self.fallbacks),
        ]
    }

    /// The counts of events, any number of them a job.
    fn event_counts(&self) -> [(&'static str, u64); 12] {
        [
            ("canceled", self.canceled),
            ("canceled_at_edge", self.canceled_at_edge),
            ("no_socket_warnings", self.no_socket_warnings),
            ("retries", self.retries),
            ("reconnects", self.reconnects),
            ("token_refreshes", self.token_refreshes),
            ("polls", self.polls),
            ("progress_duplicates", self.progress_duplicates),
            ("progress_reordered", self.progress_reordered),
            ("unauthorized_accepts", self.unauthorized_accepts),
            ("safety_violations", self.safety_violations),
            (
                "faults (sum)",
                self.faults.values().fold(0u64, |a, &n| a.saturating_add(n)),
            ),
        ]
    }
}

impl Rate {
    fn check(&self, name: &str) -> Result<(), SummaryError> {
        let Rate {
            value,
            ci95_low,
            ci95_high,
        } = *self;
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !(unit(value) && unit(ci95_low) && unit(ci95_high)) {
            return Err(format!(
                "{name} [{ci95_low}, {ci95_high}] of {value}: a rate lies within [0, 1]"
            )
            .into());
        }
        if !(ci95_low <= value && value <= ci95_high) {
            return Err(format!(
                "{name} {value} lies outside its own interval [{ci95_low}, {ci95_high}]"
            )
            .into());
        }
        Ok(())
    }
}

impl Latency {
    fn check(&self, name: &str) -> Result<(), SummaryError> {
        let ms_max = SUMMARY_MS_MAX as u64;
        if self.count > SUMMARY_COUNT_MAX {
            return Err(format!(
                "{name}.count is {}, more than {SUMMARY_COUNT_MAX}",
                self.count
            )
            .into());
        }
        let ordered = self.p50 <= self.p95 && self.p95 <= self.p99 && self.p99 <= self.max;
        if !ordered || self.max > ms_max {
            return Err(format!(
                "{name}: p50 {} ≤ p95 {} ≤ p99 {} ≤ max {} ≤ {ms_max} ms does not hold",
                self.p50, self.p95, self.p99, self.max
            )
            .into());
        }
        if !(self.mean.is_finite() && self.mean >= 0.0 && self.mean <= self.max as f64) {
            return Err(format!(
                "{name}.mean {} lies outside [0, max {}]",
                self.mean, self.max
            )
            .into());
        }
        Ok(())
    }
}

impl Delta {
    fn check(&self, name: &str, jobs: u64) -> Result<(), SummaryError> {
        if self.pairs == 0 || self.pairs > jobs {
            return Err(format!(
                "{name}.pairs is {}, not within 1..={jobs} (jobs)",
                self.pairs
            )
            .into());
        }
        let ends = self.ci95_low.into_iter().chain(self.ci95_high);
        let finite = std::iter::once(self.mean)
            .chain(ends)
            .all(|x| x.is_finite() && x.abs() <= SUMMARY_MS_MAX);
        if !finite
            || self.min.unsigned_abs() as f64 > SUMMARY_MS_MAX
            || self.max.unsigned_abs() as f64 > SUMMARY_MS_MAX
        {
            return Err(format!("{name}: a figure is past ±{SUMMARY_MS_MAX} ms").into());
        }
        // An interval, when there is one, lies around the mean; one pair has none.
        let interval_ok = match (self.ci95_low, self.ci95_high) {
            (Some(lo), Some(hi)) => self.pairs >= 2 && lo <= self.mean && self.mean <= hi,
            (None, None) => self.pairs < 2,
            _ => false,
        };
        let ordered = interval_ok
            && self.min <= self.max
            && (self.min as f64) <= self.mean
            && self.mean <= self.max as f64;
        if !ordered {
            return Err(format!(
                "{name}: min {} ≤ mean {} ≤ max {} and an interval around the mean of two or more pairs ({:?}, {:?}) do not hold",
                self.min, self.mean, self.max, self.ci95_low, self.ci95_high
            )
            .into());
        }
        Ok(())
    }
}

impl Paired {
    fn check(&self, jobs: u64) -> Result<(), SummaryError> {
        for (timing, delta) in [
            (Timing::Storage, self.storage_ms),
            (Timing::Upgrade, self.upgrade_ms),
            (Timing::ClientUpgrade, self.client_upgrade_ms),
        ] {
            if let Some(d) = delta {
                d.check(&format!("paired_delta.{}", timing.name()), jobs)?;
            }
        }
        Ok(())
    }
}

/// Summaries of every variant, in the order given; runs of one variant may span many seeds.
///
/// `network_types` are the scenario's `network.types` names, in file order: each variant's
/// figures are also summarized over each type's jobs (`by_network`), paired with the
/// baseline's jobs of the same type.
pub fn summarize(
    variants: &[String],
    runs: &[RunOutput],
    network_types: &[String],
) -> Vec<VariantSummary> {
    let records_of = |v: &str| -> Vec<(u64, &JobRecord)> {
        runs.iter()
            .filter(|r| r.variant == v)
            .flat_map(|r| r.records.iter().map(move |j| (r.seed, j)))
            .collect()
    };
    let baseline = variants.first().map(|v| (v.clone(), records_of(v)));
    // Whether the runs used the edge cache or revocations, and sessions: one scan each, for
    // every summary.
    let used = Used {
        edge: runs
            .iter()
            .any(|run| run.records.iter().any(EdgeSummary::touched)),
        sessions: runs
            .iter()
            .any(|run| run.records.iter().any(|r| r.session.is_some())),
    };
    let summary = |v: &String, recs: &[(u64, &JobRecord)], base: Option<&[(u64, &JobRecord)]>| {
        let paired_delta = baseline
            .as_ref()
            .filter(|(b, _)| b != v)
            .map(|(b, _)| paired(b, base.unwrap_or_default(), recs));
        summarize_variant(v, recs, runs, paired_delta, used)
    };
    variants
        .iter()
        .map(|v| {
            let recs = records_of(v);
            let mut s = summary(v, &recs, baseline.as_ref().map(|(_, b)| b.as_slice()));
            for (i, name) in network_types.iter().enumerate() {
                let i = u8::try_from(i).ok();
                let base = baseline.as_ref().map(|(_, b)| of_type(b, i));
                let mut typed = summary(v, &of_type(&recs, i), base.as_deref());
                typed.faults.clear();
                s.by_network.insert(name.clone(), typed);
            }
            s
        })
        .collect()
}

/// The records of network type `i`.
fn of_type<'a>(recs: &[(u64, &'a JobRecord)], i: Option<u8>) -> Vec<(u64, &'a JobRecord)> {
    recs.iter()
        .filter(|(_, r)| r.network_type == i)
        .copied()
        .collect()
}

/// Per-job differences to the baseline, on the same (seed, job).
fn paired(baseline: &str, base: &[(u64, &JobRecord)], recs: &[(u64, &JobRecord)]) -> Paired {
    let by_key: BTreeMap<(u64, u64), &JobRecord> =
        base.iter().map(|(s, r)| ((*s, r.job), *r)).collect();
    let diffs = |f: fn(&JobRecord) -> Option<u64>| -> Vec<i64> {
        recs.iter()
            .filter_map(|(s, r)| {
                let b = by_key.get(&(*s, r.job))?;
                Some(f(r)? as i64 - f(b)? as i64)
            })
            .collect()
    };
    Paired {
        baseline: baseline.to_string(),
        storage_ms: Delta::of(&diffs(|r| r.storage_ms)),
        upgrade_ms: Delta::of(&diffs(|r| r.upgrade_ms)),
        client_upgrade_ms: Delta::of(&diffs(|r| r.client_upgrade_ms)),
    }
}

/// The summary of one variant's records (every seed) and the faults of its runs.
fn summarize_variant(
    v: &String,
    recs: &[(u64, &JobRecord)],
    runs: &[RunOutput],
    paired_delta: Option<Paired>,
    used: Used,
) -> VariantSummary {
    let jobs = recs.len() as u64;
    let mut outcomes: BTreeMap<Outcome, u64> = Outcome::ALL.iter().map(|&o| (o, 0)).collect();
    for (_, r) in recs {
        let o = r.outcome.expect("every job has an outcome after a run");
        *outcomes.get_mut(&o).expect("all outcomes listed") += 1;
    }
    let failures = jobs - outcomes[&Outcome::Ok];
    let sum = |f: fn(&JobRecord) -> u32| -> u64 { recs.iter().map(|(_, r)| f(r) as u64).sum() };
    let silent_failures = recs.iter().filter(|(_, r)| r.silent_failure).count() as u64;
    VariantSummary {
        variant: v.clone(),
        jobs,
        failure_rate: Rate::wilson(failures, jobs),
        outcomes,
        canceled: recs.iter().map(|(_, r)| r.canceled as u64).sum(),
        canceled_at_edge: sum(|r| r.canceled_at_edge),
        no_socket_warnings: recs.iter().map(|(_, r)| r.no_socket_warnings as u64).sum(),
        jobs_missing_progress: recs
            .iter()
            .filter(|(_, r)| r.no_socket_warnings > 0)
            .count() as u64,
        cold_starts: recs.iter().filter(|(_, r)| r.cold_start).count() as u64,
        retries: sum(|r| r.retries),
        silent_failures,
        silent_failure_rate: Rate::wilson(silent_failures, jobs),
        results_complete: recs.iter().filter(|(_, r)| r.results_in_time).count() as u64,
        reconnects: sum(|r| r.reconnects),
        token_refreshes: sum(|r| r.token_refreshes),
        polls: sum(|r| r.polls),
        fallbacks: recs.iter().filter(|(_, r)| r.fallback_used).count() as u64,
        progress_duplicates: sum(|r| r.progress_duplicates),
        progress_reordered: sum(|r| r.progress_reordered),
        unauthorized_accepts: sum(|r| r.unauthorized_accepts),
        safety_violations: sum(|r| {
            r.progress_duplicates + r.progress_reordered + r.unauthorized_accepts
        }),
        faults: {
            let mut f: BTreeMap<FaultKind, u64> = BTreeMap::new();
            for run in runs.iter().filter(|r| r.variant == *v) {
                for (k, n) in &run.faults {
                    *f.entry(*k).or_insert(0) += n;
                }
            }
            f
        },
        storage_ms: Latency::of(recs.iter().filter_map(|(_, r)| r.storage_ms)),
        upgrade_ms: Latency::of(recs.iter().filter_map(|(_, r)| r.upgrade_ms)),
        client_upgrade_ms: Latency::of(recs.iter().filter_map(|(_, r)| r.client_upgrade_ms)),
        paired_delta,
        edge: used.edge.then(|| EdgeSummary::of(recs)),
        session: used.sessions.then(|| SessionSummary::of(recs)),
        by_network: BTreeMap::new(),
    }
}

/// Which figure groups the runs measured (each absent from every summary otherwise).
#[derive(Clone, Copy)]
struct Used {
    edge: bool,
    sessions: bool,
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_closed_form() {
        // 10 of 100: the textbook Wilson score interval is [0.0552, 0.1744].
        let r = Rate::wilson(10, 100);
        assert_eq!(r.value, 0.1);
        assert!((r.ci95_low - 0.055_229).abs() < 1e-6, "{r:?}");
        assert!((r.ci95_high - 0.174_366).abs() < 1e-6, "{r:?}");
        // The interval never leaves [0, 1], even at 0 and n of n.
        let none = Rate::wilson(0, 20);
        assert_eq!((none.value, none.ci95_low), (0.0, 0.0));
        assert!(none.ci95_high > 0.1 && none.ci95_high < 0.2);
        let all = Rate::wilson(20, 20);
        assert_eq!((all.value, all.ci95_high), (1.0, 1.0));
    }

    #[test]
    fn paired_delta_is_the_mean_difference_with_its_extremes() {
        assert_eq!(Delta::of(&[]), None);
        let d = Delta::of(&[-80, -90, -85, -85]).unwrap();
        assert_eq!((d.pairs, d.mean, d.min, d.max), (4, -85.0, -90, -80));
        let (lo, hi) = (d.ci95_low.unwrap(), d.ci95_high.unwrap());
        assert!(lo < -85.0 && hi > -85.0);
        assert!((lo + hi + 170.0).abs() < 1e-9, "symmetric: {d:?}");
        // One pair: its mean, and no interval (not one of zero width).
        let one = Delta::of(&[7]).unwrap();
        assert_eq!((one.mean, one.ci95_low, one.ci95_high), (7.0, None, None));
    }

    #[test]
    fn paired_delta_interval_uses_students_t_for_few_pairs() {
        // Three pairs, sd 3: t with 2 degrees of freedom (4.303) gives ±7.45; z gave ±3.39.
        let three = Delta::of(&[0, 3, 6]).unwrap();
        let half = 4.302_653 * 3.0 / 3f64.sqrt();
        assert!(
            (three.ci95_high.unwrap() - 3.0 - half).abs() < 1e-3,
            "{three:?}"
        );
        assert!(
            (three.ci95_low.unwrap() - 3.0 + half).abs() < 1e-3,
            "{three:?}"
        );
    }

    #[test]
    fn a_rate_of_no_job_is_absent_not_zero() {
        let none = summarize(&["parallel".to_string()], &[], &[]).remove(0);
        assert_eq!(none.jobs, 0);
        assert_eq!(none.figure(Figure::CanceledRate), None);
        assert_eq!(
            none.figure(Figure::Latency(Stat::P95, Timing::Upgrade)),
            None
        );
    }

    #[test]
    fn a_latency_of_no_sample_has_no_statistic() {
        let empty = Latency::of(std::iter::empty());
        assert_eq!(empty.count, 0);
        assert_eq!(empty.stat(Stat::P50), None);
        let l = Latency::of([10, 20, 30, 40].into_iter());
        assert_eq!(l.stat(Stat::Mean), Some(25.0));
        assert_eq!(l.stat(Stat::P50), Some(20.0));
        assert_eq!(l.stat(Stat::Max), Some(40.0));
    }
}
