//! `serve` through the real binary: tokens from OS randomness, one object per jobId string,
//! no 101 for a token replaced mid-handshake, closing codes, signals, `expiresAtMs`.
//! Every server listens on `127.0.0.1:0` and the test reads the port from its banner.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

pub(crate) use crate::serve_process::Serve;

impl Serve {
    /// `serve` with the `--set` overrides `sets`; the one book of a job takes 60 s (unless
    /// `sets` says otherwise), so a socket stays open.
    pub(crate) fn start(name: &str, sets: &[&str]) -> Serve {
        Serve::start_variant(name, "sequential", sets)
    }

    /// [`Serve::start`] serving `variant`.
    pub(crate) fn start_variant(name: &str, variant: &str, sets: &[&str]) -> Serve {
        let mut args = vec![
            "--set",
            "storage.read_ms={ constant = 5 }",
            "--set",
            "storage.write_ms={ constant = 5 }",
            "--set",
            "enrichment.book_ms={ constant = 60000 }",
        ];
        args.extend(sets.iter().flat_map(|s| ["--set", s]));
        args.extend(["--variant", variant]);
        Serve::spawn(
            env!("CARGO_BIN_EXE_handshake-sim").as_ref(),
            &format!("serve-{name}"),
            None,
            &args,
        )
    }

