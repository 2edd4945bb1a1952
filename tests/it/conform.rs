//! `conform` through the real binary: it passes against `serve` and against a small
//! independent implementation of the documented API (below); each defect planted in that
//! implementation fails exactly the cases about it, a MUST case's failure with exit 1, a
//! SHOULD case's as non-strict with exit 0 (exit 1 under `--strict`); bad input exits 2; an
//! unreachable or silent target fails with the reason said. Every server listens on
//! `127.0.0.1:0`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use handshake_sim::internal::live::conform::{Grade, CASES};
use handshake_sim::internal::wire::api;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::live::local;
use crate::serve::Serve;

/// Runs `conform URL --json -` with `extra`: (exit code, the JSON, stderr).
pub(crate) fn conform(addr: SocketAddr, extra: &[&str]) -> (i32, Value, String) {
    let url = format!("http://{addr}");
    let mut args = vec!["conform", url.as_str(), "--json", "-", "--concurrency", "8"];
    args.extend_from_slice(extra);
    let (code, out, err) = crate::exec(&args, None);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    crate::reference::assert_meets_schema("conform.json", &v);
    (code, v, err)
}

/// The names of the cases with `outcome`.
pub(crate) fn with_outcome(v: &Value, outcome: &str) -> BTreeSet<String> {
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == outcome)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn conform_passes_against_serve() {
    let serve = Serve::start("conform", &["enrichment.book_ms={ constant = 20 }"]);
    let (code, v, err) = conform(serve.addr, &[]);
    crate::outputs::assert_live_stamp(&v);
    assert_eq!(with_outcome(&v, "fail"), BTreeSet::new(), "{v:#}\n{err}");
    assert_eq!(with_outcome(&v, "error"), BTreeSet::new(), "{v:#}\n{err}");
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["counts"]["pass"], CASES.len(), "{v:#}");
    assert!(v["connections"].as_u64().unwrap() <= 400);
}

#[test]
fn conform_passes_against_serve_with_the_edge_cache() {
    // The API is the same whoever checks the token: the edge (in KV) or the object.
    for variant in ["kv-edge", "kv-edge-strict"] {
        let serve =
            Serve::start_variant(variant, variant, &["enrichment.book_ms={ constant = 20 }"]);
        let (code, v, err) = conform(serve.addr, &[]);
        assert_eq!(
            with_outcome(&v, "fail"),
            BTreeSet::new(),
            "{variant}: {v:#}\n{err}"
        );
        assert_eq!(
            with_outcome(&v, "error"),
            BTreeSet::new(),
            "{variant}: {v:#}\n{err}"
        );
        assert_eq!(code, 0, "{variant}: {err}");
    }
}

/// What the reference below gets wrong on purpose.
#[derive(Clone, Copy, PartialEq)]
enum Defect {
    None,
    /// Answers 101 whatever the token (status still checks it).
    AcceptAnyToken,
    /// Never answers a client's Close (the connection stays open, silent).
    NoCloseEcho,
    /// Replays every book done on a reconnect, whatever `after` says (duplicates).
    ReplayFromOne,
    /// Ignores a client's Close: goes on with the job's progress and complete, then closes
    /// with its own 1000 (a Worker with no close listener under manual close replies).
    CloseOnlyAtTheEnd,
    /// Never closes after complete: leaves the closing to the client (and echoes its Close).
    NoCloseAfterComplete,
    /// A session's socket replays every job from its start, whatever `after` says.
    SessionReplayFromStart,
    /// Not a defect: sends an unsolicited pong (a heartbeat, RFC 6455 §5.5.3) after `ready`.
    HeartbeatPong,
}

/// The case named `name` in `conform`'s JSON.
fn case_of<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in {v:#}"))
}

