//! `probe` against hostile endpoints, through the binary (issue 21, items 9, 10 and 12): a
//! server that floods pings and never reads, a socket that delivers no results or an
//! out-of-range `seq`, and HTTP answers too large to read each fail the job with a named
//! violation and exit 1, within bounded memory.
//!
//! Each endpoint is a small TCP server on 127.0.0.1 port 0 that speaks just enough HTTP/1.1
//! and WebSocket to play its part.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::live::local;

/// What the endpoint answers to the batch POST.
#[derive(Clone, Copy)]
enum Post {
    /// A 202 with a usable job id and token.
    Accepted,
    /// A 202 with a usable token, for a job other than the one posted.
    OtherJob,
    /// A 202 whose body runs 8 MiB, ended by the connection's close (no Content-Length).
    Oversized,
    /// A 202 whose head never ends: one header line after another.
    EndlessHeader,
    /// A 202 that announces a body of 10^12 bytes, sends a few and keeps the connection.
    AbsurdLength,
}

/// What the endpoint does on the progress socket after its 101.
#[derive(Clone)]
enum Socket {
    /// Ping frames as fast as the client takes them, never reading.
    PingFlood,
    /// These text messages, the last one `last_after` the others, then pongs to the client's
    /// pings until it closes.
    Say {
        messages: Vec<String>,
        last_after: Duration,
    },
}

/// A hostile endpoint on its own thread (ended with the test process, at most after 60 s).
fn endpoint(post: Post, socket: Socket) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        local(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let serve = async {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let socket = socket.clone();
                    tokio::task::spawn_local(async move {
                        let _ = answer(tcp, post, socket).await;
                    });
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(60), serve).await;
        })
    });
    addr
}

/// Reads one request head (and a POST's body), and answers it.
async fn answer(mut tcp: TcpStream, post: Post, socket: Socket) -> std::io::Result<()> {
    let head = read_head(&mut tcp).await?;
    if head.starts_with("POST") {
        let length = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0u8; length];
        tcp.read_exact(&mut body).await?;
        let posted: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let job = posted["jobId"].as_str().unwrap_or_default().to_string();
        return answer_post(tcp, post, &job).await;
    }
    let key = header(&head, "sec-websocket-key").unwrap_or_default();
    let upgraded = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    tcp.write_all(upgraded.as_bytes()).await?;
    match socket {
        Socket::PingFlood => ping_flood(tcp).await,
        Socket::Say {
            messages,
            last_after,
        } => say(tcp, &messages, last_after).await,
    }
}

async fn answer_post(mut tcp: TcpStream, post: Post, job: &str) -> std::io::Result<()> {
    let answered = match post {
        Post::OtherJob => "another-job",
        _ => job,
    };
    let accepted = format!(r#"{{"jobId":"{answered}","token":"t0k3n","expiresAtMs":0}}"#);
    match post {
        Post::Accepted | Post::OtherJob => {
            let head = format!(
                "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                accepted.len()
            );
            tcp.write_all(format!("{head}{accepted}").as_bytes()).await
        }
        Post::Oversized => {
            tcp.write_all(b"HTTP/1.1 202 Accepted\r\nconnection: close\r\n\r\n")
                .await?;
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..128 {
                tcp.write_all(&chunk).await?;
            }
            Ok(())
        }
        Post::EndlessHeader => {
            tcp.write_all(b"HTTP/1.1 202 Accepted\r\n").await?;
            let line = format!("x-endless: {}\r\n", "a".repeat(1000));
            for _ in 0..16_000 {
                tcp.write_all(line.as_bytes()).await?;
            }
            Ok(())
        }
        Post::AbsurdLength => {
            let head = "HTTP/1.1 202 Accepted\r\ncontent-length: 1000000000000\r\n\r\n";
            tcp.write_all(format!("{head}{accepted}").as_bytes())
                .await?;
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        }
    }
}

/// Bytes up to the blank line that ends a head (at most 64 KiB).
async fn read_head(tcp: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        if tcp.read(&mut byte).await? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A server's (unmasked) frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![0x80 | opcode, payload.len() as u8];
    f.extend_from_slice(payload);
    f
}

async fn ping_flood(mut tcp: TcpStream) -> std::io::Result<()> {
    let ping = frame(0x9, &[b'p'; 125]);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 512)
        .collect();
    loop {
        tcp.write_all(&burst).await?;
    }
}

