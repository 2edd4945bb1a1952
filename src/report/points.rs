//! `points.csv`: one row per sweep point × variant, every figure of a summary flattened.

use std::io::Write;

use crate::metrics::{Delta, Latency, VariantSummary};
use crate::names::{Figure, Kind};
use crate::sweep::SweepResult;

fn latency_cols(name: &str, out: &mut Vec<(String, Kind)>) {
    out.push((format!("{name}_count"), Kind::Count));
    for f in ["mean", "p50", "p95", "p99", "max"] {
        out.push((format!("{name}_{f}"), Kind::Ms));
    }
}

fn delta_cols(name: &str, out: &mut Vec<(String, Kind)>) {
    out.push((format!("delta_{name}_pairs"), Kind::Count));
    for f in ["mean", "ci95_low", "ci95_high", "min", "max"] {
        out.push((format!("delta_{name}_{f}"), Kind::Delta));
    }
}

/// A latency's cells; a latency of no sample has only its count (empty cells, not zeros).
fn latency_vals(l: &Latency, out: &mut Vec<String>) {
    if l.count == 0 {
        out.push("0".into());
        out.extend(std::iter::repeat_n(String::new(), 5));
        return;
    }
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
            d.ci95_low.map_or(String::new(), |x| x.to_string()),
            d.ci95_high.map_or(String::new(), |x| x.to_string()),
            d.min.to_string(),
            d.max.to_string(),
        ]),
        None => out.extend(std::iter::repeat_n(String::new(), 6)),
    }
}

/// The scalar figures of a summary row, in `Figure::ALL` order: every count and rate with a
/// CSV column (`Figure::csv_column`: not the derived `failures` and `canceled_rate`, nor the
/// edge cache's, which are in the JSON only; latencies and deltas have columns of their own).
fn scalars() -> Vec<Figure> {
    Figure::ALL
        .into_iter()
        .filter(|f| {
            f.csv_column().is_some() && !matches!(f, Figure::Latency(..) | Figure::Delta(_))
        })
        .collect()
}

/// The summary columns, in order (after `point`, the parameters and `variant`).
pub fn summary_columns() -> Vec<String> {
    summary_column_kinds().into_iter().map(|(c, _)| c).collect()
}

/// The summary columns with the kind of number each holds (what `merge` checks a shard's
/// cells against).
pub fn summary_column_kinds() -> Vec<(String, Kind)> {
    let mut c: Vec<(String, Kind)> = scalars()
        .into_iter()
        .map(|f| (f.to_string(), f.kind()))
        .collect();
    latency_cols("storage_ms", &mut c);
    latency_cols("upgrade_ms", &mut c);
    latency_cols("client_upgrade_ms", &mut c);
    delta_cols("storage_ms", &mut c);
    delta_cols("client_upgrade_ms", &mut c);
    delta_cols("upgrade_ms", &mut c);
    c
}

pub fn summary_values(s: &VariantSummary) -> Vec<String> {
    let mut v: Vec<String> = scalars()
        .into_iter()
        // Empty: not measured (the rates of a point whose runs all failed, of no job).
        .map(|figure| s.figure(figure).map_or(String::new(), |x| x.to_string()))
        .collect();
    latency_vals(&s.storage_ms, &mut v);
    latency_vals(&s.upgrade_ms, &mut v);
    latency_vals(&s.client_upgrade_ms, &mut v);
    let p = s.paired_delta.as_ref();
    delta_vals(p.and_then(|p| p.storage_ms), &mut v);
    delta_vals(p.and_then(|p| p.client_upgrade_ms), &mut v);
    delta_vals(p.and_then(|p| p.upgrade_ms), &mut v);
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
