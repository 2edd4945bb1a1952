//! Parameter sweeps: a grid (or a random swarm) of scenario overrides × variants × seeds, each
//! an independent deterministic run, run in parallel with rayon. Output does not depend on the
//! thread count: runs are collected in grid order. Shards split the points; `merge` joins them.

mod error;
mod merge;
mod plan;
mod result;
mod run;
mod spec;

pub use error::SweepError;
pub use merge::{merge, seed_rows_of, Part, PlannedRow};
pub use plan::{in_shard, Plan, BATCH_JOBS_MAX, CPU_S_MAX, POINT_JOBS_MAX};
pub use result::{FailedRun, PointResult, SweepResult};
pub use run::{run, run_by_seed, SeedPoint, SeedSink};
pub use spec::{check_distinct, ParamSpec, SweepDef, PARAMS_MAX, POINTS_MAX, RUNS_MAX};
