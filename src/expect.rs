//! Expectations declared next to an experiment, such as
//! `"parallel.p95_upgrade_ms" = "<= 0.6 * sequential.p95_upgrade_ms"`, and their judgement.
//!
//! Grammar of the value: `OP TERM`, OP one of `<`, `<=`, `>`, `>=`, `==`, `!=`, and TERM a
//! number, a figure `variant.metric`, or a number times a figure (`0.6 * v.m` or `v.m * 0.6`).

use std::fmt;

use serde::Serialize;

use crate::metrics::{VariantSummary, FIGURES};

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

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    fn symbol(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .expect("every op listed")
            .0
    }
}

/// `variant.metric`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureRef {
    pub variant: String,
    pub metric: String,
}

impl FigureRef {
    fn parse(s: &str) -> Result<FigureRef, String> {
        let (variant, metric) = s
            .split_once('.')
            .ok_or_else(|| format!("{s:?} is not variant.metric"))?;
        if crate::server::variant::by_name(variant).is_none() {
            return Err(format!(
                "unknown variant {variant:?}; known: {}",
                crate::server::variant::NAMES.join(", ")
            ));
        }
        if !FIGURES.contains(&metric) {
            return Err(format!(
                "unknown metric {metric:?}; known: {}",
                FIGURES.join(", ")
            ));
        }
        Ok(FigureRef {
            variant: variant.into(),
            metric: metric.into(),
        })
    }

    fn value(&self, summaries: &[VariantSummary]) -> Result<f64, String> {
        let s = summaries
            .iter()
            .find(|s| s.variant == self.variant)
            .ok_or_else(|| format!("variant {} was not run", self.variant))?;
        s.figure(&self.metric)
            .ok_or_else(|| format!("{} has no {}", self.variant, self.metric))
    }
}

impl fmt::Display for FigureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.variant, self.metric)
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

/// One judged expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    pub expectation: String,
    pub variant: String,
    pub actual: f64,
    pub bound: f64,
    pub holds: bool,
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
        let lhs = FigureRef::parse(key.trim())?;
        let expr = expr.trim();
        let (op, rest) = Op::ALL
            .iter()
            .find_map(|(sym, op)| expr.strip_prefix(sym).map(|r| (*op, r)))
            .ok_or_else(|| format!("{expr:?} does not start with one of < <= > >= == !="))?;
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
                    figure: Some(FigureRef::parse(one)?),
                },
            },
            [a, b] => {
                let (n, f) = if number(a).is_ok() { (a, b) } else { (b, a) };
                Term {
                    factor: number(n)
                        .map_err(|_| format!("{expr:?}: one side of '*' must be a number"))?,
                    figure: Some(FigureRef::parse(f)?),
                }
            }
            _ => return Err(format!("{expr:?}: at most one '*' is supported")),
        };
        Ok(Expectation { lhs, op, rhs })
    }

    /// The variants it reads.
    pub fn variants(&self) -> Vec<&str> {
        let mut v = vec![self.lhs.variant.as_str()];
        if let Some(f) = &self.rhs.figure {
            v.push(&f.variant);
        }
        v
    }

    pub fn judge(&self, summaries: &[VariantSummary]) -> Result<Judged, String> {
        let actual = self.lhs.value(summaries)?;
        let bound = match &self.rhs.figure {
            Some(f) => self.rhs.factor * f.value(summaries)?,
            None => self.rhs.factor,
        };
        Ok(Judged {
            expectation: self.to_string(),
            variant: self.lhs.variant.clone(),
            actual,
            bound,
            holds: self.op.holds(actual, bound),
        })
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
