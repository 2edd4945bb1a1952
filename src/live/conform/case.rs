//! The conformance cases: their names, what each checks, how much a failure weighs (`Grade`),
//! the list in run order, the selection by name (`--case`), and what a case concluded. What the cases' code shares is `finding`.

use futures_util::future::LocalBoxFuture;

use super::context::Context;
use super::finding::Checked;
use super::{post, progress, refresh, request, session, status, upgrade};

/// One case: a stable kebab-case name, its group, its grade, what it checks (one line), and
/// its code.
pub struct Case {
    pub name: &'static str,
    pub group: &'static str,
    pub grade: Grade,
    pub checks: &'static str,
    pub(super) run: for<'a> fn(&'a Context) -> LocalBoxFuture<'a, Checked>,
}

/// How much a case's failure weighs, as the Autobahn WebSocket testsuite grades Pass,
/// Non-Strict and Fail: a `Must` case checks what a client relies on for correctness or
/// safety (tokens, the upgrade, malformed requests refused, progress and replay, ping, the
/// size limits, one `Host`, no tunnel); a `Should` case checks a convention the reference API
/// chose where a correct endpoint may differ (the server's close after `complete`, the close
/// echo's timing, a refusal's exact code where the RFCs leave it open, the target matched as
/// sent). A `Should` case's failure is "non-strict": counted and shown, and it fails the run
/// only under `--strict`. docs/commands.md, "`conform`", gives each case's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    Must,
    Should,
}

impl Grade {
    pub fn name(self) -> &'static str {
        match self {
            Grade::Must => "must",
            Grade::Should => "should",
        }
    }
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseResult {
    /// The endpoint did what the documented API says.
    Pass,
    /// The endpoint answered otherwise (or not at all where an answer is documented).
    Fail,
    /// The case could not judge: its set-up failed (a POST it needs was not accepted), or the
    /// run's request cap or time limit stopped it.
    Error,
}

impl CaseResult {
    pub fn name(self) -> &'static str {
        match self {
            CaseResult::Pass => "pass",
            CaseResult::Fail => "fail",
            CaseResult::Error => "error",
        }
    }
}

/// A case's result: the case, its outcome, a one-line detail (expected vs got) and how long
/// it took in real time (absent for a case the time limit cut).
pub struct Judged {
    pub case: &'static Case,
    pub result: CaseResult,
    pub detail: String,
    pub elapsed_ms: Option<u64>,
}

impl Judged {
    /// Whether this result fails the run: a `Must` case that did not pass (an error could not
    /// judge what a client relies on, so it counts as a failure), or, when `strict`, any case
    /// that did not pass.
    pub fn fails_run(&self, strict: bool) -> bool {
        self.result != CaseResult::Pass && (strict || self.case.grade == Grade::Must)
    }

    /// A `Should` case that failed, and does not fail the run unless strict: Autobahn's
    /// "Non-Strict".
    pub fn non_strict(&self) -> bool {
        self.result == CaseResult::Fail && self.case.grade == Grade::Should
    }
}

