//! Two runs side by side: the figures of two `run --json` outputs, variant by variant and
//! figure by figure, with B − A and whether that change is beyond noise by the intervals the
//! two JSONs carry (and only those: a figure without an interval is never judged).
//!
//! The rule, in one place: a rate (`failure_rate`, `silent_failure_rate`, each with its 95%
//! Wilson interval) changed when Newcombe's 95% interval of the difference (built from the two
//! Wilson intervals) excludes 0; a paired delta (`delta_*`, each with its Student's t 95%
//! interval) changed when the difference's interval, ± the root sum of squares of the two
//! half-widths, excludes 0. Counts, means and percentiles carry no interval in the JSON: their
//! difference is shown, marked `no CI`, and never counted as a change.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::metrics::VariantSummary;
use crate::names::{Figure, Kind, Timing};
use crate::stats;

/// Most bytes read of one run JSON (16 MiB): a run's JSON is a few kB, a few MB with the
/// largest `empirical` distributions a scenario file may hold.
pub const INPUT_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Most resident memory while one run JSON is parsed: 32 bytes a byte of the largest, more
/// than any run JSON takes (its numbers cost the most, ~10 bytes a byte).
const PARSE_MEMORY_BYTES_MAX: u64 = 32 * INPUT_BYTES_MAX;

/// Why two runs could not be compared: always the user's input.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: larger than {INPUT_BYTES_MAX} bytes, more than any `run --json` writes")]
    TooLarge { path: String },
    #[error("{path}: not the JSON of `run --json`: {message}")]
    NotRunJson { path: String, message: String },
    #[error("--pair {arg}: {message}")]
    Pair { arg: String, message: String },
}

impl crate::failure::BadInput for CompareError {
    /// Every comparison error is about the files or arguments given.
    fn is_bad_input(&self) -> bool {
        true
    }
}

/// Refuses a file of another layout: one from before `schema_version` (then `canceled` also
/// counted the upgrades canceled at the edge, so its figures do not compare), or a newer one.
pub fn check_schema_version(v: Option<&serde_json::Value>) -> Result<(), String> {
    let ours = crate::names::stamp::SCHEMA_VERSION;
    match v.and_then(serde_json::Value::as_u64) {
        Some(n) if n == u64::from(ours) => Ok(()),
        Some(n) => Err(format!(
            "written with output layout {n}, this handshake-sim reads {ours}; run it again \
             with this version"
        )),
        None => Err(format!(
            "written before outputs carried \"schema_version\" (then `canceled` also counted \
             the upgrades canceled at the edge); run it again with this version (layout {ours})"
        )),
    }
}

/// The parts of a `run --json` output a comparison reads (other keys are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct RunJson {
    pub tool: String,
    pub version: String,
    pub seeds: Vec<u64>,
    /// The resolved scenario, kept as JSON: only its name, jobs and differing keys are read.
    pub scenario: serde_json::Value,
    pub variants: Vec<VariantSummary>,
    #[allow(dead_code)]
    includes: BTreeMap<String, String>,
}

