//! Output formats: the terminal table, JSON and the per-job CSV. Only this module knows them.

pub mod bench;
pub mod calibrate;
pub mod check;
pub mod compare;
pub mod conform;
mod csv;
pub mod fit;
mod html;
pub mod live;
pub mod plot;
mod points;
pub mod replay;
pub mod run;
pub mod seed_rows;
pub mod sweep;
mod table;
pub mod variants;
mod verdicts;

pub use self::csv::write_records;
pub use crate::pipeline::Report;
pub use html::{run_html, sweep_html, WorstJob};
pub use points::write_points;
pub use table::table;
pub use verdicts::{gate_table, junit, markdown};

/// Writes a sweep's files into `dir`: `points.csv`, `sweep.json` and the plots (`*.svg`, and
/// `*.png` with `png`). Returns the plots for an HTML page.
pub fn write_sweep_dir(
    dir: &std::path::Path,
    sweep: &crate::sweep::SweepResult,
    png: bool,
) -> Result<Vec<plot::Plot>, String> {
    let io = |what: &str, e: &dyn std::fmt::Display| {
        format!("writing {}: {e}", dir.join(what).display())
    };
    std::fs::create_dir_all(dir).map_err(|e| io("", &e))?;
    let mut csv = Vec::new();
    write_points(&mut csv, sweep).map_err(|e| io("points.csv", &e))?;
    std::fs::write(dir.join("points.csv"), csv).map_err(|e| io("points.csv", &e))?;
    std::fs::write(dir.join("sweep.json"), sweep.to_json()).map_err(|e| io("sweep.json", &e))?;
    // A shard holds part of the grid: its plots would mislead, so only whole sweeps get them.
    if sweep.shard.is_some() {
        return Ok(Vec::new());
    }
    let plots = plot::sweep_plots(sweep, png.then_some(dir))?;
    plot::write_plots(dir, &plots).map_err(|e| io("*.svg", &e))?;
    Ok(plots)
}
