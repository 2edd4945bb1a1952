//! The page of a `run`: a headline built from the figures, the verdicts, the write-up's
//! figures beside the simulated ones, the table with what each row means, the plots, the worst
//! job's timeline and the resolved scenario.

use std::fmt::Write;

use super::timeline::{self, WorstJob};
use super::{esc, page, plots_html, scenario_html};
use crate::metrics::{Delta, VariantSummary};
use crate::names::Figure;
use crate::pipeline::Report;
use crate::record::Outcome;
use crate::report::plot::Plot;
use crate::report::pooled::{self, Grade, PooledVerdict};
use crate::report::table::TableRow;
use crate::report::verdicts::fmt_num;

/// `−82.2 ms [−83.3, −81.1]`, with true minus signs.
fn delta_text(d: &Delta) -> String {
    let interval = d
        .ci95_low
        .zip(d.ci95_high)
        .map_or("[–]".to_string(), |(lo, hi)| {
            format!("[{lo:+.1}, {hi:+.1}]")
        });
    format!("{:+.1} ms {interval}", d.mean).replace('-', "−")
}

/// `sequential 15.2% (61 rejected)`: the failure rate and, when jobs failed, how.
fn rate_text(v: &VariantSummary) -> String {
    let causes: Vec<String> = v
        .outcomes
        .iter()
        .filter(|(o, n)| **o != Outcome::Ok && **n > 0)
        .map(|(o, n)| format!("{n} {}", o.name()))
        .collect();
    let mut t = format!("{} {:.1}%", v.variant, v.failure_rate.value * 100.0);
    if !causes.is_empty() {
        let _ = write!(t, " ({})", causes.join(", "));
    }
    t
}

/// With faults injected: what the app did about them, per variant (`None` without faults).
fn trouble_text(vs: &[VariantSummary]) -> Option<String> {
    if vs.iter().all(|v| v.faults.values().all(|n| *n == 0)) {
        return None;
    }
    let each: Vec<String> = vs
        .iter()
        .map(|v| {
            format!(
                "{} {} retries, {} reconnects, {} silent failures",
                v.variant, v.retries, v.reconnects, v.silent_failures
            )
        })
        .collect();
    Some(format!("with faults injected: {}", each.join("; ")))
}

/// A paired delta worth a headline: one with an interval of some width, or a mean not 0 (an
/// interval of zero width around 0 says only that both variants did the same).
fn telling(d: &Delta) -> bool {
    let width = d.ci95_low.zip(d.ci95_high).map(|(lo, hi)| hi - lo);
    d.mean != 0.0 || width.is_some_and(|w| w > 0.0)
}

/// The headline: the failure rates from the baseline to the others, with how jobs failed;
/// with faults, what the app did about them; and each other variant's paired storage and
/// upgrade differences with their intervals, when they tell anything.
fn headline(report: &Report) -> String {
    let vs = &report.variants;
    let Some((base, rest)) = vs.split_first() else {
        return "no variant ran".into();
    };
    let mut h = if rest.is_empty() {
        format!(
            "{} failed [95% CI {:.1}–{:.1}%] of {} jobs",
            rate_text(base),
            base.failure_rate.ci95_low * 100.0,
            base.failure_rate.ci95_high * 100.0,
            base.jobs
        )
    } else {
        let others: Vec<String> = rest.iter().map(rate_text).collect();
        format!("{} → {} failed", rate_text(base), others.join(", "))
    };
    if let Some(t) = trouble_text(vs) {
        let _ = write!(h, "; {t}");
    }
    for v in rest {
        let Some(p) = &v.paired_delta else { continue };
        let parts: Vec<String> = [("storage", p.storage_ms), ("upgrade", p.upgrade_ms)]
            .into_iter()
            .filter_map(|(name, d)| {
                d.filter(telling)
                    .map(|d| format!("{name} {}", delta_text(&d)))
            })
            .collect();
        if !parts.is_empty() {
            let _ = write!(
                h,
                "; {} vs {}: {}",
                v.variant,
                base.variant,
                parts.join(", ")
            );
        }
    }
    h
}

