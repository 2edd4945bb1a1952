//! Hostile clients against `handshake-sim serve` on a free loopback port, with the server's
//! CPU, RSS, open descriptors and log growth sampled from /proc (Linux). One phase per run:
//!
//!   cargo run --release --example soak_serve -- BIN PHASE [-- SERVE_FLAGS…]
//!
//! `BIN` is a `handshake-sim` binary (the soak passes it only flags every version knows, plus
//! any after `--`); `PHASE` is one of
//!   fd         1,100 idle connections against a descriptor limit of 1,024, held 15 s
//!   fd-reconnect  the same, each connection the server drops opened again within 200 ms
//!   slowloris  1,000 connections sending one header byte a second, for 15 s
//!   posts      100,000 batch POSTs (distinct job ids), 32 keep-alive connections
//!   status     100,000 status polls for unknown jobs
//!   invalid    100,000 status polls and upgrades with malformed job ids
//! During `fd` and `slowloris` a valid client keeps trying one job (POST, socket, `complete`);
//! after every phase the server gets SIGTERM. Prints one line of `key=value` figures.
//! `scripts/soak-serve` runs every phase against two binaries.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::{self, Message};

// The harness of the `serve` tests, and their scenario (`tests/serve.toml`: small real
// latencies, 1 ms books, so jobs finish at once). Not every helper is used here.
#[allow(dead_code)]
#[path = "../tests/it/serve_process.rs"]
mod serve_process;

use serve_process::Serve;

const FLOOD: u64 = 100_000;
const HOLD: Duration = Duration::from_secs(15);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: soak_serve BIN PHASE [-- SERVE_FLAGS...]");
        std::process::exit(2);
    }
    let bin = PathBuf::from(&args[1]);
    let phase = args[2].as_str();
    let extra: Vec<String> = args
        .iter()
        .skip(3)
        .filter(|a| *a != "--")
        .cloned()
        .collect();
    let fd_limit = if phase.starts_with("fd") || phase == "slowloris" {
        1024
    } else {
        4096
    };
    let serve = Serve::start(&bin, phase, fd_limit, &extra);
    let sampler = Sampler::start(serve.child.id());
    let started = Instant::now();
    let detail = match phase {
        "fd" => hold_idle(&serve, 1_100, false),
        "fd-reconnect" => hold_idle(&serve, 1_100, true),
        "slowloris" => slowloris(&serve, 1_000),
        "posts" => flood(&serve, |i| post_request(&format!("soak-{i}"))),
        "status" => flood(&serve, |i| {
            get_request(&format!("/api/enrichment/status?jobId=none-{i}&token=x"))
        }),
        "invalid" => flood(&serve, |i| {
            if i % 2 == 0 {
                get_request(&format!("/api/enrichment/status?jobId=bad.{i}&token=x"))
            } else {
                get_request(&format!("/ws/progress?jobId=bad.{i}&token=x"))
            }
        }),
        _ => {
            eprintln!("unknown phase {phase}");
            std::process::exit(2);
        }
    };
    let wall = started.elapsed();
    // Memory a moment after the load: what the server keeps, not what it used in flight.
    std::thread::sleep(Duration::from_secs(2));
    let figures = sampler.stop();
    let exit = serve.stop();
    println!(
        "phase={phase} wall_s={:.1} cpu_pct={:.0} cpu_pct_peak_1s={:.0} rss_mb_start={:.1} rss_mb_peak={:.1} \
         rss_mb_end={:.1} fds_peak={} log_bytes_per_s={:.0} {detail} exit={exit}",
        wall.as_secs_f64(),
        figures.cpu_pct,
        figures.cpu_pct_peak_1s,
        figures.rss_kb_start as f64 / 1024.0,
        figures.rss_kb_peak as f64 / 1024.0,
        figures.rss_kb_end as f64 / 1024.0,
        figures.fds_peak,
        figures.log_bytes as f64 / figures.wall.as_secs_f64(),
    );
}

impl Serve {
    /// `serve` at `bin` with `extra` flags, under a descriptor limit of `fd_limit`.
    fn start(bin: &Path, phase: &str, fd_limit: u64, extra: &[String]) -> Serve {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Serve::spawn(bin, &format!("soak-{phase}"), Some(fd_limit), &extra)
    }

    /// SIGTERM, then the exit code (`killed` when it had to be killed after 10 s).
    fn stop(mut self) -> String {
        let pid = self.child.id() as i32;
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                let _ = std::fs::remove_file(&self.log);
                return s.code().map_or("signal".into(), |c| c.to_string());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        "killed".into()
    }
}

