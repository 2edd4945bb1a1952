//! What the reference Worker and `serve` keep and take, side by side (docs/api.md, "HTTP API of the
//! simulated system"): a finished job's token after a long idle and after the job retention,
//! the job limit (`MAX_JOBS`, `--max-jobs`), and a binary message of 16 MiB. `conform` cannot
//! hold an endpoint to these: they take minutes or settings only the operator has.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::{self, Message};

use super::{http, Workerd};
use crate::serve_process::Serve;

/// `serve` of the harness's scenario with `args`.
fn serve(tag: &str, args: &[&str]) -> Serve {
    Serve::spawn(
        env!("CARGO_BIN_EXE_handshake-sim").as_ref(),
        &format!("worker-limits-{tag}"),
        None,
        args,
    )
}

/// A POST of `job` with `books`: the status and the token (empty unless 202).
fn post(port: u16, job: &str, books: u32) -> (u16, String) {
    let body = format!(r#"{{"jobId":"{job}","books":{books}}}"#);
    let (status, _, text) = http(port, "POST /api/enrichment/batch HTTP/1.1", &body);
    let token = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["token"].as_str().map(String::from))
        .unwrap_or_default();
    (status, token)
}

fn posted(port: u16, job: &str, books: u32) -> String {
    let (status, token) = post(port, job, books);
    assert_eq!(status, 202, "port {port}: POST {job}");
    token
}

/// The status poll's status and whether it said `done: true`.
fn status(port: u16, job: &str, token: &str) -> (u16, bool) {
    let head = format!("GET /api/enrichment/status?jobId={job}&token={token} HTTP/1.1");
    let (status, _, body) = http(port, &head, "");
    let done = serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v["done"] == true);
    (status, done)
}