/// The line at the top of the page: how many checks fail, unmistakable without colour.
fn summary_html(b: &mut String, rows: &[PooledVerdict]) {
    let Some(summary) = pooled::summary(rows) else {
        return;
    };
    let worst = rows.first().map_or(Grade::Pass, |r| r.grade);
    let gate = if worst == Grade::Fail {
        " <code>run</code> exits 0 all the same; <code>check</code> is the gate (exit 1)."
    } else {
        ""
    };
    let _ = writeln!(
        b,
        "<p class=\"summary\" data-verdict=\"{}\"><a href=\"#verdicts\">{}</a> on the pooled seeds.{gate}</p>",
        worst.class(),
        esc(&worst.text(&summary))
    );
}

fn verdicts_html(b: &mut String, rows: &[PooledVerdict]) {
    let Some(summary) = pooled::summary(rows) else {
        return;
    };
    let _ = writeln!(
        b,
        "<h2 id=\"verdicts\">Verdicts</h2>\n<p>{}: judged on the pooled seeds, failing rows first; <code>check</code> judges each seed.</p>",
        esc(&capitalized(&summary))
    );
    b.push_str("<table class=\"verdicts\"><tr><th>check</th><th>variant</th><th>measured</th><th>bound</th><th>verdict</th></tr>\n");
    for r in rows {
        let class = r.grade.class();
        let _ = writeln!(
            b,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-verdict=\"{class}\">{}</td></tr>",
            esc(&r.check),
            esc(&r.variant),
            r.measured,
            esc(&r.bound),
            esc(&r.grade.text(&r.word))
        );
    }
    b.push_str("</table>\n");
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The write-up's figures (`[reported]`) beside the simulated ones.
fn reported_html(b: &mut String, report: &Report) {
    let reported = report.scenario.reported_figures();
    if reported.is_empty() {
        return;
    }
    b.push_str("<h2>The write-up's figures beside the simulated ones</h2>\n<p>From the scenario's <code>[reported]</code>; a range is inside when the simulated figure falls within it.</p>\n");
    b.push_str("<table class=\"reported\"><tr><th>figure</th><th>write-up</th><th>simulated</th><th></th></tr>\n");
    for r in reported {
        let name = r.figure.figure.to_string();
        let pct = name.ends_with("_rate");
        let show = |v: f64| {
            if pct {
                format!("{:.1}%", v * 100.0)
            } else {
                fmt_num(v)
            }
        };
        let (lo, hi) = r.stated.bounds();
        let stated = if lo == hi {
            show(lo)
        } else {
            format!("{}–{}", show(lo), show(hi))
        };
        let sim = r.figure.value(&report.variants).ok();
        let (sim_text, verdict, text) = match sim {
            Some(v) if v >= lo && v <= hi => (show(v), "inside", "✓ inside"),
            Some(v) => (show(v), "outside", "✗ outside"),
            None => ("–".to_string(), "not-measured", "– not measured"),
        };
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{stated}</td><td>{sim_text}</td><td data-verdict=\"{verdict}\">{text}</td></tr>",
            esc(&r.figure.to_string())
        );
    }
    b.push_str("</table>\n");
}

/// A table's heading row: an empty corner, then one column per variant.
fn variant_header(b: &mut String, report: &Report) {
    b.push_str("<table><tr><th></th>");
    for v in &report.variants {
        let _ = write!(b, "<th>{}</th>", esc(&v.variant));
    }
    b.push_str("</tr>\n");
}

/// What a row's figure means (its tooltip and legend entry).
fn meaning(r: &TableRow) -> String {
    r.figure.map(Figure::meaning).unwrap_or_default()
}

/// Table rows, each with its meaning as a tooltip.
fn rows_html(b: &mut String, rows: &[TableRow]) {
    for row in rows {
        let _ = write!(
            b,
            "<tr><td title=\"{}\">{}</td>",
            esc(&meaning(row)),
            esc(row.label.trim())
        );
        for c in &row.cells {
            let _ = write!(b, "<td>{}</td>", esc(c));
        }
        b.push_str("</tr>\n");
    }
}

