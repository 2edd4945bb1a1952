//! `decide --html`: the decision page. What each option is, its benefit and its cost with
//! their intervals, in ranking order, and where the best changes over the sweep.

use std::fmt::Write;

use super::{esc, page};
use crate::decide::Decision;
use crate::report::decision::{benefit_rows, cost_rows, network_rows, sweep_key, sweep_rows};

/// A table of `header` and `rows`, the first column the option.
fn table<H: AsRef<str>>(b: &mut String, header: &[H], rows: &[Vec<String>]) {
    b.push_str("<table><tr>");
    for h in header {
        let _ = write!(b, "<th>{}</th>", esc(h.as_ref()));
    }
    b.push_str("</tr>\n");
    for r in rows {
        b.push_str("<tr>");
        for c in r {
            let _ = write!(b, "<td>{}</td>", esc(c));
        }
        b.push_str("</tr>\n");
    }
    b.push_str("</table>\n");
}

/// The page; `reproduce` repeats the decision, `sweep_command` (when there is a sweep) is
/// the `sweep` that explores its grid further.
pub fn decision_html(d: &Decision, reproduce: &str, sweep_command: Option<&str>) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Which fix next: {}</h1>", esc(&d.scenario));
    if let Some(best) = d.options.first() {
        let ties: Vec<&str> = d
            .options
            .iter()
            .filter(|o| o.tied_with_best)
            .map(|o| o.name.as_str())
            .collect();
        let ties = if ties.is_empty() {
            String::new()
        } else {
            format!(" The data cannot tell {} from it.", ties.join(", "))
        };
        let _ = writeln!(
            b,
            "<p class=\"headline\">Best by {}: {} ({}).{}</p>",
            esc(&d.rank_by),
            esc(&best.name),
            esc(&crate::report::decision::best_figure(d)),
            esc(&ties)
        );
    }
    let _ = writeln!(
        b,
        "<p class=\"note\">{} job(s) × {} seed(s) per option; every option meets the same draws \
         (common random numbers), so differences are the options'. Intervals are 95%: Wilson for \
         rates, order statistics for the percentile, Student's t for means per job.</p>",
        d.jobs,
        d.seeds.len()
    );
    b.push_str("<h2>The options</h2>\n<table><tr><th>option</th><th>variant</th><th>overrides</th><th>what it is</th></tr>\n");
    for o in &d.options {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&o.name),
            esc(&o.variant),
            esc(&o.set.join(" ")),
            esc(&o.what)
        );
    }
    b.push_str("</table>\n<h2>Benefit</h2>\n");
    let (h, rows) = benefit_rows(d);
    table(&mut b, &h, &rows);
    if let Some((h, rows)) = network_rows(d) {
        table(&mut b, &h, &rows);
    }
    b.push_str(
        "<h2>Cost</h2>\n<p class=\"note\">Per job: the object's storage operations (gets, cached \
         or not, and puts), Workers KV reads and writes at the edge, and the object's wall time \
         while active (from each activation until it hibernates, which Cloudflare bills as \
         duration). Stale accepts: upgrades accepted with a token the object had revoked; the \
         window: how long an edge location kept serving a revoked token from its KV cache.</p>\n",
    );
    let (h, rows) = cost_rows(d);
    table(&mut b, &h, &rows);
    if let Some(s) = &d.sweep {
        let _ = writeln!(
            b,
            "<h2>Where the best changes</h2>\n<p>{} at each point of the grid, {} seed(s); {} of {} \
             point(s) have another best than the decision's.</p>",
            esc(&d.rank_by),
            s.seeds.len(),
            s.changes,
            s.points.len()
        );
        let _ = writeln!(b, "<p class=\"note\">{}</p>", esc(&sweep_key(s)));
        let (h, rows) = sweep_rows(s, &d.rank_by);
        table(&mut b, &h, &rows);
        if let Some(cmd) = sweep_command {
            let _ = writeln!(
                b,
                "<p>Explore the grid further (every figure, plots): <code>{}</code></p>",
                esc(cmd)
            );
        }
    }
    let _ = writeln!(b, "<p>Reproduce: <code>{}</code></p>", esc(reproduce));
    page(&format!("handshake-sim decide: {}", d.scenario), &b)
}
