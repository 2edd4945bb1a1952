//! `fit`'s report: every evaluation, the value found and its uncertainty.

use std::fmt::Write as _;

use crate::fit::{FitResult, FitSpec};

/// The text `fit` prints.
pub fn text(spec: &FitSpec, r: &FitResult) -> String {
    let (key, variant, metric) = (spec.key, spec.variant, spec.metric);
    let show = |x: f64| {
        if spec.integer {
            format!("{}", x as i64)
        } else {
            format!("{x:.4}")
        }
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "fit {} — {variant}.{metric} = {}, seeds {}..={}",
        spec.origin,
        spec.target,
        spec.seeds[0],
        spec.seeds[spec.seeds.len() - 1]
    );
    for e in &r.evaluations {
        let _ = writeln!(
            s,
            "  {key} = {:>10}  →  {metric} {:.4} [{:.4}, {:.4}]",
            show(e.x),
            e.value,
            e.ci95_low,
            e.ci95_high
        );
    }
    let _ = writeln!(
        s,
        "\n{key} = {}  ({variant}.{metric} = {:.4}, 95% CI [{:.4}, {:.4}])",
        show(r.value),
        r.achieved.value,
        r.achieved.ci95_low,
        r.achieved.ci95_high
    );
    let _ = writeln!(
        s,
        "uncertainty: {key} in {}..={} ({})",
        show(r.interval.0),
        show(r.interval.1),
        if r.from_confidence {
            "values whose 95% interval contains the target"
        } else {
            "the last bisection bracket"
        }
    );
    s
}
