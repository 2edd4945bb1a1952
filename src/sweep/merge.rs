//! Shards joined into one sweep. Every shard is checked against the plan its own definition
//! makes (which points it must hold, each with one summary per variant, figures in range)
//! before anything is joined, so a truncated, edited or foreign shard is refused by name
//! instead of becoming a silently incomplete sweep.

use super::error::SweepError;
use super::plan::in_shard;
use super::result::{FailedRun, PointResult, SweepResult};
use super::spec::{SweepDef, PARAMS_MAX, POINTS_MAX, RUNS_MAX};

/// A shard's sweep.json as read, with the name (its path) messages use.
pub struct Part {
    pub name: String,
    pub result: SweepResult,
}

fn bad(name: &str, message: impl std::fmt::Display) -> SweepError {
    SweepError::Usage(format!("{name}: {message}"))
}

/// Checks the definition a shard carries: a sweep this tool could have run.
fn check_definition(name: &str, def: &SweepDef) -> Result<usize, SweepError> {
    let points = def
        .point_count()
        .filter(|&n| (1..=POINTS_MAX).contains(&n))
        .ok_or_else(|| {
            bad(
                name,
                format!("the sweep's points are not within 1..={POINTS_MAX}"),
            )
        })?;
    if def.params.len() > PARAMS_MAX {
        return Err(bad(name, format!("more than {PARAMS_MAX} params")));
    }
    if def.variants.is_empty() || def.seeds.is_empty() {
        return Err(bad(name, "the sweep has no variant or no seed"));
    }
    let distinct = |n: usize, set: usize| n == set;
    let variants: std::collections::BTreeSet<_> = def.variants.iter().collect();
    let seeds: std::collections::BTreeSet<_> = def.seeds.iter().collect();
    if !distinct(def.variants.len(), variants.len()) || !distinct(def.seeds.len(), seeds.len()) {
        return Err(bad(
            name,
            "a variant or a seed is listed twice, as no sweep lists them",
        ));
    }
    let runs = (points as u64)
        .saturating_mul(def.variants.len() as u64)
        .saturating_mul(def.seeds.len() as u64);
    if runs > RUNS_MAX as u64 {
        return Err(bad(
            name,
            format!("{runs} runs exceed the limit of {RUNS_MAX}"),
        ));
    }
    let texts = std::iter::once(&def.scenario_file)
        .chain(&def.sets)
        .chain(def.params.iter().flat_map(|p| [&p.key, &p.spec]))
        .chain(def.params.iter().flat_map(|p| &p.values));
    for text in texts {
        if text.chars().any(char::is_control) {
            return Err(bad(
                name,
                format!(
                    "the definition holds {:?}, with control characters no sweep writes",
                    crate::names::escape_control(text)
                ),
            ));
        }
    }
    for p in &def.params {
        let ok = match (def.swarm, p.range) {
            (Some(_), Some((lo, hi, _))) => lo.is_finite() && hi.is_finite() && lo <= hi,
            (Some(_), None) => false,
            (None, _) => !p.values.is_empty(),
        };
        if !ok {
            return Err(bad(
                name,
                format!("--param {}: no values or no range", p.key),
            ));
        }
    }
    Ok(points)
}

/// Refuses a base scenario holding a text with control characters (but a description's
/// newlines and tabs): a scenario file cannot (they are refused when it is loaded), and they
/// would reach the plots' XML and the terminal.
fn check_printable(name: &str, base: &crate::scenario::Scenario) -> Result<(), SweepError> {
    fn find(v: &serde_json::Value) -> Option<&str> {
        let control = |c: char| c.is_control() && c != '\n' && c != '\t';
        match v {
            serde_json::Value::String(s) if s.chars().any(control) => Some(s),
            serde_json::Value::Array(a) => a.iter().find_map(find),
            serde_json::Value::Object(o) => o.values().find_map(find),
            _ => None,
        }
    }
    let value = serde_json::to_value(base).map_err(|e| bad(name, e))?;
    match find(&value) {
        Some(text) => Err(bad(
            name,
            format!(
                "the base scenario holds {:?}, with control characters",
                crate::names::escape_control(text)
            ),
        )),
        None => Ok(()),
    }
}

/// The shard `k/n` a part is, checked: `1 <= k <= n <= POINTS_MAX`.
fn shard_of(part: &Part) -> Result<(u32, u32), SweepError> {
    match part.result.shard {
        Some((k, n)) if 1 <= k && k <= n && n as usize <= POINTS_MAX => Ok((k, n)),
        Some((k, n)) => Err(bad(
            &part.name,
            format!("\"shard\": [{k}, {n}] is not a shard k/n with 1 <= k <= n <= {POINTS_MAX}"),
        )),
        None => Err(bad(
            &part.name,
            "not a shard (no \"shard\"): nothing to merge",
        )),
    }
}

/// Checks that a part holds exactly its shard's points, in order, each with the grid's
/// parameters and one summary per variant whose figures are in range.
fn check_points(part: &Part, points: usize) -> Result<(), SweepError> {
    let (name, r) = (&part.name, &part.result);
    let shard = r.shard;
    let mut expected = (0..points).filter(|&p| in_shard(p, shard));
    let variants = r.definition.variant_names();
    for pt in &r.points {
        match expected.next() {
            Some(p) if p == pt.point => {}
            Some(p) => {
                return Err(bad(
                    name,
                    format!(
                        "point {p} is missing (found point {} in its place)",
                        pt.point
                    ),
                ))
            }
            None => return Err(bad(name, format!("point {} is not this shard's", pt.point))),
        }
        check_point(name, pt, &r.definition.point(pt.point), &variants)?;
    }
    if let Some(p) = expected.next() {
        let more = 1 + expected.count();
        return Err(bad(
            name,
            format!("point {p} is missing ({more} point(s) in all)"),
        ));
    }
    Ok(())
}