    /// POSTs a batch for `job`: its token and `expiresAtMs`.
    fn post(&self, job: &str) -> (String, u64) {
        let body = format!(r#"{{"jobId":"{job}","books":1}}"#);
        let (status, text) = self.http("POST", "/api/enrichment/batch", &body);
        assert_eq!(status, 202, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        (
            v["token"].as_str().unwrap().to_string(),
            v["expiresAtMs"].as_u64().unwrap(),
        )
    }

    /// One HTTP/1.1 request on its own connection: the status and the body.
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.try_http(method, path, body).expect("an answer")
    }

    /// The status of an upgrade for `job` with `token`.
    fn upgrade_status(&self, job: &str, token: &str) -> u16 {
        let mut s = TcpStream::connect(self.addr).unwrap();
        write!(
            s,
            "GET /ws/progress?jobId={job}&token={token} HTTP/1.1\r\nHost: localhost\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
    }

    fn url(&self, job: &str, token: &str) -> String {
        format!("ws://{}/ws/progress?jobId={job}&token={token}", self.addr)
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A tokio-tungstenite client socket for `job`, its `ready` message read.
async fn open(serve: &Serve, job: &str, token: &str) -> Ws {
    let tcp = tokio::net::TcpStream::connect(serve.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(serve.url(job, token), tcp)
        .await
        .unwrap();
    let ready = ws.next().await.unwrap().unwrap();
    assert!(ready.to_text().unwrap().contains("ready"), "{ready:?}");
    ws
}

/// The code of the close the server sends next (skipping data messages).
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn two_serves_with_the_same_seed_issue_different_tokens() {
    let (a, b) = (Serve::start("seed-a", &[]), Serve::start("seed-b", &[]));
    let (ta, _) = a.post("job-1");
    let (tb, _) = b.post("job-1");
    assert_ne!(ta, tb);
    assert_eq!(ta.len(), 32, "{ta}");
    assert_eq!(b.upgrade_status("job-1", &ta), 401);
}

#[test]
fn job_05_and_job_5_are_different_jobs() {
    use handshake_sim::internal::wire::api::job_key;
    assert_ne!(job_key("job-05"), job_key("job-5"));
    assert_eq!(job_key("job-5"), 5);
    let serve = Serve::start("job05", &[]);
    let (t5, _) = serve.post("job-5");
    let (t05, _) = serve.post("job-05");
    assert_ne!(t5, t05);
    assert_eq!(serve.upgrade_status("job-05", &t5), 401);
    assert_eq!(serve.upgrade_status("job-05", &t05), 101);
}

/// A refresh that arrives while an upgrade's handshake runs waits for it: the check, the pair
/// (1.5 s of CPU here) and the accept are one synchronous stretch in workerd, which no other
/// event of the object enters. So the upgrade that checked the old token gets its 101 (the
/// token held when it was checked), and every upgrade after the refresh with the old token
/// gets 401. (Before issue 23 the refresh ran during the pair and the upgrade got 401: an
/// interleaving workerd never makes.)
#[test]
fn a_token_refreshed_during_a_handshake_waits_for_it_and_then_the_old_token_is_refused() {
    let serve = Serve::start("refresh", &["object.pair_ms={ constant = 1500 }"]);
    let (old, _) = serve.post("job-1");
    let (status, fresh) = std::thread::scope(|s| {
        let upgrade = s.spawn(|| serve.upgrade_status("job-1", &old));
        std::thread::sleep(Duration::from_millis(300));
        let refresh = s.spawn(|| {
            let started = std::time::Instant::now();
            let (fresh, _) = serve.post("job-1");
            (fresh, started.elapsed())
        });
        let status = upgrade.join().unwrap();
        let (fresh, waited) = refresh.join().unwrap();
        assert!(
            waited >= Duration::from_millis(900),
            "the refresh waited for the handshake's stretch: {waited:?}"
        );
        (status, fresh)
    });
    assert_eq!(
        status, 101,
        "checked before the refresh, with the token then held"
    );
    assert_eq!(serve.upgrade_status("job-1", &old), 401);
    assert_eq!(serve.upgrade_status("job-1", &fresh), 101);
}

#[test]
fn expires_at_ms_is_epoch_milliseconds() {
    let serve = Serve::start("epoch", &[]);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let (_, expires_at_ms) = serve.post("job-1");
    assert!(expires_at_ms > now_ms, "{expires_at_ms} vs now {now_ms}");
}

#[test]
fn a_clients_close_is_echoed_with_1000_and_a_message_too_big_gets_1009() {
    let serve = Serve::start("close", &[]);
    let (t1, _) = serve.post("job-1");
    let (t2, _) = serve.post("job-2");
    block_on(async {
        let mut ws = open(&serve, "job-1", &t1).await;
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        ws.close(Some(normal)).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(CloseCode::Normal));
        let mut ws = open(&serve, "job-2", &t2).await;
        ws.send(Message::text("x".repeat(100 * 1024)))
            .await
            .unwrap();
        assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
    });
}

#[test]
fn serve_closes_with_1000_after_the_complete_message() {
    // README: the object closes with 1000 at the job's end. Before: the socket stayed open
    // until the client closed it.
    let serve = Serve::start("complete", &["enrichment.book_ms={ constant = 20 }"]);
    let (token, _) = serve.post("job-1");
    block_on(async {
        let mut ws = open(&serve, "job-1", &token).await;
        let mut texts = Vec::new();
        let code = loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => texts.push(t.to_string()),
                Ok(Some(Ok(Message::Close(f)))) => break f.map(|f| f.code),
                other => panic!("no close after complete: {other:?} after {texts:?}"),
            }
        };
        assert!(texts.last().unwrap().contains("complete"), "{texts:?}");
        assert_eq!(code, Some(CloseCode::Normal));
    });
}

#[test]
fn sigterm_stops_serve_and_open_sockets_get_1001() {
    let mut serve = Serve::start("sigterm", &[]);
    let (token, _) = serve.post("job-1");
    block_on(async {
        let mut ws = open(&serve, "job-1", &token).await;
        let pid = serve.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        assert_eq!(close_code(&mut ws).await, Some(CloseCode::Away));
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_protocol_error_gets_1002() {
    let serve = Serve::start("protocol", &[]);
    let (token, _) = serve.post("job-1");
    let mut s = TcpStream::connect(serve.addr).unwrap();
    write!(
        s,
        "GET /ws/progress?jobId=job-1&token={token} HTTP/1.1\r\nHost: localhost\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    // An unmasked frame from a client is a protocol error.
    s.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut frames = &bytes[head_end..];
    // Frames from the server: unmasked, short (ready, then the close).
    while frames.len() >= 2 && frames[0] & 0x0f != 0x8 {
        let len = (frames[1] & 0x7f) as usize;
        frames = &frames[2 + len..];
    }
    assert!(frames.len() >= 4, "no close frame: {bytes:?}");
    assert_eq!(u16::from_be_bytes([frames[2], frames[3]]), 1002);
}
