//! The real runtime in the `it` binary: the reference Worker's documented answers, `conform`
//! against it, `calibrate` on its log, and the model facts (the harness is
//! `tests/common/workerd.rs`; the probe–simulation comparison is in `tests/timing`).

pub(crate) use crate::common::workerd::*;

mod conform;
mod facts;
mod limits;
mod reference;
