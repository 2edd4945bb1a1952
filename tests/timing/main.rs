//! The tests that compare real-time measurements (real sockets, real timers, workerd) with the
//! simulation, within stated tolerances. They live in their own test binary so that no
//! CPU-heavy simulation test of `it` runs beside them (cargo runs test binaries one after
//! another), and they run one at a time ([`serial`]): a busy machine is what their tolerances
//! absorb least.

#[allow(dead_code)] // each binary uses its own share of the helpers
#[path = "../common/mod.rs"]
mod common;

mod live;
mod workerd;

pub use common::{load, local, scenario, Served};

/// Held by every test of this binary for its whole run: one timing test at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
