//! `serve`'s resource limits through the real binary, on `127.0.0.1:0`: the connection cap
//! and accept-error pauses under a lowered descriptor limit (a child with RLIMIT_NOFILE 64),
//! the header, body and idle timeouts, and jobs past the job limit. Behaviour only: CPU and
//! memory figures come from `scripts/soak-serve`, never from a timed assertion.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::{self, Message};

use crate::serve_process::Serve;

impl Serve {
    /// `serve` with `args`, under a descriptor limit of `fd_limit` when given.
    fn launch(name: &str, fd_limit: Option<u64>, args: &[&str]) -> Serve {
        let bin = env!("CARGO_BIN_EXE_handshake-sim").as_ref();
        Serve::spawn(bin, &format!("limits-{name}"), fd_limit, args)
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    fn try_post(&self, job: &str) -> Option<(u16, String)> {
        let body = format!(r#"{{"jobId":"{job}","books":2}}"#);
        self.try_http("POST", "/api/enrichment/batch", &body)
    }

    /// POSTs `job`, opens its socket and reads until `complete`.
    fn job(&self, job: &str) -> Result<(), String> {
        let (status, body) = self.try_post(job).ok_or("no answer to the POST")?;
        if status != 202 {
            return Err(format!("POST: {status} {body}"));
        }
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let token = v["token"].as_str().unwrap();
        let url = format!("ws://{}/ws/progress?jobId={job}&token={token}", self.addr);
        let (mut ws, _) = tungstenite::client(url, self.connect()).map_err(|e| e.to_string())?;
        loop {
            match ws.read().map_err(|e| e.to_string())? {
                Message::Text(t) if t.contains("complete") => return Ok(()),
                Message::Close(f) => return Err(format!("closed before complete: {f:?}")),
                _ => {}
            }
        }
    }

    /// A job that completes within `within`, tried again after each failure.
    fn job_within(&self, within: Duration) -> Result<(), String> {
        let t0 = Instant::now();
        let mut n = 0;
        loop {
            n += 1;
            match self.job(&format!("valid-{n}")) {
                Ok(()) => return Ok(()),
                Err(e) if t0.elapsed() > within => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// Whether the server closed (or answered and closed) `s` within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn with_64_descriptors_excess_connections_get_503_idle_ones_time_out_and_a_job_completes() {
    // The default cap under 64 descriptors is 6 connections.
    let serve = Serve::launch("cap", Some(64), &["--header-timeout-s", "1"]);
    let mut idle: Vec<TcpStream> = (0..100).map(|_| serve.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    // Past the cap, each connection is answered 503 and closed at once.
    let mut refused = 0;
    for s in idle.iter_mut().rev().take(90) {
        let mut text = String::new();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        if s.read_to_string(&mut text).is_ok() && text.starts_with("HTTP/1.1 503") {
            refused += 1;
        }
    }
    assert!(refused >= 85, "only {refused} of 90 answered 503");
    // The held ones send nothing: the header timeout closes them.
    for s in idle.iter_mut().take(6) {
        assert!(closed_within(s, Duration::from_secs(5)));
    }
    serve.job_within(Duration::from_secs(10)).unwrap();
    let log = serve.log_text();
    let refusals = log.matches("connection limit reached").count();
    assert!(refusals <= 3, "refusals not rate-limited:\n{log}");
}

#[test]
fn out_of_descriptors_accept_pauses_and_logs_once_a_second_then_serves_again() {
    // A cap the descriptors cannot hold: accepts fail with EMFILE while 100 connections idle.
    let serve = Serve::launch(
        "emfile",
        Some(64),
        &["--max-connections", "500", "--header-timeout-s", "3"],
    );
    let idle: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect_timeout(&serve.addr, Duration::from_secs(2)).ok())
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let log = serve.log_text();
    let lines = log.matches("accept failed").count();
    assert!(
        log.contains("Too many open files"),
        "no accept error seen:\n{log}"
    );
    // Two seconds of errors: a line a second at most, not one per failed accept.
    assert!(lines <= 4, "{lines} accept error lines:\n{log}");
    assert!(log.len() < 4096, "log grew to {} bytes", log.len());
    assert!(log.contains("descriptors, over the limit of 64"), "{log}");
    // The idle connections time out; then a client is served again.
    serve.job_within(Duration::from_secs(15)).unwrap();
    drop(idle);
}

#[test]
fn a_slow_head_and_an_idle_keep_alive_connection_are_closed_after_the_header_timeout() {
    let serve = Serve::launch("header", None, &["--header-timeout-s", "1"]);
    let mut slow = serve.connect();
    slow.write_all(b"GET /api/enrichment/status HTTP/1.1\r\nX-Slow: a")
        .unwrap();
    let mut kept = serve.connect();
    kept.write_all(b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).unwrap();
    assert_eq!(&head[9..12], b"404");
    let t0 = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(5)));
    assert!(closed_within(&mut kept, Duration::from_secs(5)));
    assert!(
        t0.elapsed() >= Duration::from_millis(500),
        "closed too early"
    );
}

#[test]
fn a_body_slower_than_the_header_timeout_gets_408() {
    let serve = Serve::launch("body", None, &["--header-timeout-s", "1"]);
    let mut s = serve.connect();
    s.write_all(
        b"POST /api/enrichment/batch HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"jobId\"",
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[test]
fn a_silent_progress_socket_is_closed_with_1001_and_a_pinging_one_is_not() {
    let serve = Serve::launch(
        "idle",
        None,
        &[
            "--idle-timeout-s",
            "1",
            "--set",
            "enrichment.book_ms={ constant = 60000 }",
        ],
    );
    let open = |job: &str| {
        let (status, body) = serve.try_post(job).unwrap();
        assert_eq!(status, 202, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let url = format!(
            "ws://{}/ws/progress?jobId={job}&token={}",
            serve.addr,
            v["token"].as_str().unwrap()
        );
        tungstenite::client(url, serve.connect()).unwrap().0
    };
    let mut pinging = open("job-1");
    let mut silent = open("job-2");
    let t0 = Instant::now();
    // The pinging client sends a ping every 300 ms for 2.5 s: its socket stays open.
    pinging.get_ref().set_nonblocking(true).unwrap();
    while t0.elapsed() < Duration::from_millis(2500) {
        pinging.send(Message::Ping(vec![].into())).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        loop {
            match pinging.read() {
                Ok(Message::Close(f)) => panic!("pinging socket closed: {f:?}"),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    break
                }
                Err(e) => panic!("pinging socket: {e}"),
            }
        }
    }
    let code = loop {
        match silent.read() {
            Ok(Message::Close(f)) => break f.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(e) => panic!("no close frame: {e}"),
        }
    };
    assert_eq!(code, Some(1001));
}

#[test]
fn past_the_job_limit_finished_jobs_make_room_and_running_ones_do_not() {
    let serve = Serve::launch("jobs", None, &["--max-jobs", "5"]);
    // Jobs finish at once: each new one past the limit finds idle ones to forget.
    for i in 0..30 {
        let (status, body) = serve.try_post(&format!("done-{i}")).unwrap();
        assert_eq!(status, 202, "job {i}: {body}");
    }
    serve.job_within(Duration::from_secs(5)).unwrap();
    drop(serve);
    let serve = Serve::launch(
        "busy",
        None,
        &[
            "--max-jobs",
            "5",
            "--set",
            "enrichment.book_ms={ constant = 60000 }",
        ],
    );
    for i in 0..5 {
        assert_eq!(serve.try_post(&format!("busy-{i}")).unwrap().0, 202);
    }
    // Five jobs running: a sixth is refused, and requests for unknown jobs still answer.
    let (status, body) = serve.try_post("one-more").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("job limit"), "{body}");
    let path = "/api/enrichment/status?jobId=never-posted&token=x";
    assert_eq!(serve.try_http("GET", path, "").unwrap().0, 401);
}
