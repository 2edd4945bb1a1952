//! The artefact formats: the run table, JSON, the per-job and per-point CSVs, HTML pages,
//! plots, JUnit XML, Markdown and the scenario snippet. A command's own terminal text (banners,
//! summaries, notes) lives with the command in the binary (`src/cli/`); a few texts stay here
//! because they share their code with a file: `compare`'s tables (with its JSON), `decide`'s
//! (with its JSON and page), `check`'s
//! verdict table (with its JUnit and Markdown) and `calibrate`'s observed figures (`observed`,
//! with its `--report`). `schema` lists the JSON Schema of every JSON output.

pub mod bench;
pub mod check;
pub mod compare;
pub mod conform;
mod csv;
pub mod decision;
pub mod dev_latency;
pub mod fit;
mod html;
pub mod observed;
pub mod plot;
mod points;
pub mod pooled;
pub mod probe;
pub mod schema;
pub mod seed_rows;
pub mod snippet;
mod table;
mod verdicts;

pub use self::csv::{write_records, Seen};
pub use crate::pipeline::Report;
pub use html::{check_html, compare_html, decision_html, run_html, sweep_html, SeedRow, WorstJob};
pub use points::write_points;
pub use table::table;
pub use verdicts::{check_table, junit, markdown};

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
