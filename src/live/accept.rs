//! The accept loop of both live listeners (the worker's and the object host's): a connection
//! cap, a growing pause after accept errors, and error lines at most once a second.

use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::stream::{LiveStream, Open};

/// The answer to a connection over the cap: sent without waiting, then the connection closes.
const OVER_CAP: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
Retry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n\r\n\
connection limit reached\n";

/// First pause after an accept error; each further error in a row doubles it.
const BACKOFF_FIRST: Duration = Duration::from_millis(5);
/// Longest pause after an accept error.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line per this long for each kind of trouble.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(1);

/// One listener's loop settings.
pub(super) struct Accept {
    /// Names the listener in the log.
    pub(super) what: &'static str,
    pub(super) connections_max: usize,
    /// A write without progress for this long fails (see [`LiveStream`]).
    pub(super) stall_limit: Duration,
}

/// Accepts connections for ever: each one under the cap goes to `serve`; one over it gets a
/// 503 and is closed at once (its descriptor is free again before the next accept). An
/// accept error pauses the loop, longer for each error in a row (up to [`BACKOFF_MAX`]):
/// running out of descriptors must not spin a core.
pub(super) async fn accept_loop(
    listener: &TcpListener,
    settings: Accept,
    mut serve: impl FnMut(LiveStream),
) {
    let open = Open::default();
    let mut errors = Throttled::new(settings.what, "accept failed");
    let mut refusals = Throttled::new(settings.what, "connection limit reached: answered 503");
    let mut backoff = BACKOFF_FIRST;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff = BACKOFF_FIRST;
                errors.settle();
                let _ = stream.set_nodelay(true);
                if open.count() >= settings.connections_max {
                    refusals.note(&format!("{} open", open.count()));
                    refuse(stream);
                    continue;
                }
                refusals.settle();
                serve(LiveStream::new(stream, open.slot(), settings.stall_limit));
            }
            Err(e) => {
                errors.note(&e.to_string());
                if !is_per_connection(&e) {
                    tokio::time::sleep(backoff).await;
                    backoff = next_backoff(backoff);
                }
            }
        }
    }
}

/// The pause after the next accept error in a row.
fn next_backoff(d: Duration) -> Duration {
    (d * 2).min(BACKOFF_MAX)
}

/// Errors that concern one connection the peer already gave up on: the next accept can
/// succeed at once (each needs a new connection, so they cannot spin the loop).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// Best effort: the 503 if the socket takes it now, then the close.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(OVER_CAP);
    drop(stream);
}

/// A warning that repeats: logged at most once per [`LOG_EVERY`], each line saying how
/// many were left out since the previous one. What the last line of a burst left out is
/// logged once things are well again (the next accepted connection a [`LOG_EVERY`] later) or,
/// at the latest, when the loop ends (shutdown).
pub(super) struct Throttled {
    what: &'static str,
    message: &'static str,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttled {
    pub(super) fn new(what: &'static str, message: &'static str) -> Self {
        Throttled {
            what,
            message,
            last: None,
            suppressed: 0,
        }
    }

    /// One more occurrence, with its detail; whether it was logged.
    pub(super) fn note(&mut self, detail: &str) -> bool {
        self.note_at(Instant::now(), detail)
    }

    fn note_at(&mut self, now: Instant, detail: &str) -> bool {
        if self.last.is_some_and(|t| now.duration_since(t) < LOG_EVERY) {
            self.suppressed += 1;
            return false;
        }
        tracing::warn!(
            server = self.what,
            detail,
            suppressed = self.suppressed,
            "{}",
            self.message
        );
        self.last = Some(now);
        self.suppressed = 0;
        true
    }

    /// Called when the condition did not occur: logs what the last line left out once a
    /// [`LOG_EVERY`] has passed since it; how many that was.
    pub(super) fn settle(&mut self) -> u64 {
        self.settle_at(Instant::now())
    }

    fn settle_at(&mut self, now: Instant) -> u64 {
        if self.last.is_some_and(|t| now.duration_since(t) < LOG_EVERY) {
            return 0;
        }
        self.report_rest()
    }

    /// Logs the occurrences left out since the last line, if any; how many.
    fn report_rest(&mut self) -> u64 {
        let n = std::mem::take(&mut self.suppressed);
        if n > 0 {
            tracing::warn!(
                server = self.what,
                suppressed = n,
                "{}: {n} more after the last line",
                self.message
            );
        }
        n
    }
}

impl Drop for Throttled {
    fn drop(&mut self) {
        self.report_rest();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_warning_is_logged_once_a_second() {
        let mut t = Throttled::new("test", "accept failed");
        let start = Instant::now();
        // 10,000 errors over 5 s: five lines, each counting what it left out.
        let logged = (0..10_000u64)
            .filter(|i| {
                t.note_at(
                    start + Duration::from_micros(500 * i),
                    "Too many open files",
                )
            })
            .count();
        assert_eq!(logged, 5);
        assert_eq!(t.suppressed, 1_999);
        // The last burst's rest is reported once a second has passed (not before), once.
        let end = start + Duration::from_micros(500 * 9_999);
        assert_eq!(t.settle_at(end), 0);
        assert_eq!(t.settle_at(end + Duration::from_millis(600)), 1_999);
        assert_eq!(t.settle_at(end + Duration::from_secs(2)), 0);
        // At shutdown (drop), whatever time has passed.
        assert!(t.note_at(end + Duration::from_millis(2_100), "x"));
        assert!(!t.note_at(end + Duration::from_millis(2_200), "x"));
        assert_eq!(t.report_rest(), 1);
        assert_eq!(t.report_rest(), 0);
    }

    #[test]
    fn the_pause_after_accept_errors_grows_to_a_second() {
        let mut d = BACKOFF_FIRST;
        let mut pauses = vec![];
        for _ in 0..12 {
            pauses.push(d);
            d = next_backoff(d);
        }
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(pauses[0], Duration::from_millis(5));
        assert_eq!(*pauses.last().unwrap(), BACKOFF_MAX);
    }
}
