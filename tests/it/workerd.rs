//! The real runtime in the `it` binary: the reference Worker's documented answers, `conform`
//! against it, `calibrate` on its log, the model facts and the scenario-latency module (the harness is
//! `tests/common/workerd.rs`; the probe–simulation comparison is in `tests/timing`).

pub(crate) use crate::common::workerd::*;

mod conform;
mod facts;
mod latency;
mod limits;
mod reference;
