//! Milliseconds since the start of a run: simulated under turmoil, real in `live`.
//!
//! Sleeps: under turmoil a sleep fires exactly on its tick, so `sleep_ms` is a plain
//! `tokio::time::sleep`. In real time tokio's timer has 1 ms granularity and rounds up, so
//! every real sleep ends up to ~1–2 ms late; along a chain of sleeps (cold start, storage
//! reads, pair, accept) that lateness would add up. Live sleeps therefore follow the
//! intended timeline: a sleep that starts right after the same task's previous sleep ended
//! is scheduled with `sleep_until` from where that sleep *should* have ended (its deadline
//! plus the real work done since it woke), not from `now`. Only the last sleep of a chain
//! is late.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// turmoil's simulated clock, the same on every host.
    Sim,
    /// Real time since the given instant (the `live` server and probe).
    Live(Instant),
}

impl Clock {
    /// Real time from now: the clock of a live server or probe (the one place outside the
    /// simulation's reach where the wall clock starts).
    pub fn live_from_now() -> Clock {
        Clock::Live(Instant::now())
    }

    pub fn now_ms(&self) -> u64 {
        let elapsed = match self {
            Clock::Sim => turmoil::sim_elapsed().unwrap_or(Duration::ZERO),
            Clock::Live(start) => start.elapsed(),
        };
        elapsed.as_millis() as u64
    }
}

/// Awaits `fut` and says how far the current runtime's clock moved meanwhile: the paused clock
/// of `bench`'s floor, which runs the model without turmoil.
pub(crate) async fn timed<F: std::future::Future>(fut: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let out = fut.await;
    (out, start.elapsed())
}

/// Sleeps `ms` milliseconds of tokio time; 0 returns at once without yielding. Under turmoil
/// (simulated time) this is exactly `tokio::time::sleep`; in real time it is deadline-based
/// per task (see the module comment and [`Timeline`]).
pub(crate) async fn sleep_ms(ms: u64) {
    sleep_ms_on(ms, Chain::Gap).await;
}

/// Where a task stands on its real-time timeline: taken with [`mark`] when a path that
/// sleeps, waits for another party, then sleeps again begins (the worker's relay of one
/// request: the hop up, the object's answer, the hop down). `None` under turmoil.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark(Option<Instant>);

/// Now, on the task's real-time timeline; nothing under turmoil.
pub(crate) fn mark() -> Mark {
    Mark((turmoil::sim_elapsed().is_none()).then(Instant::now))
}

/// [`sleep_ms`] that continues the task's chain from its last sleep if that sleep woke after
/// `since`, however long the task has waited since then: the lateness of the path's earlier
/// sleep is taken back here. Exactly `sleep_ms` under turmoil.
pub(crate) async fn sleep_ms_since(ms: u64, since: Mark) {
    let chain = match since.0 {
        Some(at) => Chain::Since(at),
        None => Chain::Gap,
    };
    sleep_ms_on(ms, chain).await;
}

async fn sleep_ms_on(ms: u64, chain: Chain) {
    if ms == 0 {
        return;
    }
    let d = Duration::from_millis(ms);
    if turmoil::sim_elapsed().is_some() {
        tokio::time::sleep(d).await;
        return;
    }
    let task = tokio::task::try_id();
    let now = Instant::now();
    let deadline = TIMELINES.with(|t| t.borrow().deadline(task, now, d, chain));
    tokio::time::sleep_until(deadline).await;
    TIMELINES.with(|t| t.borrow_mut().woke(task, deadline, Instant::now()));
}

/// Which previous sleep of the task a new one continues.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Chain {
    /// One that woke at most [`CHAIN_GAP`] ago.
    Gap,
    /// One that woke at or after this instant.
    Since(Instant),
}

/// A sleep that starts within this long after the same task's previous sleep woke continues
/// that sleep's chain (the work between two sleeps of one chain is synchronous: microseconds).
/// A longer gap means the task waited for something else (a request, a response): a new chain.
pub(crate) const CHAIN_GAP: Duration = Duration::from_millis(1);

