//! What `compare` prints: what each side ran, the scenario settings that differ, one table per
//! variant (A, B, B − A, the change) and the figures that changed beyond noise.

use std::fmt::Write as _;

use crate::compare::{Change, Comparison, Measured, Row, Side};
use crate::names::Kind;

/// Settings listed in the terminal output (all of them are in the JSON).
const SETTINGS_SHOWN_MAX: usize = 20;
/// A setting's value is cut to this many characters in the terminal output.
const VALUE_CHARS_MAX: usize = 60;

/// The comparison as JSON, with a trailing newline; byte-identical for the same inputs.
pub fn compare_json(c: &Comparison) -> String {
    let mut s = serde_json::to_string_pretty(c).expect("comparison types serialise");
    s.push('\n');
    s
}

/// The terminal report of a comparison.
pub fn compare_text(c: &Comparison) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "A: {}", side(&c.a));
    let _ = writeln!(t, "B: {}", side(&c.b));
    settings(c, &mut t);
    for (label, only) in [("A", &c.variants_only_in_a), ("B", &c.variants_only_in_b)] {
        if !only.is_empty() {
            let _ = writeln!(t, "variants only in {label}: {}", only.join(", "));
        }
    }
    if c.variants.is_empty() {
        let _ = writeln!(
            t,
            "\nno variant ran on both sides: name the ones to compare with --pair A_VARIANT=B_VARIANT"
        );
    }
    for v in &c.variants {
        let title = if v.a == v.b {
            v.a.clone()
        } else {
            format!("{} (A) vs {} (B)", v.a, v.b)
        };
        t.push('\n');
        t.push_str(&table(&title, &v.rows));
    }
    t.push('\n');
    t.push_str(&changed_text(c));
    t
}

/// `file — scenario NAME, seeds …, N job(s) per seed, variants … (handshake-sim VERSION)`.
pub(super) fn side(s: &Side) -> String {
    let jobs = s
        .jobs
        .map_or(String::new(), |j| format!(", {j} job(s) per seed"));
    format!(
        "{} — scenario {}, {}{jobs}, variants {} (handshake-sim {})",
        s.file,
        s.scenario,
        seeds_text(&s.seeds),
        s.variants.join(", "),
        s.version
    )
}

/// `seed 1`, `seeds 1..=3` (consecutive), or `seeds 1, 5, 9`.
fn seeds_text(seeds: &[u64]) -> String {
    let consecutive = seeds.windows(2).all(|w| w[1] == w[0].wrapping_add(1));
    match seeds {
        [one] => format!("seed {one}"),
        [first, .., last] if consecutive => format!("seeds {first}..={last}"),
        _ => {
            let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
            format!("seeds {}", list.join(", "))
        }
    }
}

/// Whether the scenarios are the same, and the resolved settings that differ.
fn settings(c: &Comparison, t: &mut String) {
    let d = &c.scenario_differences;
    let what = if c.same_scenario {
        format!("scenario: the same ({})", c.a.scenario)
    } else {
        format!(
            "scenario: DIFFERENT (A {}, B {})",
            c.a.scenario, c.b.scenario
        )
    };
    if d.is_empty() {
        let _ = writeln!(t, "{what}; every setting equal");
        return;
    }
    let _ = writeln!(t, "{what}; {} setting(s) differ (A → B):", d.len());
    let cut = |v: &Option<String>| {
        let v = v.as_deref().unwrap_or("(absent)");
        match v.char_indices().nth(VALUE_CHARS_MAX) {
            Some((i, _)) => format!("{}…", &v[..i]),
            None => v.to_string(),
        }
    };
    for s in d.iter().take(SETTINGS_SHOWN_MAX) {
        let _ = writeln!(t, "  {}: {} → {}", s.key, cut(&s.a), cut(&s.b));
    }
    if d.len() > SETTINGS_SHOWN_MAX {
        let _ = writeln!(
            t,
            "  … and {} more (all of them with --json)",
            d.len() - SETTINGS_SHOWN_MAX
        );
    }
}

