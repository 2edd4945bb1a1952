//! What a sweep is: its `--param`s parsed (a grid's values, a swarm's ranges) and its
//! definition, which makes every point (a grid's product, a swarm's draws) from its index alone.

use serde::{Deserialize, Serialize};

use super::error::SweepError;
use crate::draw::{Draws, Purpose};
use crate::names::VariantId;
use crate::scenario::{not_a_parameter, parse_override_from, ScenarioError};

/// Most grid points one sweep may have, and most runs (points × variants × seeds).
pub const POINTS_MAX: usize = 100_000;
/// Most swept keys: each is an override of every point's scenario, which takes at most 256
/// (`--set`s included).
pub const PARAMS_MAX: usize = 256;
pub const RUNS_MAX: usize = 2_000_000;

/// One `--param KEY=SPEC` as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ParamSpec {
    pub key: String,
    pub spec: String,
    /// The values, as TOML text, in grid order (empty for a swarm range).
    pub values: Vec<String>,
    /// For a swarm: the range drawn from.
    pub range: Option<(f64, f64, bool)>,
}

/// What was swept, enough to rerun or merge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepDef {
    pub scenario_file: String,
    pub sets: Vec<String>,
    pub params: Vec<ParamSpec>,
    pub variants: Vec<VariantId>,
    pub seeds: Vec<u64>,
    /// `--swarm N`: N random points drawn from the params' ranges with this seed.
    pub swarm: Option<u32>,
    pub swarm_seed: u64,
}

pub(super) fn param_err(arg: &str, message: impl Into<String>) -> SweepError {
    SweepError::Param {
        arg: arg.into(),
        message: message.into(),
    }
}

/// A `--param` whose value did not parse as an override: its message, under the `--param`.
fn inner(arg: &str, e: ScenarioError) -> SweepError {
    match e {
        ScenarioError::Override { message, .. } => param_err(arg, message),
        other => param_err(arg, other.to_string()),
    }
}

/// `A..B:S` → A, A+S, … ≤ B; integers when all three are.
fn parse_range(arg: &str, spec: &str) -> Result<Option<Vec<String>>, SweepError> {
    let Some((ab, step)) = spec.split_once(':') else {
        if !spec.starts_with('[') && !spec.contains(',') && spec.contains("..") {
            return Err(param_err(
                arg,
                format!(
                    "{spec:?} is a range without a step; a grid range is LOW..HIGH:STEP \
                     (e.g. 200..300:25 = 200,225,250,275,300: both ends included when hit), \
                     or list the values (200,250,300); LOW..HIGH alone is for --swarm N, \
                     which draws N random points in it"
                ),
            ));
        }
        return Ok(None);
    };
    let Some((a, b)) = ab.split_once("..") else {
        return Ok(None);
    };
    let (a, b, step) = (a.trim(), b.trim(), step.trim());
    if let (Ok(a), Ok(b), Ok(step)) = (a.parse::<i64>(), b.parse::<i64>(), step.parse::<i64>()) {
        return int_range(arg, a, b, step).map(Some);
    }
    float_range(arg, a, b, step).map(Some)
}

/// `A..B:S` of integers → A, A+S, … ≤ B.
fn int_range(arg: &str, a: i64, b: i64, step: i64) -> Result<Vec<String>, SweepError> {
    if step <= 0 || a > b {
        return Err(param_err(arg, "a range needs LOW <= HIGH and a step > 0"));
    }
    let too_many = || param_err(arg, format!("more than {POINTS_MAX} values"));
    let n = b
        .checked_sub(a)
        .map(|d| d / step)
        .and_then(|d| usize::try_from(d).ok())
        .and_then(|d| d.checked_add(1))
        .ok_or_else(too_many)?;
    if n > POINTS_MAX {
        return Err(param_err(
            arg,
            format!("{n} values exceed the limit of {POINTS_MAX}"),
        ));
    }
    Ok((0..n as i64).map(|i| (a + i * step).to_string()).collect())
}