/// A task's last wake-up is forgotten after this long (a relay's answer from the object, the
/// longest wait a chain spans, takes well under a second).
const TIMELINE_KEEP: Duration = Duration::from_secs(10);
/// Stale wake-ups are forgotten when the table reaches this size (then twice what is left).
const TIMELINES_PRUNE_AT: usize = 1024;
/// Most tasks whose last wake-up is remembered: beyond it, all are forgotten.
const TIMELINES_MAX: usize = 65_536;

thread_local! {
    /// The live timelines of the tasks on this thread (the live runtimes are current-thread).
    static TIMELINES: RefCell<Timeline> = RefCell::new(Timeline::default());
}

/// Per task, the last real sleep: its deadline and when the task actually woke. Keyed by tokio
/// task id; a sleep outside a task (no id) is simply a sleep from `now`.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    last: HashMap<tokio::task::Id, Woke>,
    /// Prune when `last` reaches this size (at least [`TIMELINES_PRUNE_AT`]).
    prune_at: usize,
}

#[derive(Debug, Clone, Copy)]
struct Woke {
    deadline: Instant,
    at: Instant,
}

impl Timeline {
    /// Where a sleep of `d` that `task` starts at `now` ends: `d` after the intended end of
    /// the task's previous sleep plus the work since it woke (`now` − its lateness), when it
    /// continues that chain; `d` after `now` otherwise. It may lie in the past when the
    /// previous sleep was later than `d`: the sleep then returns at once and the rest of the
    /// lateness carries to the next one.
    pub(crate) fn deadline(
        &self,
        task: Option<tokio::task::Id>,
        now: Instant,
        d: Duration,
        chain: Chain,
    ) -> Instant {
        let prev = task
            .and_then(|t| self.last.get(&t))
            .filter(|w| match chain {
                Chain::Gap => now.saturating_duration_since(w.at) <= CHAIN_GAP,
                Chain::Since(since) => w.at >= since,
            });
        match prev {
            Some(w) => {
                let late = w.at.saturating_duration_since(w.deadline);
                now.checked_sub(late).unwrap_or(now) + d
            }
            None => now + d,
        }
    }

    /// `task` woke at `at` from a sleep meant to end at `deadline`. With two sleeps of one task
    /// in flight together (parallel reads), the one that wakes last sets the chain.
    pub(crate) fn woke(&mut self, task: Option<tokio::task::Id>, deadline: Instant, at: Instant) {
        let Some(task) = task else { return };
        if self.last.len() >= self.prune_at.max(TIMELINES_PRUNE_AT) {
            self.last
                .retain(|_, w| at.saturating_duration_since(w.at) <= TIMELINE_KEEP);
            if self.last.len() >= TIMELINES_MAX {
                self.last.clear();
            }
            self.prune_at = 2 * self.last.len();
        }
        self.last.insert(task, Woke { deadline, at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_task_id() -> Option<tokio::task::Id> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async { tokio::spawn(async { tokio::task::try_id() }).await.unwrap() })
    }

    #[test]
    fn a_sleep_in_a_row_takes_back_the_lateness_of_the_one_before() {
        let (task, ms) = (a_task_id(), Duration::from_millis);
        let mut t = Timeline::default();
        let start = Instant::now();
        // The first sleep of a chain: from now.
        assert_eq!(t.deadline(task, start, ms(5), Chain::Gap), start + ms(5));
        // It woke 1.5 ms late; the next one, 0.2 ms of work later, ends 3 ms after the
        // first one's deadline plus the work.
        t.woke(
            task,
            start + ms(5),
            start + ms(5) + Duration::from_micros(1500),
        );
        let now = start + ms(5) + Duration::from_micros(1700);
        let next = t.deadline(task, now, ms(3), Chain::Gap);
        assert_eq!(next, start + ms(8) + Duration::from_micros(200));
        // Another task, or the same one after a longer wait, starts from now.
        assert_eq!(t.deadline(None, now, ms(3), Chain::Gap), now + ms(3));
        let later = now + ms(50);
        assert_eq!(t.deadline(task, later, ms(3), Chain::Gap), later + ms(3));
        // ... unless the path began before that sleep (the relay's hop down).
        let since = t.deadline(task, later, ms(3), Chain::Since(start));
        assert_eq!(since, later + ms(3) - Duration::from_micros(1500));
        assert_eq!(
            t.deadline(task, later, ms(3), Chain::Since(later)),
            later + ms(3)
        );
    }
}