fn check_point(
    name: &str,
    pt: &PointResult,
    params: &[(String, String)],
    variants: &[String],
) -> Result<(), SweepError> {
    if pt.params != params {
        return Err(bad(
            name,
            format!("point {}: not the grid's parameters", pt.point),
        ));
    }
    let names: Vec<&str> = pt.variants.iter().map(|s| s.variant.as_str()).collect();
    if names != variants {
        return Err(bad(
            name,
            format!(
                "point {}: variants {names:?}, not the sweep's {variants:?}",
                pt.point
            ),
        ));
    }
    for s in &pt.variants {
        s.check()
            .map_err(|e| bad(name, format!("point {} {}: {e}", pt.point, s.variant)))?;
        // (The variant's name is one of the definition's, checked above: printable.)
    }
    Ok(())
}

/// Checks a part's failed runs: each of one of its points, a variant and a seed of the
/// sweep, none twice.
fn check_failed_runs(part: &Part, points: usize) -> Result<(), SweepError> {
    let r = &part.result;
    let def = &r.definition;
    let mut seen = std::collections::BTreeSet::new();
    for f in &r.failed_runs {
        let known = f.point < points
            && in_shard(f.point, r.shard)
            && def.variants.iter().any(|v| v.name() == f.variant)
            && def.seeds.contains(&f.seed);
        if !known || !seen.insert((f.point, f.variant.as_str(), f.seed)) {
            return Err(bad(
                &part.name,
                format!(
                    "failed run (point {}, {:?}, seed {}) is not one of this shard's runs, or \
                     is listed twice",
                    f.point,
                    crate::names::escape_control(&f.variant),
                    f.seed
                ),
            ));
        }
    }
    Ok(())
}

/// Checks every part on its own, then that together they are every shard of one sweep once.
fn check_parts(parts: &[Part]) -> Result<u32, SweepError> {
    let first = parts
        .first()
        .ok_or_else(|| SweepError::Usage("nothing to merge".into()))?;
    let (_, n) = shard_of(first)?;
    let points = check_definition(&first.name, &first.result.definition)?;
    check_printable(&first.name, &first.result.base)?;
    let mut seen = vec![false; n as usize];
    for part in parts {
        let (k, m) = shard_of(part)?;
        let r = &part.result;
        if r.definition != first.result.definition
            || r.base != first.result.base
            || r.version != first.result.version
        {
            return Err(bad(
                &part.name,
                format!(
                    "not a shard of the same sweep as {} (definition, scenario or version differ)",
                    first.name
                ),
            ));
        }
        if m != n {
            return Err(bad(
                &part.name,
                format!("shard {k}/{m}, where {} is k/{n}", first.name),
            ));
        }
        if std::mem::replace(&mut seen[(k - 1) as usize], true) {
            return Err(bad(&part.name, format!("shard {k}/{n} is given twice")));
        }
        check_points(part, points)?;
        check_failed_runs(part, points)?;
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(SweepError::Usage(format!("shard {}/{n} is missing", k + 1)));
    }
    Ok(n)
}

/// Joins shard outputs into what one unsharded run would have produced, after checking each
/// against its plan (`check_parts`).
pub fn merge(parts: Vec<Part>) -> Result<SweepResult, SweepError> {
    check_parts(&parts)?;
    let mut results = parts.into_iter().map(|p| p.result);
    let mut merged = results.next().expect("checked: at least one part");
    for r in results {
        merged.points.extend(r.points);
        merged.failed_runs.extend(r.failed_runs);
    }
    merged.points.sort_by_key(|p| p.point);
    // The unsharded order: point, then variant and seed in definition order.
    let def = &merged.definition;
    let pos = |v: &str| def.variants.iter().position(|x| x.name() == v);
    let seed_pos = |s: u64| def.seeds.iter().position(|x| *x == s);
    let mut failed: Vec<FailedRun> = std::mem::take(&mut merged.failed_runs);
    failed.sort_by_key(|f| (f.point, pos(&f.variant), seed_pos(f.seed)));
    merged.failed_runs = failed;
    merged.shard = None;
    Ok(merged)
}

/// A row a shard's plan says comes next: its point, the point's parameter values (as
/// `sweep.json` has them), the variant and the seed.
pub struct PlannedRow<'a> {
    pub point: usize,
    pub params: &'a [(String, String)],
    pub variant: &'a str,
    pub seed: u64,
}

/// The rows shard `shard`'s `points-by-seed.csv` must hold, in order, by the merged sweep:
/// for each of the shard's points, each seed, each variant whose run did not fail.
pub fn seed_rows_of(
    merged: &SweepResult,
    shard: (u32, u32),
) -> impl Iterator<Item = PlannedRow<'_>> + '_ {
    let def = &merged.definition;
    let failed: std::collections::BTreeSet<(usize, &str, u64)> = merged
        .failed_runs
        .iter()
        .map(|f| (f.point, f.variant.as_str(), f.seed))
        .collect();
    merged
        .points
        .iter()
        .filter(move |pt| in_shard(pt.point, Some(shard)))
        .flat_map(move |pt| {
            def.seeds.iter().flat_map(move |&seed| {
                def.variants.iter().map(move |v| PlannedRow {
                    point: pt.point,
                    params: &pt.params,
                    variant: v.name(),
                    seed,
                })
            })
        })
        .filter(move |row| !failed.contains(&(row.point, row.variant, row.seed)))
}