struct Figures {
    cpu_pct: f64,
    /// The busiest one-second window.
    cpu_pct_peak_1s: f64,
    rss_kb_start: u64,
    rss_kb_peak: u64,
    rss_kb_end: u64,
    fds_peak: usize,
    log_bytes: u64,
    wall: Duration,
}

/// Samples the server every 100 ms until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Figures>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let (ticks0, rss0) = (cpu_ticks(pid), rss_kb(pid));
            let log0 = log_size(pid);
            let (mut peak, mut fds_peak, mut rss_end) = (rss0, 0, rss0);
            // SAFETY: sysconf has no preconditions.
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
            let (mut window_start, mut window_ticks, mut cpu_pct_peak) =
                (Instant::now(), ticks0, 0.0);
            while !flag.load(Ordering::Relaxed) {
                rss_end = rss_kb(pid);
                peak = peak.max(rss_end);
                fds_peak = fds_peak.max(fds(pid));
                std::thread::sleep(Duration::from_millis(100));
                if window_start.elapsed() >= Duration::from_secs(1) {
                    let ticks = cpu_ticks(pid);
                    let pct = ticks.saturating_sub(window_ticks) as f64
                        / hz
                        / window_start.elapsed().as_secs_f64()
                        * 100.0;
                    cpu_pct_peak = f64::max(cpu_pct_peak, pct);
                    (window_start, window_ticks) = (Instant::now(), ticks);
                }
            }
            let wall = t0.elapsed();
            Figures {
                cpu_pct_peak_1s: cpu_pct_peak,
                cpu_pct: cpu_ticks(pid).saturating_sub(ticks0) as f64 / hz / wall.as_secs_f64()
                    * 100.0,
                rss_kb_start: rss0,
                rss_kb_peak: peak,
                rss_kb_end: rss_end,
                fds_peak,
                log_bytes: log_size(pid).saturating_sub(log0),
                wall,
            }
        });
        Sampler { stop, handle }
    }

    fn stop(self) -> Figures {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, s)| s);
    let f: Vec<u64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // utime and stime are fields 14 and 15; `after` starts at field 3 (state, not a number).
    f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0)
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Size of the file the server's stderr goes to.
fn log_size(pid: u32) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/fd/2")).map_or(0, |m| m.len())
}

