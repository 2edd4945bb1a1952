//! `check`'s outputs: the verdict table, JUnit XML and Markdown.

use std::fmt::Write;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::names::Repro;
use crate::verdict::check::Unit;
use crate::verdict::{CheckKind, CheckRow};

/// The command that reruns one seed of a scenario with the same overrides.
pub(crate) fn run_command(file: &str, seed: u64, sets: &[String]) -> Repro {
    Repro::run(file, seed).sets(sets)
}

/// "v" or "min..max" over the seeds, as `unit` reads (`34.0%..38.0%`, `98..99 ms`); "n/a"
/// when a seed had no such figure.
fn range(unit: Unit, values: impl Iterator<Item = f64> + Clone) -> String {
    if values.clone().any(f64::is_nan) {
        return "n/a".to_string();
    }
    let min = values.clone().fold(f64::INFINITY, f64::min);
    let max = values.fold(f64::NEG_INFINITY, f64::max);
    let one = |v: f64| match unit {
        Unit::Share => format!("{:.1}%", v * 100.0),
        // As `run` prints a latency: whole, or to a tenth of a millisecond.
        Unit::Ms if v.fract() != 0.0 => format!("{v:.1}"),
        Unit::Ms | Unit::Plain => fmt_num(v),
    };
    let text = if min == max {
        one(min)
    } else {
        format!("{}..{}", one(min), one(max))
    };
    match unit {
        Unit::Ms => format!("{text} ms"),
        Unit::Share | Unit::Plain => text,
    }
}

pub(crate) fn value_range(row: &CheckRow) -> String {
    range(row.unit, row.seeds.iter().map(|s| s.value))
}

pub(crate) fn bound_text(row: &CheckRow) -> String {
    let first = &row.seeds[0];
    if row.kind == CheckKind::Slo {
        let warn = row_warning(row);
        let one = |v: f64| range(row.unit, std::iter::once(v));
        format!("warn > {}, crit > {}", one(warn), one(first.bound))
    } else {
        format!(
            "bound {}",
            range(row.unit, row.seeds.iter().map(|s| s.bound))
        )
    }
}

fn row_warning(row: &CheckRow) -> f64 {
    row.warning.unwrap_or(f64::NAN)
}

pub(crate) fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The verdict table, one line per check, and each failure with its reproduce command.
pub fn check_table(rows: &[CheckRow], sets: &[String]) -> String {
    let header = [
        "scenario",
        "variant",
        "check",
        "value(s)",
        "threshold",
        "verdict",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.variant.clone(),
                if r.kind == CheckKind::Slo {
                    format!("slo {}", r.check)
                } else {
                    format!("expect {}", r.check)
                },
                value_range(r),
                bound_text(r),
                r.verdict_text().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for c in &cells {
        for (w, s) in widths.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, c: &[String]| {
        let parts: Vec<String> = c
            .iter()
            .zip(widths)
            .map(|(s, w)| format!("{s}{}", " ".repeat(w - s.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &header.map(String::from));
    for c in &cells {
        line(&mut out, c);
    }
    failed_section(&mut out, rows, sets);
    out
}

/// Every failing seed of every failed check, with the command that reproduces it.
fn failed_section(out: &mut String, rows: &[CheckRow], sets: &[String]) {
    let failed: Vec<&CheckRow> = rows.iter().filter(|r| r.fails()).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nfailed:");
    // One entry per failed check, its failing seeds listed, the first one's command to rerun.
    for r in failed {
        let seeds = r.failing_seeds();
        let failing = || r.seeds.iter().filter(|s| seeds.contains(&s.seed));
        let seed_list: Vec<String> = seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "- {} / {}: {} {} (value {}, bound {}), {} {}\n  reproduce: {}",
            r.scenario,
            r.variant,
            r.kind,
            r.check,
            range(r.unit, failing().map(|s| s.value)),
            range(r.unit, failing().map(|s| s.bound)),
            if seeds.len() == 1 { "seed" } else { "seeds" },
            seed_list.join(", "),
            run_command(&r.file, seeds[0], sets)
        );
    }
}

/// JUnit XML: one suite per scenario, one test case per scenario × variant × check.
pub fn junit(rows: &[CheckRow], sets: &[String]) -> String {
    let mut report = quick_junit::Report::new("handshake-sim check");
    let mut suites: Vec<TestSuite> = Vec::new();
    for r in rows {
        let suite_name = format!("{} ({})", r.scenario, r.file);
        if suites.last().is_none_or(|s| s.name.as_str() != suite_name) {
            suites.push(TestSuite::new(suite_name));
        }
        let status = if r.fails() {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let details: Vec<String> = r
                .failing_seeds()
                .iter()
                .map(|seed| format!("seed {seed}: {}", run_command(&r.file, *seed, sets)))
                .collect();
            st.set_message(format!(
                "{} {}: {} ({})",
                r.kind,
                r.check,
                r.verdict_text(),
                value_range(r)
            ));
            st.set_description(details.join("\n"));
            st
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(format!("{} {} {}", r.variant, r.kind, r.check), status);
        case.set_classname(format!("{}.{}", r.scenario, r.variant));
        // A warning passes (JUnit has no such status) but is not silent: a CI view shows it.
        if !r.fails() && r.verdict == crate::verdict::Verdict::Warning {
            case.add_property(("verdict", "warning"));
            case.set_system_out(format!(
                "warning: {} {} above its warning threshold ({}, {})",
                r.kind,
                r.check,
                value_range(r),
                bound_text(r)
            ));
        }
        suites.last_mut().expect("pushed above").add_test_case(case);
    }
    report.add_test_suites(suites);
    report.to_string().expect("JUnit report serialises")
}

/// A Markdown summary for a CI job page.
pub fn markdown(rows: &[CheckRow], sets: &[String]) -> String {
    let failed = rows.iter().filter(|r| r.fails()).count();
    let mut out = format!(
        "## handshake-sim check: {}\n\n{} checks, {} failed, {} warnings\n\n",
        if failed == 0 { "passed" } else { "FAILED" },
        rows.len(),
        failed,
        rows.iter()
            .filter(|r| r.kind == CheckKind::Slo && r.verdict == crate::verdict::Verdict::Warning)
            .count()
    );
    out.push_str("| scenario | variant | check | value(s) | threshold | verdict |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} `{}` | {} | {} | {} |",
            r.scenario,
            r.variant,
            r.kind,
            r.check.replace('|', "\\|"),
            value_range(r),
            bound_text(r),
            r.verdict_text()
        );
    }
    if rows.iter().any(CheckRow::fails) {
        out.push_str("\n### Failures\n\n");
    }
    for r in rows.iter().filter(|r| r.fails()) {
        for seed in r.failing_seeds() {
            let _ = writeln!(
                out,
                "- {} / {}: {} `{}`, seed {seed}: `{}`",
                r.scenario,
                r.variant,
                r.kind,
                r.check,
                run_command(&r.file, seed, sets)
            );
        }
    }
    out
}
