//! The scenario's checks (`[slo]` and `[expect]`) judged on the pooled seeds of a run: what
//! `run` says on stderr and its page shows at the top. `check` judges each seed instead and
//! is the gate; `run` exits 0 whatever these say.

use crate::pipeline::Report;
use crate::report::verdicts::fmt_num;
use crate::verdict::slo::{self, Verdict};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    /// Failing first: an `[expect]` that does not hold, an SLO past its critical bound.
    Fail,
    /// An SLO past its warning bound only.
    Warning,
    Pass,
}

impl From<Verdict> for Grade {
    fn from(v: Verdict) -> Grade {
        match v {
            Verdict::Ok => Grade::Pass,
            Verdict::Warning => Grade::Warning,
            Verdict::Critical => Grade::Fail,
        }
    }
}

impl Grade {
    /// The verdict as text, with a symbol so that it never rests on colour alone.
    pub fn text(self, detail: &str) -> String {
        match self {
            Grade::Fail => format!("✗ {detail}"),
            Grade::Warning => format!("⚠ {detail}"),
            Grade::Pass => format!("✓ {detail}"),
        }
    }

    /// The page's class for the row.
    pub fn class(self) -> &'static str {
        match self {
            Grade::Fail => "fail",
            Grade::Warning => "warning",
            Grade::Pass => "pass",
        }
    }
}

/// One check of one variant.
#[derive(Debug, Clone)]
pub struct PooledVerdict {
    pub check: String,
    pub variant: String,
    /// The measured figure, `–` when nothing was measured.
    pub measured: String,
    pub bound: String,
    /// The verdict's own word (`critical`, `holds`, `FAILED`, ...).
    pub word: String,
    pub grade: Grade,
}

fn measured(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        fmt_num(v)
    }
}

fn slo_rows(report: &Report) -> impl Iterator<Item = PooledVerdict> + '_ {
    slo::judge(&report.scenario.slo, &report.variants)
        .into_iter()
        .map(|j| PooledVerdict {
            check: format!("slo {}", j.slo),
            variant: j.variant,
            measured: measured(j.value),
            bound: format!(
                "warning > {}, critical > {}",
                fmt_num(j.warning),
                fmt_num(j.critical)
            ),
            word: j.verdict.name().to_string(),
            grade: j.verdict.into(),
        })
}

fn expect_rows(report: &Report) -> impl Iterator<Item = PooledVerdict> + '_ {
    report.scenario.expectations().iter().map(|e| {
        let check = format!("expect {e}");
        let variant = e.judged_variant().name().to_string();
        match e.judge(&report.variants) {
            Ok(j) => PooledVerdict {
                check,
                variant,
                measured: measured(j.actual),
                bound: format!("{} {}", e.op.symbol(), fmt_num(j.bound)),
                word: if j.holds { "holds" } else { "FAILED" }.into(),
                grade: if j.holds { Grade::Pass } else { Grade::Fail },
            },
            Err(why) => PooledVerdict {
                check,
                variant,
                measured: "–".into(),
                bound: why.to_string(),
                word: "FAILED".into(),
                grade: Grade::Fail,
            },
        }
    })
}

/// Every SLO and `[expect]` line judged on the pooled seeds: failing rows first, then
/// warnings, then passes, each group in the scenario's order.
pub fn pooled_verdicts(report: &Report) -> Vec<PooledVerdict> {
    let mut rows: Vec<PooledVerdict> = slo_rows(report).chain(expect_rows(report)).collect();
    rows.sort_by_key(|r| r.grade);
    rows
}

/// "1 of 13 checks fail, 2 warn" (`None` without a check).
pub fn summary(rows: &[PooledVerdict]) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let count = |o: Grade| rows.iter().filter(|r| r.grade == o).count();
    let (failed, warned) = (count(Grade::Fail), count(Grade::Warning));
    let mut s = match (failed, rows.len()) {
        (0, 1) => "the 1 check passes".to_string(),
        (0, n) => format!("all {n} checks pass"),
        (f, 1) => format!("{f} of 1 check fails"),
        (f, n) => format!("{f} of {n} checks fail"),
    };
    if warned > 0 {
        s.push_str(&format!(", {warned} at warning"));
    }
    Some(s)
}
