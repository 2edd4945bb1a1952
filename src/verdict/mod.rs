//! Verdicts: a run's summaries judged against the scenario's `[slo]` thresholds and `[expect]`
//! lines, and the pre-deploy gate (`check`) that does both over seeds. Formatting the verdicts
//! is `report`'s job; picking the exit code is `cli`'s.

mod expect;
pub mod gate;
pub mod slo;

pub use expect::Judged;
pub use gate::{check_scenario, check_scenario_with, tally, CheckKind, CheckRow, SeedResult};
pub use slo::{SloJudged, Verdict};
