use std::fmt::Write;

use super::Report;
use crate::metrics::{Delta, Latency};
use crate::record::Outcome;

/// The rows of the side-by-side table: a label and one cell per variant.
pub fn rows(report: &Report) -> Vec<(String, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let vs = &report.variants;
    let mut row = |label: &str, cells: Vec<String>| rows.push((label.to_string(), cells));
    row("jobs", vs.iter().map(|v| v.jobs.to_string()).collect());
    for o in Outcome::ALL {
        row(
            &format!("  {}", o.name()),
            vs.iter().map(|v| v.outcome(o).to_string()).collect(),
        );
    }
    row(
        "failure rate [95% CI]",
        vs.iter()
            .map(|v| {
                let r = v.failure_rate;
                format!(
                    "{:.1}% [{:.1}–{:.1}]",
                    r.value * 100.0,
                    r.ci95_low * 100.0,
                    r.ci95_high * 100.0
                )
            })
            .collect(),
    );
    row(
        "canceled (server)",
        vs.iter().map(|v| v.canceled.to_string()).collect(),
    );
    row(
        "no-socket warnings",
        vs.iter()
            .map(|v| v.no_socket_warnings.to_string())
            .collect(),
    );
    row(
        "jobs missing progress",
        vs.iter()
            .map(|v| v.jobs_missing_progress.to_string())
            .collect(),
    );
    row(
        "cold upgrades",
        vs.iter().map(|v| v.cold_starts.to_string()).collect(),
    );
    row(
        "retries",
        vs.iter().map(|v| v.retries.to_string()).collect(),
    );
    row(
        "silent failures [95% CI]",
        vs.iter()
            .map(|v| {
                let r = v.silent_failure_rate;
                format!(
                    "{} = {:.1}% [{:.1}–{:.1}]",
                    v.silent_failures,
                    r.value * 100.0,
                    r.ci95_low * 100.0,
                    r.ci95_high * 100.0
                )
            })
            .collect(),
    );
    row(
        "results complete",
        vs.iter().map(|v| v.results_complete.to_string()).collect(),
    );
    let resilience = vs
        .iter()
        .any(|v| v.reconnects + v.token_refreshes + v.polls > 0);
    if resilience {
        row(
            "reconnects",
            vs.iter().map(|v| v.reconnects.to_string()).collect(),
        );
        row(
            "token refreshes",
            vs.iter().map(|v| v.token_refreshes.to_string()).collect(),
        );
        row(
            "fallback jobs (polls)",
            vs.iter()
                .map(|v| format!("{} ({})", v.fallbacks, v.polls))
                .collect(),
        );
    }
    row(
        "safety violations",
        vs.iter().map(|v| v.safety_violations.to_string()).collect(),
    );
    for kind in crate::record::fault::ALL {
        if vs.iter().any(|v| v.faults.contains_key(kind)) {
            row(
                &format!("fault: {kind}"),
                vs.iter()
                    .map(|v| v.faults.get(kind).copied().unwrap_or(0).to_string())
                    .collect(),
            );
        }
    }
    let lat_rows = |name: &str,
                    f: fn(&crate::metrics::VariantSummary) -> Latency,
                    row: &mut dyn FnMut(&str, Vec<String>)| {
        row(
            &format!("{name} mean"),
            vs.iter()
                .map(|v| match f(v) {
                    l if l.count == 0 => "–".to_string(),
                    l => format!("{:.1}", l.mean),
                })
                .collect(),
        );
        for (q, g) in [
            ("p50", (|l: Latency| l.p50) as fn(Latency) -> u64),
            ("p95", |l: Latency| l.p95),
            ("p99", |l: Latency| l.p99),
            ("max", |l: Latency| l.max),
        ] {
            row(
                &format!("{name} {q}"),
                vs.iter()
                    .map(|v| match f(v) {
                        l if l.count == 0 => "–".to_string(),
                        l => g(l).to_string(),
                    })
                    .collect(),
            );
        }
    };
    lat_rows("storage_ms", |v| v.storage_ms, &mut row);
    lat_rows("upgrade_ms", |v| v.upgrade_ms, &mut row);
    lat_rows("client_upgrade_ms", |v| v.client_upgrade_ms, &mut row);
    let delta = |d: Option<Delta>| {
        d.map_or("–".to_string(), |d| {
            format!("{:+.1} [{:+.1}, {:+.1}]", d.mean, d.ci95_low, d.ci95_high)
        })
    };
    if let (Some(base), true) = (vs.first(), vs.len() > 1) {
        row(
            &format!("Δ storage_ms vs {}", base.variant),
            vs.iter()
                .map(|v| delta(v.paired_delta.as_ref().and_then(|p| p.storage_ms)))
                .collect(),
        );
        row(
            &format!("Δ client_upgrade_ms vs {}", base.variant),
            vs.iter()
                .map(|v| delta(v.paired_delta.as_ref().and_then(|p| p.client_upgrade_ms)))
                .collect(),
        );
    }

    rows
}

/// The side-by-side terminal table: one column per variant.
pub fn table(report: &Report) -> String {
    let rows = rows(report);
    let vs = &report.variants;
    let label_w = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let col_w: Vec<usize> = (0..vs.len())
        .map(|i| {
            rows.iter()
                .map(|(_, c)| c[i].chars().count())
                .chain(std::iter::once(vs[i].variant.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let pad = |s: &str, w: usize| format!("{}{s}", " ".repeat(w.saturating_sub(s.chars().count())));
    let _ = write!(out, "{}", " ".repeat(label_w));
    for (v, w) in vs.iter().zip(&col_w) {
        let _ = write!(out, "  {}", pad(&v.variant, *w));
    }
    out.push('\n');
    for (label, cells) in &rows {
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