/// Reads and checks one `run --json` output, at most [`INPUT_BYTES_MAX`] bytes of it.
pub fn read(path: &Path) -> Result<RunJson, CompareError> {
    let name = path.display().to_string();
    let cannot = |source| CompareError::Read {
        path: name.clone(),
        source,
    };
    let file = crate::files::open_named_input(path).map_err(|e| match e {
        crate::files::FileError::Read { source, .. } => cannot(source),
        other => CompareError::NotRunJson {
            path: name.clone(),
            message: other.to_string(),
        },
    })?;
    if file.regular_len().unwrap_or(0) > INPUT_BYTES_MAX {
        return Err(CompareError::TooLarge { path: name });
    }
    let mut bytes = Vec::new();
    file.take(INPUT_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > INPUT_BYTES_MAX {
        return Err(CompareError::TooLarge { path: name });
    }
    parse(&name, &bytes)
}

/// Checks that `bytes` is a run's JSON (and says what it is when it is another of ours).
pub fn parse(name: &str, bytes: &[u8]) -> Result<RunJson, CompareError> {
    let not = |message: String| CompareError::NotRunJson {
        path: name.to_string(),
        message,
    };
    // Resident memory is capped while the text becomes values: 16 MiB of `[{},{},…]` would
    // otherwise take 800 MB.
    let capped = crate::files::MemoryCap::new(bytes, PARSE_MEMORY_BYTES_MAX);
    let value: serde_json::Value =
        serde_json::from_reader(capped).map_err(|e| not(format!("invalid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| not("not a JSON object".into()))?;
    let other = [
        ("points", "it is a sweep's sweep.json"),
        ("cases", "it is the JSON of `conform`"),
        ("url", "it is the JSON of `probe`"),
        ("scenario_differences", "it is the JSON of `compare`"),
        ("workloads", "it is the JSON of `bench`"),
        ("checks", "it is the JSON of `check`"),
    ];
    if let Some((_, what)) = other.iter().find(|(k, _)| obj.contains_key(*k)) {
        return Err(not(what.to_string()));
    }
    if obj.get("tool").and_then(|t| t.as_str()) != Some("handshake-sim") {
        return Err(not("no \"tool\": \"handshake-sim\"".into()));
    }
    check_schema_version(obj.get("schema_version")).map_err(not)?;
    let run: RunJson = serde_path_to_error::deserialize(value)
        .map_err(|e| not(format!("at {}: {}", e.path(), e.inner())))?;
    if run.seeds.is_empty() {
        return Err(not("\"seeds\" is empty".into()));
    }
    for (i, v) in run.variants.iter().enumerate() {
        let variant = crate::names::escape_control(&v.variant);
        if v.variant.chars().any(char::is_control) {
            return Err(not(format!(
                "variant {variant}: a name with control characters"
            )));
        }
        if run.variants[..i].iter().any(|w| w.variant == v.variant) {
            return Err(not(format!("variant {variant} appears twice")));
        }
        // Figures this tool cannot have written are refused, not compared: a count that
        // does not add up would make a negative difference, a rate of -5 an interval of inf.
        v.check()
            .map_err(|e| not(format!("variant {variant}: {e}")))?;
    }
    Ok(run)
}

/// What one side ran.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Side {
    pub file: String,
    /// `scenario.name` of the resolved scenario.
    pub scenario: String,
    /// `scenario.jobs`: jobs per seed.
    pub jobs: Option<u64>,
    pub seeds: Vec<u64>,
    pub variants: Vec<String>,
    pub version: String,
}

impl Side {
    fn of(file: &str, run: &RunJson) -> Side {
        let s = &run.scenario["scenario"];
        Side {
            file: file.to_string(),
            scenario: crate::names::escape_control(s["name"].as_str().unwrap_or("?")).into_owned(),
            jobs: s["jobs"].as_u64(),
            seeds: run.seeds.clone(),
            variants: run.variants.iter().map(|v| v.variant.clone()).collect(),
            version: run.version.clone(),
        }
    }
}

/// A scenario key whose resolved value differs (or exists on one side only: `null`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SettingDiff {
    pub key: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// What became of a figure between A and B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Both values are equal.
    Same,
    /// The difference's 95% interval includes 0.
    WithinNoise,
    /// The difference's 95% interval excludes 0.
    Changed,
    /// The values differ and the JSON carries no interval to judge the difference by.
    NoInterval,
    /// Paired deltas against different baselines: not the same figure.
    NotComparable,
    OnlyInA,
    OnlyInB,
    /// Measured on neither side.
    Absent,
}

/// A figure's value on one side, with its 95% interval when the JSON carries one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Measured {
    pub value: f64,
    pub ci95: Option<(f64, f64)>,
}

/// One figure of one variant on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Row {
    pub figure: String,
    pub kind: Kind,
    pub a: Option<Measured>,
    pub b: Option<Measured>,
    /// B − A.
    pub difference: Option<f64>,
    pub difference_ci95: Option<(f64, f64)>,
    pub change: Change,
}

/// The rows of one variant (or of a `--pair`: A's variant against B's).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VariantRows {
    pub a: String,
    pub b: String,
    pub rows: Vec<Row>,
}

/// Everything a comparison says.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    pub tool: &'static str,
    pub version: &'static str,
    pub schema_version: u32,
    pub a: Side,
    pub b: Side,
    pub same_scenario: bool,
    /// Resolved scenario keys that differ, `scenario.seed` aside (the seeds are in `a`/`b`).
    pub scenario_differences: Vec<SettingDiff>,
    pub variants_only_in_a: Vec<String>,
    pub variants_only_in_b: Vec<String>,
    pub variants: Vec<VariantRows>,
    /// The rule the `change` column follows.
    pub rule: &'static str,
}

/// The rule, as the outputs state it.
pub const RULE: &str = "rates: changed when Newcombe's 95% interval of B − A (from both Wilson \
intervals) excludes 0; paired deltas: changed when B − A ± the root sum of squares of both \
t-interval half-widths excludes 0 (a delta of one pair has no interval); counts, means and \
percentiles carry no interval: shown, marked no CI, never judged";

