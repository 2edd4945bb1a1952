//! Service-level objectives judged per variant: ok, warning or critical.

use serde::Serialize;

use crate::metrics::VariantSummary;
use crate::names::{Figure, Stat, Timing};
use crate::record::Outcome;
use crate::scenario::{Slo, Threshold};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warning,
    Critical,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Critical => "critical",
        }
    }
}

/// One SLO of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SloJudged {
    pub variant: String,
    pub slo: &'static str,
    /// The figure; `null` when there was none to judge (which is critical).
    #[schemars(with = "Option<f64>")]
    pub value: f64,
    pub warning: f64,
    pub critical: f64,
    pub verdict: Verdict,
}

impl SloJudged {
    fn new(variant: &str, slo: &'static str, value: f64, t: Threshold) -> SloJudged {
        SloJudged {
            variant: variant.to_string(),
            slo,
            value,
            warning: t.warning,
            critical: t.critical,
            verdict: verdict(value, t),
        }
    }
}

fn verdict(value: f64, t: Threshold) -> Verdict {
    if value.is_nan() || value > t.critical {
        Verdict::Critical
    } else if value > t.warning {
        Verdict::Warning
    } else {
        Verdict::Ok
    }
}

/// Judges every SLO on every variant it applies to, in report order.
pub fn judge(slo: &Slo, summaries: &[VariantSummary]) -> Vec<SloJudged> {
    let mut out = Vec::new();
    for s in summaries.iter().filter(|s| slo.applies_to(&s.variant)) {
        for (name, figure, t) in slo.checks() {
            // No sample (no upgrade reached the object) is not a pass.
            let value = s.figure(figure).unwrap_or(f64::NAN);
            out.push(SloJudged::new(&s.variant, name, value, t));
        }
    }
    // Safety holds for every variant, under an SLO or not: no duplicated or reordered progress,
    // no socket accepted without a valid token.
    for s in summaries {
        out.push(SloJudged::new(
            &s.variant,
            "safety_violations",
            s.safety_violations as f64,
            Threshold::new(0.0, 0.0),
        ));
    }
    out
}

/// The names of `probe`'s upgrade-time SLOs: the figures of the client's upgrade time they
/// judge (`mean_client_upgrade_ms`, `p95_client_upgrade_ms`).
pub const CLIENT_UPGRADE_SLOS: [&str; 2] = ["mean_client_upgrade_ms", "p95_client_upgrade_ms"];

/// Judges the SLOs a client can see, for `probe`: upgrade times are the client's (request
/// sent → 101), a canceled connection is a client that gave up (handshake or ping timeout), a
/// failure is any job that did not end `ok`, safety is the progress the app saw duplicated or
/// reordered; the storage and silent-failure SLOs are left out (only the server knows them).
/// `violations` are the jobs the server broke (`JobRecord::violation`: an unusable answer, a
/// ping flood, progress not as documented): critical above 0, like safety.
pub fn judge_client_side(slo: &Slo, s: &VariantSummary, violations: u64) -> Vec<SloJudged> {
    let per_job = |n: u64| {
        if s.jobs == 0 {
            f64::NAN
        } else {
            n as f64 / s.jobs as f64
        }
    };
    let gave_up = s.outcome(Outcome::HandshakeTimeout) + s.outcome(Outcome::PingTimeout);
    let failed = s.jobs - s.outcome(Outcome::Ok);
    // Named as the figures they judge, which are the client's (`check`'s `avg_upgrade_ms`
    // is the server's); the thresholds are `[slo]`'s `avg_upgrade_ms` and `p95_upgrade_ms`.
    [
        (
            CLIENT_UPGRADE_SLOS[0],
            s.figure(Figure::Latency(Stat::Mean, Timing::ClientUpgrade))
                .unwrap_or(f64::NAN),
            slo.avg_upgrade_ms,
        ),
        (
            CLIENT_UPGRADE_SLOS[1],
            s.figure(Figure::Latency(Stat::P95, Timing::ClientUpgrade))
                .unwrap_or(f64::NAN),
            slo.p95_upgrade_ms,
        ),
        ("canceled_rate", per_job(gave_up), slo.canceled_rate),
        ("failure_rate", per_job(failed), slo.failure_rate),
        (
            "safety_violations",
            (s.progress_duplicates + s.progress_reordered) as f64,
            Threshold::new(0.0, 0.0),
        ),
        ("violations", violations as f64, Threshold::new(0.0, 0.0)),
    ]
    .into_iter()
    .map(|(name, value, t)| SloJudged::new(&s.variant, name, value, t))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `probe`'s SLO names are its figures' names, so a reader can find them in the table.
    #[test]
    fn the_client_slos_are_named_as_their_figures() {
        let figures = [
            Figure::Latency(Stat::Mean, Timing::ClientUpgrade).to_string(),
            Figure::Latency(Stat::P95, Timing::ClientUpgrade).to_string(),
        ];
        assert_eq!(CLIENT_UPGRADE_SLOS, figures.each_ref().map(String::as_str));
    }
}
