//! What `sweep` and `merge` print: the grid's size, its worst points with the commands that
//! rerun them, and the runs that failed.

use crate::names::escape_control;
use std::fmt::Write as _;

use crate::sweep::SweepResult;

/// The summary on standard output: size, output directory and the worst points per variant
/// (5 of a swarm, 3 of a grid).
pub fn summary(result: &SweepResult, out: &std::path::Path) -> String {
    let def = &result.definition;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} point(s) × {} variant(s) × {} seed(s){} → {}",
        result.points.len(),
        def.variants.len(),
        def.seeds.len(),
        result
            .shard
            .map_or(String::new(), |(k, n)| format!(" (shard {k}/{n})")),
        out.display()
    );
    let worst_n = if def.swarm.is_some() { 5 } else { 3 };
    for (v, pts) in result.worst(worst_n) {
        let _ = writeln!(s, "worst points for {v}:");
        for (p, rate) in pts {
            let params: Vec<String> = p.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                s,
                "  {:>6.1}%  {}\n          {}",
                rate * 100.0,
                params.join(" "),
                result.point_command(p)
            );
        }
    }
    s
}

/// The failed runs with their reproduce commands (for standard error); empty when none failed.
pub fn failed_runs(result: &SweepResult) -> String {
    let mut s = String::new();
    if result.failed_runs.is_empty() {
        return s;
    }
    let _ = writeln!(s, "{} run(s) failed:", result.failed_runs.len());
    for f in &result.failed_runs {
        let _ = writeln!(
            s,
            "  point {} {} seed {}: {}\n    reproduce: {}",
            f.point,
            escape_control(&f.variant),
            f.seed,
            escape_control(&f.message),
            escape_control(&f.command)
        );
    }
    s
}
