//! Fit: the value of one numeric parameter that reproduces an observed figure, by bisection
//! over a metric that is monotone in it (pooled seeds, common random numbers). For a rate the
//! uncertainty is the range of parameter values whose 95% interval contains the target.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics;
use crate::names::{Figure, VariantId};
use crate::scenario::{parse_override, Override, Scenario, ScenarioError};
use crate::server::variant;
use crate::sim::{self, SimError};

/// Most evaluations of one fit (each runs the scenario over all seeds).
pub const EVALUATIONS_MAX: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    NotBracketed(String),
    #[error("scenario as TOML")]
    Toml(#[source] toml::ser::Error),
}

/// The question: which `key` makes `variant.metric` equal `target`.
pub struct FitSpec<'a> {
    pub origin: &'a str,
    pub text: &'a str,
    pub overrides: &'a [Override],
    pub key: &'a str,
    pub variant: &'a str,
    pub metric: &'a str,
    pub target: f64,
    pub range: (f64, f64),
    /// Whether the parameter takes integers only.
    pub integer: bool,
    pub seeds: &'a [u64],
}

/// The observed figure of `--target VARIANT.METRIC=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub variant: String,
    pub metric: String,
    pub value: f64,
}

impl Target {
    /// Parses `VARIANT.METRIC=VALUE`, or `METRIC=VALUE` for `default_variant`.
    pub fn parse(arg: &str, default_variant: &str) -> Result<Target, FitError> {
        let (lhs, value) = arg
            .split_once('=')
            .ok_or_else(|| FitError::Usage(format!("--target {arg:?}: expected METRIC=VALUE")))?;
        let parsed: f64 = value
            .trim()
            .parse()
            .map_err(|_| FitError::Usage(format!("--target {arg:?}: {value:?} is not a number")))?;
        let (variant, metric) = match lhs.split_once('.') {
            Some((v, m)) => (v.to_string(), m.to_string()),
            None => (default_variant.to_string(), lhs.to_string()),
        };
        Ok(Target {
            variant,
            metric,
            value: parsed,
        })
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
        let table = toml::Value::try_from(scenario).map_err(FitError::Toml)?;
        let value = key.split('.').try_fold(&table, |v, k| match v {
            toml::Value::Table(t) => t.get(k),
            toml::Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        });
        match value {
            Some(toml::Value::Integer(i)) => Ok(Parameter {
                current: *i as f64,
                integer: true,
            }),
            Some(toml::Value::Float(f)) => Ok(Parameter {
                current: *f,
                integer: false,
            }),
            _ => Err(FitError::Usage(format!(
                "--param {key}: not a numeric key of the scenario"
            ))),
        }
    }

    /// The search range: `given` (`LOW..HIGH`), else half to twice the current value.
    pub fn range(&self, given: Option<&str>) -> Result<(f64, f64), FitError> {
        match given {
            Some(r) => parse_range(r),
            None if self.current > 0.0 => Ok((self.current / 2.0, self.current * 2.0)),
            None => Err(FitError::Usage(
                "the current value is 0: give --range LOW..HIGH".into(),
            )),
        }
    }
}

/// `LOW..HIGH` → (LOW, HIGH); the order is checked by [`fit`].
fn parse_range(s: &str) -> Result<(f64, f64), FitError> {
    let bad = || FitError::Usage(format!("--range {s:?}: expected LOW..HIGH"));
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

/// One evaluation: the parameter, the figure, and its 95% interval when it is a rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    pub x: f64,
    pub value: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitResult {
    pub value: f64,
    /// The figure at `value`.
    pub achieved: Evaluation,
    /// Parameter values whose interval contains the target (rates only); else the last
    /// bracket of the bisection.
    pub interval: (f64, f64),
    /// Whether `interval` comes from the rate's confidence interval.
    pub from_confidence: bool,
    pub evaluations: Vec<Evaluation>,
}

struct Evaluator<'a> {
    spec: &'a FitSpec<'a>,
    cache: BTreeMap<u64, Evaluation>,
}

