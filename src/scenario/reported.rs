//! `[reported]`: the figures a write-up states, beside which the report shows the simulated
//! ones, such as `"sequential.failure_rate" = [0.30, 0.40]` (the write-up's "~30–40%") or
//! `"parallel.p50_storage_ms" = 75`. They are never judged: `[expect]` says what must hold.

use serde::{Deserialize, Serialize};

use super::FigureRef;

/// Most `[reported]` lines in one scenario.
pub const REPORTED_MAX: usize = 256;

/// A stated figure: one number, or a range `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Stated {
    Value(f64),
    Range([f64; 2]),
}

impl Stated {
    /// `(low, high)`; a single value is a range of width 0.
    pub fn bounds(self) -> (f64, f64) {
        match self {
            Stated::Value(v) => (v, v),
            Stated::Range([lo, hi]) => (lo, hi),
        }
    }

    /// Finite, and low ≤ high.
    pub(crate) fn check(self) -> Result<(), String> {
        let (lo, hi) = self.bounds();
        if !lo.is_finite() || !hi.is_finite() {
            return Err("must be a finite number or [low, high]".into());
        }
        if lo > hi {
            return Err(format!("low {lo} > high {hi}"));
        }
        Ok(())
    }
}

/// One `[reported]` line, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub figure: FigureRef,
    pub stated: Stated,
}

/// Parses one `"variant.metric" = value` line; the error names what is wrong.
pub(crate) fn parse(key: &str, stated: Stated) -> Result<Reported, String> {
    stated.check()?;
    let figure = FigureRef::parse(key)?;
    if let Some(n) = &figure.network {
        return Err(format!(
            "a write-up's figure is of every job; drop \"[{n}]\" (network types are for [expect])"
        ));
    }
    Ok(Reported { figure, stated })
}