impl Comparison {
    /// The rows that changed beyond noise: (A's variant, row).
    pub fn changed(&self) -> Vec<(&str, &Row)> {
        self.variants
            .iter()
            .flat_map(|v| v.rows.iter().map(move |r| (v.a.as_str(), r)))
            .filter(|(_, r)| r.change == Change::Changed)
            .collect()
    }
}

/// Compares `b` with `a`: every variant present in both, or the `pairs` (A's variant, B's
/// variant) when given.
pub fn compare(
    (file_a, a): (&str, &RunJson),
    (file_b, b): (&str, &RunJson),
    pairs: &[(String, String)],
) -> Result<Comparison, CompareError> {
    let names =
        |r: &RunJson| -> Vec<String> { r.variants.iter().map(|v| v.variant.clone()).collect() };
    let (in_a, in_b) = (names(a), names(b));
    let matched: Vec<(String, String)> = if pairs.is_empty() {
        in_a.iter()
            .filter(|v| in_b.contains(v))
            .map(|v| (v.clone(), v.clone()))
            .collect()
    } else {
        check_pairs(pairs, &in_a, &in_b)?;
        pairs.to_vec()
    };
    let variants = matched
        .iter()
        .map(|(va, vb)| {
            let sa = a.variants.iter().find(|s| s.variant == *va);
            let sb = b.variants.iter().find(|s| s.variant == *vb);
            VariantRows {
                a: va.clone(),
                b: vb.clone(),
                rows: rows(sa.expect("matched"), sb.expect("matched")),
            }
        })
        .collect();
    let scenario_differences = differences(&a.scenario, &b.scenario);
    let (side_a, side_b) = (Side::of(file_a, a), Side::of(file_b, b));
    Ok(Comparison {
        tool: crate::names::stamp::TOOL,
        version: crate::names::stamp::VERSION,
        schema_version: crate::names::stamp::SCHEMA_VERSION,
        same_scenario: side_a.scenario == side_b.scenario,
        variants_only_in_a: in_a
            .iter()
            .filter(|v| !matched.iter().any(|m| m.0 == **v))
            .cloned()
            .collect(),
        variants_only_in_b: in_b
            .iter()
            .filter(|v| !matched.iter().any(|m| m.1 == **v))
            .cloned()
            .collect(),
        a: side_a,
        b: side_b,
        scenario_differences,
        variants,
        rule: RULE,
    })
}

/// Parses `--pair A_VARIANT=B_VARIANT`.
pub fn parse_pair(arg: &str) -> Result<(String, String), CompareError> {
    match arg.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(CompareError::Pair {
            arg: arg.to_string(),
            message: "expected A_VARIANT=B_VARIANT, e.g. sequential=parallel".into(),
        }),
    }
}

fn check_pairs(
    pairs: &[(String, String)],
    in_a: &[String],
    in_b: &[String],
) -> Result<(), CompareError> {
    for (i, (va, vb)) in pairs.iter().enumerate() {
        let err = |message: String| CompareError::Pair {
            arg: format!("{va}={vb}"),
            message,
        };
        if !in_a.contains(va) {
            return Err(err(format!(
                "A ran no variant {va}; it ran {}",
                in_a.join(", ")
            )));
        }
        if !in_b.contains(vb) {
            return Err(err(format!(
                "B ran no variant {vb}; it ran {}",
                in_b.join(", ")
            )));
        }
        if pairs[..i].iter().any(|(x, y)| x == va || y == vb) {
            return Err(err("a variant appears in two pairs".into()));
        }
    }
    Ok(())
}

/// The figures compared: every figure of a summary but the interval bounds (shown with their
/// rate), fault counts only when a fault fired on either side, and the edge cache's only
/// when either side has them.
fn figures(a: &VariantSummary, b: &VariantSummary) -> Vec<Figure> {
    let any_fault = |f: &Figure| match f {
        Figure::Faults => !a.faults.is_empty() || !b.faults.is_empty(),
        Figure::Fault(k) => a.faults.contains_key(k) || b.faults.contains_key(k),
        f if f.is_edge() => a.edge.is_some() || b.edge.is_some(),
        f if f.is_session() => a.session.is_some() || b.session.is_some(),
        _ => true,
    };
    Figure::ALL
        .into_iter()
        .filter(|f| !matches!(f, Figure::FailureRateCi95Low | Figure::FailureRateCi95High))
        .filter(any_fault)
        .collect()
}

