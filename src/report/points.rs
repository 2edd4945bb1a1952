//! `points.csv`: one row per sweep point × variant, every figure of a summary flattened.

use std::io::Write;

use crate::metrics::{Delta, Latency, VariantSummary};
use crate::sweep::SweepResult;

fn latency_cols(name: &str, out: &mut Vec<String>) {
    for f in ["count", "mean", "p50", "p95", "p99", "max"] {
        out.push(format!("{name}_{f}"));
    }
}

fn delta_cols(name: &str, out: &mut Vec<String>) {
    for f in ["pairs", "mean", "ci95_low", "ci95_high", "min", "max"] {
        out.push(format!("delta_{name}_{f}"));
    }
}

fn latency_vals(l: &Latency, out: &mut Vec<String>) {
    out.extend([
        l.count.to_string(),
        l.mean.to_string(),
        l.p50.to_string(),
        l.p95.to_string(),
        l.p99.to_string(),
        l.max.to_string(),
    ]);
}

fn delta_vals(d: Option<Delta>, out: &mut Vec<String>) {
    match d {
        Some(d) => out.extend([
            d.pairs.to_string(),
            d.mean.to_string(),
            d.ci95_low.to_string(),
            d.ci95_high.to_string(),
            d.min.to_string(),
            d.max.to_string(),
        ]),
        None => out.extend(std::iter::repeat_n(String::new(), 6)),
    }
}

/// The summary columns, in order (after `point`, the parameters and `variant`).
pub fn summary_columns() -> Vec<String> {
    let mut c: Vec<String> = [
        "jobs",
        "ok",
        "handshake_timeout",
        "ping_timeout",
        "rejected",
        "server_error",
        "network_error",
    ]
    .map(String::from)
    .to_vec();
    c.extend(
        [
            "failure_rate",
            "failure_rate_ci95_low",
            "failure_rate_ci95_high",
            "canceled",
            "no_socket_warnings",
            "jobs_missing_progress",
            "cold_starts",
            "retries",
            "silent_failures",
            "silent_failure_rate",
            "results_complete",
            "reconnects",
            "token_refreshes",
            "polls",
            "fallbacks",
            "safety_violations",
            "faults",
        ]
        .map(String::from),
    );
    latency_cols("storage_ms", &mut c);
    latency_cols("upgrade_ms", &mut c);
    latency_cols("client_upgrade_ms", &mut c);
    delta_cols("storage_ms", &mut c);
    delta_cols("client_upgrade_ms", &mut c);
    c
}

pub fn summary_values(s: &VariantSummary) -> Vec<String> {
    let mut v: Vec<String> = [
        "ok",
        "handshake_timeout",
        "ping_timeout",
        "rejected",
        "server_error",
        "network_error",
    ]
    .iter()
    .map(|o| s.outcomes.get(*o).copied().unwrap_or(0).to_string())
    .collect();
    v.insert(0, s.jobs.to_string());
    v.extend([
        s.failure_rate.value.to_string(),
        s.failure_rate.ci95_low.to_string(),
        s.failure_rate.ci95_high.to_string(),
        s.canceled.to_string(),
        s.no_socket_warnings.to_string(),
        s.jobs_missing_progress.to_string(),
        s.cold_starts.to_string(),
        s.retries.to_string(),
        s.silent_failures.to_string(),
        s.silent_failure_rate.value.to_string(),
        s.results_complete.to_string(),
        s.reconnects.to_string(),
        s.token_refreshes.to_string(),
        s.polls.to_string(),
        s.fallbacks.to_string(),
        s.safety_violations.to_string(),
        s.faults.values().sum::<u64>().to_string(),
    ]);
    latency_vals(&s.storage_ms, &mut v);
    latency_vals(&s.upgrade_ms, &mut v);
    latency_vals(&s.client_upgrade_ms, &mut v);
    let p = s.paired_delta.as_ref();
    delta_vals(p.and_then(|p| p.storage_ms), &mut v);
    delta_vals(p.and_then(|p| p.client_upgrade_ms), &mut v);
    v
}

/// Writes `points.csv`.
pub fn write_points<W: Write>(out: W, sweep: &SweepResult) -> Result<(), ::csv::Error> {
    let mut w = ::csv::Writer::from_writer(out);
    let mut header = vec!["point".to_string()];
    header.extend(sweep.definition.params.iter().map(|p| p.key.clone()));
    header.push("variant".into());
    header.extend(summary_columns());
    w.write_record(&header)?;
    for p in &sweep.points {
        for s in &p.variants {
            let mut row = vec![p.point.to_string()];
            row.extend(p.params.iter().map(|(_, v)| v.clone()));
            row.push(s.variant.clone());
            row.extend(summary_values(s));
            w.write_record(&row)?;
        }
    }
    w.flush()?;
    Ok(())
}
