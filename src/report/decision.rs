//! `decide`'s outputs: the terminal tables (benefit, cost, the sweep) and the JSON; the HTML
//! page builds on the same cells (`html::decision`).

use std::fmt::Write;

use crate::decide::{Decided, Decision, PerJob, Percentile, SweepOutcome};

pub(crate) use super::table::percent as rate;

/// `1.52 [1.48–1.56]`, or `–` when not measured.
pub(crate) fn per_job(p: Option<PerJob>, places: usize) -> String {
    p.map_or("–".into(), |p| {
        format!(
            "{:.places$} [{:.places$}–{:.places$}]",
            p.mean, p.ci95_low, p.ci95_high
        )
    })
}

/// `135 [128–142]`, an end past the sample as `–`, or `–` when not measured.
pub(crate) fn percentile(p: Option<Percentile>) -> String {
    let end = |e: Option<u64>| e.map_or("–".to_string(), |e| e.to_string());
    p.map_or("–".into(), |p| {
        format!("{} [{}–{}]", p.value, end(p.ci95_low), end(p.ci95_high))
    })
}

/// A figure that is absent without revocations.
pub(crate) fn maybe(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.0}"))
}

/// The ranking figure of the best option, as the tables show it.
pub(crate) fn best_figure(d: &Decision) -> String {
    let Some(best) = d.options.first() else {
        return "–".into();
    };
    let figure = crate::names::Figure::parse(&d.rank_by).ok();
    match figure.and_then(|f| best.summary.figure(f).map(|x| (f, x))) {
        Some((f, x)) if f.kind() == crate::names::Kind::Rate => format!("{:.1}%", x * 100.0),
        Some((_, x)) => format!("{x}"),
        None => "–".into(),
    }
}

/// The option's name with its rank, and `≈ best` when the data cannot tell it from the best.
pub(crate) fn ranked_name(o: &Decided) -> String {
    let tie = if o.tied_with_best { " (≈ best)" } else { "" };
    format!("{}. {}{tie}", o.rank, o.name)
}

/// The benefit table: a header and one row per option, in ranking order.
pub(crate) fn benefit_rows(d: &Decision) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "option",
        "failure rate [95% CI]",
        "silent failures [95% CI]",
        "p95 client upgrade ms [95% CI]",
        "cold first upgrades [95% CI]",
    ];
    let rows = d
        .options
        .iter()
        .map(|o| {
            let b = &o.benefit;
            vec![
                ranked_name(o),
                rate(b.failure_rate),
                rate(b.silent_failure_rate),
                percentile(b.p95_client_upgrade_ms),
                rate(b.cold_start_rate),
            ]
        })
        .collect();
    (header, rows)
}

/// The failure rate by network type (none without `[[network.types]]`): a header of the
/// types, one row per option.
pub(crate) fn network_rows(d: &Decision) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let types = &d.network_types;
    if types.is_empty() {
        return None;
    }
    let mut header = vec!["failure rate by network [95% CI]".to_string()];
    header.extend(types.iter().cloned());
    let rows = d
        .options
        .iter()
        .map(|o| {
            let mut row = vec![ranked_name(o)];
            row.extend(types.iter().map(|t| {
                o.summary
                    .by_network
                    .get(t)
                    .filter(|s| s.jobs > 0)
                    .map_or("–".into(), |s| rate(s.failure_rate))
            }));
            row
        })
        .collect();
    Some((header, rows))
}

/// The cost table: per job with intervals, then the security cost.
pub(crate) fn cost_rows(d: &Decision) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "option",
        "handshakes/job",
        "storage ops/job",
        "KV reads/job",
        "KV writes/job",
        "object wall s/job",
        "stale accepts",
        "stale window max ms",
    ];
    let rows = d
        .options
        .iter()
        .map(|o| {
            let c = &o.costs;
            vec![
                ranked_name(o),
                per_job(c.handshakes, 2),
                per_job(c.storage_ops, 2),
                per_job(c.kv_reads, 2),
                per_job(c.kv_writes, 2),
                per_job(c.object_wall_s, 2),
                maybe(c.stale_accepts),
                maybe(c.stale_window_ms_max),
            ]
        })
        .collect();
    (header, rows)
}

