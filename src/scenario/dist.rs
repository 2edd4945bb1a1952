//! Latency distributions as written in scenario files, and their sampling.

use rand::Rng;
use rand_distr::{Distribution as _, LogNormal, Normal};
use serde::{Deserialize, Serialize};

/// Largest value any latency distribution may produce or name, in ms (one hour).
pub const LATENCY_MS_MAX: f64 = 3_600_000.0;
/// Largest number of samples an `empirical` distribution may hold.
pub const EMPIRICAL_SAMPLES_MAX: usize = 100_000;
/// z-score of the 99th percentile of the standard normal, for `lognormal { median, p99 }`.
const Z_P99: f64 = 2.326_347_874_040_841;
/// Resampling bound for the normal truncated at 0 (then 0 is used).
const NORMAL_RESAMPLES_MAX: u32 = 64;

/// A latency in milliseconds, drawn per event. Written as a one-key table
/// (`{ uniform = [50, 100] }`); the derived (de)serialisers are inherent functions
/// (`remote = "Self"`) wrapped below, so that a plain number or string is refused with an
/// example instead of serde's "invalid type: unit variant".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist {
    Constant(f64),
    Uniform([f64; 2]),
    Normal { mean: f64, sd: f64 },
    Lognormal { median: f64, p99: f64 },
    Empirical(Vec<f64>),
}

/// What a distribution looks like, for errors.
const EXPECTED: &str = "a distribution: { constant = MS }, { uniform = [LOW, HIGH] }, \
{ normal = { mean = MS, sd = MS } }, { lognormal = { median = MS, p99 = MS } } or \
{ empirical = [MS, ...] }";

impl Serialize for Dist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Dist::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DistVisitor)
    }
}

/// The five forms, for the scenario's JSON Schema (the derive cannot see through `remote`).
impl schemars::JsonSchema for Dist {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Dist".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ms = serde_json::json!({ "type": "number", "minimum": 0, "maximum": LATENCY_MS_MAX });
        let form = |key: &str, value: serde_json::Value| {
            serde_json::json!({
                "type": "object",
                "properties": { key: value },
                "required": [key],
                "additionalProperties": false
            })
        };
        let pair = |a: &str, b: &str| form_fields(&[a, b], &ms);
        let forms = [
            form("constant", ms.clone()),
            form(
                "uniform",
                serde_json::json!({ "type": "array", "items": ms, "minItems": 2, "maxItems": 2 }),
            ),
            form("normal", pair("mean", "sd")),
            form("lognormal", pair("median", "p99")),
            form(
                "empirical",
                serde_json::json!({
                    "type": "array", "items": ms, "minItems": 1, "maxItems": EMPIRICAL_SAMPLES_MAX
                }),
            ),
        ];
        let schema = serde_json::json!({
            "description": format!("A latency in ms, drawn per event: {EXPECTED}."),
            "oneOf": forms,
        });
        schemars::Schema::try_from(schema).expect("an object is a schema")
    }
}

/// An object of the named number fields, all required.
fn form_fields(names: &[&str], ms: &serde_json::Value) -> serde_json::Value {
    let props: serde_json::Map<String, serde_json::Value> =
        names.iter().map(|n| (n.to_string(), ms.clone())).collect();
    serde_json::json!({
        "type": "object",
        "properties": props,
        "required": names,
        "additionalProperties": false
    })
}

/// A table goes to the derived deserialiser (which keeps the error's path, e.g.
/// `storage.read_ms.uniform`); anything else is refused with an example.
struct DistVisitor;

