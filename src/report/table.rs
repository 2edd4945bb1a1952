use std::fmt::Write;

use super::Report;
use crate::metrics::{Delta, Rate, VariantSummary};
use crate::names::{FaultKind, Figure, Stat, Timing};
use crate::record::Outcome;

/// One row of the side-by-side table: its label, the figure it shows (its meaning is the
/// figure's), one cell per variant.
#[derive(Debug, Clone)]
pub struct TableRow {
    pub label: String,
    pub figure: Option<Figure>,
    pub cells: Vec<String>,
}

/// The rows of the side-by-side table, built one group at a time.
struct Rows<'a> {
    vs: &'a [VariantSummary],
    rows: Vec<TableRow>,
}

impl Rows<'_> {
    /// One row: a label, its figure and one cell per variant.
    fn row(&mut self, label: &str, figure: Figure, cell: impl Fn(&VariantSummary) -> String) {
        let cells = self.vs.iter().map(cell).collect();
        self.rows.push(TableRow {
            label: label.to_string(),
            figure: Some(figure),
            cells,
        });
    }

    /// The row of a plain figure, under its own label, showing its count.
    fn count(&mut self, figure: Figure) {
        let label = figure.label().expect("a figure with a row");
        self.row(label, figure, |v| fmt_count(v.figure(figure)));
    }

    /// The row of a plain figure that is a fraction, written by `fmt`; `–` when absent.
    fn fraction(&mut self, figure: Figure, fmt: fn(f64) -> String) {
        let label = figure.label().expect("a figure with a row");
        self.row(label, figure, |v| v.figure(figure).map_or("–".into(), fmt));
    }

    /// Jobs and how they ended, the failure rate, and the server's counts.
    fn outcomes(&mut self) {
        self.count(Figure::Jobs);
        for (o, figure) in Outcome::ALL.into_iter().zip(OUTCOME_FIGURES) {
            self.row(&format!("  {}", o.name()), figure, |v| {
                v.outcome(o).to_string()
            });
        }
        self.row("failure rate [95% CI]", Figure::FailureRate, |v| {
            percent(v.failure_rate)
        });
        for figure in [
            Figure::Canceled,
            Figure::CanceledAtEdge,
            Figure::NoSocketWarnings,
            Figure::JobsMissingProgress,
            Figure::ColdStarts,
            Figure::Retries,
        ] {
            self.count(figure);
        }
        self.row("silent failures [95% CI]", Figure::SilentFailures, |v| {
            format!("{} = {}", v.silent_failures, percent(v.silent_failure_rate))
        });
        self.count(Figure::ResultsComplete);
    }

    /// The resilient client at work, when it did anything; safety; faults that fired.
    fn resilience_and_faults(&mut self) {
        let resilience = self
            .vs
            .iter()
            .any(|v| v.reconnects + v.token_refreshes + v.polls > 0);
        if resilience {
            self.count(Figure::Reconnects);
            self.count(Figure::TokenRefreshes);
            self.row("fallback jobs (polls)", Figure::Fallbacks, |v| {
                format!("{} ({})", v.fallbacks, v.polls)
            });
        }
        self.count(Figure::SafetyViolations);
        if self.vs.iter().any(|v| v.edge.is_some()) {
            for figure in Figure::EDGE {
                self.count(figure);
            }
        }
        if self.vs.iter().any(|v| v.session.is_some()) {
            for figure in Figure::SESSION {
                match figure {
                    Figure::SessionFailureRate => {
                        self.fraction(figure, |x| format!("{:.1}%", x * 100.0))
                    }
                    _ => self.count(figure),
                }
            }
        }
        for kind in FaultKind::ALL {
            if self.vs.iter().any(|v| v.faults.contains_key(&kind)) {
                self.count_as(&format!("fault: {kind}"), Figure::Fault(kind));
            }
        }
    }

    /// Mean and percentiles of one timing; `–` for a variant with no sample.
    fn latency(&mut self, timing: Timing) {
        let name = timing.name();
        let mean = Figure::Latency(Stat::Mean, timing);
        self.row(&format!("{name} mean"), mean, |v| match v.latency(timing) {
            l if l.count == 0 => "–".to_string(),
            l => format!("{:.1}", l.mean),
        });
        for stat in [Stat::P50, Stat::P95, Stat::P99, Stat::Max] {
            let figure = Figure::Latency(stat, timing);
            self.row(&format!("{name} {}", stat.name()), figure, |v| {
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
            d.map_or("–".to_string(), |d| match d.ci95_low.zip(d.ci95_high) {
                Some((lo, hi)) => format!("{:+.1} [{lo:+.1}, {hi:+.1}]", d.mean),
                None => format!("{:+.1} [–]", d.mean),
            })
        };
        if let (Some(base), true) = (self.vs.first(), self.vs.len() > 1) {
            let base = base.variant.clone();
            self.row(
                &format!("Δ storage_ms vs {base}"),
                Figure::Delta(Timing::Storage),
                |v| delta(v.paired_delta.as_ref().and_then(|p| p.storage_ms)),
            );
            self.row(
                &format!("Δ upgrade_ms vs {base} (server, all)"),
                Figure::Delta(Timing::Upgrade),
                |v| delta(v.paired_delta.as_ref().and_then(|p| p.upgrade_ms)),
            );
            self.row(
                &format!("Δ client_upgrade_ms vs {base} (101 in both)"),
                Figure::Delta(Timing::ClientUpgrade),
                |v| delta(v.paired_delta.as_ref().and_then(|p| p.client_upgrade_ms)),
            );
        }
    }
}

impl Rows<'_> {
    /// The figures of one network type's breakdown.
    fn breakdown(&mut self) {
        self.count(Figure::Jobs);
        self.row("failure rate [95% CI]", Figure::FailureRate, |v| {
            rate_of(v, v.failure_rate)
        });
        self.count(Figure::Canceled);
        self.count(Figure::CanceledAtEdge);
        self.count(Figure::ColdStarts);
        self.row("silent failures [95% CI]", Figure::SilentFailures, |v| {
            format!(
                "{} = {}",
                v.silent_failures,
                rate_of(v, v.silent_failure_rate)
            )
        });
        for timing in [Timing::Upgrade, Timing::ClientUpgrade] {
            for stat in [Stat::P50, Stat::P95] {
                let figure = Figure::Latency(stat, timing);
                self.count_as(&format!("{} {}", timing.name(), stat.name()), figure);
            }
        }
    }

    /// A count under a label of its own (a fault kind's row).
    fn count_as(&mut self, label: &str, figure: Figure) {
        self.row(label, figure, |v| fmt_count(v.figure(figure)));
    }
}