/// The sweep's table: the parameter values, each option's figure (numbered as in `[decide]`)
/// and the best at each point; and the key of the numbers.
pub(crate) fn sweep_rows(s: &SweepOutcome, rank_by: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let options: Vec<&str> = s
        .points
        .first()
        .map(|p| p.figures.iter().map(|f| f.0.as_str()).collect())
        .unwrap_or_default();
    let mut header = s.params.clone();
    header.extend((1..=options.len()).map(|i| format!("({i})")));
    header.push("best".into());
    let rate = matches!(
        rank_by,
        "failure_rate" | "silent_failure_rate" | "canceled_rate"
    );
    let rows = s
        .points
        .iter()
        .map(|p| {
            let mut row: Vec<String> = p.values.iter().map(|(_, v)| v.clone()).collect();
            row.extend(p.figures.iter().map(|(_, x)| match x {
                Some(x) if rate => format!("{:.1}%", x * 100.0),
                Some(x) => format!("{x}"),
                None => "–".into(),
            }));
            let best: Vec<String> = p
                .best
                .iter()
                .map(|b| {
                    format!(
                        "({})",
                        options.iter().position(|o| o == b).map_or(0, |i| i + 1)
                    )
                })
                .collect();
            row.push(best.join(" = "));
            row
        })
        .collect();
    (header, rows)
}

/// `(1) sequential, (2) parallel, …`: the key of the sweep table's option numbers.
pub(crate) fn sweep_key(s: &SweepOutcome) -> String {
    s.points.first().map_or(String::new(), |p| {
        p.figures
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("({}) {name}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Columns padded to their widest cell, the first left-aligned.
fn grid<H: AsRef<str>>(header: &[H], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].as_ref().chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i == 0 {
                let _ = write!(out, "{c}{pad}");
            } else {
                let _ = write!(out, "  {pad}{c}");
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(header.iter().map(AsRef::as_ref).collect());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// The terminal text of a decision; `reproduce` is the command that repeats it.
pub fn decision_text(d: &Decision, reproduce: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "decide: {} — {} job(s) × {} seed(s) per option, every option on the same draws",
        d.scenario,
        d.jobs,
        d.seeds.len()
    );
    let _ = writeln!(
        t,
        "ranked by {}, lowest first; (≈ best): the 95% interval of its difference to the best holds 0\n",
        d.rank_by
    );
    let (h, rows) = benefit_rows(d);
    t.push_str(&grid(&h, &rows));
    t.push('\n');
    if let Some((h, rows)) = network_rows(d) {
        t.push_str(&grid(&h, &rows));
        t.push('\n');
    }
    let (h, rows) = cost_rows(d);
    t.push_str(&grid(&h, &rows));
    if let Some(s) = &d.sweep {
        let best = d.options.first().map_or("", |o| o.name.as_str());
        let _ = writeln!(
            t,
            "\nwhere the best changes: {} at each point, {} seed(s) from {}:",
            d.rank_by,
            s.seeds.len(),
            s.seeds.first().copied().unwrap_or(1)
        );
        let _ = writeln!(t, "{}", sweep_key(s));
        let (h, rows) = sweep_rows(s, &d.rank_by);
        t.push_str(&grid(&h, &rows));
        let _ = writeln!(
            t,
            "{} of {} point(s) have another best than {best}",
            s.changes,
            s.points.len()
        );
    }
    let _ = writeln!(t, "\nreproduce: {reproduce}");
    t
}

/// The decision as pretty JSON with a trailing newline.
pub fn decision_json(d: &Decision) -> String {
    let mut s = serde_json::to_string_pretty(d).expect("decision types serialise");
    s.push('\n');
    s
}
