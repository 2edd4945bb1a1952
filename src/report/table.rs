use std::fmt::Write;

use super::Report;
use crate::metrics::{Delta, Rate, VariantSummary};
use crate::names::{FaultKind, Stat, Timing};
use crate::record::Outcome;

/// The rows of the side-by-side table, built one group at a time.
struct Rows<'a> {
    vs: &'a [VariantSummary],
    rows: Vec<(String, Vec<String>)>,
}

impl Rows<'_> {
    /// One row: a label and one cell per variant.
    fn row(&mut self, label: &str, cell: impl Fn(&VariantSummary) -> String) {
        let cells = self.vs.iter().map(cell).collect();
        self.rows.push((label.to_string(), cells));
    }

    /// Jobs and how they ended, the failure rate, and the server's counts.
    fn outcomes(&mut self) {
        self.row("jobs", |v| v.jobs.to_string());
        for o in Outcome::ALL {
            self.row(&format!("  {}", o.name()), |v| v.outcome(o).to_string());
        }
        self.row("failure rate [95% CI]", |v| percent(v.failure_rate));
        self.row("canceled (server)", |v| v.canceled.to_string());
        self.row("no-socket warnings", |v| v.no_socket_warnings.to_string());
        self.row("jobs missing progress", |v| {
            v.jobs_missing_progress.to_string()
        });
        self.row("cold upgrades", |v| v.cold_starts.to_string());
        self.row("retries", |v| v.retries.to_string());
        self.row("silent failures [95% CI]", |v| {
            format!("{} = {}", v.silent_failures, percent(v.silent_failure_rate))
        });
        self.row("results complete", |v| v.results_complete.to_string());
    }

    /// The resilient client at work, when it did anything; safety; faults that fired.
    fn resilience_and_faults(&mut self) {
        let resilience = self
            .vs
            .iter()
            .any(|v| v.reconnects + v.token_refreshes + v.polls > 0);
        if resilience {
            self.row("reconnects", |v| v.reconnects.to_string());
            self.row("token refreshes", |v| v.token_refreshes.to_string());
            self.row("fallback jobs (polls)", |v| {
                format!("{} ({})", v.fallbacks, v.polls)
            });
        }
        self.row("safety violations", |v| v.safety_violations.to_string());
        for kind in FaultKind::ALL.map(FaultKind::name) {
            if self.vs.iter().any(|v| v.faults.contains_key(kind)) {
                self.row(&format!("fault: {kind}"), |v| {
                    v.faults.get(kind).copied().unwrap_or(0).to_string()
                });
            }
        }
    }

    /// Mean and percentiles of one timing; `–` for a variant with no sample.
    fn latency(&mut self, timing: Timing) {
        let name = timing.name();
        self.row(&format!("{name} mean"), |v| match v.latency(timing) {
            l if l.count == 0 => "–".to_string(),
            l => format!("{:.1}", l.mean),
        });
        for stat in [Stat::P50, Stat::P95, Stat::P99, Stat::Max] {
            self.row(&format!("{name} {}", stat.name()), |v| {
                let l = v.latency(timing);
                match l.stat(stat) {
                    Some(x) if l.count > 0 => (x as u64).to_string(),
                    _ => "–".to_string(),
                }
            });
        }
    }

    /// Paired differences to the baseline (the first variant), when there are two or more.
    fn deltas(&mut self) {
        let delta = |d: Option<Delta>| {
            d.map_or("–".to_string(), |d| {
                format!("{:+.1} [{:+.1}, {:+.1}]", d.mean, d.ci95_low, d.ci95_high)
            })
        };
        if let (Some(base), true) = (self.vs.first(), self.vs.len() > 1) {
            let base = base.variant.clone();
            self.row(&format!("Δ storage_ms vs {base}"), |v| {
                delta(v.paired_delta.as_ref().and_then(|p| p.storage_ms))
            });
            self.row(&format!("Δ upgrade_ms vs {base} (server, all)"), |v| {
                delta(v.paired_delta.as_ref().and_then(|p| p.upgrade_ms))
            });
            self.row(
                &format!("Δ client_upgrade_ms vs {base} (101 in both)"),
                |v| delta(v.paired_delta.as_ref().and_then(|p| p.client_upgrade_ms)),
            );
        }
    }
}

/// `12.3% [10.1–14.6]`.
fn percent(r: Rate) -> String {
    format!(
        "{:.1}% [{:.1}–{:.1}]",
        r.value * 100.0,
        r.ci95_low * 100.0,
        r.ci95_high * 100.0
    )
}

/// The rows of the side-by-side table: a label and one cell per variant.
pub fn rows(report: &Report) -> Vec<(String, Vec<String>)> {
    let mut rows = Rows {
        vs: &report.variants,
        rows: Vec::new(),
    };
    rows.outcomes();
    rows.resilience_and_faults();
    for timing in [Timing::Storage, Timing::Upgrade, Timing::ClientUpgrade] {
        rows.latency(timing);
    }
    rows.deltas();
    rows.rows
}

/// The side-by-side terminal table: one column per variant.
pub fn table(report: &Report) -> String {
    let names: Vec<&str> = report.variants.iter().map(|v| v.variant.as_str()).collect();
    layout(&rows(report), &names)
}

/// Rows laid out under one column heading per name.
pub(crate) fn layout(rows: &[(String, Vec<String>)], names: &[&str]) -> String {
    let label_w = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let col_w: Vec<usize> = (0..names.len())
        .map(|i| {
            rows.iter()
                .map(|(_, c)| c[i].chars().count())
                .chain(std::iter::once(names[i].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let pad = |s: &str, w: usize| format!("{}{s}", " ".repeat(w.saturating_sub(s.chars().count())));
    let _ = write!(out, "{}", " ".repeat(label_w));
    for (v, w) in names.iter().zip(&col_w) {
        let _ = write!(out, "  {}", pad(v, *w));
    }
    out.push('\n');
    for (label, cells) in rows {
        let _ = write!(
            out,
            "{label}{}",
            " ".repeat(label_w - label.chars().count())
        );
        for (c, w) in cells.iter().zip(&col_w) {
            let _ = write!(out, "  {}", pad(c, *w));
        }
        out.push('\n');
    }
    out
}
