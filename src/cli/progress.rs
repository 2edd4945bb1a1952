//! The progress bar of `run` and `check`: on standard error, only when it is a terminal, and
//! only once the work has taken more than a moment (quick runs stay silent). It is told that
//! a run finished and nothing else, so it cannot change an output.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long the work runs before the bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total` runs, drawn after [`SHOW_AFTER`] on a terminal; never with `quiet`.
    pub(crate) fn start(total: u64, quiet: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed} {bar:30} {pos}/{len} runs (variant × seed) ETA {eta}",
        ) {
            bar.set_style(style);
        }
        // Log lines (`--log`, `RUST_LOG`: a global subscriber) go to stderr unpaused and would
        // be glued to the bar, so a logging run shows none.
        if !quiet && !tracing::dispatcher::has_been_set() && std::io::stderr().is_terminal() {
            let shown = bar.clone();
            std::thread::spawn(move || {
                std::thread::sleep(SHOW_AFTER);
                if !shown.is_finished() {
                    shown.set_draw_target(ProgressDrawTarget::stderr());
                    shown.enable_steady_tick(Duration::from_millis(200));
                    // Finished meanwhile: take it off again.
                    if shown.is_finished() {
                        shown.finish_and_clear();
                    }
                }
            });
        }
        Progress { bar }
    }

    /// One run finished.
    pub(crate) fn inc(&self) {
        self.bar.inc(1);
    }

    /// Removes the bar (before anything else is printed).
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error path must not leave a bar on the terminal either.
        self.bar.finish_and_clear();
    }
}
