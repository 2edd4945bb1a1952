//! `check`'s JSON (the table, JUnit and Markdown are in `verdicts`).

use crate::names::Repro;
use crate::verdict::CheckRow;

/// `check` as JSON: the counts of the summary line, and every check with its per-seed
/// values (`null` where a seed had no such figure), its verdict, and for a failed check the
/// command that reruns each failing seed.
pub fn json(scenarios: usize, rows: &[CheckRow], sets: &[String]) -> String {
    let (failed, warnings) = crate::verdict::tally(rows);
    let checks: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).expect("check rows serialise");
            v["fails"] = r.fails().into();
            let reproduce: Vec<String> = r
                .failing_seeds()
                .into_iter()
                .map(|seed| Repro::run(&r.file, seed).sets(sets).into())
                .collect();
            v["reproduce"] = reproduce.into();
            v
        })
        .collect();
    let mut v = serde_json::json!({
        "sets": sets,
        "scenarios": scenarios,
        "passed": failed == 0,
        "failed": failed,
        "warnings": warnings,
        "checks": checks,
    });
    crate::names::stamp::stamp(&mut v);
    let mut text = serde_json::to_string_pretty(&v).expect("JSON values serialise");
    text.push('\n');
    text
}