/// The side-by-side table, each row with its meaning as a tooltip and in a legend below.
fn table_html(b: &mut String, report: &Report) {
    b.push_str("<h2>Figures</h2>\n");
    variant_header(b, report);
    let rows = crate::report::table::rows(report);
    rows_html(b, &rows);
    b.push_str("</table>\n<details class=\"legend\"><summary>What each row means</summary><dl>");
    for row in &rows {
        let _ = write!(
            b,
            "<dt>{}</dt><dd>{}</dd>",
            esc(row.label.trim()),
            esc(&meaning(row))
        );
    }
    b.push_str("</dl></details>\n");
}

/// The breakdown by network type (none without `network.types`): one table, a heading row
/// per type.
fn network_html(b: &mut String, report: &Report) {
    let types = crate::report::table::network_rows(report);
    if types.is_empty() {
        return;
    }
    b.push_str("<h2>By network type</h2>\n");
    variant_header(b, report);
    for (heading, rows) in &types {
        let _ = writeln!(
            b,
            "<tr><th colspan=\"{}\">{}</th></tr>",
            report.variants.len() + 1,
            esc(heading)
        );
        rows_html(b, rows);
    }
    b.push_str("</table>\n");
}

/// One seed of a run, for the page's per-seed view: the command that runs it alone, and
/// each variant's (failed jobs, jobs) in the report's order.
pub struct SeedRow {
    pub seed: u64,
    pub command: String,
    pub failed_of: Vec<(u64, u64)>,
}

/// Each seed's failure rate per variant (a run of more than one seed): how far the seeds
/// spread around the pooled figure, and the command that runs one alone.
fn seeds_html(b: &mut String, report: &Report, seeds: &[SeedRow]) {
    if seeds.len() < 2 {
        return;
    }
    b.push_str("<h2>By seed</h2>\n<table><tr><th>seed</th>");
    for v in &report.variants {
        let _ = write!(b, "<th>{} failed</th>", esc(&v.variant));
    }
    b.push_str("<th>run this seed alone</th></tr>\n");
    for row in seeds.iter().take(super::HTML_ROWS_MAX) {
        let _ = write!(b, "<tr><td>{}</td>", row.seed);
        for (failed, jobs) in &row.failed_of {
            let rate = if *jobs == 0 {
                "–".to_string()
            } else {
                format!("{:.1}%", *failed as f64 * 100.0 / *jobs as f64)
            };
            let _ = write!(b, "<td>{rate} ({failed} of {jobs})</td>");
        }
        let _ = writeln!(b, "<td><code>{}</code></td></tr>", esc(&row.command));
    }
    b.push_str("</table>\n");
    if seeds.len() > super::HTML_ROWS_MAX {
        let _ = writeln!(
            b,
            "<p>First {} of {} seeds; the records (--records) have every job of every seed.</p>",
            super::HTML_ROWS_MAX,
            seeds.len()
        );
    }
}

/// The page of a `run`.
pub fn run_html(
    report: &Report,
    plots: &[Plot],
    command: &str,
    worst: Option<&WorstJob>,
    seeds: &[SeedRow],
) -> String {
    let s = &report.scenario.scenario;
    let mut b = String::new();
    let verdicts = pooled::pooled_verdicts(report);
    let _ = writeln!(
        b,
        "<h1>{}</h1>\n<p>{}</p>",
        esc(&s.name),
        esc(&s.description)
    );
    summary_html(&mut b, &verdicts);
    let _ = writeln!(
        b,
        "<p class=\"headline\">{}</p>\n<p class=\"note\">Paired differences are per job on the same draws, mean with its 95% interval; failure rates pool {} job(s) per variant and seed over seeds {:?}.</p>",
        esc(&headline(report)),
        s.jobs,
        report.seeds
    );
    verdicts_html(&mut b, &verdicts);
    reported_html(&mut b, report);
    table_html(&mut b, report);
    network_html(&mut b, report);
    seeds_html(&mut b, report, seeds);
    let _ = writeln!(
        b,
        "<p>Concurrency {}. Reproduce: <code>{}</code></p>",
        s.concurrency,
        esc(command)
    );
    plots_html(&mut b, plots);
    if let Some(w) = worst {
        timeline::section(&mut b, w);
    }
    scenario_html(&mut b, &report.scenario);
    page(&format!("handshake-sim: {}", s.name), &b)
}
