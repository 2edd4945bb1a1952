//! `points.csv`: one row per sweep point × variant, every figure of a summary flattened.

use std::io::Write;

use crate::metrics::{Delta, Latency, VariantSummary};
use crate::names::{Figure, Kind, Stat, Timing};
use crate::sweep::SweepResult;

/// A latency's columns: its sample count (`count_storage_ms`), then each statistic named as
/// its figure is (`mean_storage_ms`, `p50_storage_ms`, …).
fn latency_cols(timing: Timing, out: &mut Vec<(String, Kind)>) {
    out.push((format!("count_{}", timing.name()), Kind::Count));
    for stat in Stat::ALL {
        out.push((Figure::Latency(stat, timing).to_string(), Kind::Ms));
    }
}

/// A paired delta's columns: its pairs, its mean named as its figure is (`delta_storage_ms`),
/// then the mean's interval and the extremes (`delta_storage_ms_ci95_low`, …).
fn delta_cols(timing: Timing, out: &mut Vec<(String, Kind)>) {
    let name = Figure::Delta(timing).to_string();
    out.push((format!("{name}_pairs"), Kind::Count));
    out.push((name.clone(), Kind::Delta));
    for part in ["ci95_low", "ci95_high", "min", "max"] {
        out.push((format!("{name}_{part}"), Kind::Delta));
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
/// CSV column (`Figure::in_csv`; latencies and deltas have columns of their own).
fn scalars() -> Vec<Figure> {
    Figure::ALL
        .into_iter()
        .filter(|f| f.in_csv() && !matches!(f, Figure::Latency(..) | Figure::Delta(_)))
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
    for timing in Timing::ALL {
        latency_cols(timing, &mut c);
    }
    // The deltas' order is the one the CSV has always had.
    for timing in [Timing::Storage, Timing::ClientUpgrade, Timing::Upgrade] {
        delta_cols(timing, &mut c);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A column that names a figure names it as the figure table does (`p95_storage_ms`,
    /// not the old `storage_ms_p95`), so one spelling reaches every output.
    #[test]
    fn every_figure_column_has_its_figures_canonical_name() {
        let columns = summary_columns();
        for c in &columns {
            if let Ok(f) = Figure::parse(c) {
                assert_eq!(c, &f.to_string(), "column {c} names {f}");
            }
        }
        for f in Figure::ALL.into_iter().filter(|f| f.in_csv()) {
            assert!(columns.contains(&f.to_string()), "{f} has no column");
        }
    }
}