/// The figures of the outcome rows, in `Outcome::ALL` order.
const OUTCOME_FIGURES: [Figure; 6] = [
    Figure::Ok,
    Figure::HandshakeTimeout,
    Figure::PingTimeout,
    Figure::Rejected,
    Figure::ServerError,
    Figure::NetworkError,
];

/// A count as the table shows it.
fn fmt_count(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |x| (x as u64).to_string())
}

/// A rate of the summary's jobs, `–` when it has none (a network type no job drew).
fn rate_of(v: &VariantSummary, r: Rate) -> String {
    if v.jobs == 0 {
        "–".into()
    } else {
        percent(r)
    }
}

/// `12.3% [10.1–14.6]`.
pub(crate) fn percent(r: Rate) -> String {
    format!(
        "{:.1}% [{:.1}–{:.1}]",
        r.value * 100.0,
        r.ci95_low * 100.0,
        r.ci95_high * 100.0
    )
}

/// The rows of the side-by-side table.
pub fn rows(report: &Report) -> Vec<TableRow> {
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

/// The side-by-side terminal table: one column per variant; then, when the scenario has
/// network types, the breakdown by type.
pub fn table(report: &Report) -> String {
    let names: Vec<&str> = report.variants.iter().map(|v| v.variant.as_str()).collect();
    let mut out = layout(&rows(report), &names);
    for (heading, rows) in network_rows(report) {
        let _ = write!(out, "\n{heading}\n{}", layout(&rows, &names));
    }
    out
}

/// The breakdown by network type, one heading and table per type in file order (none without
/// `network.types`): the main figures over that type's jobs, paired with the baseline's jobs
/// of the same type.
pub fn network_rows(report: &Report) -> Vec<(String, Vec<TableRow>)> {
    let s = &report.scenario;
    s.network
        .types
        .iter()
        .map(|t| {
            let vs: Vec<VariantSummary> = report
                .variants
                .iter()
                .map(|v| {
                    v.by_network
                        .get(&t.name)
                        .cloned()
                        .unwrap_or_else(|| empty(v))
                })
                .collect();
            let mut rows = Rows {
                vs: &vs,
                rows: Vec::new(),
            };
            rows.breakdown();
            let deadline_ms = t
                .handshake_timeout_ms
                .unwrap_or(s.client.handshake_timeout_ms);
            let heading = format!(
                "network {}: {:.0}% of jobs, handshake deadline {deadline_ms} ms",
                t.name,
                t.share * 100.0
            );
            (heading, rows.rows)
        })
        .collect()
}

/// A summary of no job, for a variant that has no figures of a type (a summary read back).
fn empty(v: &VariantSummary) -> VariantSummary {
    crate::metrics::summarize(std::slice::from_ref(&v.variant), &[], &[]).remove(0)
}

/// Rows laid out under one column heading per name.
pub(crate) fn layout(rows: &[TableRow], names: &[&str]) -> String {
    let label_w = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0);
    let col_w: Vec<usize> = (0..names.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.cells[i].chars().count())
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
    for TableRow { label, cells, .. } in rows {
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
