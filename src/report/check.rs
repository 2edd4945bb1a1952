//! `check`'s closing line (the table, JUnit and Markdown are in `gate`).

use crate::verdict::Verdict;
use crate::verdict::{CheckKind, CheckRow};

/// The count of scenarios, checks, failures and warnings, after a blank line.
pub fn summary(scenarios: usize, rows: &[CheckRow]) -> String {
    let failed = rows.iter().filter(|r| r.fails()).count();
    let warnings = rows
        .iter()
        .filter(|r| r.kind == CheckKind::Slo && r.verdict == Verdict::Warning)
        .count();
    format!(
        "\n{} scenario(s), {} check(s): {} failed, {} warning(s)",
        scenarios,
        rows.len(),
        failed,
        warnings
    )
}
