//! Expectations declared next to an experiment, such as
//! `"parallel.p95_upgrade_ms" = "<= 0.6 * sequential.p95_upgrade_ms"`: parsed once, when the
//! scenario loads. They are judged in `verdict`.
//!
//! Grammar of the value: `OP TERM`, OP one of `<`, `<=`, `>`, `>=`, `==`, `!=`, and TERM a
//! number, a figure `variant.metric`, or a number times a figure (`0.6 * v.m` or `v.m * 0.6`).
//! A figure may name one network type of `network.types`, `variant.metric[type]`: the figure
//! over that type's jobs only.

use std::fmt;

use serde::Serialize;

use crate::names::{Figure, VariantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    /// Whether `a OP b`.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    pub fn symbol(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .expect("every op listed")
            .0
    }
}

/// `variant.metric`, or `variant.metric[network type]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureRef {
    #[serde(serialize_with = "as_name")]
    pub variant: VariantId,
    #[serde(rename = "metric", serialize_with = "as_name")]
    pub figure: Figure,
    /// The network type whose jobs it counts (none: every job).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

fn as_name<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl FigureRef {
    /// Parses `variant.metric`; the error names what is unknown.
    pub fn parse(s: &str) -> Result<FigureRef, String> {
        FigureRef::parse_among(s, &[])
    }

    /// Parses `variant.metric`, the variant a built-in one or one of `own` (users'
    /// variants of a run).
    pub fn parse_among(s: &str, own: &[VariantId]) -> Result<FigureRef, String> {
        let (variant, metric) = s
            .split_once('.')
            .ok_or_else(|| format!("{s:?} is not variant.metric"))?;
        let (metric, network) = match metric.strip_suffix(']').map(|m| m.split_once('[')) {
            Some(Some((metric, network))) => (metric, Some(network.to_string())),
            Some(None) => return Err(format!("{s:?} ends in ']' with no '[' before it")),
            None => (metric, None),
        };
        Ok(FigureRef {
            variant: VariantId::parse_among(variant, own)?,
            figure: Figure::parse(metric)?,
            network,
        })
    }
}

impl fmt::Display for FigureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.variant, self.figure)?;
        match &self.network {
            Some(n) => write!(f, "[{n}]"),
            None => Ok(()),
        }
    }
}

/// The right-hand side: `factor × figure`, or a plain number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    pub factor: f64,
    pub figure: Option<FigureRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expectation {
    pub lhs: FigureRef,
    pub op: Op,
    pub rhs: Term,
}

fn number(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{s:?} is not a finite number"));
    }
    Ok(v)
}

impl Expectation {
    /// Parses `key = expr`; the error says what is wrong, for a validation message.
    pub fn parse(key: &str, expr: &str) -> Result<Expectation, String> {
        Expectation::parse_among(key, expr, &[])
    }

    /// [`Expectation::parse`], the figures' variants built-in ones or among `own`.
    pub fn parse_among(key: &str, expr: &str, own: &[VariantId]) -> Result<Expectation, String> {
        let figure = |s: &str| FigureRef::parse_among(s, own);
        let lhs = figure(key.trim())?;
        let expr = expr.trim();
        let (op, rest) = Op::ALL
            .iter()
            .find_map(|(sym, op)| expr.strip_prefix(sym).map(|r| (*op, r)))
            .ok_or_else(|| format!("{expr:?} does not start with one of < <= > >= == !="))?;
        // "<< 0.05", ">== 2", "< = 1": a second operator is a typo, not a variant named "< 0".
        if rest.trim_start().starts_with(['<', '>', '=', '!']) {
            return Err(format!(
                "{expr:?}: after the operator {:?} comes another; write exactly one of \
                 < <= > >= == != and then a number or variant.metric",
                op.symbol()
            ));
        }
        let parts: Vec<&str> = rest.split('*').map(str::trim).collect();
        let rhs = match parts.as_slice() {
            [""] => return Err(format!("{expr:?} has nothing after the operator")),
            [one] => match number(one) {
                Ok(v) => Term {
                    factor: v,
                    figure: None,
                },
                Err(_) => Term {
                    factor: 1.0,
                    figure: Some(figure(one)?),
                },
            },
            [a, b] => {
                let (n, f) = if number(a).is_ok() { (a, b) } else { (b, a) };
                Term {
                    factor: number(n)
                        .map_err(|_| format!("{expr:?}: one side of '*' must be a number"))?,
                    figure: Some(figure(f)?),
                }
            }
            _ => return Err(format!("{expr:?}: at most one '*' is supported")),
        };
        Ok(Expectation { lhs, op, rhs })
    }