/// A figure of one side, with its interval when the JSON carries one. A rate of no job is
/// not measured.
fn measured(s: &VariantSummary, f: Figure) -> Option<Measured> {
    let value = s.figure(f)?;
    let ci95 = match f {
        Figure::FailureRate | Figure::SilentFailureRate | Figure::CanceledRate if s.jobs == 0 => {
            return None
        }
        Figure::FailureRate => Some((s.failure_rate.ci95_low, s.failure_rate.ci95_high)),
        Figure::SilentFailureRate => Some((
            s.silent_failure_rate.ci95_low,
            s.silent_failure_rate.ci95_high,
        )),
        Figure::Delta(t) => delta(s, t)
            .filter(|d| d.pairs >= 2)
            .and_then(|d| d.ci95_low.zip(d.ci95_high)),
        _ => None,
    };
    Some(Measured { value, ci95 })
}

fn delta(s: &VariantSummary, t: Timing) -> Option<crate::metrics::Delta> {
    let p = s.paired_delta.as_ref()?;
    match t {
        Timing::Storage => p.storage_ms,
        Timing::Upgrade => p.upgrade_ms,
        Timing::ClientUpgrade => p.client_upgrade_ms,
    }
}

fn rows(a: &VariantSummary, b: &VariantSummary) -> Vec<Row> {
    let baselines_differ = match (&a.paired_delta, &b.paired_delta) {
        (Some(pa), Some(pb)) => pa.baseline != pb.baseline,
        _ => false,
    };
    figures(a, b)
        .into_iter()
        .map(|f| {
            let (ma, mb) = (measured(a, f), measured(b, f));
            let mut row = judge(f.to_string(), f.kind(), ma, mb);
            if baselines_differ && matches!(f, Figure::Delta(_)) && ma.is_some() && mb.is_some() {
                row.change = Change::NotComparable;
                row.difference = None;
                row.difference_ci95 = None;
            }
            row
        })
        .collect()
}

/// B − A and the verdict on it, by [`RULE`].
pub fn judge(figure: String, kind: Kind, a: Option<Measured>, b: Option<Measured>) -> Row {
    let (ma, mb) = match (a, b) {
        (Some(ma), Some(mb)) => (ma, mb),
        (only_a, only_b) => {
            let change = match (only_a, only_b) {
                (Some(_), None) => Change::OnlyInA,
                (None, Some(_)) => Change::OnlyInB,
                _ => Change::Absent,
            };
            return Row {
                figure,
                kind,
                a,
                b,
                difference: None,
                difference_ci95: None,
                change,
            };
        }
    };
    // `+ 0.0` turns a rounded -0 into 0.
    let round = |x: f64| match kind {
        Kind::Rate => (x * 1e6).round() / 1e6 + 0.0,
        _ => (x * 1e3).round() / 1e3 + 0.0,
    };
    let d = mb.value - ma.value;
    let ci = interval(kind, ma, mb).map(|(lo, hi)| (round(lo), round(hi)));
    let change = match ci {
        _ if ma.value == mb.value => Change::Same,
        Some((lo, hi)) if lo > 0.0 || hi < 0.0 => Change::Changed,
        Some(_) => Change::WithinNoise,
        None => Change::NoInterval,
    };
    Row {
        figure,
        kind,
        a,
        b,
        difference: Some(round(d)),
        difference_ci95: ci,
        change,
    }
}

/// The 95% interval of B − A from the two sides' intervals, when both have one.
fn interval(kind: Kind, a: Measured, b: Measured) -> Option<(f64, f64)> {
    let ((la, ha), (lb, hb)) = (a.ci95?, b.ci95?);
    let d = b.value - a.value;
    match kind {
        // Both rates carry Wilson intervals.
        Kind::Rate => {
            let side = |m: Measured, low, high| stats::Proportion {
                value: m.value,
                low,
                high,
            };
            Some(stats::newcombe(side(a, la, ha), side(b, lb, hb)))
        }
        Kind::Delta => {
            let half = (((ha - la) / 2.0).powi(2) + ((hb - lb) / 2.0).powi(2)).sqrt();
            Some((d - half, d + half))
        }
        Kind::Count | Kind::Ms => None,
    }
}

/// Resolved scenario keys whose values differ, in key order; `scenario.seed` is left out.
fn differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<SettingDiff> {
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", a, &mut fa);
    flatten("", b, &mut fb);
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| *k != "scenario.seed" && fa.get(*k) != fb.get(*k))
        .map(|k| SettingDiff {
            key: k.clone(),
            a: fa.get(k).cloned(),
            b: fb.get(k).cloned(),
        })
        .collect()
}