/// Polls until `job` is done (its books all done), at most 30 s.
fn wait_done(port: u16, job: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(port, job, token) != (200, true) {
        assert!(Instant::now() < deadline, "port {port}: {job} not done");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `job` is forgotten (its token gets 401) within a minute, looked at every 15 s: a
/// poll is a use, so the gaps are longer than the retention of 10 s.
fn forgotten_within_a_minute(port: u16, job: &str, token: &str) -> bool {
    (0..4).any(|_| {
        std::thread::sleep(Duration::from_secs(15));
        status(port, job, token).0 == 401
    })
}

/// Finished jobs: kept for the retention after their last use (default 600 s: 46 s idle keeps
/// the token working; the in-memory Worker lost it after 20–45 s), then forgotten (401); polls
/// every 2 s keep a job of a 10 s retention for 24 s, and once they stop it is forgotten.
#[test]
fn a_finished_job_is_kept_for_the_retention_after_its_last_use_in_both() {
    let Some(worker) = Workerd::start("parallel", &[("BOOK_MS", "10")]) else {
        return;
    };
    let Some(short_worker) = Workerd::start(
        "parallel",
        &[("BOOK_MS", "10"), ("JOB_RETENTION_MS", "10000")],
    ) else {
        return;
    };
    let served = serve("retention", &[]);
    let short_served = serve(
        "short-retention",
        &[
            "--job-retention-s",
            "10",
            "--set",
            "object.evict_after_idle_ms=1000",
        ],
    );
    let idle: Vec<(u16, String)> = [worker.port("http"), served.addr.port()]
        .into_iter()
        .map(|port| {
            let token = posted(port, "idle", 2);
            wait_done(port, "idle", &token);
            (port, token)
        })
        .collect();
    let idle_since = Instant::now();
    let short: Vec<(u16, String)> = [short_worker.port("http"), short_served.addr.port()]
        .into_iter()
        .map(|port| {
            let token = posted(port, "polled", 2);
            wait_done(port, "polled", &token);
            (port, token)
        })
        .collect();
    for _ in 0..12 {
        std::thread::sleep(Duration::from_secs(2));
        for (port, token) in &short {
            let got = status(*port, "polled", token).0;
            assert_eq!(got, 200, "port {port}: a job used every 2 s is kept");
        }
    }
    for (port, token) in &short {
        let gone = forgotten_within_a_minute(*port, "polled", token);
        assert!(gone, "port {port}: kept a minute past a retention of 10 s");
    }
    let idle_s = Duration::from_secs(46);
    std::thread::sleep(idle_s.saturating_sub(idle_since.elapsed()));
    for (port, token) in &idle {
        assert_eq!(
            status(*port, "idle", token),
            (200, true),
            "port {port}: a finished job's token after 45 s idle"
        );
    }
}

/// `MAX_JOBS` / `--max-jobs 5`: a new job past the limit forgets the least recently posted
/// finished one (its token then gets 401); with five jobs running, a sixth gets 503, while a
/// refresh of a running one and a poll for a job never posted still answer.
#[test]
fn past_the_job_limit_finished_jobs_make_room_and_running_ones_do_not_in_both() {
    let Some(quick) = Workerd::start("parallel", &[("BOOK_MS", "1"), ("MAX_JOBS", "5")]) else {
        return;
    };
    let Some(busy) = Workerd::start("parallel", &[("BOOK_MS", "60000"), ("MAX_JOBS", "5")]) else {
        return;
    };
    let quick_served = serve("max-jobs", &["--max-jobs", "5"]);
    let busy_served = serve(
        "max-jobs-busy",
        &[
            "--max-jobs",
            "5",
            "--set",
            "enrichment.book_ms={ constant = 60000 }",
        ],
    );
    for port in [quick.port("http"), quick_served.addr.port()] {
        let first = posted(port, "done-0", 2);
        wait_done(port, "done-0", &first);
        for i in 1..30 {
            let job = format!("done-{i}");
            let token = posted(port, &job, 2);
            wait_done(port, &job, &token);
        }
        let (got, _) = status(port, "done-0", &first);
        assert_eq!(
            got, 401,
            "port {port}: the least recently posted job is forgotten"
        );
    }
    for port in [busy.port("http"), busy_served.addr.port()] {
        for i in 0..5 {
            posted(port, &format!("busy-{i}"), 2);
        }
        let head = "POST /api/enrichment/batch HTTP/1.1";
        let (got, _, body) = http(port, head, r#"{"jobId":"one-more","books":2}"#);
        assert_eq!(got, 503, "port {port}: {body}");
        assert!(body.contains("job limit reached"), "port {port}: {body}");
        assert_eq!(post(port, "busy-0", 2).0, 202, "port {port}: a refresh");
        assert_eq!(status(port, "never-posted", "x").0, 401, "port {port}");
    }
}

/// A binary message of 16 MiB, and one of 70 KB, on a job's socket: both get a Close 1009, as
/// a text message over 64 KiB does (the Worker let binary ones through: it compared a Blob's
/// missing byteLength).
#[test]
fn a_binary_message_over_64_kib_is_closed_with_1009_in_both() {
    let Some(worker) = Workerd::start("parallel", &[("BOOK_MS", "60000")]) else {
        return;
    };
    let served = serve(
        "binary",
        &["--set", "enrichment.book_ms={ constant = 60000 }"],
    );
    for port in [worker.port("http"), served.addr.port()] {
        for (n, bytes) in [70_000, 16 << 20].into_iter().enumerate() {
            let job = format!("binary-{n}");
            let token = posted(port, &job, 2);
            let code = close_code_after_binary(port, &job, &token, bytes);
            assert_eq!(code, Some(1009), "port {port}: {bytes} bytes");
        }
    }
}

/// Opens `job`'s socket, sends one binary message of `bytes`, and reads up to the server's
/// Close: its code (`None`: no Close came).
fn close_code_after_binary(port: u16, job: &str, token: &str, bytes: usize) -> Option<u16> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let url = format!("ws://127.0.0.1:{port}/ws/progress?jobId={job}&token={token}");
    let (mut ws, _) = tungstenite::client(url, tcp).unwrap();
    // The server may stop reading once the message is too big: the answer is what counts.
    let _ = ws.send(Message::binary(vec![0x5a; bytes]));
    let _ = ws.get_mut().flush();
    loop {
        match ws.read() {
            Ok(Message::Close(f)) => return f.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}
