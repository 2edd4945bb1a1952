//! One bisection: the parameter value at which a monotone figure meets its target, with its
//! evaluations cached by value and a figure that turns or stays flat named as such.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::FitError;

/// Most evaluations of one search (the pooled one runs every seed, a block's only its own).
pub const EVALUATIONS_MAX: usize = 200;

/// One evaluation: the parameter, the figure (NaN, `null` in JSON, when it was not measured)
/// and, for a rate with one (`failure_rate`, `silent_failure_rate`), its 95% Wilson interval;
/// `None` for any other figure, which has no interval of its own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    pub x: f64,
    pub value: f64,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
}

/// What one search evaluates: the figure at a parameter value.
pub(super) trait Measure {
    fn measure(&mut self, x: f64) -> Result<Evaluation, FitError>;
}

impl<F: FnMut(f64) -> Result<Evaluation, FitError>> Measure for F {
    fn measure(&mut self, x: f64) -> Result<Evaluation, FitError> {
        self(x)
    }
}

pub(super) fn fmt_x(x: f64, integer: bool) -> String {
    if integer {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:?}")
    }
}

/// How a figure moves over the parameter values seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Increasing,
    Decreasing,
    Flat,
    NotMonotone,
}

/// The shape of `values` (in order of their parameter); a NaN is skipped.
fn shape(values: &[f64]) -> Shape {
    let values: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let up = values.windows(2).any(|w| w[1] > w[0]);
    let down = values.windows(2).any(|w| w[1] < w[0]);
    match (up, down) {
        (true, true) => Shape::NotMonotone,
        (true, false) => Shape::Increasing,
        (false, true) => Shape::Decreasing,
        (false, false) => Shape::Flat,
    }
}

/// One bisection over the range, its evaluations cached by parameter value.
pub(super) struct Search<M> {
    pub(super) measure: M,
    range: (f64, f64),
    integer: bool,
    cache: BTreeMap<u64, Evaluation>,
}

impl<M: Measure> Search<M> {
    pub(super) fn new(measure: M, range: (f64, f64), integer: bool) -> Search<M> {
        Search {
            measure,
            range,
            integer,
            cache: BTreeMap::new(),
        }
    }

    pub(super) fn eval(&mut self, x: f64) -> Result<Evaluation, FitError> {
        let x = if self.integer { x.round() } else { x };
        if let Some(e) = self.cache.get(&x.to_bits()) {
            return Ok(*e);
        }
        if self.cache.len() >= EVALUATIONS_MAX {
            return Err(FitError::Usage(format!(
                "more than {EVALUATIONS_MAX} evaluations"
            )));
        }
        let e = self.measure.measure(x)?;
        self.cache.insert(x.to_bits(), e);
        Ok(e)
    }

    /// The evaluations made so far, by parameter value.
    pub(super) fn seen(&self) -> Vec<Evaluation> {
        let mut seen: Vec<Evaluation> = self.cache.values().copied().collect();
        seen.sort_by(|a, b| a.x.total_cmp(&b.x));
        seen
    }

    /// `f` at every value seen, for an error message.
    fn show_seen(&self, f: fn(&Evaluation) -> f64) -> String {
        let seen: Vec<String> = (self.seen().iter())
            .map(|e| format!("{} at {}", f(e), fmt_x(e.x, self.integer)))
            .collect();
        seen.join(", ")
    }

    /// An error when the values of `f` seen so far go both up and down.
    fn check_monotone(&self, f: fn(&Evaluation) -> f64) -> Result<(), FitError> {
        let values: Vec<f64> = self.seen().iter().map(f).collect();
        match shape(&values) {
            Shape::NotMonotone => Err(FitError::NotMonotone(format!(
                "the figure is not monotone in this range (it goes both up and down: {}); \
                 bisection needs a monotone figure: narrow --range to one side of the turn",
                self.show_seen(f)
            ))),
            _ => Ok(()),
        }
    }