/// `v` is a run that passes because its only failures are the SHOULD cases `names`: exit 0,
/// counted apart from the MUST cases, each marked non-strict.
fn passes_non_strict(code: i32, v: &Value, err: &str, names: &[&str]) {
    let want: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    assert_eq!(with_outcome(v, "fail"), want, "{v:#}");
    assert_eq!(with_outcome(v, "error"), BTreeSet::new(), "{v:#}");
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["strict"], false, "{v:#}");
    assert_eq!(v["counts"]["must"]["fail"], 0, "{v:#}");
    assert_eq!(v["counts"]["should"]["fail"], names.len(), "{v:#}");
    for n in names {
        assert_eq!(case_of(v, n)["grade"], "should", "{v:#}");
        assert_eq!(case_of(v, n)["non_strict"], true, "{v:#}");
    }
}

/// The same endpoint under `--strict`, only `case`: exit 1, `passed: false`.
fn fails_strict(addr: SocketAddr, case: &str, extra: &[&str]) {
    let mut args = vec!["--strict", "--case", case];
    args.extend_from_slice(extra);
    let (code, v, err) = conform(addr, &args);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(
        (v["strict"].clone(), v["passed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(with_outcome(&v, "fail"), [case.to_string()].into(), "{v:#}");
}

#[test]
fn conform_passes_against_an_independent_implementation() {
    let addr = reference(Defect::None);
    let (code, v, err) = conform(addr, &[]);
    assert_eq!(with_outcome(&v, "fail"), BTreeSet::new(), "{v:#}\n{err}");
    assert_eq!(code, 0, "{v:#}\n{err}");
}

#[test]
fn a_101_for_any_token_fails_exactly_the_token_cases() {
    let addr = reference(Defect::AcceptAnyToken);
    let (code, v, err) = conform(addr, &[]);
    // MUST cases: exit 1 without --strict.
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["passed"], false, "{v:#}");
    assert_eq!(v["counts"]["must"]["fail"], 4, "{v:#}");
    assert_eq!(v["counts"]["should"]["fail"], 0, "{v:#}");
    let want: BTreeSet<String> = [
        "upgrade-missing-token",
        "upgrade-wrong-token",
        "upgrade-other-jobs-token",
        "refresh-old-token-401",
    ]
    .map(String::from)
    .into();
    assert_eq!(with_outcome(&v, "fail"), want, "{v:#}");
    assert_eq!(with_outcome(&v, "error"), BTreeSet::new(), "{v:#}");
    let detail = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "upgrade-wrong-token")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(detail, "upgrade with a random token: expected 401, got 101");
    assert_eq!(case_of(&v, "upgrade-wrong-token")["non_strict"], false);
    // The table says FAIL and the verdict.
    let (code, out, _) = crate::exec(
        &[
            "conform",
            &format!("http://{addr}"),
            "--case",
            "upgrade-wrong-token",
        ],
        None,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL upgrade-wrong-token (MUST)")
            && out.contains("MUST 0 passed, 1 failed, 0 error(s)")
            && out.contains("verdict: FAIL (1 MUST case(s) failed or could not be judged)"),
        "{out}"
    );
}

/// A Worker right on tokens, the upgrade and progress that leaves a client's Close
/// unanswered within the timeout differs on a SHOULD case: counted, non-strict, exit 0
/// (exit 1 before cases had grades); `--strict` fails it.
#[test]
fn a_close_never_answered_is_a_non_strict_failure_of_the_close_echo_case() {
    let addr = reference(Defect::NoCloseEcho);
    let (code, v, err) = conform(addr, &["--request-timeout-ms", "1000"]);
    passes_non_strict(code, &v, &err, &["socket-close-echo"]);
    // The table names it, with both counts and the verdict.
    let (code, out, _) = crate::exec(
        &[
            "conform",
            &format!("http://{addr}"),
            "--case",
            "socket-close-echo",
            "--request-timeout-ms",
            "500",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("non-strict socket-close-echo (SHOULD)")
            && out.contains("nothing within 500 ms")
            && out.contains("MUST 0 passed, 0 failed, 0 error(s); SHOULD 0 passed, 1 failed")
            && out.contains("verdict: pass (1 non-strict"),
        "{out}"
    );
    fails_strict(addr, "socket-close-echo", &["--request-timeout-ms", "500"]);
}

#[test]
fn a_close_answered_only_at_the_jobs_end_is_a_non_strict_failure_of_the_close_echo_case() {
    let addr = reference(Defect::CloseOnlyAtTheEnd);
    let (code, v, err) = conform(addr, &[]);
    passes_non_strict(code, &v, &err, &["socket-close-echo"]);
    assert!(
        case_of(&v, "socket-close-echo")["detail"]
            .as_str()
            .unwrap()
            .starts_with(
                "the answer to Close 1000: expected a Close 1000 before the job's end, got complete"
            ),
        "{v:#}"
    );
    fails_strict(addr, "socket-close-echo", &[]);
}

/// A Worker that leaves the close after `complete` to the client: non-strict, exit 0; the
/// JUnit report has it as skipped (type non-strict), under `--strict` as a failure.
#[test]
fn no_close_after_complete_is_a_non_strict_failure_and_strict_fails_it() {
    let addr = reference(Defect::NoCloseAfterComplete);
    let junit = std::env::temp_dir().join(format!("hs-conform-ns-{}.xml", std::process::id()));
    let path = junit.to_str().unwrap();
    let (code, v, err) = conform(addr, &["--request-timeout-ms", "1000", "--junit", path]);
    passes_non_strict(code, &v, &err, &["socket-close-after-complete"]);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"failures="0" errors="0""#)
            && xml.contains(r#"<skipped message="the server&apos;s Close after complete"#)
            && xml.contains(r#"type="non-strict">SHOULD: checks: the server closes"#)
            && xml.contains(r#"<property name="grade" value="should"/>"#),
        "{xml}"
    );
    let case = "socket-close-after-complete";
    let args = ["--strict", "--case", case, "--request-timeout-ms", "1000"];
    let (code, _, err) = conform(addr, &[&args[..], &["--junit", path]].concat());
    assert_eq!(code, 1, "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).unwrap();
    assert!(
        xml.contains(r#"tests="1" failures="1" errors="0""#)
            && xml.contains(r#"<failure message="the server&apos;s Close after complete"#)
            && xml.contains(r#"type="non-strict""#),
        "{xml}"
    );
}

#[test]
fn a_replay_with_duplicates_fails_exactly_the_replay_case() {
    let addr = reference(Defect::ReplayFromOne);
    let (code, v, err) = conform(addr, &[]);
    assert_eq!(code, 1, "{err}");
    let want: BTreeSet<String> = ["socket-replay-after".to_string()].into();
    assert_eq!(with_outcome(&v, "fail"), want, "{v:#}");
    let case = &v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "socket-replay-after")
        .unwrap();
    assert_eq!(
        case["detail"],
        "the next message: expected progress seq 2, got progress seq 1"
    );
}

/// The session cases can fail: a session socket that ignores `after` replays what the app
/// has, and only the replay case sees it (non-strict: the session API is a `Should`).
#[test]
fn a_session_replay_with_duplicates_fails_exactly_the_session_replay_case() {
    let addr = reference(Defect::SessionReplayFromStart);
    let (code, v, err) = conform(addr, &[]);
    passes_non_strict(code, &v, &err, &["session-replay-after"]);
    let detail = case_of(&v, "session-replay-after")["detail"]
        .as_str()
        .unwrap();
    assert!(detail.contains("progress seqs: expected [2, 3"), "{detail}");
    fails_strict(addr, "session-replay-after", &[]);
}

#[test]
fn bad_input_exits_2_and_a_remote_target_is_refused_before_any_connection() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--case", "upgrade-wrong-tokn"],
            "did you mean \"upgrade-wrong-token\"",
        ),
        (&["--books", "1"], "--books"),
        (&["--job-prefix", "bad prefix"], "--job-prefix"),
        (&["--concurrency", "0"], "--concurrency"),
        (&["--request-timeout-ms", "0"], "--request-timeout-ms"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["conform", "http://127.0.0.1:9"];
        args.extend_from_slice(extra);
        let (code, _, err) = crate::exec(&args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // TEST-NET-1: refused before a connection is tried (no "cannot reach", no wait).
    let (code, _, err) = crate::exec(&["conform", "http://192.0.2.1:8787"], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--allow-remote") && !err.contains("cannot reach"),
        "{err}"
    );
}

#[test]
fn list_names_every_case_and_an_unreachable_target_fails() {
    let (code, out, _) = crate::exec(&["conform", "--list"], None);
    assert_eq!(code, 0);
    for case in CASES {
        let grade = match case.grade {
            Grade::Must => "MUST",
            Grade::Should => "SHOULD",
        };
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{} ", case.name)));
        assert!(
            line.is_some_and(|l| l.split_whitespace().nth(2) == Some(grade)),
            "{} {grade} missing from {out}",
            case.name
        );
    }
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (code, _, err) = crate::exec(&["conform", &format!("http://{addr}")], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot reach"), "{err}");
}

/// A loopback listener whose accept queue is full: the kernel drops further SYNs, so a
/// connect without a timeout would retry for minutes. Returns it and the connections that
/// filled it (both must live as long as the test needs the queue full).
fn listener_with_a_full_backlog() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: `listen` on a socket this function owns; a second call only sets the backlog.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..64 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => held.push(s),
            Err(_) => return (listener, held),
        }
    }
    panic!("64 connections and the backlog of {addr} is still not full");
}

#[test]
fn a_listener_that_never_accepts_ends_within_the_time_limit_with_the_reports() {
    let (listener, _held) = listener_with_a_full_backlog();
    let addr = listener.local_addr().unwrap();
    let junit = std::env::temp_dir().join(format!("hs-conform-full-{}.xml", std::process::id()));
    let (code, v, err) = conform(
        addr,
        &[
            "--time-limit-s",
            "2",
            "--request-timeout-ms",
            "500",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot reach") && err.contains("no TCP connection within 500 ms"),
        "{err}"
    );
    assert_eq!(v["passed"], false);
    assert_eq!(v["counts"]["error"], CASES.len(), "{v:#}");
    let detail = "not run: cannot reach the target: no TCP connection within 500 ms";
    assert!(
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["detail"] == detail && c["elapsed_ms"].is_null()),
        "{v:#}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).unwrap();
    errors_by_grade(&xml);
}

/// A JUnit report of a run where no case could judge: each MUST case an `<error>`, each
/// SHOULD case `<skipped>` with the type `error` (it does not fail the run without --strict).
fn errors_by_grade(xml: &str) {
    let must = CASES.iter().filter(|c| c.grade == Grade::Must).count();
    let should = CASES.len() - must;
    assert!(
        xml.contains(&format!(
            r#"tests="{}" failures="0" errors="{must}""#,
            CASES.len()
        )),
        "{xml}"
    );
    assert_eq!(xml.matches("<skipped ").count(), should, "{xml}");
    assert_eq!(xml.matches(r#"type="error""#).count(), should, "{xml}");
}

#[test]
fn a_silent_target_is_cut_by_the_time_limit() {
    // Accepts connections (the kernel's backlog) and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let junit = std::env::temp_dir().join(format!("hs-conform-{}.xml", std::process::id()));
    let (code, v, err) = conform(
        addr,
        &["--time-limit-s", "1", "--junit", junit.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("time limit of 1 s reached"), "{err}");
    assert_eq!(v["time_limit_reached"], true);
    assert_eq!(with_outcome(&v, "pass"), BTreeSet::new());
    // A case the limit cut has no time: null, not 0.
    assert!(v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["elapsed_ms"].is_null()));
    let xml = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).unwrap();
    errors_by_grade(&xml);
    assert!(
        xml.contains("not finished within the time limit of 1 s"),
        "{xml}"
    );
    drop(listener);
}

// ---------------------------------------------------------------------------------------
// A small reference implementation of the documented API, independent of `serve`: jobs in a
// map, progress computed from the time since the first POST (one book per BOOK_MS).

const BOOK_MS: u64 = 20;
/// Most bytes of a socket message; a longer one gets a Close 1009.
const MESSAGE_BYTES_MAX: usize = 64 * 1024;

struct RefJob {
    token: String,
    books: u32,
    start: Instant,
}

impl RefJob {
    fn books_done(&self) -> u32 {
        let done = self.start.elapsed().as_millis() as u64 / BOOK_MS;
        done.min(self.books as u64) as u32
    }
}

/// The jobs, and each app session's token and jobs (`POST /api/session`).
#[derive(Default)]
struct Kept {
    jobs: BTreeMap<String, RefJob>,
    sessions: BTreeMap<String, (String, Vec<String>)>,
}

type Jobs = Rc<RefCell<Kept>>;

/// Starts the reference on a free loopback port, in its own thread, for 60 s at most.
fn reference(defect: Defect) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        local(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let jobs: Jobs = Rc::default();
            let serve = async {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let jobs = jobs.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let jobs = jobs.clone();
                        async move { Ok::<_, Infallible>(route(req, jobs, defect).await) }
                    });
                    tokio::task::spawn_local(async move {
                        let conn = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tcp), service)
                            .with_upgrades();
                        let _ = conn.await;
                    });
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(60), serve).await;
        })
    });
    addr
}