/// Sends `messages` (the last one `last_after` the others), then answers the client's pings
/// until it closes or leaves.
async fn say(mut tcp: TcpStream, messages: &[String], last_after: Duration) -> std::io::Result<()> {
    for (i, m) in messages.iter().enumerate() {
        if i + 1 == messages.len() {
            tokio::time::sleep(last_after).await;
        }
        tcp.write_all(&frame(0x1, m.as_bytes())).await?;
    }
    loop {
        let mut h = [0u8; 2];
        tcp.read_exact(&mut h).await?;
        let (opcode, len) = (h[0] & 0x0f, (h[1] & 0x7f) as usize);
        assert!(len < 126, "the client's frames are small");
        let mut mask = [0u8; 4];
        tcp.read_exact(&mut mask).await?;
        let mut payload = vec![0u8; len];
        tcp.read_exact(&mut payload).await?;
        payload
            .iter_mut()
            .zip(mask.iter().cycle())
            .for_each(|(b, m)| *b ^= m);
        match opcode {
            0x9 => tcp.write_all(&frame(0xA, &payload)).await?,
            0x8 => return tcp.write_all(&frame(0x8, &payload)).await,
            _ => {}
        }
    }
}

/// What a probe run through the binary left: exit code, stdout, stderr, peak RSS in KiB.
struct Ran {
    code: i32,
    out: String,
    err: String,
    max_rss_kib: u64,
}

/// Runs `probe` against `addr` as a child process, reading its peak RSS (`VmHWM`) from
/// /proc every 5 ms until it exits. Not `wait4`'s `ru_maxrss`: that also counts the memory
/// image the child was spawned from (the test process, hundreds of MB while other tests run)
/// up to its exec. `VmHWM` is the new image's alone; sampling can miss only a peak reached in
/// the child's last 5 ms.
fn probe(addr: SocketAddr, extra: &[&str]) -> Ran {
    let url = format!("http://{addr}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_handshake-sim"))
        .args(["probe", &url, "--json", "-", "--time-limit-s", "30"])
        .args(extra)
        .current_dir(crate::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status_file = format!("/proc/{}/status", child.id());
    let mut max_rss_kib = 0;
    let status = loop {
        let hwm_kib = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| vm_hwm_kib(&s));
        max_rss_kib = max_rss_kib.max(hwm_kib.unwrap_or(0));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ran {
        code: status.code().unwrap_or(-1),
        out: out.join().unwrap(),
        err: err.join().unwrap(),
        max_rss_kib,
    }
}

/// The `VmHWM:` line of a /proc status file, in KiB (none once the process has exited).
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Ran {
    fn summary(&self) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.out, self.err));
        v["variants"][0].clone()
    }
}

/// A server that pings as fast as the client reads and never reads the pongs grew probe by
/// ~100 MB/s per socket (tungstenite queued every pong): each job now fails `server_error`,
/// named `ping_flood`, and the process stays small.
#[test]
fn a_ping_flood_fails_the_job_named_within_bounded_memory() {
    let addr = endpoint(Post::Accepted, Socket::PingFlood);
    let ran = probe(
        addr,
        &[
            "--jobs",
            "2",
            "--concurrency",
            "2",
            "--set",
            "client.ping_timeout_ms=3000",
        ],
    );
    let err = &ran.err;
    eprintln!("peak RSS under a ping flood: {} KiB", ran.max_rss_kib);
    // Two sockets under the flood: a few MB of runtime and buffers, not hundreds.
    assert!(
        ran.max_rss_kib < 48 * 1024,
        "peak RSS {} KiB under a ping flood\n{err}",
        ran.max_rss_kib
    );
    assert_eq!(ran.code, 1, "{}\n{err}", ran.out);
    let v = ran.summary();
    assert_eq!(v["outcomes"]["server_error"], 2, "{v}\n{err}");
    assert_eq!(v["violations"]["ping_flood"], 2, "{v}");
    assert!(err.contains("2 job(s) failed: ping_flood"), "{err}");
}

