//! The statistics the figures rest on, in one place: the two-sided 95% quantile of Student's
//! t, Wilson's score interval of a proportion, and Newcombe's interval of a difference of two
//! proportions. Plain numbers in, plain numbers out (no rounding: callers round for display).

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (0 for `df` 0: one
/// value has no spread to widen).
pub fn t95(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if df == 0 {
        return 0.0;
    }
    StudentsT::new(0.0, 1.0, df as f64)
        .expect("df > 0 is a valid Student's t")
        .inverse_cdf(0.975)
}

/// A proportion and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportion {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// `successes` of `n` with its 95% Wilson score interval, inside [0, 1]; of no trial, 0 in
/// [0, 1] (nothing known).
pub fn wilson(successes: u64, n: u64) -> Proportion {
    if n == 0 {
        return Proportion {
            value: 0.0,
            low: 0.0,
            high: 1.0,
        };
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    Proportion {
        value: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// The mean of `values` and the half-width of its 95% Student's t interval (0 for one value);
/// none of no value.
pub fn mean_t95(values: impl ExactSizeIterator<Item = f64> + Clone) -> Option<(f64, f64)> {
    let count = values.len();
    if count == 0 {
        return None;
    }
    let n = count as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = if count > 1 {
        values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Some((mean, t95(count - 1) * (var / n).sqrt()))
}

/// The 95% interval of `b.value − a.value` for two independent proportions, from their own
/// (Wilson) intervals: Newcombe (1998), method 10, the hybrid score interval.
pub fn newcombe(a: Proportion, b: Proportion) -> (f64, f64) {
    let d = b.value - a.value;
    (
        d - ((b.value - b.low).powi(2) + (a.high - a.value).powi(2)).sqrt(),
        d + ((b.high - b.value).powi(2) + (a.value - a.low).powi(2)).sqrt(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_of_the_textbook_table() {
        assert_eq!(t95(0), 0.0);
        for (df, t) in [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262)] {
            assert!((t95(df) - t).abs() < 1e-3, "df {df}: {}", t95(df));
        }
    }

    #[test]
    fn wilson_matches_the_closed_form_and_stays_in_the_unit_interval() {
        // 10 of 100: the textbook Wilson score interval is [0.0552, 0.1744].
        let r = wilson(10, 100);
        assert!((r.low - 0.055_229).abs() < 1e-6 && (r.high - 0.174_366).abs() < 1e-6);
        assert_eq!((wilson(0, 20).low, wilson(20, 20).high), (0.0, 1.0));
        assert_eq!(
            wilson(0, 0),
            Proportion {
                value: 0.0,
                low: 0.0,
                high: 1.0
            }
        );
    }

    #[test]
    fn newcombe_of_the_papers_example() {
        // Newcombe 1998, example (a): 56/70 vs 48/80 → 0.2 in [0.0524, 0.3339].
        let (lo, hi) = newcombe(wilson(48, 80), wilson(56, 70));
        assert!(
            (lo - 0.0524).abs() < 5e-4 && (hi - 0.3339).abs() < 5e-4,
            "{lo} {hi}"
        );
    }
}
