//! The page of a `check`: the verdict first, the failing checks before the rest (each with
//! a symbol and a word, not only a colour), what reruns each failing seed, and the command that
//! makes the check again.

use std::fmt::Write;

use super::{esc, page};
use crate::report::pooled::Grade;
use crate::report::verdicts::{bound_text, run_command, value_range};
use crate::verdict::CheckRow;

/// The page of a check over `scenarios` scenarios; `command` reproduces it.
pub fn check_html(scenarios: usize, rows: &[CheckRow], sets: &[String], command: &str) -> String {
    let (failed, warnings) = crate::verdict::tally(rows);
    let mut b = String::from("<h1>Pre-deploy check</h1>\n");
    let (grade, text) = if failed > 0 {
        let text = format!("{failed} of {} checks fail; check exits 1", rows.len());
        (Grade::Fail, text)
    } else {
        (
            Grade::Pass,
            format!("all {} checks hold; check exits 0", rows.len()),
        )
    };
    let text = format!("{text}; {warnings} warning(s), {scenarios} scenario(s)");
    let _ = writeln!(
        b,
        "<p class=\"summary\" data-verdict=\"{}\">{}</p>",
        grade.class(),
        esc(&grade.text(&text))
    );
    b.push_str(
        "<table><tr><th>scenario</th><th>variant</th><th>check</th><th>value(s)</th>\
         <th>threshold</th><th>verdict</th></tr>\n",
    );
    // The worst first: failures, then warnings, then what holds; in table order within each.
    let mut ordered: Vec<&CheckRow> = rows.iter().collect();
    ordered.sort_by_key(|r| std::cmp::Reverse(r.verdict));
    for r in ordered {
        let grade = Grade::from(r.verdict);
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{} <code>{}</code></td><td>{}</td><td>{}</td>\
             <td data-verdict=\"{}\">{}</td></tr>",
            esc(&r.scenario),
            esc(&r.variant),
            r.kind,
            esc(&r.check),
            esc(&value_range(r)),
            esc(&bound_text(r)),
            grade.class(),
            grade.text(r.verdict_text())
        );
    }
    b.push_str("</table>\n");
    failures_html(&mut b, rows, sets);
    let _ = writeln!(b, "<p>Reproduce: <code>{}</code></p>", esc(command));
    page("handshake-sim check", &b)
}

/// Each failing seed of each failed check, with the `run` that shows it.
fn failures_html(b: &mut String, rows: &[CheckRow], sets: &[String]) {
    let failing: Vec<&CheckRow> = rows.iter().filter(|r| r.fails()).collect();
    if failing.is_empty() {
        return;
    }
    b.push_str("<h2>What failed, and how to see it</h2>\n<ul>\n");
    for r in failing {
        for seed in r.failing_seeds() {
            let _ = writeln!(
                b,
                "<li>{} / {}: {} <code>{}</code>, seed {seed}: <code>{}</code></li>",
                esc(&r.scenario),
                esc(&r.variant),
                r.kind,
                esc(&r.check),
                esc(&run_command(&r.file, seed, sets).to_string())
            );
        }
    }
    b.push_str("</ul>\n");
}