/// The socket's messages for one job of `books` books: ready, `progress`, complete.
fn job_messages(books: u32, progress: &[&str]) -> Socket {
    let mut m = vec![format!(
        r#"{{"type":"ready","jobId":"hostile-0","booksDone":0,"books":{books}}}"#
    )];
    m.extend(
        progress
            .iter()
            .map(|seq| format!(r#"{{"type":"progress","seq":{seq},"books":{books}}}"#)),
    );
    m.push(format!(r#"{{"type":"complete","books":{books}}}"#));
    Socket::Say {
        messages: m,
        last_after: Duration::ZERO,
    }
}

/// `ready` then `complete` with no progress was 4/4 `ok` and exit 0 (#407's very symptom
/// printed as "jobs with progress gaps" and never judged); a `seq` of 10^18 beside every
/// right one, and progress out of order, were `ok` too. Each is now a failed job, named.
#[test]
fn a_socket_that_breaks_the_progress_fails_its_jobs_named() {
    let cases = [
        ("progress_gap", 2, vec![]),
        ("seq_out_of_range", 1, vec!["1", "1000000000000000000"]),
        ("progress_out_of_order", 2, vec!["2", "1"]),
    ];
    for (name, books, progress) in cases {
        let addr = endpoint(Post::Accepted, job_messages(books, &progress));
        let books_set = format!("client.books_per_job={books}");
        let ran = probe(addr, &["--jobs", "4", "--set", &books_set]);
        let err = &ran.err;
        assert_eq!(ran.code, 1, "{name}: {}\n{err}", ran.out);
        let v = ran.summary();
        assert_eq!(v["outcomes"]["ok"], 0, "{name}: {v}");
        assert_eq!(v["outcomes"]["server_error"], 4, "{name}: {v}");
        assert_eq!(v["violations"][name], 4, "{name}: {v}");
        assert!(err.contains(&format!("4 job(s) failed: {name}")), "{err}");
    }
}

/// Every result and the completion, after `client.result_deadline_ms` (the last message
/// 500 ms after the others, the deadline 100 ms): the end-to-end invariant the simulation
/// judges (a silent failure there) fails the job here too; it was `ok`.
#[test]
fn results_after_the_deadline_fail_the_job() {
    let Socket::Say { messages, .. } = job_messages(1, &["1"]) else {
        unreachable!()
    };
    let late = Socket::Say {
        messages,
        last_after: Duration::from_millis(500),
    };
    let addr = endpoint(Post::Accepted, late);
    let ran = probe(
        addr,
        &[
            "--jobs",
            "2",
            "--set",
            "client.books_per_job=1",
            "--set",
            "client.result_deadline_ms=100",
        ],
    );
    let err = &ran.err;
    assert_eq!(ran.code, 1, "{}\n{err}", ran.out);
    let v = ran.summary();
    assert_eq!(v["outcomes"]["server_error"], 2, "{v}");
    assert_eq!(v["violations"]["results_late"], 2, "{v}");
}

/// The 202 answers that said "nothing answered": each is now named, the job `rejected`. A
/// 202 for another job than the one posted (a hostile-peer trial: it was followed, `ok`) too.
#[test]
fn unreadable_answers_are_named_not_nothing_answered() {
    for (post, name) in [
        (Post::OtherJob, "bad_202"),
        (Post::Oversized, "body_too_large"),
        (Post::EndlessHeader, "head_too_large"),
        (Post::AbsurdLength, "body_too_large"),
    ] {
        let addr = endpoint(post, job_messages(1, &["1"]));
        let ran = probe(addr, &["--jobs", "2", "--concurrency", "2"]);
        let err = &ran.err;
        assert_eq!(ran.code, 1, "{name}: {}\n{err}", ran.out);
        assert!(!err.contains("no job got an answer"), "{name}: {err}");
        assert!(err.contains(&format!("2 job(s) failed: {name}")), "{err}");
        let v = ran.summary();
        assert_eq!(v["outcomes"]["rejected"], 2, "{name}: {v}");
        assert_eq!(v["violations"][name], 2, "{name}: {v}");
    }
}
