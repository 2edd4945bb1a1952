//! The question a fit answers, from its arguments: the scenario, the parameter (`--param`,
//! a numeric key; its range, `--range`), and the observed figure (`--target`), its names
//! parsed here once.

use super::error::FitError;
use crate::names::{Figure, Kind, VariantId};
use crate::scenario::{not_a_parameter, parse_override_from, NoNumber, Number, Override, Scenario};

/// The question: which `key` makes `variant`'s `figure` equal `target`.
pub struct FitSpec<'a> {
    pub origin: &'a str,
    pub text: &'a str,
    pub overrides: &'a [Override],
    pub key: &'a str,
    pub variant: VariantId,
    pub figure: Figure,
    /// The figure as `--target` spelled it (any of its spellings), which the report echoes.
    pub metric: &'a str,
    pub target: f64,
    pub range: (f64, f64),
    /// Whether the parameter takes integers only.
    pub integer: bool,
    pub seeds: &'a [u64],
}

/// The observed figure of `--target VARIANT.METRIC=VALUE`, its names parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub variant: VariantId,
    pub figure: Figure,
    /// METRIC as written (any spelling of the figure), for the report to echo.
    pub metric: String,
    pub value: f64,
}

impl Goal {
    /// Parses `VARIANT.METRIC=VALUE`, or `METRIC=VALUE` for `default_variant`: a built-in
    /// variant, a figure that is not a paired delta (one variant has no baseline) and a
    /// finite value.
    pub fn parse(arg: &str, default_variant: &str) -> Result<Goal, FitError> {
        let (lhs, value) = arg
            .split_once('=')
            .ok_or_else(|| FitError::Usage(format!("--target {arg:?}: expected METRIC=VALUE")))?;
        let parsed: f64 = value
            .trim()
            .parse()
            .map_err(|_| FitError::Usage(format!("--target {arg:?}: {value:?} is not a number")))?;
        let (variant, metric) = lhs.split_once('.').unwrap_or((default_variant, lhs));
        let variant = VariantId::parse(variant).map_err(FitError::Usage)?;
        if metric.starts_with("delta_") {
            return Err(FitError::Usage(format!(
                "{metric}: a paired delta needs a baseline run; fit the variant's own figure instead"
            )));
        }
        if !parsed.is_finite() {
            return Err(FitError::Usage(format!(
                "the target {parsed} is not a finite number"
            )));
        }
        let figure = Figure::parse(metric).map_err(FitError::Usage)?;
        let possible = match figure.kind() {
            Kind::Rate => (0.0..=1.0).contains(&parsed),
            Kind::Count | Kind::Ms => parsed >= 0.0,
            Kind::Delta => true,
        };
        if !possible {
            return Err(FitError::Usage(format!(
                "--target {arg:?}: no run has {metric} = {parsed} ({})",
                match figure.kind() {
                    Kind::Rate => "a share of jobs is between 0 and 1",
                    _ => "it is never negative",
                }
            )));
        }
        Ok(Goal {
            variant,
            figure,
            metric: metric.to_string(),
            value: parsed,
        })
    }
}

/// Most bytes of a `calibrate --report` file read (1 MiB: a report is a few kB).
pub const REPORT_BYTES_MAX: u64 = 1024 * 1024;

impl Goal {
    /// The observed canceled rate of a `calibrate --report` file (its `observed.canceled_rate`)
    /// as the target of `variant`'s `canceled_rate`: what production's `outcome: canceled` on
    /// the progress route says of the simulation's canceled upgrades per job.
    pub fn from_report(name: &str, text: &[u8], variant: &str) -> Result<Goal, FitError> {
        let bad = |why: &str| FitError::Usage(format!("--target-from {name}: {why}"));
        let v: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| bad(&format!("not JSON: {e}")))?;
        let observed = v
            .get("observed")
            .ok_or_else(|| bad("no `observed`: not the --report of `calibrate`"))?;
        let rate = observed
            .get("canceled_rate")
            .ok_or_else(|| bad("no `observed.canceled_rate`"))?;
        if rate.is_null() {
            return Err(bad(
                "no canceled rate: the export had no upgrade on its route (see `route`)",
            ));
        }
        let value = rate
            .get("value")
            .and_then(serde_json::Value::as_f64)
            .filter(|x| (0.0..=1.0).contains(x))
            .ok_or_else(|| bad("`observed.canceled_rate.value` is not a rate in 0..=1"))?;
        Goal::parse(&format!("{variant}.canceled_rate={value}"), variant)
    }
}

/// A numeric key of a scenario, as the fit sees it before the search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parameter {
    /// The scenario's value of the key.
    pub current: f64,
    /// Whether the key takes integers only (its value is a TOML integer).
    pub integer: bool,
}

