//! The page of a `run`: a headline built from the figures, the verdicts, the write-up's
//! figures beside the simulated ones, the table with what each row means, the plots, the worst
//! job's timeline and the resolved scenario.

use std::fmt::Write;

use super::timeline::{self, WorstJob};
use super::{esc, page, plots_html, scenario_html};
use crate::metrics::{Delta, VariantSummary};
use crate::names::Figure;
use crate::pipeline::Report;
use crate::report::plot::Plot;
use crate::report::pooled::{self, Outcome, PooledVerdict};
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

fn rate_text(v: &VariantSummary) -> String {
    format!("{} {:.1}%", v.variant, v.failure_rate.value * 100.0)
}

/// The headline: the failure rates from the baseline to the others, and each other variant's
/// paired storage and upgrade differences with their intervals.
fn headline(report: &Report) -> String {
    let vs = &report.variants;
    let Some((base, rest)) = vs.split_first() else {
        return "no variant ran".into();
    };
    if rest.is_empty() {
        return format!(
            "{} failed [95% CI {:.1}–{:.1}%] of {} jobs",
            rate_text(base),
            base.failure_rate.ci95_low * 100.0,
            base.failure_rate.ci95_high * 100.0,
            base.jobs
        );
    }
    let others: Vec<String> = rest.iter().map(rate_text).collect();
    let mut h = format!("{} → {} failed", rate_text(base), others.join(", "));
    for v in rest {
        let Some(p) = &v.paired_delta else { continue };
        let parts: Vec<String> = [("storage", p.storage_ms), ("upgrade", p.upgrade_ms)]
            .into_iter()
            .filter_map(|(name, d)| Some(format!("{name} {}", delta_text(&d?))))
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
    let worst = rows.first().map_or(Outcome::Pass, |r| r.outcome);
    let gate = if worst == Outcome::Fail {
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
        let class = r.outcome.class();
        let _ = writeln!(
            b,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-verdict=\"{class}\">{}</td></tr>",
            esc(&r.check),
            esc(&r.variant),
            r.measured,
            esc(&r.bound),
            esc(&r.outcome.text(&r.word))
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

/// The page of a `run`.
pub fn run_html(
    report: &Report,
    plots: &[Plot],
    command: &str,
    worst: Option<&WorstJob>,
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