/// `A..B:S` of numbers, one of them not an integer → A, A+S, … ≤ B, each written with a
/// decimal point (so TOML reads a float) and rounded to 9 places.
fn float_range(arg: &str, a: &str, b: &str, step: &str) -> Result<Vec<String>, SweepError> {
    let num = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| param_err(arg, format!("{s:?} is not a number")))
    };
    let (a, b, step) = (num(a)?, num(b)?, num(step)?);
    if step <= 0.0 || a > b {
        return Err(param_err(arg, "a range needs LOW <= HIGH and a step > 0"));
    }
    let count = ((b - a) / step + 1e-9).floor() + 1.0;
    if !count.is_finite() || count > POINTS_MAX as f64 {
        return Err(param_err(arg, format!("more than {POINTS_MAX} values")));
    }
    let n = count as usize;
    if n > POINTS_MAX {
        return Err(param_err(
            arg,
            format!("{n} values exceed the limit of {POINTS_MAX}"),
        ));
    }
    Ok((0..n)
        .map(|i| {
            let v = ((a + i as f64 * step) * 1e9).round() / 1e9;
            let s = format!("{v}");
            if s.contains('.') || s.contains('e') {
                s
            } else {
                format!("{s}.0")
            }
        })
        .collect())
}

impl ParamSpec {
    /// Parses `KEY=SPEC` for a grid: a list `a,b,c`, a TOML array `[..]`, or `LOW..HIGH:STEP`.
    pub fn grid(arg: &str) -> Result<ParamSpec, SweepError> {
        let (key, spec) = arg
            .split_once('=')
            .ok_or_else(|| param_err(arg, "expected KEY=SPEC"))?;
        let (key, spec) = (key.trim().to_string(), spec.trim().to_string());
        let values = if let Some(v) = parse_range(arg, &spec)? {
            v
        } else if spec.starts_with('[') {
            let t: toml::Table = toml::from_str(&format!("v = {spec}"))
                .map_err(|e| param_err(arg, format!("not a TOML array: {}", e.message())))?;
            match t.get("v") {
                Some(toml::Value::Array(a)) => a.iter().map(render).collect(),
                _ => return Err(param_err(arg, "not a TOML array")),
            }
        } else {
            spec.split(',').map(|s| s.trim().to_string()).collect()
        };
        if values.is_empty() || values.iter().any(|v| v.is_empty()) {
            return Err(param_err(arg, "needs at least one non-empty value"));
        }
        // Each value must be an override the loader accepts (checked fully per point later).
        for v in &values {
            parse_override_from("--param", &format!("{key}={v}")).map_err(|e| inner(arg, e))?;
        }
        check_parameter(arg, &key)?;
        Ok(ParamSpec {
            key,
            spec,
            values,
            range: None,
        })
    }

    /// Parses `KEY=LOW..HIGH` for a swarm (integers when both ends are).
    pub fn swarm(arg: &str) -> Result<ParamSpec, SweepError> {
        let (key, spec) = arg
            .split_once('=')
            .ok_or_else(|| param_err(arg, "expected KEY=LOW..HIGH"))?;
        let (lo, hi) = spec
            .trim()
            .split_once("..")
            .ok_or_else(|| param_err(arg, "a swarm parameter is LOW..HIGH"))?;
        let int = lo.trim().parse::<i64>().is_ok() && hi.trim().parse::<i64>().is_ok();
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| param_err(arg, format!("{s:?} is not a number")))
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if lo > hi {
            return Err(param_err(arg, "LOW > HIGH"));
        }
        check_parameter(arg, key.trim())?;
        Ok(ParamSpec {
            key: key.trim().into(),
            spec: spec.trim().into(),
            values: Vec::new(),
            range: Some((lo, hi, int)),
        })
    }
}

/// Refuses a key the loader does not accept (its depth and length are capped), and one each
/// run sets itself ([`not_a_parameter`]).
fn check_parameter(arg: &str, key: &str) -> Result<(), SweepError> {
    let path = parse_override_from("--param", &format!("{key}=0"))
        .map_err(|e| inner(arg, e))?
        .path;
    match not_a_parameter(&path) {
        Some(why) => Err(param_err(arg, why)),
        None => Ok(()),
    }
}

/// Refuses a key swept twice (the same dotted path, however quoted): its CSV columns would
/// repeat and only the last value would reach the scenario.
pub fn check_distinct(params: &[ParamSpec]) -> Result<(), SweepError> {
    if params.len() > PARAMS_MAX {
        return Err(SweepError::Usage(format!(
            "{} --param keys; at most {PARAMS_MAX}",
            params.len()
        )));
    }
    let mut seen: Vec<Vec<String>> = Vec::with_capacity(params.len());
    for p in params {
        let path = parse_override_from("--param", &format!("{}=0", p.key))
            .map_err(|e| inner(&p.key, e))?
            .path;
        if seen.contains(&path) {
            return Err(param_err(
                &format!("{}={}", p.key, p.spec),
                "the key is swept twice; give each --param key once",
            ));
        }
        seen.push(path);
    }
    Ok(())
}

