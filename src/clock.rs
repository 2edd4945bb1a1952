//! Milliseconds since the start of a run: simulated under turmoil, real in `live`.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// turmoil's simulated clock, the same on every host.
    Sim,
    /// Real time since the given instant (the `live` server and probe).
    Live(tokio::time::Instant),
}

impl Clock {
    pub fn now_ms(&self) -> u64 {
        let elapsed = match self {
            Clock::Sim => turmoil::sim_elapsed().unwrap_or(Duration::ZERO),
            Clock::Live(start) => start.elapsed(),
        };
        elapsed.as_millis() as u64
    }
}

/// Sleeps `ms` milliseconds of tokio time (simulated under turmoil); 0 returns at once
/// without yielding.
pub(crate) async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}
