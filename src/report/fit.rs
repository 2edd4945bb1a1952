//! `fit`'s report: every evaluation, the value found and its uncertainty, as text or JSON.

use std::fmt::Write as _;

use crate::fit::{Edge, FitResult, FitSpec, Spread};

/// A parameter value as the scenario takes it.
fn show(spec: &FitSpec, x: f64) -> String {
    if spec.integer {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.4}")
    }
}

/// An interval of parameter values, rounded outward for an integer key.
fn show_interval(spec: &FitSpec, (a, b): (f64, f64)) -> String {
    if spec.integer {
        format!("{}..={}", a.floor() as i64, b.ceil() as i64)
    } else {
        format!("{a:.4}..={b:.4}")
    }
}

/// A figure's 95% interval, when it has one.
fn ci(low: Option<f64>, high: Option<f64>) -> Option<String> {
    Some(format!("[{:.4}, {:.4}]", low?, high?))
}

/// The block fits' line: each block's seeds and value, their mean and spread.
fn blocks_line(spec: &FitSpec, sp: &Spread) -> String {
    let fits: Vec<String> = (sp.blocks.iter())
        .map(|b| {
            let (first, last) = (b.seeds[0], b.seeds[b.seeds.len() - 1]);
            let seeds = if first == last {
                format!("{first}")
            } else {
                format!("{first}..={last}")
            };
            let beyond = match b.beyond {
                Some(Edge::Low) => " (or below)",
                Some(Edge::High) => " (or above)",
                None => "",
            };
            format!("{seeds} → {}{beyond}", show(spec, b.value))
        })
        .collect();
    format!(
        "block fits (seeds → {}): {}; mean {:.4}, sd {:.4}, t {:.2}",
        spec.key,
        fits.join(", "),
        sp.mean,
        sp.sd,
        sp.t
    )
}

/// What the uncertainty line's interval is made of.
fn uncertainty_source(r: &FitResult) -> String {
    let rate = "the values whose 95% interval contains the target";
    match &r.spread {
        Some(sp) => format!(
            "95% t-interval over {} fits on disjoint seed blocks{}, and the bisection bracket",
            sp.blocks.len(),
            if r.from_confidence {
                format!(", with {rate}")
            } else {
                String::new()
            }
        ),
        None if r.from_confidence => {
            format!("{rate}; one seed, so no spread over seeds: use --seeds 2 or more")
        }
        None => "the last bisection bracket only: one seed, so no spread over seeds; \
                 use --seeds 2 or more"
            .into(),
    }
}

/// The text `fit` prints.
pub fn text(spec: &FitSpec, r: &FitResult) -> String {
    let (key, variant, metric) = (spec.key, spec.variant, spec.metric);
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
        let interval = ci(e.ci95_low, e.ci95_high).map_or(String::new(), |c| format!(" {c}"));
        let _ = writeln!(
            s,
            "  {key} = {:>10}  →  {metric} {:.4}{interval}",
            show(spec, e.x),
            e.value,
        );
    }
    let a = &r.achieved;
    let interval = ci(a.ci95_low, a.ci95_high).map_or(String::new(), |c| format!(", 95% CI {c}"));
    let _ = writeln!(
        s,
        "\n{key} = {}  ({variant}.{metric} = {:.4}{interval})",
        show(spec, r.value),
        a.value,
    );
    if let Some(sp) = &r.spread {
        let _ = writeln!(s, "{}", blocks_line(spec, sp));
    }
    let _ = writeln!(
        s,
        "uncertainty: {key} in {} ({})",
        show_interval(spec, r.interval),
        uncertainty_source(r)
    );
    let beyond = (r.spread.iter())
        .flat_map(|sp| &sp.blocks)
        .filter(|b| b.beyond.is_some())
        .count();
    if beyond > 0 {
        let _ = writeln!(
            s,
            "note: {beyond} block fit(s) lie beyond the range, so the interval stops at its \
             edge; widen --range for the whole interval"
        );
    }
    let _ = writeln!(s, "cost: {} simulation runs", r.runs);
    s
}

/// The `--json` document: the question, then every field of the result; pretty, with a
/// trailing newline.
pub fn json(spec: &FitSpec, r: &FitResult) -> Result<String, serde_json::Error> {
    let mut v = serde_json::json!({
        "scenario": spec.origin,
        "param": spec.key,
        "variant": spec.variant,
        "metric": spec.metric,
        "target": spec.target,
        "range": spec.range,
        "seeds": spec.seeds,
    });
    if let (Some(obj), serde_json::Value::Object(fields)) =
        (v.as_object_mut(), serde_json::to_value(r)?)
    {
        obj.extend(fields);
    }
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}