fn answer(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

async fn route(req: Request<Incoming>, jobs: Jobs, defect: Defect) -> Response<Full<Bytes>> {
    // RFC 9112 3.2: exactly one Host in HTTP/1.1.
    if req.headers().get_all("host").iter().count() != 1 {
        return answer(400, String::new());
    }
    match (req.method(), req.uri().path()) {
        (&Method::POST, api::BATCH_PATH) => post(req, &jobs).await,
        (_, api::BATCH_PATH) => answer(405, String::new()),
        (&Method::GET, api::PROGRESS_PATH) => upgrade(req, jobs, defect),
        (&Method::GET, api::STATUS_PATH) => status(&req, &jobs),
        (&Method::POST, api::SESSION_PATH) => post_session(req, &jobs).await,
        (&Method::GET, api::SESSION_SOCKET_PATH) => session_upgrade(req, jobs, defect),
        _ => answer(404, String::new()),
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    job_id: String,
    books: u32,
    session_id: Option<String>,
    session_token: Option<String>,
}

async fn post(req: Request<Incoming>, jobs: &Jobs) -> Response<Full<Bytes>> {
    let Ok(body) = Limited::new(req.into_body(), api::BODY_BYTES_MAX)
        .collect()
        .await
    else {
        return answer(413, String::new());
    };
    let batch: Batch = match serde_json::from_slice(&body.to_bytes()) {
        Ok(b) => b,
        Err(_) => return answer(400, String::new()),
    };
    if !api::valid_job_id(&batch.job_id) {
        return answer(400, String::new());
    }
    let token = format!("{:032x}", rand::random::<u128>());
    let mut kept = jobs.borrow_mut();
    if let Some(session) = &batch.session_id {
        let Some((token, in_session)) = kept.sessions.get_mut(session) else {
            return answer(404, String::new());
        };
        if batch.session_token.as_deref() != Some(token.as_str()) {
            return answer(401, String::new());
        }
        if !in_session.contains(&batch.job_id) {
            in_session.push(batch.job_id.clone());
        }
    }
    let job = kept.jobs.entry(batch.job_id.clone()).or_insert(RefJob {
        token: String::new(),
        books: batch.books,
        start: Instant::now(),
    });
    job.token = token.clone();
    let body = json!({"jobId": batch.job_id, "token": token, "expiresAtMs": in_an_hour_ms()});
    answer(202, body.to_string())
}

fn in_an_hour_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_600_000
}

async fn post_session(req: Request<Incoming>, jobs: &Jobs) -> Response<Full<Bytes>> {
    let Ok(body) = Limited::new(req.into_body(), api::BODY_BYTES_MAX)
        .collect()
        .await
    else {
        return answer(413, String::new());
    };
    let Ok(asked) = serde_json::from_slice::<api::SessionRequest>(&body.to_bytes()) else {
        return answer(400, String::new());
    };
    let token = format!("{:032x}", rand::random::<u128>());
    let mut kept = jobs.borrow_mut();
    let session = kept.sessions.entry(asked.session_id.clone()).or_default();
    session.0 = token.clone();
    let body =
        json!({"sessionId": asked.session_id, "token": token, "expiresAtMs": in_an_hour_ms()});
    answer(202, body.to_string())
}

/// A session's socket: its token checked (the upgrade's own checks are the job socket's,
/// above), then every job's progress by the clock with its jobId, after `after` per job.
fn session_upgrade(
    mut req: Request<Incoming>,
    jobs: Jobs,
    defect: Defect,
) -> Response<Full<Bytes>> {
    let query = req.uri().query();
    let id = api::query_param(query, "sessionId")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    let token = api::query_param(query, "token")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    let Ok(mut after) = api::parse_session_after(
        api::query_param(query, "after")
            .ok()
            .flatten()
            .unwrap_or(""),
    ) else {
        return answer(400, String::new());
    };
    if defect == Defect::SessionReplayFromStart {
        after.clear();
    }
    let known = jobs
        .borrow()
        .sessions
        .get(&id)
        .is_some_and(|(t, _)| !token.is_empty() && *t == token);
    if !known {
        return answer(401, String::new());
    }
    let key = req
        .headers()
        .get("sec-websocket-key")
        .map(|k| k.as_bytes().to_vec())
        .unwrap_or_default();
    let on = hyper::upgrade::on(&mut req);
    tokio::task::spawn_local(async move {
        if let Ok(up) = on.await {
            let ws = WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
            session_socket(ws, jobs, id, after).await;
        }
    });
    let mut r = answer(101, String::new());
    let h = r.headers_mut();
    h.insert("upgrade", "websocket".parse().unwrap());
    h.insert("connection", "Upgrade".parse().unwrap());
    h.insert(
        "sec-websocket-accept",
        derive_accept_key(&key).parse().unwrap(),
    );
    r
}

/// Ready with the session's id, then each job's messages as they come due, each sent once.
async fn session_socket(mut ws: RefWs, jobs: Jobs, id: String, after: BTreeMap<String, u32>) {
    let _ = ws
        .send(Message::text(
            json!({"type": "ready", "jobId": id, "booksDone": 0, "books": 0}).to_string(),
        ))
        .await;
    // Per job: the next seq to send (books + 1: complete; books + 2: all sent).
    let mut next: BTreeMap<String, u32> = BTreeMap::new();
    loop {
        let due: Vec<Value> = {
            let kept = jobs.borrow();
            let mut out = Vec::new();
            for job_id in &kept.sessions[&id].1 {
                let job = &kept.jobs[job_id];
                let n = next
                    .entry(job_id.clone())
                    .or_insert(after.get(job_id).copied().unwrap_or(0) + 1);
                while *n <= job.books_done() {
                    out.push(
                        json!({"type": "progress", "seq": *n, "books": job.books, "jobId": job_id}),
                    );
                    *n += 1;
                }
                if *n == job.books + 1 && job.books_done() == job.books {
                    out.push(json!({"type": "complete", "books": job.books, "jobId": job_id}));
                    *n += 1;
                }
            }
            out
        };
        for m in due {
            if ws.send(Message::text(m.to_string())).await.is_err() {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(BOOK_MS)) => {}
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) => { let _ = ws.flush().await; return; }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// The query's jobId (once, well formed) and token (at most once); `None` is a 400.
fn job_and_token(query: Option<&str>) -> Option<(String, String)> {
    let id = match api::query_param(query, "jobId") {
        Ok(Some(id)) if api::valid_job_id(id) => id.to_string(),
        _ => return None,
    };
    let token = api::query_param(query, "token").ok()?;
    Some((id, token.unwrap_or("").to_string()))
}

fn authorized(jobs: &Jobs, id: &str, token: &str) -> bool {
    jobs.borrow()
        .jobs
        .get(id)
        .is_some_and(|j| !token.is_empty() && j.token == token)
}

fn status(req: &Request<Incoming>, jobs: &Jobs) -> Response<Full<Bytes>> {
    let Some((id, token)) = job_and_token(req.uri().query()) else {
        return answer(400, String::new());
    };
    if !authorized(jobs, &id, &token) {
        return answer(401, String::new());
    }
    let kept = jobs.borrow();
    let job = &kept.jobs[&id];
    let done = job.books_done();
    let body =
        json!({"jobId": id, "booksDone": done, "books": job.books, "done": done == job.books});
    answer(200, body.to_string())
}

fn upgrade(mut req: Request<Incoming>, jobs: Jobs, defect: Defect) -> Response<Full<Bytes>> {
    let h = req.headers();
    let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !header("upgrade").eq_ignore_ascii_case("websocket") {
        return answer(426, String::new());
    }
    let query = req.uri().query();
    let Some((id, token)) = job_and_token(query) else {
        return answer(400, String::new());
    };
    let after = match api::query_param(query, "after") {
        Ok(None) => None,
        Ok(Some(a)) => match a.parse::<u32>() {
            Ok(a) => Some(a),
            Err(_) => return answer(400, String::new()),
        },
        Err(_) => return answer(400, String::new()),
    };
    if !api::connection_upgrade(header("connection").as_bytes())
        || !api::valid_ws_key(header("sec-websocket-key").as_bytes())
        || h.get_all("sec-websocket-key").iter().count() != 1
    {
        return answer(400, String::new());
    }
    if header("sec-websocket-version") != "13" {
        return answer(426, String::new());
    }
    let known = jobs.borrow().jobs.contains_key(&id);
    if !known || defect != Defect::AcceptAnyToken && !authorized(&jobs, &id, &token) {
        return answer(401, String::new());
    }
    let accept = derive_accept_key(header("sec-websocket-key").as_bytes());
    let on = hyper::upgrade::on(&mut req);
    tokio::task::spawn_local(async move {
        if let Ok(up) = on.await {
            let config = WebSocketConfig::default()
                .max_message_size(Some(MESSAGE_BYTES_MAX))
                .max_frame_size(Some(MESSAGE_BYTES_MAX));
            let io = TokioIo::new(up);
            let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
            socket(ws, jobs, id, after, defect).await;
        }
    });
    let mut r = answer(101, String::new());
    let h = r.headers_mut();
    h.insert("upgrade", "websocket".parse().unwrap());
    h.insert("connection", "Upgrade".parse().unwrap());
    h.insert("sec-websocket-accept", accept.parse().unwrap());
    r
}

type RefWs = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Ready, the replay after `after`, live progress by the clock, complete, then a close 1000.
async fn socket(mut ws: RefWs, jobs: Jobs, id: String, after: Option<u32>, defect: Defect) {
    let (books, start, done) = {
        let kept = jobs.borrow();
        let j = &kept.jobs[&id];
        (j.books, j.start, j.books_done())
    };
    let text = |v: Value| Message::text(v.to_string());
    let mut out = vec![text(
        json!({"type": "ready", "jobId": id, "booksDone": done, "books": books}),
    )];
    if let Some(a) = after {
        let a = if defect == Defect::ReplayFromOne {
            0
        } else {
            a
        };
        out.extend(
            (a + 1..=done).map(|seq| text(json!({"type": "progress", "seq": seq, "books": books}))),
        );
    }
    for m in out {
        let _ = ws.send(m).await;
    }
    if defect == Defect::HeartbeatPong {
        let _ = ws.send(Message::Pong("heartbeat".into())).await;
    }
    let mut next = done + 1;
    loop {
        let due = start + Duration::from_millis(BOOK_MS * next as u64);
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {
                let m = if next <= books {
                    json!({"type": "progress", "seq": next, "books": books})
                } else {
                    json!({"type": "complete", "books": books})
                };
                let _ = ws.send(text(m)).await;
                if next > books && defect == Defect::NoCloseAfterComplete {
                    // The client closes: echo its Close, never start one.
                    let read = async { while let Some(Ok(m)) = ws.next().await {
                        if m.is_close() { let _ = ws.flush().await; return; }
                    } };
                    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
                    return;
                }
                if next > books {
                    let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                    let _ = ws.close(Some(normal)).await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.next()).await;
                    return;
                }
                next += 1;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) if defect == Defect::CloseOnlyAtTheEnd => {
                    raw_until_complete(ws.get_mut(), books, start, next).await;
                    return;
                }
                Some(Ok(Message::Close(_))) if defect == Defect::NoCloseEcho => {
                    // Silent: the queued echo is never flushed.
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    return;
                }
                Some(Ok(Message::Close(_))) => {
                    let _ = ws.flush().await;
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                    let size = CloseFrame { code: CloseCode::Size, reason: "".into() };
                    let _ = ws.close(Some(size)).await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.next()).await;
                    return;
                }
                _ => return,
            },
        }
    }
}