/// Leaves of an object as dotted keys; arrays and scalars are leaves (compact JSON text).
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v.as_object() {
        Some(obj) if !obj.is_empty() => {
            for (k, child) in obj {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, child, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(value: f64, lo: f64, hi: f64) -> Option<Measured> {
        Some(Measured {
            value,
            ci95: Some((lo, hi)),
        })
    }

    #[test]
    fn newcombe_interval_of_two_wilson_rates() {
        // Newcombe 1998, example (a): 56/70 vs 48/80 → difference 0.2, interval
        // [0.0524, 0.3339].
        let wilson = |x, n| {
            let r = crate::metrics::Rate::wilson(x, n);
            m(r.value, r.ci95_low, r.ci95_high)
        };
        let (a, b) = (wilson(48, 80), wilson(56, 70));
        let r = judge("failure_rate".into(), Kind::Rate, a, b);
        let (lo, hi) = r.difference_ci95.unwrap();
        assert!(
            (lo - 0.0524).abs() < 5e-4 && (hi - 0.3339).abs() < 5e-4,
            "{r:?}"
        );
        assert_eq!(r.change, Change::Changed);
    }

    #[test]
    fn overlapping_rates_are_within_noise_equal_ones_the_same() {
        let r = judge(
            "failure_rate".into(),
            Kind::Rate,
            m(0.10, 0.05, 0.17),
            m(0.12, 0.07, 0.2),
        );
        assert_eq!(r.change, Change::WithinNoise);
        let same = judge(
            "failure_rate".into(),
            Kind::Rate,
            m(0.1, 0.05, 0.17),
            m(0.1, 0.05, 0.17),
        );
        assert_eq!((same.change, same.difference), (Change::Same, Some(0.0)));
    }

    #[test]
    fn deltas_add_their_half_widths_in_quadrature() {
        // Half-widths 3 and 4 → 5: a difference of 6 is beyond it, of 4 is not.
        let r = judge(
            "delta_storage_ms".into(),
            Kind::Delta,
            m(-80.0, -83.0, -77.0),
            m(-74.0, -78.0, -70.0),
        );
        assert_eq!(r.difference_ci95, Some((1.0, 11.0)));
        assert_eq!(r.change, Change::Changed);
        let r = judge(
            "delta_storage_ms".into(),
            Kind::Delta,
            m(-80.0, -83.0, -77.0),
            m(-76.0, -80.0, -72.0),
        );
        assert_eq!(r.change, Change::WithinNoise);
    }

    #[test]
    fn a_figure_without_an_interval_is_never_judged() {
        let plain = |v| {
            Some(Measured {
                value: v,
                ci95: None,
            })
        };
        let r = judge("p95_storage_ms".into(), Kind::Ms, plain(190.0), plain(99.0));
        assert_eq!(
            (r.change, r.difference, r.difference_ci95),
            (Change::NoInterval, Some(-91.0), None)
        );
        assert_eq!(
            judge("x".into(), Kind::Ms, plain(1.0), None).change,
            Change::OnlyInA
        );
        assert_eq!(
            judge("x".into(), Kind::Ms, None, None).change,
            Change::Absent
        );
    }

    #[test]
    fn other_outputs_of_the_tool_are_refused_by_name() {
        let sweep = br#"{"tool":"handshake-sim","points":[]}"#;
        let e = parse("s.json", sweep).unwrap_err().to_string();
        assert!(e.contains("sweep.json"), "{e}");
        let e = parse("x.json", b"[1,2]").unwrap_err().to_string();
        assert!(e.contains("not a JSON object"), "{e}");
        let e = parse("x.json", br#"{"tool":"other"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"tool\""), "{e}");
        let e = parse(
            "x.json",
            br#"{"tool":"handshake-sim","version":"0","seeds":[1]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("x.json: not the JSON of `run --json`"), "{e}");
    }

    #[test]
    fn scenario_differences_are_leaf_keys_without_the_seed() {
        let a = serde_json::json!({"scenario": {"seed": 1, "jobs": 400}, "client": {"t": 240}, "s": {"u": [75, 100]}});
        let b = serde_json::json!({"scenario": {"seed": 2, "jobs": 400}, "client": {"t": 300}, "s": {"u": [75, 140]}});
        let d = differences(&a, &b);
        let keys: Vec<&str> = d.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["client.t", "s.u"]);
        assert_eq!(d[1].b.as_deref(), Some("[75,140]"));
    }
}
