//! `check`'s JSON (the table, JUnit and Markdown are in `verdicts`).

use schemars::JsonSchema;
use serde::Serialize;

use crate::names::{stamp, Repro};
use crate::verdict::CheckRow;

/// `check --json`: the counts of the summary line, and every check with its per-seed values,
/// its verdict, and for a failed check the command that reruns each failing seed. The type is
/// the layout: the writer serialises it and `docs/schema/check.json` is derived from it.
#[derive(Serialize, JsonSchema)]
pub struct CheckJson<'a> {
    pub tool: &'static str,
    pub version: &'static str,
    pub schema_version: u32,
    /// The `--set` overrides every scenario ran with.
    pub sets: &'a [String],
    /// How many scenarios ran.
    pub scenarios: usize,
    /// No check failed: the exit code's verdict.
    pub passed: bool,
    /// Checks that failed.
    pub failed: usize,
    /// Checks past a warning threshold only.
    pub warnings: usize,
    pub checks: Vec<CheckJsonRow<'a>>,
}

/// One check, with what the JSON adds to the table's row.
#[derive(Serialize, JsonSchema)]
pub struct CheckJsonRow<'a> {
    #[serde(flatten)]
    pub row: &'a CheckRow,
    /// Whether this check fails the run.
    pub fails: bool,
    /// The `run` command of each failing seed.
    pub reproduce: Vec<String>,
}

/// `check` as JSON, with a trailing newline.
pub fn json(scenarios: usize, rows: &[CheckRow], sets: &[String]) -> String {
    let (failed, warnings) = crate::verdict::tally(rows);
    let checks = rows
        .iter()
        .map(|row| CheckJsonRow {
            row,
            fails: row.fails(),
            reproduce: row
                .failing_seeds()
                .into_iter()
                .map(|seed| Repro::run(&row.file, seed).sets(sets).into())
                .collect(),
        })
        .collect();
    let out = CheckJson {
        tool: stamp::TOOL,
        version: stamp::VERSION,
        schema_version: stamp::SCHEMA_VERSION,
        sets,
        scenarios,
        passed: failed == 0,
        failed,
        warnings,
        checks,
    };
    // Through a `Value` (a sorted map): the keys stay in the order they always had.
    let v = serde_json::to_value(&out).expect("check types serialise");
    let mut text = serde_json::to_string_pretty(&v).expect("JSON values serialise");
    text.push('\n');
    text
}