/// Builds a `Case`; the closure coerces to the `run` fn pointer.
macro_rules! case {
    ($name:literal, $group:literal, $grade:ident, $f:path, $checks:literal) => {
        Case {
            name: $name,
            group: $group,
            grade: Grade::$grade,
            checks: $checks,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}

/// Every case, in run order (the order of the table).
pub static CASES: &[Case] = &[
    case!("post-202", "post", Must, post::accepted, "POST answers 202 with the jobId, a URL-safe token and expiresAtMs in the future (epoch ms)"),
    case!("post-64-char-job-id", "post", Must, post::longest_id, "a jobId of 64 characters is accepted (202)"),
    case!("post-malformed-body", "post", Must, post::malformed_body, "400 for a body that is not JSON, lacks books, or has negative books"),
    case!("post-malformed-job-id", "post", Must, post::malformed_id, "400 for a jobId with a space, a slash, or empty"),
    case!("post-too-long-job-id", "post", Must, post::too_long_id, "400 for a jobId of 65 characters"),
    case!("post-wrong-method", "post", Should, post::wrong_method, "405 for GET and PUT on the batch path"),
    case!("post-oversized-body", "post", Must, post::oversized, "413 for a body over 64 KiB"),
    case!("upgrade-101", "upgrade", Must, upgrade::accepted, "101 with the job's token: Upgrade: websocket, Connection: Upgrade, the right Sec-WebSocket-Accept"),
    case!("upgrade-no-upgrade-header", "upgrade", Should, upgrade::no_upgrade_header, "426 without Upgrade: websocket"),
    case!("upgrade-wrong-version", "upgrade", Should, upgrade::wrong_version, "426 for Sec-WebSocket-Version 8"),
    case!("upgrade-missing-job-id", "upgrade", Must, upgrade::missing_job_id, "400 without jobId"),
    case!("upgrade-malformed-job-id", "upgrade", Must, upgrade::malformed_job_id, "400 for a jobId with a '.' or of 65 characters"),
    case!("upgrade-repeated-job-id", "upgrade", Must, upgrade::repeated_job_id, "400 for jobId given twice"),
    case!("upgrade-repeated-token", "upgrade", Must, upgrade::repeated_token, "400 for token given twice"),
    case!("upgrade-malformed-after", "upgrade", Must, upgrade::malformed_after, "400 for after=abc and after=-1"),
    case!("upgrade-missing-key", "upgrade", Must, upgrade::missing_key, "400 without Sec-WebSocket-Key"),
    case!("upgrade-bad-key", "upgrade", Must, upgrade::bad_key, "400 for a key that is not 16 bytes of base64"),
    case!("upgrade-repeated-key", "upgrade", Must, upgrade::repeated_key, "400 for Sec-WebSocket-Key given twice (RFC 6455 11.3.1)"),
    case!("upgrade-no-connection-upgrade", "upgrade", Should, upgrade::no_connection_upgrade, "400 without Connection: Upgrade"),
    case!("upgrade-missing-token", "upgrade", Must, upgrade::missing_token, "401 without a token"),
    case!("upgrade-wrong-token", "upgrade", Must, upgrade::wrong_token, "401 for a random token"),
    case!("upgrade-other-jobs-token", "upgrade", Must, upgrade::other_jobs_token, "401 for another job's valid token"),
    case!("refresh-new-token", "refresh", Must, refresh::new_token, "a second POST for the job answers 202 with a different token"),
    case!("refresh-old-token-401", "refresh", Must, refresh::old_token_refused, "the replaced token gets 401 on the upgrade"),
    case!("refresh-new-token-101", "refresh", Must, refresh::new_token_accepted, "the fresh token gets 101"),
    case!("status-200", "status", Must, status::ok, "200 with {jobId, booksDone, books, done} of the right types and values"),
    case!("status-400", "status", Must, status::bad_request, "400 without jobId and for a malformed jobId"),
    case!("status-401", "status", Must, status::unauthorized, "401 without a token and for a wrong token"),
    case!("status-done", "status", Must, status::done, "after complete, 200 with done: true and booksDone = books"),
    case!("socket-ready", "socket", Must, progress::ready, "the first message is ready {jobId, booksDone, books}"),
    case!("socket-progress", "socket", Must, progress::sequence, "progress seq runs ready.booksDone+1..=books by one, each with books, then complete {books}"),
    case!("socket-replay-all", "socket", Must, progress::replay_all, "with after=0, progress seq 1..=books exactly, then complete"),
    case!("socket-replay-after", "socket", Must, progress::replay_after, "reconnecting after complete with after=1: seq 2..=books exactly, no duplicates, then complete"),
    case!("socket-ping", "socket", Must, progress::ping, "a ping during a job of 100 books is answered with a pong carrying its payload"),
    case!("socket-close-echo", "socket", Should, progress::close_echo, "a client Close 1000 during a job of 100 books is answered with a Close 1000 before complete"),
    case!("socket-close-after-complete", "socket", Should, progress::close_after_complete, "the server closes with 1000 after complete"),
    case!("socket-text-too-big", "socket", Must, progress::text_too_big, "a text message of 64 KiB + 1 bytes during a job of 100 books is answered with a Close 1009"),
    case!("socket-binary-too-big", "socket", Must, progress::binary_too_big, "a binary message of 64 KiB + 1 bytes during a job of 100 books is answered with a Close 1009"),
    case!("session-202", "session", Should, session::accepted_202, "POST /api/session {sessionId} answers 202 with the sessionId, a URL-safe token and expiresAtMs in the future"),
    case!("session-unknown-404", "session", Should, session::unknown_session, "a batch POST naming a sessionId never posted gets 404"),
    case!("session-join-401", "session", Should, session::join_needs_the_token, "a batch POST naming a session with a random sessionToken gets 401: only the app holding the session's token adds jobs to it"),
    case!("session-401", "session", Should, session::wrong_token, "401 on /ws/session for a random token and for a job's token"),
    case!("session-progress", "session", Should, session::progress, "one session socket carries two jobs' progress, each message with its jobId: seq 1..=books in order, then complete, for each"),
    case!("session-replay-after", "session", Should, session::replay_after, "reconnecting with after=a:1,b:0 after both jobs ended: a's seq 2..=books and b's 1..=books exactly, each then complete"),
    case!("request-dot-segments", "request", Should, request::dot_segments, "404 for /api/enrichment/./batch, /ws/./progress and /api/x/../enrichment/status: the target is matched as sent"),
    case!("request-asterisk", "request", Should, request::asterisk, "404 for the request target * (OPTIONS and GET)"),
    case!("request-connect", "request", Must, request::connect, "CONNECT to the endpoint's own host:port is refused (4xx or 5xx), never a tunnel"),
    case!("request-host", "request", Must, request::host, "400 for an HTTP/1.1 request without Host and with Host twice (RFC 9112 3.2)"),
];

/// The cases named (all when `names` is empty), in run order; an unknown name is an error
/// naming the closest known one.
pub fn select(names: &[String]) -> Result<Vec<&'static Case>, String> {
    for n in names {
        if !CASES.iter().any(|c| c.name == n) {
            let hint = crate::names::closest(n, CASES.iter().map(|c| c.name))
                .map_or(String::new(), |c| format!("; did you mean {c:?}?"));
            return Err(format!(
                "--case {n:?}: no such case{hint} (`conform --list` lists them)"
            ));
        }
    }
    Ok(CASES
        .iter()
        .filter(|c| names.is_empty() || names.iter().any(|n| n == c.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case() {
        let mut names: Vec<_> = CASES.iter().map(|c| c.name).collect();
        assert!(names.iter().all(|n| n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CASES.len());
    }

    /// The conventions the reference chose are `Should`, and so is the session API (an
    /// extension an endpoint with one socket per job does not offer); everything else a
    /// client relies on is `Must` (docs/commands.md, "`conform`", says why for each).
    #[test]
    fn the_should_cases_are_the_conventions() {
        let should: Vec<_> = CASES
            .iter()
            .filter(|c| c.grade == Grade::Should)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            should,
            [
                "post-wrong-method",
                "upgrade-no-upgrade-header",
                "upgrade-wrong-version",
                "upgrade-no-connection-upgrade",
                "socket-close-echo",
                "socket-close-after-complete",
                "session-202",
                "session-unknown-404",
                "session-join-401",
                "session-401",
                "session-progress",
                "session-replay-after",
                "request-dot-segments",
                "request-asterisk",
            ]
        );
    }

    #[test]
    fn an_unknown_name_suggests_the_closest() {
        let e = select(&["upgrade-wrong-tokn".into()]).err().unwrap();
        assert!(e.contains("did you mean \"upgrade-wrong-token\""), "{e}");
        let e = select(&["zzzzzzzzzzzzzzzzzz".into()]).err().unwrap();
        assert!(!e.contains("did you mean"), "{e}");
        assert_eq!(select(&["socket-ping".into()]).unwrap().len(), 1);
        assert_eq!(select(&[]).unwrap().len(), CASES.len());
    }
}