impl Evaluator<'_> {
    fn fmt(&self, x: f64) -> String {
        if self.spec.integer {
            format!("{}", x.round() as i64)
        } else {
            format!("{x:?}")
        }
    }

    fn eval(&mut self, x: f64) -> Result<Evaluation, FitError> {
        let x = if self.spec.integer { x.round() } else { x };
        if let Some(e) = self.cache.get(&x.to_bits()) {
            return Ok(*e);
        }
        if self.cache.len() >= EVALUATIONS_MAX {
            return Err(FitError::Usage(format!(
                "more than {EVALUATIONS_MAX} evaluations"
            )));
        }
        let s = self.spec;
        let mut overrides = s.overrides.to_vec();
        overrides.push(parse_override(&format!("{}={}", s.key, self.fmt(x)))?);
        let scenario = Scenario::from_toml_str(s.origin, s.text, &overrides)?;
        let v = variant::by_name(s.variant).expect("checked by fit");
        let runs = s
            .seeds
            .iter()
            .map(|&seed| sim::run(&scenario, v, seed))
            .collect::<Result<Vec<_>, _>>()?;
        let summary = metrics::summarize(&[s.variant.to_string()], &runs).remove(0);
        let figure = Figure::parse(s.metric).expect("checked by fit");
        let value = summary.figure(figure).unwrap_or(f64::NAN);
        let (lo, hi) = match s.metric {
            "failure_rate" => (
                summary.failure_rate.ci95_low,
                summary.failure_rate.ci95_high,
            ),
            _ => (value, value),
        };
        let e = Evaluation {
            x,
            value,
            ci95_low: lo,
            ci95_high: hi,
        };
        self.cache.insert(x.to_bits(), e);
        Ok(e)
    }

    /// Bisection for `f(x) = target` on [lo, hi] where f(lo) and f(hi) bracket the target.
    fn solve(
        &mut self,
        f: fn(&Evaluation) -> f64,
        target: f64,
    ) -> Result<(f64, f64, f64), FitError> {
        let (mut lo, mut hi) = self.spec.range;
        let (flo, fhi) = (f(&self.eval(lo)?), f(&self.eval(hi)?));
        if flo.is_nan() || fhi.is_nan() || (flo - target) * (fhi - target) > 0.0 {
            return Err(FitError::NotBracketed(format!(
                "the target {target} is not between {flo} (at {lo}) and {fhi} (at {hi}); widen --range"
            )));
        }
        let increasing = fhi >= flo;
        let resolution = if self.spec.integer {
            1.0
        } else {
            (hi - lo).abs() * 1e-4
        };
        for _ in 0..64 {
            if hi - lo <= resolution {
                break;
            }
            let mid = if self.spec.integer {
                ((lo + hi) / 2.0).floor()
            } else {
                (lo + hi) / 2.0
            };
            if mid <= lo || mid >= hi {
                break;
            }
            let fm = f(&self.eval(mid)?);
            if (fm < target) == increasing {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (el, eh) = (f(&self.eval(lo)?), f(&self.eval(hi)?));
        let best = if (el - target).abs() <= (eh - target).abs() {
            lo
        } else {
            hi
        };
        Ok((best, lo, hi))
    }
}

/// Runs the fit.
pub fn fit(spec: &FitSpec) -> Result<FitResult, FitError> {
    VariantId::parse(spec.variant).map_err(FitError::Usage)?;
    if spec.metric.starts_with("delta_") {
        return Err(FitError::Usage(format!(
            "{}: a paired delta needs a baseline run; fit the variant's own figure instead",
            spec.metric
        )));
    }
    if !spec.target.is_finite() {
        return Err(FitError::Usage(format!(
            "the target {} is not a finite number",
            spec.target
        )));
    }
    Figure::parse(spec.metric).map_err(FitError::Usage)?;
    if spec.range.0 >= spec.range.1 || !spec.range.0.is_finite() || !spec.range.1.is_finite() {
        return Err(FitError::Usage("--range needs LOW < HIGH".into()));
    }
    if spec.seeds.is_empty() {
        return Err(FitError::Usage("at least one seed".into()));
    }
    let mut ev = Evaluator {
        spec,
        cache: BTreeMap::new(),
    };
    let (value, lo, hi) = ev.solve(|e| e.value, spec.target)?;
    let achieved = ev.eval(value)?;
    let (interval, from_confidence) = if spec.metric == "failure_rate" {
        // Where the interval's edges cross the target; clamp to the range when they do not.
        let edge = |ev: &mut Evaluator, f: fn(&Evaluation) -> f64| match ev.solve(f, spec.target) {
            Ok((x, _, _)) => Ok(Some(x)),
            Err(FitError::NotBracketed(_)) => Ok(None),
            Err(e) => Err(e),
        };
        let a = edge(&mut ev, |e| e.ci95_low)?.unwrap_or(spec.range.0);
        let b = edge(&mut ev, |e| e.ci95_high)?.unwrap_or(spec.range.1);
        ((a.min(b).min(value), a.max(b).max(value)), true)
    } else {
        ((lo, hi), false)
    };
    let mut evaluations: Vec<Evaluation> = ev.cache.into_values().collect();
    evaluations.sort_by(|a, b| a.x.total_cmp(&b.x));
    Ok(FitResult {
        value,
        achieved,
        interval,
        from_confidence,
        evaluations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_the_variant_or_takes_the_default() {
        let t = Target::parse("sequential.failure_rate=0.35", "parallel").unwrap();
        assert_eq!(
            (t.variant.as_str(), t.metric.as_str(), t.value),
            ("sequential", "failure_rate", 0.35)
        );
        let t = Target::parse("failure_rate= 0.5", "parallel").unwrap();
        assert_eq!((t.variant.as_str(), t.value), ("parallel", 0.5));
        for bad in ["failure_rate", "failure_rate=x"] {
            assert!(matches!(
                Target::parse(bad, "parallel"),
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
