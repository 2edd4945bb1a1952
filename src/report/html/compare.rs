//! The page of a `compare`: both sides, the settings that differ, and one table per variant
//! (A, B, B − A, the change), the figures that changed beyond noise said first.

use std::fmt::Write;

use super::{esc, page};
use crate::compare::{Change, Comparison, Row};
use crate::report::compare::{change, changed_line, difference, side, value};

/// How a row's change reads without colour, and its page class.
fn mark(c: Change) -> (&'static str, &'static str) {
    match c {
        Change::Changed => ("▲ ", "warning"),
        Change::WithinNoise | Change::Same => ("✓ ", "pass"),
        _ => ("", "none"),
    }
}

fn summary_html(b: &mut String, c: &Comparison) {
    let (symbol, class) = if c.variants.is_empty() {
        ("✗ ", "fail")
    } else if c.changed().is_empty() {
        ("✓ ", "pass")
    } else {
        ("▲ ", "warning")
    };
    let text = if c.variants.is_empty() {
        "nothing compared: no variant ran on both sides (give --pair A_VARIANT=B_VARIANT)"
            .to_string()
    } else {
        changed_line(c)
    };
    let _ = writeln!(
        b,
        "<p class=\"summary\" data-verdict=\"{class}\">{symbol}{}</p>",
        esc(&text)
    );
}

fn settings_html(b: &mut String, c: &Comparison) {
    let what = if c.same_scenario {
        "The same scenario"
    } else {
        "Different scenarios"
    };
    let d = &c.scenario_differences;
    if d.is_empty() {
        let _ = writeln!(b, "<p>{what}; every setting equal.</p>");
        return;
    }
    let _ = writeln!(
        b,
        "<p>{what}; {} setting(s) differ:</p>\n<table><tr><th>setting</th><th>A</th><th>B</th></tr>",
        d.len()
    );
    let shown = |v: &Option<String>| esc(v.as_deref().unwrap_or("(absent)"));
    for s in d {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.key),
            shown(&s.a),
            shown(&s.b)
        );
    }
    b.push_str("</table>\n");
}

fn rows_html(b: &mut String, title: &str, rows: &[Row]) {
    let _ = writeln!(
        b,
        "<h2>{}</h2>\n<table><tr><th>figure</th><th>A</th><th>B</th><th>B − A</th><th>change</th></tr>",
        esc(title)
    );
    for r in rows {
        let (symbol, class) = mark(r.change);
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-verdict=\"{class}\">{symbol}{}</td></tr>",
            esc(&r.figure),
            esc(&value(r.kind, r.a)),
            esc(&value(r.kind, r.b)),
            esc(&difference(r)),
            change(r.change)
        );
    }
    b.push_str("</table>\n");
}

/// The page of a comparison; `command` reproduces it.
pub fn compare_html(c: &Comparison, command: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>Comparison: {} (A) and {} (B)</h1>",
        esc(&c.a.scenario),
        esc(&c.b.scenario)
    );
    summary_html(&mut b, c);
    let _ = writeln!(
        b,
        "<ul><li>A: {}</li><li>B: {}</li></ul>",
        esc(&side(&c.a)),
        esc(&side(&c.b))
    );
    settings_html(&mut b, c);
    for v in &c.variants {
        let title = if v.a == v.b {
            v.a.clone()
        } else {
            format!("{} (A) vs {} (B)", v.a, v.b)
        };
        rows_html(&mut b, &title, &v.rows);
    }
    let _ = writeln!(
        b,
        "<p class=\"note\">The rule: {}.</p>\n<p>Reproduce: <code>{}</code></p>",
        esc(c.rule),
        esc(command)
    );
    page(&format!("handshake-sim compare: {}", c.a.scenario), &b)
}
