//! Self-contained HTML reports: inline SVG, inline CSS, no external assets, the same bytes
//! for the same run.

mod check;
mod compare;
mod decision;
mod run;
mod timeline;

use std::fmt::Write;

pub use check::check_html;
pub use compare::compare_html;
pub use decision::decision_html;
pub use run::{run_html, SeedRow};
pub use timeline::WorstJob;

use super::plot::Plot;
use crate::sweep::SweepResult;

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// Verdict colours, each at least 4.5:1 on white (WCAG AA): blue #0072B2 5.2:1, amber
// #8A6100 5.5:1, vermillion #B34700 5.5:1; a symbol always goes with the colour. Tables scroll
// inside their own box on a narrow screen (display:block), so the page never does.
const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;display:block;overflow-x:auto;max-width:100%}\
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}code,pre{background:#f4f4f4;padding:2px 4px}\
code{overflow-wrap:anywhere}pre{overflow-x:auto}\
figure{margin:1.5em 0}svg,img{max-width:100%;height:auto}\
.headline{font-size:1.35em;font-weight:bold;margin:.6em 0}.note{color:#555;font-size:.9em}\
.summary{font-size:1.2em;font-weight:bold;padding:.4em .7em;border-left:6px solid}\
.summary a{color:inherit}\
[data-verdict=pass],[data-verdict=inside]{color:#0072B2;font-weight:bold}\
[data-verdict=warning]{color:#8A6100;font-weight:bold}\
[data-verdict=fail],[data-verdict=outside]{color:#B34700;font-weight:bold}\
td[title]{text-decoration:underline dotted #999}dt{font-weight:bold;margin-top:.4em}dd{margin-left:1.5em}\
table.steps td{font-family:monospace;font-size:.85em;text-align:left}figcaption{color:#444}";

pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        esc(title)
    )
}

pub(super) fn plots_html(out: &mut String, plots: &[Plot]) {
    for p in plots {
        let svg = p.svg.find("<svg").map_or(p.svg.as_str(), |i| &p.svg[i..]);
        let _ = writeln!(
            out,
            "<figure>{svg}<figcaption><b>{}</b>. {}</figcaption></figure>",
            esc(&p.title),
            esc(&p.caption)
        );
    }
}

pub(super) fn scenario_html(out: &mut String, s: &crate::scenario::Scenario) {
    let toml = toml::to_string(s).unwrap_or_default();
    let _ = writeln!(
        out,
        "<details><summary>Resolved scenario (every key)</summary><pre>{}</pre></details>",
        esc(&toml)
    );
}

/// Most rows a page lists in one table: a sweep's points (the CSV has them all), a run's
/// seeds (the records have them all).
const HTML_ROWS_MAX: usize = 500;

/// The points' failure rates, one row per point (the first `HTML_ROWS_MAX`).
fn points_table_html(b: &mut String, sweep: &SweepResult) {
    let def = &sweep.definition;
    b.push_str("<table><tr><th>point</th>");
    for p in &def.params {
        let _ = write!(b, "<th>{}</th>", esc(&p.key));
    }
    for v in &def.variants {
        let _ = write!(b, "<th>{} failure rate [95% CI]</th>", esc(v.name()));
    }
    b.push_str("<th>reproduce the point</th></tr>\n");
    for p in sweep.points.iter().take(HTML_ROWS_MAX) {
        let _ = write!(b, "<tr><td>{}</td>", p.point);
        for (_, v) in &p.params {
            let _ = write!(b, "<td>{}</td>", esc(v));
        }
        for s in &p.variants {
            let r = s.failure_rate;
            let _ = write!(
                b,
                "<td>{:.1}% [{:.1}–{:.1}]</td>",
                r.value * 100.0,
                r.ci95_low * 100.0,
                r.ci95_high * 100.0
            );
        }
        let _ = write!(b, "<td><code>{}</code></td>", esc(&sweep.point_command(p)));
        b.push_str("</tr>\n");
    }
    b.push_str("</table>\n");
    if sweep.points.len() > HTML_ROWS_MAX {
        let _ = writeln!(
            b,
            "<p>First {HTML_ROWS_MAX} of {} points; points.csv has all.</p>",
            sweep.points.len()
        );
    }
}

/// The page of a `sweep`: the definition, the points (failure rates per variant), the plots.
pub fn sweep_html(sweep: &SweepResult, plots: &[Plot]) -> String {
    let def = &sweep.definition;
    let name = &sweep.base.scenario.name;
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Sweep of {}</h1>", esc(name));
    let _ = writeln!(
        b,
        "<p>Scenario <code>{}</code>, {} point(s) × {} variant(s) × {} seed(s) {:?}.</p><ul>",
        esc(&def.scenario_file),
        sweep.points.len(),
        def.variants.len(),
        def.seeds.len(),
        def.seeds
    );
    for p in &def.params {
        let _ = writeln!(
            b,
            "<li><code>{} = {}</code></li>",
            esc(&p.key),
            esc(&p.spec)
        );
    }
    for s in &def.sets {
        let _ = writeln!(b, "<li>--set <code>{}</code></li>", esc(s));
    }
    let _ = writeln!(
        b,
        "</ul>\n<p>Reproduce: <code>{}</code> (each point's own <code>run</code> is in the table)</p>",
        esc(&sweep.command())
    );
    plots_html(&mut b, plots);
    points_table_html(&mut b, sweep);
    if !sweep.failed_runs.is_empty() {
        b.push_str("<h2>Failed runs</h2><ul>");
        for f in &sweep.failed_runs {
            let _ = write!(
                b,
                "<li>point {} {} seed {}: {}</li>",
                f.point,
                esc(&f.variant),
                f.seed,
                esc(&f.message)
            );
        }
        b.push_str("</ul>\n");
    }
    scenario_html(&mut b, &sweep.base);
    page(&format!("handshake-sim sweep: {name}"), &b)
}