impl Parameter {
    /// Looks up `key` (dotted; array items by index, e.g. `storage.read_ms.uniform.1`).
    pub fn lookup(scenario: &Scenario, key: &str) -> Result<Parameter, FitError> {
        let path = parse_override_from("--param", &format!("{key}=0"))
            .map(|o| o.path)
            .unwrap_or_default();
        if let Some(why) = not_a_parameter(&path) {
            return Err(FitError::Usage(format!("--param {key}: {why}")));
        }
        match scenario.number_at(key) {
            Ok(Number::Integer(i)) => Ok(Parameter {
                current: i as f64,
                integer: true,
            }),
            Ok(Number::Float(f)) => Ok(Parameter {
                current: f,
                integer: false,
            }),
            Err(NoNumber::Toml(e)) => Err(FitError::Toml(e)),
            Err(NoNumber::NotANumber { did_you_mean }) => Err(FitError::Usage(format!(
                "--param {key}: not a numeric key of the scenario{}",
                did_you_mean.map_or(String::new(), |k| format!("; did you mean {k}?"))
            ))),
        }
    }

    /// The search range: `given` (`LOW..HIGH`), else half to twice the current value.
    pub fn range(&self, given: Option<&str>) -> Result<(f64, f64), FitError> {
        match given {
            Some(r) => {
                let (low, high) = parse_range(r)?;
                if self.integer && low.abs().max(high.abs()) > INTEGER_MAX {
                    return Err(FitError::Usage(format!(
                        "--range {r:?}: past the integers a key of the scenario takes \
                         (at most {INTEGER_MAX:e} either way)"
                    )));
                }
                Ok((low, high))
            }
            None if self.current > 0.0 => Ok((self.current / 2.0, self.current * 2.0)),
            None => Err(FitError::Usage(
                "the current value is 0: give --range LOW..HIGH".into(),
            )),
        }
    }
}

/// The largest integer a range of an integer key may reach: past it a value cannot be
/// written as the integer the scenario reads (2^53, where f64 stops holding every integer).
const INTEGER_MAX: f64 = 9_007_199_254_740_992.0;

/// `LOW..HIGH` → (LOW, HIGH); the order is checked by `fit::check`.
fn parse_range(s: &str) -> Result<(f64, f64), FitError> {
    let bad = || FitError::Usage(format!("--range {s:?}: expected LOW..HIGH"));
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_the_variant_or_takes_the_default() {
        let t = Goal::parse("sequential.failure_rate=0.35", "parallel").unwrap();
        assert_eq!(
            (t.variant, t.figure, t.value),
            (VariantId::Sequential, Figure::FailureRate, 0.35)
        );
        let t = Goal::parse("failure_rate= 0.5", "parallel").unwrap();
        assert_eq!((t.variant, t.value), (VariantId::Parallel, 0.5));
        let t = Goal::parse("parallel.storage_ms.p50=70", "sequential").unwrap();
        assert_eq!(
            (t.variant, t.metric.as_str()),
            (VariantId::Parallel, "storage_ms.p50")
        );
        for bad in [
            "failure_rate",
            "failure_rate=x",
            "nope.failure_rate=1",
            "parallel.delta_storage_ms=1",
            "failure_rate=inf",
            "p96_storage_ms=1",
        ] {
            assert!(matches!(
                Goal::parse(bad, "parallel"),
                Err(FitError::Usage(_))
            ));
        }
    }

    #[test]
    fn parameter_lookup_knows_integers_floats_and_array_items() {
        let s = Scenario::from_toml_str(
            "<test>",
            "[storage]\nread_ms = { uniform = [50, 100] }",
            &[],
        )
        .unwrap();
        let p = Parameter::lookup(&s, "client.handshake_timeout_ms").unwrap();
        assert!(p.integer && p.current > 0.0);
        assert_eq!(p.range(None).unwrap(), (p.current / 2.0, p.current * 2.0));
        assert_eq!(p.range(Some("1 .. 2.5")).unwrap(), (1.0, 2.5));
        assert!(p.range(Some("1-2")).is_err());
        let item = Parameter::lookup(&s, "storage.read_ms.uniform.1").unwrap();
        assert_eq!(item.current, 100.0);
        for bad in ["client.nope", "storage.read_ms.uniform.9", "scenario.name"] {
            assert!(matches!(
                Parameter::lookup(&s, bad),
                Err(FitError::Usage(_))
            ));
        }
        let zero = Parameter {
            current: 0.0,
            integer: true,
        };
        assert!(zero.range(None).is_err());
    }
}