fn render(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl SweepDef {
    /// The variants' names, as runs and summaries are labelled.
    pub fn variant_names(&self) -> Vec<String> {
        self.variants.iter().map(|v| v.name().to_string()).collect()
    }

    /// How many points the sweep has, without building them (None past `usize`).
    pub fn point_count(&self) -> Option<usize> {
        match self.swarm {
            Some(n) => Some(n as usize),
            None => self
                .params
                .iter()
                .try_fold(1usize, |acc, p| acc.checked_mul(p.values.len())),
        }
    }

    /// The grid points: the product of the params (first param outermost), or the swarm.
    pub fn points(&self) -> Vec<Vec<(String, String)>> {
        let n = self.point_count().unwrap_or(0);
        (0..n).map(|i| self.point(i)).collect()
    }

    /// Point `i` alone (of [`SweepDef::points`]), without building the others: a grid's
    /// index read as digits, the last param fastest; a swarm's draws for `i`.
    pub fn point(&self, i: usize) -> Vec<(String, String)> {
        if self.swarm.is_some() {
            return self.swarm_point(i as u64);
        }
        let mut rest = i;
        let mut point: Vec<(String, String)> = self
            .params
            .iter()
            .rev()
            .map(|p| {
                let len = p.values.len().max(1);
                let v = p.values.get(rest % len).cloned().unwrap_or_default();
                rest /= len;
                (p.key.clone(), v)
            })
            .collect();
        point.reverse();
        point
    }

    fn swarm_point(&self, i: u64) -> Vec<(String, String)> {
        let draws = Draws::new(self.swarm_seed, 1);
        self.params
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let (lo, hi, int) = p.range.unwrap_or((0.0, 0.0, true));
                let u: f64 = rand::Rng::random(&mut draws.rng(i, Purpose::Swarm, j as u64));
                let v = lo + u * (hi - lo);
                let text = if int {
                    (v.round() as i64).clamp(lo as i64, hi as i64).to_string()
                } else {
                    format!("{:?}", (v * 1e6).round() / 1e6)
                };
                (p.key.clone(), text)
            })
            .collect()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A definition of `params` with one variant and one seed (also plan.rs's tests').
    pub(in crate::sweep) fn def(params: Vec<ParamSpec>) -> SweepDef {
        SweepDef {
            scenario_file: "x.toml".into(),
            sets: Vec::new(),
            params,
            variants: vec![VariantId::Parallel],
            seeds: vec![1],
            swarm: None,
            swarm_seed: 1,
        }
    }

    #[test]
    fn ranges_lists_and_arrays_expand_in_order() {
        let ints = ParamSpec::grid("client.handshake_timeout_ms=200..260:30").unwrap();
        assert_eq!(ints.values, ["200", "230", "260"]);
        let floats = ParamSpec::grid("object.restart_probability=0..0.3:0.1").unwrap();
        assert_eq!(floats.values, ["0.0", "0.1", "0.2", "0.3"]);
        let list = ParamSpec::grid("client.retries=0, 2,5").unwrap();
        assert_eq!(list.values, ["0", "2", "5"]);
        let array = ParamSpec::grid("storage.backend=[\"kv\", \"sqlite\"]").unwrap();
        assert_eq!(array.values, ["\"kv\"", "\"sqlite\""]);
        for bad in ["k", "k=10..0:1", "k=0..10:0", "k=0..1e9:1e-9", "k="] {
            assert!(ParamSpec::grid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grid_is_the_product_with_the_first_param_outermost() {
        let d = def(vec![
            ParamSpec::grid("a=1,2").unwrap(),
            ParamSpec::grid("b=x,y,z").unwrap(),
        ]);
        assert_eq!(d.point_count(), Some(6));
        let points = d.points();
        let flat: Vec<String> = points
            .iter()
            .map(|p| format!("{}{}", p[0].1, p[1].1))
            .collect();
        assert_eq!(flat, ["1x", "1y", "1z", "2x", "2y", "2z"]);
    }

    #[test]
    fn a_swarm_draws_the_same_points_for_the_same_seed_within_the_range() {
        let mut d = def(vec![ParamSpec::swarm(
            "client.handshake_timeout_ms=100..300",
        )
        .unwrap()]);
        d.swarm = Some(20);
        let points = d.points();
        assert_eq!(points, d.points());
        for p in &points {
            let v: i64 = p[0].1.parse().unwrap();
            assert!((100..=300).contains(&v), "{v}");
        }
    }
}
