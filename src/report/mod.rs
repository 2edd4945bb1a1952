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