    /// Checks that every network type it names is one of `names` (the scenario's).
    pub fn check_network_types(&self, names: &[String]) -> Result<(), String> {
        let refs = std::iter::once(&self.lhs).chain(self.rhs.figure.as_ref());
        for network in refs.filter_map(|r| r.network.as_deref()) {
            if !names.iter().any(|n| n == network) {
                return Err(if names.is_empty() {
                    format!(
                        "names network type {network:?}, and the scenario has no \
                         [[network.types]]; drop \"[{network}]\" or add the type"
                    )
                } else {
                    crate::names::unknown(
                        "unknown network type",
                        network,
                        names.iter().map(String::as_str),
                    )
                });
            }
        }
        Ok(())
    }

    /// The bound when the right-hand side is a plain number (it needs no figure).
    pub fn constant_bound(&self) -> Option<f64> {
        self.rhs.figure.is_none().then_some(self.rhs.factor)
    }

    /// The variants it reads.
    pub fn variants(&self) -> Vec<VariantId> {
        let mut v = vec![self.lhs.variant];
        if let Some(f) = &self.rhs.figure {
            v.push(f.variant);
        }
        v
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.lhs, self.op.symbol())?;
        match &self.rhs.figure {
            Some(fig) if self.rhs.factor == 1.0 => write!(f, "{fig}"),
            Some(fig) => write!(f, "{} * {fig}", self.rhs.factor),
            None => write!(f, "{}", self.rhs.factor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Stat, Timing};

    #[test]
    fn parses_a_number_a_figure_and_a_product_either_way_round() {
        let e = Expectation::parse("sequential.failure_rate", ">= 0.25").unwrap();
        assert_eq!(e.lhs.variant, VariantId::Sequential);
        assert_eq!(e.lhs.figure, Figure::FailureRate);
        assert_eq!((e.op, e.rhs.factor, e.rhs.figure), (Op::Ge, 0.25, None));
        let p95 = Figure::Latency(Stat::P95, Timing::Upgrade);
        for text in [
            "<= 0.6 * sequential.p95_upgrade_ms",
            "<=sequential.p95_upgrade_ms*0.6",
        ] {
            let e = Expectation::parse("parallel.p95_upgrade_ms", text).unwrap();
            assert_eq!(e.op, Op::Le);
            assert_eq!(e.rhs.factor, 0.6);
            assert_eq!(e.rhs.figure.as_ref().unwrap().figure, p95);
            assert_eq!(
                e.to_string(),
                "parallel.p95_upgrade_ms <= 0.6 * sequential.p95_upgrade_ms"
            );
            assert_eq!(e.variants(), [VariantId::Parallel, VariantId::Sequential]);
        }
        let plain = Expectation::parse("parallel.ok", "== parallel.jobs").unwrap();
        assert_eq!(plain.to_string(), "parallel.ok == parallel.jobs");
    }

    #[test]
    fn a_malformed_expectation_says_what_is_wrong() {
        let err = |k: &str, e: &str| Expectation::parse(k, e).unwrap_err();
        assert!(err("fast.ok", "> 1").starts_with("unknown variant \"fast\""));
        assert!(err("parallel.speed", "> 1").starts_with("unknown metric \"speed\""));
        assert_eq!(err("parallel", "> 1"), "\"parallel\" is not variant.metric");
        assert!(err("parallel.ok", "~ 1").contains("does not start with one of"));
        for typo in ["<< 0.05", ">== 2", "< = 1", "!== 0", ">> 1"] {
            let e = err("parallel.ok", typo);
            assert!(
                e.contains("comes another; write exactly one of"),
                "{typo}: {e}"
            );
        }
        assert!(err("parallel.ok", ">=").contains("nothing after the operator"));
        assert!(err("parallel.ok", "> inf").contains("is not variant.metric"));
        assert!(err("parallel.ok", "> 2 * 3 * parallel.ok").contains("at most one '*'"));
        assert!(err("parallel.ok", "> a.b * c.d").contains("must be a number"));
    }
}