impl<'de> serde::de::Visitor<'de> for DistVisitor {
    type Value = Dist;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Dist, A::Error> {
        use serde::de::{value::MapAccessDeserializer, Error as _, IgnoredAny};
        let dist = Dist::deserialize(MapAccessDeserializer::new(&mut map))?;
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(A::Error::custom(format!(
                "a distribution has exactly one kind; expected {EXPECTED}"
            )));
        }
        Ok(dist)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dist, E> {
        Err(plain_number(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dist, E> {
        Err(plain_number(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Dist, E> {
        Err(plain_number(v))
    }
}

fn plain_number<E: serde::de::Error>(v: impl std::fmt::Display) -> E {
    E::custom(format!(
        "expected a distribution, not the plain number {v}: for a fixed {v} ms write \
         {{ constant = {v} }} (on the command line: --set 'KEY={{ constant = {v} }}'); \
         {EXPECTED}"
    ))
}

impl Default for Dist {
    fn default() -> Self {
        Dist::Constant(0.0)
    }
}

impl Dist {
    pub fn constant(ms: f64) -> Self {
        Dist::Constant(ms)
    }

    /// Checks the parameters; the error names the offending sub-key (relative).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let finite = |key: &str, v: f64| -> Result<(), (String, String)> {
            if !v.is_finite() {
                return Err((key.into(), format!("{v} is not a finite number")));
            }
            if v < 0.0 {
                return Err((
                    key.into(),
                    format!("{v} is negative; latencies are >= 0 ms"),
                ));
            }
            if v > LATENCY_MS_MAX {
                return Err((
                    key.into(),
                    format!("{v} exceeds the limit of {LATENCY_MS_MAX} ms"),
                ));
            }
            Ok(())
        };
        match self {
            Dist::Constant(v) => finite("constant", *v),
            Dist::Uniform([lo, hi]) => {
                finite("uniform.0", *lo)?;
                finite("uniform.1", *hi)?;
                if lo > hi {
                    return Err(("uniform".into(), format!("min {lo} > max {hi}")));
                }
                Ok(())
            }
            Dist::Normal { mean, sd } => {
                finite("normal.mean", *mean)?;
                finite("normal.sd", *sd)
            }
            Dist::Lognormal { median, p99 } => {
                finite("lognormal.median", *median)?;
                finite("lognormal.p99", *p99)?;
                if *median <= 0.0 {
                    return Err(("lognormal.median".into(), "must be > 0".into()));
                }
                if p99 < median {
                    return Err(("lognormal".into(), format!("p99 {p99} < median {median}")));
                }
                Ok(())
            }
            Dist::Empirical(samples) => {
                if samples.is_empty() {
                    return Err(("empirical".into(), "needs at least one sample".into()));
                }
                if samples.len() > EMPIRICAL_SAMPLES_MAX {
                    return Err((
                        "empirical".into(),
                        format!(
                            "{} samples exceed the limit of {EMPIRICAL_SAMPLES_MAX}",
                            samples.len()
                        ),
                    ));
                }
                for (i, v) in samples.iter().enumerate() {
                    finite(&format!("empirical.{i}"), *v)?;
                }
                Ok(())
            }
        }
    }

    /// One draw in ms (unrounded). Parameters must have passed [`Dist::validate`].
    pub fn sample_ms<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        if let Some(v) = self.fixed_ms() {
            return v;
        }
        let v = match self {
            Dist::Constant(v) => *v,
            Dist::Uniform([lo, hi]) => rng.random_range(*lo..=*hi),
            Dist::Normal { mean, sd } => {
                let normal = Normal::new(*mean, *sd).expect("checked: sd finite and >= 0");
                let mut drawn = 0.0;
                for _ in 0..NORMAL_RESAMPLES_MAX {
                    let x = normal.sample(rng);
                    if x >= 0.0 {
                        drawn = x;
                        break;
                    }
                }
                drawn
            }
            Dist::Lognormal { median, p99 } => {
                let sigma = (p99.ln() - median.ln()) / Z_P99;
                LogNormal::new(median.ln(), sigma)
                    .expect("checked: sigma finite and >= 0")
                    .sample(rng)
            }
            Dist::Empirical(samples) => samples[rng.random_range(0..samples.len())],
        };
        v.clamp(0.0, LATENCY_MS_MAX)
    }

    /// The one value the distribution takes, when it takes only one (a constant, a uniform
    /// range of width 0, one empirical sample): what [`Dist::sample_ms`] returns without
    /// drawing, so a caller can skip building a generator.
    pub fn fixed_ms(&self) -> Option<f64> {
        let v = match self {
            Dist::Constant(v) => *v,
            Dist::Uniform([lo, hi]) if lo == hi => *lo,
            Dist::Empirical(samples) if samples.len() == 1 => samples[0],
            _ => return None,
        };
        Some(v.clamp(0.0, LATENCY_MS_MAX))
    }

    /// The mean in ms, where it has a closed form (for documentation and tests).
    pub fn mean_ms(&self) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Uniform([lo, hi]) => (lo + hi) / 2.0,
            Dist::Normal { mean, .. } => *mean,
            Dist::Lognormal { median, p99 } => {
                let sigma = (p99.ln() - median.ln()) / Z_P99;
                median * (sigma * sigma / 2.0).exp()
            }
            Dist::Empirical(s) => s.iter().sum::<f64>() / s.len() as f64,
        }
    }
}
