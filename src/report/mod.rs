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
pub mod seed_rows;
pub mod snippet;
pub mod sweep;
mod table;
mod verdicts;

pub use self::csv::write_records;
pub use crate::pipeline::Report;
pub use html::{run_html, sweep_html, WorstJob};
pub use points::write_points;
pub use table::table;
pub use verdicts::{gate_table, junit, markdown};

/// A sweep's output directory: one row per point × variant.
pub const POINTS_FILE: &str = "points.csv";
/// A sweep's output directory: the whole result, what `merge` reads back.
pub const SWEEP_FILE: &str = "sweep.json";

/// Every file a sweep (or a merge) writes in its output directory: the data files, and for
/// a whole sweep (a shard draws none) its plots and their manifest.
pub fn sweep_dir_files(def: &crate::sweep::SweepDef, shard: bool, png: bool) -> Vec<String> {
    let mut names: Vec<String> = [POINTS_FILE, SWEEP_FILE, seed_rows::FILE]
        .map(String::from)
        .to_vec();
    if !shard {
        let stems = plot::sweep_plot_names(def);
        names.extend(plot::plot_files(stems.iter().map(String::as_str), png));
    }
    names
}