/// Holds `n` idle connections (with `reconnect`, one the server drops is opened again within
/// 200 ms) while a valid client tries jobs.
fn hold_idle(serve: &Serve, n: usize, reconnect: bool) -> String {
    let stop = Arc::new(AtomicBool::new(false));
    let (opened, dropped) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let holders: Vec<_> = (0..8)
        .map(|_| {
            let (stop, opened, dropped, addr) =
                (stop.clone(), opened.clone(), dropped.clone(), serve.addr);
            std::thread::spawn(move || {
                let mut held: Vec<TcpStream> = Vec::new();
                let mut made = 0;
                while !stop.load(Ordering::Relaxed) {
                    held.retain(|s| {
                        let alive = quiet(s);
                        if !alive {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        alive
                    });
                    while held.len() < n / 8 && (reconnect || made < n / 8) {
                        let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
                        else {
                            break;
                        };
                        s.set_nonblocking(true).unwrap();
                        opened.fetch_add(1, Ordering::Relaxed);
                        made += 1;
                        held.push(s);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let valid = valid_jobs(serve.addr, HOLD - Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for h in holders {
        h.join().unwrap();
    }
    let after = valid_jobs(serve.addr, Duration::from_secs(3));
    format!(
        "idle_opened={} idle_dropped_by_server={} valid_job_during={valid} valid_job_after={after}",
        opened.load(Ordering::Relaxed),
        dropped.load(Ordering::Relaxed)
    )
}

/// Whether a non-blocking connection is still open with nothing from the server (a 503, an
/// end of stream or a reset all mean the server let it go).
fn quiet(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.peek(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// `n` connections each sending one byte of a never-ending header a second.
fn slowloris(serve: &Serve, n: usize) -> String {
    let stop = Arc::new(AtomicBool::new(false));
    let cut = Arc::new(AtomicU64::new(0));
    let mut conns: Vec<TcpStream> = (0..n)
        .filter_map(|_| TcpStream::connect_timeout(&serve.addr, Duration::from_secs(1)).ok())
        .collect();
    let opened = conns.len();
    for c in &mut conns {
        let _ = c.write_all(b"GET /api/enrichment/status HTTP/1.1\r\nX-Slow: ");
        c.set_nonblocking(true).unwrap();
    }
    let writer = {
        let (stop, cut) = (stop.clone(), cut.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                conns.retain_mut(|c| {
                    let alive = quiet(c) && c.write(b"a").is_ok_and(|n| n == 1);
                    if !alive {
                        cut.fetch_add(1, Ordering::Relaxed);
                    }
                    alive
                });
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let valid = valid_jobs(serve.addr, HOLD);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    format!(
        "slow_opened={opened} slow_cut_by_server={} valid_job_during={valid}",
        cut.load(Ordering::Relaxed)
    )
}

/// Valid jobs (POST, socket, `complete`) one after the other for `during`:
/// `ok/tried,first_ok_after_s,last_failure`.
fn valid_jobs(addr: SocketAddr, during: Duration) -> String {
    let t0 = Instant::now();
    let (mut tried, mut ok, mut first_ok, mut why) = (0, 0, None, String::from("none"));
    while t0.elapsed() < during {
        tried += 1;
        match valid_job(addr, &format!("valid-{}-{tried}", std::process::id())) {
            Ok(()) => {
                ok += 1;
                first_ok.get_or_insert(t0.elapsed().as_secs_f64());
            }
            Err(e) => why = e.replace(' ', "_"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let first = first_ok.map_or("never".into(), |s| format!("{s:.1}s"));
    format!("{ok}/{tried},first_ok_after={first},last_failure={why}")
}

fn valid_job(addr: SocketAddr, job: &str) -> Result<(), String> {
    let mut s = connect(addr)?;
    let (status, body) = exchange(&mut s, &post_request(job)).map_err(|e| format!("post:{e}"))?;
    if status != 202 {
        return Err(format!("post:{status}"));
    }
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let token = v["token"].as_str().ok_or("no token")?;
    let url = format!("ws://{addr}/ws/progress?jobId={job}&token={token}");
    let tcp = connect(addr)?;
    let (mut ws, _) = tungstenite::client(url, tcp).map_err(|e| format!("ws:{e}"))?;
    loop {
        match ws.read().map_err(|e| format!("ws:{e}"))? {
            Message::Text(t) if t.contains("complete") => return Ok(()),
            Message::Close(_) => return Err("closed before complete".into()),
            _ => {}
        }
    }
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    Ok(s)
}

fn post_request(job: &str) -> String {
    let body = format!(r#"{{"jobId":"{job}","books":1}}"#);
    format!(
        "POST /api/enrichment/batch HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// One request on a keep-alive connection: the status and the body.
fn exchange(s: &mut TcpStream, request: &str) -> Result<(u16, String), String> {
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut r = BufReader::new(&mut *s);
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| e.to_string())?;
    let status = line
        .get(9..12)
        .and_then(|x| x.parse().ok())
        .ok_or("no status line")?;
    let mut len = 0;
    loop {
        line.clear();
        r.read_line(&mut line).map_err(|e| e.to_string())?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).map_err(|e| e.to_string())?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// `FLOOD` requests over 32 keep-alive connections (reopened on error): the answers by status.
fn flood(serve: &Serve, request: impl Fn(u64) -> String + Sync) -> String {
    let next = AtomicU64::new(0);
    let statuses = Mutex::new(std::collections::BTreeMap::<String, u64>::new());
    std::thread::scope(|sc| {
        for _ in 0..32 {
            sc.spawn(|| {
                let mut conn: Option<TcpStream> = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= FLOOD {
                        break;
                    }
                    let s = match conn.take().map_or_else(|| connect(serve.addr), Ok) {
                        Ok(s) => s,
                        Err(_) => {
                            *statuses
                                .lock()
                                .unwrap()
                                .entry("connect_error".into())
                                .or_default() += 1;
                            continue;
                        }
                    };
                    let mut s = s;
                    let key = match exchange(&mut s, &request(i)) {
                        Ok((status, _)) => {
                            conn = Some(s);
                            status.to_string()
                        }
                        Err(_) => "io_error".into(),
                    };
                    *statuses.lock().unwrap().entry(key).or_default() += 1;
                }
            });
        }
    });
    let statuses = statuses.into_inner().unwrap();
    let list: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("requests={FLOOD} answers={}", list.join(","))
}
