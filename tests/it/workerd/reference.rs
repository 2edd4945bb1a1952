//! The reference Worker (`worker/src/index.js`) in workerd: the documented API at a glance
//! (the conformance suite checks it case by case) and its timing lines read by `calibrate`.
//! `probe` against it, compared with the simulation, is in `tests/timing/workerd.rs`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{http, Workerd};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// POSTs a batch: the status and body.
fn post(port: u16, body: &str) -> (u16, String) {
    let (status, _, body) = http(port, "POST /api/enrichment/batch HTTP/1.1", body);
    (status, body)
}

/// A job's token and `expiresAtMs`, from a 202.
fn token(port: u16, job: &str) -> (String, u64) {
    let (status, body) = post(port, &format!(r#"{{"jobId":"{job}","books":1}}"#));
    assert_eq!(status, 202, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        v["token"].as_str().unwrap().to_string(),
        v["expiresAtMs"].as_u64().unwrap(),
    )
}

/// The status line's code of an upgrade request with `headers`, and the head.
fn upgrade(port: u16, query: &str, headers: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /ws/progress?{query} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    (
        head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0),
        head,
    )
}

fn ws_headers(version: &str) -> String {
    format!(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: {version}\r\n"
    )
}

#[test]
fn the_reference_worker_answers_the_documented_statuses() {
    let Some(w) = Workerd::start("sequential", &[("BOOK_MS", "60000")]) else {
        return;
    };
    let port = w.port("http");
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let (old, expires_at_ms) = token(port, "job-1");
    assert!(
        old.len() == 32 && old.bytes().all(|b| b.is_ascii_hexdigit()),
        "{old}"
    );
    assert!(expires_at_ms > now_ms, "{expires_at_ms} vs now {now_ms}");
    assert_eq!(post(port, r#"{"jobId":"job 1","books":1}"#).0, 400);
    assert_eq!(post(port, r#"{"jobId":"job-1","books":1,"x":1}"#).0, 400);
    assert_eq!(post(port, &"x".repeat(70 * 1024)).0, 413);
    let (get_batch, _, _) = http(port, "GET /api/enrichment/batch HTTP/1.1", "");
    assert_eq!(get_batch, 405);
    // A repeated POST refreshes the token: the old one stops working.
    let (fresh, _) = token(port, "job-1");
    assert_ne!(fresh, old);
    let ok = format!("jobId=job-1&token={fresh}");
    for (query, headers, want) in [
        (ok.clone(), String::new(), 426),
        (ok.clone(), ws_headers("8"), 426),
        (format!("token={fresh}"), ws_headers("13"), 400),
        (format!("{ok}&after=x"), ws_headers("13"), 400),
        (format!("{ok}&token={fresh}"), ws_headers("13"), 400),
        ("jobId=job-1".to_string(), ws_headers("13"), 401),
        (format!("jobId=job-1&token={old}"), ws_headers("13"), 401),
        (format!("jobId=job-2&token={fresh}"), ws_headers("13"), 401),
        (
            ok.clone(),
            ws_headers("13").replace("Upgrade\r\nSec", "keep-alive\r\nSec"),
            400,
        ),
        (ok.clone(), ws_headers("13").replace(KEY, "c2hvcnQ="), 400),
        (ok.clone(), ws_headers("13"), 101),
    ] {
        let (status, head) = upgrade(port, &query, &headers);
        assert_eq!(status, want, "{query}\n{headers}\n{head}");
    }
    let (status, _, body) = http(
        port,
        &format!("GET /api/enrichment/status?jobId=job-1&token={fresh} HTTP/1.1"),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["booksDone"].as_u64(), v["books"].as_u64()),
        (Some(0), Some(1))
    );
}

/// Batch bodies that JSON.parse takes but serde refuses: the Worker answers 400 like serve
/// (a number literal that is not an integer, a repeated key, a byte-order mark); a plain body
/// is 202 at both.
#[test]
fn the_worker_refuses_the_batch_bodies_serve_refuses() {
    let Some(w) = Workerd::start("parallel", &[("BOOK_MS", "60000")]) else {
        return;
    };
    let serve = crate::serve::Serve::start("worker-bodies", &[]);
    let refused = [
        r#"{"jobId":"f-1","books":2.0}"#,
        r#"{"jobId":"f-1","books":1e0}"#,
        r#"{"jobId":"f-1","books":-0}"#,
        r#"{"jobId":"f-1","jobId":"f-2","books":1}"#,
        r#"{"jobId":"f-1","books":1,"books":2}"#,
        "\u{feff}{\"jobId\":\"f-1\",\"books\":1}",
    ];
    for port in [w.port("http"), serve.addr.port()] {
        for body in refused {
            let (status, answer) = post(port, body);
            assert_eq!(status, 400, "port {port}: {body:?}: {answer}");
        }
        let (status, answer) = post(port, r#" { "jobId" : "f-1" , "books" : 20 } "#);
        assert_eq!(status, 202, "port {port}: {answer}");
    }
}

/// The Worker's timing lines, as workerd prints them, are what `calibrate` reads: one sample
/// per upgrade, none malformed, each total within the scenario's latency of two reads.
#[test]
fn calibrate_reads_the_workers_timing_lines() {
    let scenario = crate::load("workerd.toml", &["storage.read_ms={ uniform = [20, 30] }"]);
    let latency = crate::common::workerd::latency(&scenario, 1);
    let vars = [
        ("HANDSHAKE_SIM_LATENCY", latency.as_str()),
        ("BOOK_MS", "60000"),
    ];
    let Some(w) = Workerd::start("sequential", &vars) else {
        return;
    };
    let port = w.port("http");
    let upgrades = 6;
    for n in 0..upgrades {
        let job = format!("job-{n}");
        let (t, _) = token(port, &job);
        let (status, head) = upgrade(port, &format!("jobId={job}&token={t}"), &ws_headers("13"));
        assert_eq!(status, 101, "{head}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while w.log().matches("WebSocket upgrade timing").count() < upgrades
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = w.log();
    let c = handshake_sim::internal::calibrate::calibrate(log.as_bytes(), false)
        .expect("a workerd log is text");
    // The reader of every format knows it for a text log too.
    let (any, observed) = handshake_sim::internal::calibrate::calibrate_export(
        std::io::Cursor::new(log.clone().into_bytes()),
        None,
        false,
        &Default::default(),
    )
    .expect("a workerd log is text");
    assert_eq!((any.format, observed), ("log", None));
    assert_eq!(any.samples_ms, c.samples_ms);
    assert_eq!(c.candidates, upgrades, "{log}");
    assert!(c.malformed.is_empty(), "{:?}\n{log}", c.malformed);
    assert!(
        c.samples_ms.iter().all(|&ms| (38.0..=75.0).contains(&ms)),
        "two reads of 20–30 ms each (workerd cuts a timer's fraction of a ms): {:?}",
        c.samples_ms
    );
}
