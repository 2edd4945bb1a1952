//! `serve`'s resource limits through the real binary, on `127.0.0.1:0`: the connection cap
//! and accept-error pauses under a lowered descriptor limit (a child with RLIMIT_NOFILE 64),
//! the header, body and idle timeouts, and jobs past the job limit. Behaviour only: CPU and
//! memory figures come from `scripts/soak-serve`, never from a timed assertion.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::{self, Message};

/// Small latencies; books take 1 ms unless a test sets more.
const SCENARIO: &str = r#"
[network.client_edge]
latency_ms = { constant = 1 }
[network.edge_object]
latency_ms = { constant = 1 }
[storage]
read_ms = { constant = 1 }
write_ms = { constant = 1 }
[object]
cold_start_ms = { constant = 1 }
[enrichment]
book_ms = { constant = 1 }
"#;

/// A `serve` process, its log (stderr) in a file; killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _stdout: std::thread::JoinHandle<()>,
}

impl Serve {
    /// `serve` with `args`, under a descriptor limit of `fd_limit` when given.
    fn start(name: &str, fd_limit: Option<u64>, args: &[&str]) -> Serve {
        let dir = std::env::temp_dir();
        let tag = format!("hs-limits-{}-{name}", std::process::id());
        let file = dir.join(format!("{tag}.toml"));
        std::fs::write(&file, SCENARIO).unwrap();
        let log = dir.join(format!("{tag}.log"));
        let mut c = Command::new(env!("CARGO_BIN_EXE_handshake-sim"));
        c.args(["serve", file.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
        c.args(["--seed", "1", "--variant", "sequential"])
            .args(args);
        c.stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(n) = fd_limit {
            let limit = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            // SAFETY: setrlimit is async-signal-safe and changes only the child.
            unsafe {
                c.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = c.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let addr = first.split("on http://").nth(1).expect(&first);
        let addr = addr.trim().parse().unwrap();
        // Drained, not closed: `serve` exits quietly when its standard output closes.
        let stdout = std::thread::spawn(move || {
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        Serve {
            child,
            addr,
            log,
            _stdout: stdout,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// One request on its own connection: the status and the body (`None`: the connection
    /// closed or failed without an answer).
    fn try_http(&self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let status = text.get(9..12)?.parse().ok()?;
        Some((
            status,
            text.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
        ))
    }

    fn post(&self, job: &str) -> Option<(u16, String)> {
        let body = format!(r#"{{"jobId":"{job}","books":2}}"#);
        self.try_http("POST", "/api/enrichment/batch", &body)
    }

    /// POSTs `job`, opens its socket and reads until `complete`.
    fn job(&self, job: &str) -> Result<(), String> {
        let (status, body) = self.post(job).ok_or("no answer to the POST")?;
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

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
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
    let serve = Serve::start("cap", Some(64), &["--header-timeout-s", "1"]);
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
    let serve = Serve::start(
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
    let serve = Serve::start("header", None, &["--header-timeout-s", "1"]);
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
    let serve = Serve::start("body", None, &["--header-timeout-s", "1"]);
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
    let serve = Serve::start(
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
        let (status, body) = serve.post(job).unwrap();
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
    let serve = Serve::start("jobs", None, &["--max-jobs", "5"]);
    // Jobs finish at once: each new one past the limit finds idle ones to forget.
    for i in 0..30 {
        let (status, body) = serve.post(&format!("done-{i}")).unwrap();
        assert_eq!(status, 202, "job {i}: {body}");
    }
    serve.job_within(Duration::from_secs(5)).unwrap();
    drop(serve);
    let serve = Serve::start(
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
        assert_eq!(serve.post(&format!("busy-{i}")).unwrap().0, 202);
    }
    // Five jobs running: a sixth is refused, and requests for unknown jobs still answer.
    let (status, body) = serve.post("one-more").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("job limit"), "{body}");
    let path = "/api/enrichment/status?jobId=never-posted&token=x";
    assert_eq!(serve.try_http("GET", path, "").unwrap().0, 401);
}
