//! What production says, from an event export (`calibrate`'s `--report` and its standard
//! error): upgrades on the progress route, the canceled rate with its Wilson interval, per
//! colo and per network, the timing lines, what was skipped, and the `fit` command that fits
//! the simulation to the canceled rate.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::calibrate::events::{Observed, Tally};
use crate::calibrate::Calibration;
use crate::metrics::Rate;

/// The canceled rate of `t`, or `None` without upgrades (not measured, never 0).
fn rate(t: &Tally) -> Option<Rate> {
    (t.upgrades > 0).then(|| Rate::wilson(t.canceled, t.upgrades))
}

fn show(t: &Tally) -> String {
    match rate(t) {
        Some(r) => format!(
            "{} upgrade(s), {} canceled = {:.1}% [{:.1}–{:.1}]",
            t.upgrades,
            t.canceled,
            100.0 * r.value,
            100.0 * r.ci95_low,
            100.0 * r.ci95_high
        ),
        None => "no upgrade on the route: canceled rate –".into(),
    }
}

/// The `fit` command that fits `param` of `scenario` to the observed canceled rate of
/// `variant`, or `None` without upgrades.
pub fn fit_command(o: &Observed, scenario: &str, variant: &str) -> Option<String> {
    let r = rate(&o.upgrades)?;
    Some(format!(
        "handshake-sim fit {scenario} --param client.handshake_timeout_ms --target {variant}.canceled_rate={} --seeds 5",
        r.value
    ))
}

/// `fit --target-from REPORT` for the same question.
pub fn fit_from_command(scenario: &str, variant: &str, report: &str) -> String {
    format!(
        "handshake-sim fit {scenario} --param client.handshake_timeout_ms --target-from {report} --variant {variant} --seeds 5"
    )
}

/// The figures as text (standard error); `fit_from`: the `fit --target-from` command for the
/// report file written, if one is.
pub fn text(o: &Observed, route: &str, fit: Option<&str>, fit_from: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "calibrate: {} event(s) ({}): on {route}: {}",
        o.events,
        o.format,
        show(&o.upgrades)
    );
    if !o.outcomes.is_empty() {
        let outcomes: Vec<String> = o.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(s, "calibrate: outcomes: {}", outcomes.join(", "));
    }
    for (what, by) in [
        ("colo", &o.by_colo),
        ("network", &o.by_network),
        ("start", &o.by_start),
    ] {
        for (k, t) in by {
            let _ = writeln!(s, "calibrate:   {what} {k}: {}", show(t));
        }
    }
    let _ = writeln!(
        s,
        "calibrate: {} timing line(s) ({} cold, {} warm, {} not said)",
        o.timing_lines,
        o.cold_lines,
        o.warm_lines,
        o.timing_lines - o.cold_lines - o.warm_lines
    );
    if !o.skipped.is_empty() {
        let skipped: Vec<String> = o.skipped.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let _ = writeln!(s, "calibrate: skipped: {}", skipped.join("; "));
    }
    if let Some(cmd) = fit {
        let _ = writeln!(
            s,
            "calibrate: to fit the client deadline to the canceled rate (add --range LOW..HIGH):\n  {cmd}"
        );
        if let Some(cmd) = fit_from {
            let _ = writeln!(s, "  {cmd}");
        }
    }
    s
}

fn tally_json(t: &Tally) -> Value {
    json!({
        "upgrades": t.upgrades,
        "canceled": t.canceled,
        "canceled_rate": rate(t),
    })
}

/// The `--report` file: the observed figures and the per-read law's summary; pretty, with a
/// trailing newline.
pub fn json(
    o: &Observed,
    c: &Calibration,
    source: &str,
    route: &str,
    fit: Option<&str>,
) -> Result<String, serde_json::Error> {
    let by = |m: &std::collections::BTreeMap<String, Tally>| -> Value {
        m.iter().map(|(k, t)| (k.clone(), tally_json(t))).collect()
    };
    let summary = c
        .summary()
        .map(|r| json!({ "mean_ms": r.mean_ms, "sd_ms": r.sd_ms, "p95_ms": r.p95_ms }));
    let mut v = json!({
        "source": source,
        "format": o.format,
        "route": route,
        "events": o.events,
        "observed": {
            "upgrades": o.upgrades.upgrades,
            "canceled": o.upgrades.canceled,
            "canceled_rate": rate(&o.upgrades),
            "outcomes": o.outcomes,
            "by_colo": by(&o.by_colo),
            "by_network": by(&o.by_network),
            "by_start": by(&o.by_start),
        },
        "timing": {
            "lines": o.timing_lines,
            "cold": o.cold_lines,
            "warm": o.warm_lines,
            "samples": c.samples_ms.len(),
            "malformed": c.malformed_count,
            "deconvolved": c.deconvolution.is_some(),
            "per_read": summary,
        },
        "skipped": o.skipped,
        "fit": fit,
    });
    crate::names::stamp::stamp(&mut v);
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}