/// One variant's rows, aligned: the figure, A, B, B − A, the change.
fn table(title: &str, rows: &[Row]) -> String {
    let mut lines: Vec<[String; 5]> = vec![[
        title.to_string(),
        "A".into(),
        "B".into(),
        "B − A".into(),
        "change".into(),
    ]];
    for r in rows {
        lines.push([
            format!("  {}", r.figure),
            value(r.kind, r.a),
            value(r.kind, r.b),
            difference(r),
            change(r.change).into(),
        ]);
    }
    let width = |i: usize| {
        lines
            .iter()
            .map(|l| l[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..5).map(width).collect();
    let mut t = String::new();
    for l in &lines {
        let _ = writeln!(
            t,
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {}",
            l[0],
            l[1],
            l[2],
            l[3],
            l[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        );
    }
    t
}

pub(super) fn change(c: Change) -> &'static str {
    match c {
        Change::Same => "same",
        Change::WithinNoise => "within noise",
        Change::Changed => "CHANGED",
        Change::NoInterval => "no CI",
        Change::NotComparable => "baselines differ",
        Change::OnlyInA => "only in A",
        Change::OnlyInB => "only in B",
        Change::Absent => "–",
    }
}

/// A number as its kind shows it: counts whole, ms with one decimal when not whole.
fn number(kind: Kind, x: f64, signed: bool) -> String {
    match (kind, signed) {
        (Kind::Rate, false) => format!("{:.1}%", x * 100.0),
        (Kind::Rate, true) => format!("{:+.1} pp", x * 100.0),
        (Kind::Delta, _) => format!("{x:+.1}"),
        (_, false) if x.fract() == 0.0 => format!("{x}"),
        (_, true) if x.fract() == 0.0 => format!("{x:+}"),
        (_, false) => format!("{x:.1}"),
        (_, true) => format!("{x:+.1}"),
    }
}

fn interval(kind: Kind, (lo, hi): (f64, f64), signed: bool) -> String {
    match (kind, signed) {
        (Kind::Rate, false) => format!(" [{:.1}–{:.1}]", lo * 100.0, hi * 100.0),
        (Kind::Rate, true) => format!(" [{:+.1}, {:+.1}]", lo * 100.0, hi * 100.0),
        _ => format!(" [{lo:+.1}, {hi:+.1}]"),
    }
}

pub(super) fn value(kind: Kind, m: Option<Measured>) -> String {
    match m {
        None => "–".into(),
        Some(m) => {
            let ci = m.ci95.map_or(String::new(), |c| interval(kind, c, false));
            format!("{}{ci}", number(kind, m.value, false))
        }
    }
}

pub(super) fn difference(r: &Row) -> String {
    match r.difference {
        None => "–".into(),
        Some(d) => {
            let ci = r
                .difference_ci95
                .map_or(String::new(), |c| interval(r.kind, c, true));
            format!("{}{ci}", number(r.kind, d, true))
        }
    }
}

/// `no figure changed beyond noise`, or `3 figure(s) changed beyond noise: sequential
/// failure_rate, …`: the terminal's closing line and the page's first.
pub(super) fn changed_line(c: &Comparison) -> String {
    let changed = c.changed();
    if changed.is_empty() {
        return "no figure changed beyond noise".to_string();
    }
    let names: Vec<String> = changed
        .iter()
        .map(|(v, r)| format!("{v} {}", r.figure))
        .collect();
    format!(
        "{} figure(s) changed beyond noise: {}",
        changed.len(),
        names.join(", ")
    )
}

/// The closing lines: what changed beyond noise, and by which rule.
fn changed_text(c: &Comparison) -> String {
    let mut t = format!("{}\n", changed_line(c));
    t.push_str(
        "judged by the 95% intervals both runs carry: rates by Newcombe's interval from the two \
         Wilson intervals, paired deltas by both t intervals; counts, means and percentiles \
         carry none (no CI) and are not judged\n",
    );
    t
}