    /// Why the ends of the range do not bracket `target`: looks inside (at the quartiles)
    /// and says "not monotone" when the figure turns or stays flat, "widen --range" only when
    /// it is monotone and misses the target.
    fn unbracketed(&mut self, f: fn(&Evaluation) -> f64, target: f64) -> FitError {
        let (lo, hi) = self.range;
        for q in [0.25, 0.5, 0.75] {
            if let Err(e) = self.eval(lo + (hi - lo) * q) {
                return e;
            }
        }
        let values: Vec<f64> = self.seen().iter().map(f).collect();
        let (flo, fhi) = (values[0], values[values.len() - 1]);
        match shape(&values) {
            Shape::NotMonotone => self.check_monotone(f).expect_err("not monotone"),
            Shape::Flat => FitError::NotMonotone(format!(
                "the figure is not monotone in this range: it is flat ({}), so the parameter \
                 does not move it here",
                self.show_seen(f)
            )),
            Shape::Increasing | Shape::Decreasing => FitError::NotBracketed(format!(
                "the target {target} is not between {flo} (at {lo}) and {fhi} (at {hi}); widen --range"
            )),
        }
    }

    /// Bisection for `f(x) = target` on the range: the value nearest the target and the last
    /// bracket. The figure must be measured at both ends and bracket the target there.
    pub(super) fn solve(
        &mut self,
        f: fn(&Evaluation) -> f64,
        target: f64,
    ) -> Result<(f64, f64, f64), FitError> {
        let (mut lo, mut hi) = self.range;
        let (flo, fhi) = (f(&self.eval(lo)?), f(&self.eval(hi)?));
        if flo.is_nan() || fhi.is_nan() {
            return Err(FitError::NotBracketed(format!(
                "the figure was not measured at both ends of the range ({flo} at {lo}, {fhi} at {hi})"
            )));
        }
        if (flo - target) * (fhi - target) > 0.0 {
            return Err(self.unbracketed(f, target));
        }
        let increasing = fhi >= flo;
        let resolution = if self.integer {
            1.0
        } else {
            (hi - lo).abs() * 1e-4
        };
        for _ in 0..64 {
            if hi - lo <= resolution {
                break;
            }
            let mid = if self.integer {
                ((lo + hi) / 2.0).floor()
            } else {
                (lo + hi) / 2.0
            };
            if mid <= lo || mid >= hi {
                break;
            }
            let fm = f(&self.eval(mid)?);
            self.check_monotone(f)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, value: f64) -> Result<Evaluation, FitError> {
        Ok(Evaluation {
            x,
            value,
            ci95_low: None,
            ci95_high: None,
        })
    }

    #[test]
    fn shapes_of_the_values_seen() {
        assert_eq!(shape(&[1.0, 1.0, 2.0]), Shape::Increasing);
        assert_eq!(shape(&[3.0, f64::NAN, 2.0, 2.0]), Shape::Decreasing);
        assert_eq!(shape(&[4.0, 4.0, 4.0]), Shape::Flat);
        assert_eq!(shape(&[1.0, 3.0, 2.0]), Shape::NotMonotone);
    }

    #[test]
    fn a_figure_that_turns_is_not_monotone_and_only_a_monotone_miss_says_widen() {
        let solve = |f: fn(f64) -> f64, target: f64| {
            let mut search = Search::new(|x| point(x, f(x)), (0.0, 10.0), false);
            search.solve(|e| e.value, target)
        };
        // Up then down: the ends agree, the quartiles show the turn.
        let hill = |x: f64| -(x - 5.0) * (x - 5.0);
        let err = solve(hill, -100.0).unwrap_err().to_string();
        assert!(err.contains("not monotone in this range"), "{err}");
        assert!(err.contains("0 at 5"), "what was seen: {err}");
        // The ends bracket the target, but the first midpoint is above both.
        let err = solve(|x| if x < 6.0 { x } else { 12.0 - x }, 1.0).unwrap_err();
        assert!(matches!(err, FitError::NotMonotone(_)), "{err}");
        // Flat.
        let err = solve(|_| 3.0, 1.0).unwrap_err().to_string();
        assert!(
            err.contains("not monotone in this range: it is flat"),
            "{err}"
        );
        // Monotone and missing the target: widen.
        let err = solve(|x| x, 20.0).unwrap_err();
        assert!(matches!(&err, FitError::NotBracketed(m) if m.contains("widen --range")));
        let (x, lo, hi) = solve(|x| 2.0 * x, 7.0).unwrap();
        assert!((x - 3.5).abs() < 1e-3 && lo <= 3.5 && 3.5 <= hi);
    }
}
