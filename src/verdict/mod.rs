//! Verdicts: a run's summaries judged against the scenario's `[slo]` thresholds and `[expect]`
//! lines, and the pre-deploy check (`check`) that does both over seeds. Formatting the verdicts
//! is `report`'s job; picking the exit code is `cli`'s.

pub mod check;
mod expect;
pub mod slo;

pub use check::{check_scenario, check_scenario_with, tally, CheckKind, CheckRow, SeedResult};
pub use expect::Judged;
pub use slo::{SloJudged, Verdict};