/// The job's messages from `next` on, by the clock, then a Close 1000, as raw server frames
/// written under tungstenite: it has queued the echo of the client's Close and refuses to
/// send after it, and this defect is a server that never sends that echo.
async fn raw_until_complete(
    io: &mut TokioIo<hyper::upgrade::Upgraded>,
    books: u32,
    start: Instant,
    mut next: u32,
) {
    use tokio::io::AsyncWriteExt;
    loop {
        tokio::time::sleep_until(start + Duration::from_millis(BOOK_MS * next as u64)).await;
        let m = if next <= books {
            json!({"type": "progress", "seq": next, "books": books})
        } else {
            json!({"type": "complete", "books": books})
        };
        let payload = m.to_string().into_bytes();
        // An unmasked text frame; every message here is under 126 bytes.
        let mut frame = vec![0x81, payload.len() as u8];
        frame.extend_from_slice(&payload);
        if next > books {
            frame.extend_from_slice(&[0x88, 2, 0x03, 0xe8]);
        }
        if io.write_all(&frame).await.is_err() || next > books {
            let _ = io.flush().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            return;
        }
        next += 1;
    }
}

/// A job that ends before the ping is answered: a server that closes after `complete` (the
/// documented end) must still pass `socket-ping`, so the case's job lasts the longest a case
/// job may (`BOOKS_MAX` books), as `socket-close-echo`'s does; with jobs of `--books 2` at
/// 1 ms a book, the socket used to close before the pong.
#[test]
fn the_ping_case_does_not_race_the_jobs_end() {
    let serve = Serve::start("conform", &["enrichment.book_ms={ constant = 1 }"]);
    for _ in 0..3 {
        let (code, v, err) = conform(serve.addr, &["--case", "socket-ping", "--books", "2"]);
        assert_eq!(with_outcome(&v, "pass").len(), 1, "{v:#}\n{err}");
        assert_eq!(code, 0, "{v:#}\n{err}");
    }
}

/// A hostile-peer trial: a server that sends a heartbeat pong (unsolicited, as RFC 6455
/// §5.5.3 allows) failed the MUST case `socket-ping`, which took the first pong for the
/// answer to its ping. Other pongs are now passed over.
#[test]
fn an_unsolicited_pong_is_not_the_answer_to_the_ping() {
    let addr = reference(Defect::HeartbeatPong);
    let (code, v, err) = conform(addr, &["--case", "socket-ping"]);
    assert_eq!(with_outcome(&v, "pass").len(), 1, "{v:#}\n{err}");
    assert_eq!(code, 0, "{v:#}\n{err}");
}
