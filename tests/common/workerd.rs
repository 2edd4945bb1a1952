//! The real runtime: the reference Worker (`worker/`) and the model-fact checks
//! (`worker/test/facts.js`) in workerd, installed from npm (`worker/package-lock.json`).
//!
//! Without workerd (`worker/node_modules/.bin/workerd` missing and `npm ci` impossible: no node
//! or npm, no registry) each test prints `skipped: …` to stderr and returns, unless
//! `HANDSHAKE_SIM_REQUIRE_WORKERD=1` (CI sets it), when it fails.
//!
//! Every workerd listens on `127.0.0.1:0` and reports its ports on its control descriptor
//! (`--control-fd`); its objects live in a fresh temporary directory; the process is killed
//! when its [`Workerd`] is dropped (also on a panic).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest workerd may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

fn worker_dir() -> PathBuf {
    super::root().join("worker")
}

/// The workerd binary, installing it with `npm ci` once per test process if needed; `Err`
/// says why there is none.
fn binary() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let bin = worker_dir().join("node_modules/.bin/workerd");
            if !bin.exists() {
                super::npm::ci(&worker_dir())?;
            }
            if bin.exists() {
                Ok(bin)
            } else {
                Err(format!("{} missing after npm ci", bin.display()))
            }
        })
        .clone()
}

/// Whether the tests must have workerd (CI) rather than skip without it.
fn required() -> bool {
    std::env::var("HANDSHAKE_SIM_REQUIRE_WORKERD").is_ok_and(|v| v == "1")
}

/// Held by the tests whose load would disturb another's timings (the probe comparison): one
/// at a time. A panic in one does not stop the others.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The value of `HANDSHAKE_SIM_LATENCY` for `scenario` and `seed`: what `handshake-sim
/// dev-latency` writes, which the scenario-latency module reads.
pub fn latency(scenario: &handshake_sim::Scenario, seed: u64) -> String {
    handshake_sim::internal::report::dev_latency::config(scenario, seed).unwrap()
}

/// A running workerd: its ports by socket name and what it printed.
pub struct Workerd {
    child: Child,
    ports: BTreeMap<String, u16>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    state_dir: PathBuf,
}

/// Settings of a workerd run: the config file (relative to `worker/`) and the constant in it,
/// its sockets, the directory services to point at a fresh temporary directory, the
/// environment, extra flags.
pub struct Config<'a> {
    pub file: &'a str,
    pub constant: &'a str,
    pub sockets: &'a [&'a str],
    pub state_dirs: &'a [&'a str],
    pub env: &'a [(&'a str, &'a str)],
    pub args: &'a [String],
}

impl Workerd {
    /// The reference Worker with `variant` and other settings (`BOOK_MS`,
    /// `HANDSHAKE_SIM_LATENCY` from [`latency`], …), or `None` (after `skipped: …` on stderr)
    /// without workerd.
    pub fn start(variant: &str, vars: &[(&str, &str)]) -> Option<Workerd> {
        let mut env = vec![("VARIANT", variant)];
        env.extend_from_slice(vars);
        Workerd::start_config(&Config {
            file: "config.capnp",
            constant: "config",
            sockets: &["http"],
            state_dirs: &[],
            env: &env,
            args: &[],
        })
    }

    pub fn start_config(config: &Config) -> Option<Workerd> {
        let bin = Workerd::binary_or_skip()?;
        Some(Workerd::spawn(&bin, config))
    }

    /// The workerd binary; `None` when the test skips (said on stderr), which a test can ask
    /// before it prepares anything.
    pub fn binary_or_skip() -> Option<PathBuf> {
        match binary() {
            Ok(bin) => Some(bin),
            Err(why) if required() => panic!("HANDSHAKE_SIM_REQUIRE_WORKERD=1 but: {why}"),
            Err(why) => {
                // Straight to the process's stderr: libtest captures eprintln! of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: no workerd ({why}); run `npm ci` in worker/"
                );
                None
            }
        }
    }

    fn spawn(bin: &Path, config: &Config) -> Workerd {
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state_dir = std::env::temp_dir().join(format!("hs-workerd-{}-{n}", std::process::id()));
        let mut c = Command::new(bin);
        c.arg("serve").arg(config.file).arg(config.constant);
        c.current_dir(worker_dir());
        c.args(["--control-fd", "1"]);
        for socket in config.sockets {
            c.args(["--socket-addr", &format!("{socket}=127.0.0.1:0")]);
        }
        for name in config.state_dirs {
            let dir = state_dir.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            c.args(["-d", &format!("{name}={}", dir.display())]);
        }
        c.args(config.args);
        // Only the settings given: an inherited VARIANT must not leak into a test.
        for key in [
            "VARIANT",
            "BOOK_MS",
            "TOKEN_TTL_MS",
            "JOB_RETENTION_MS",
            "MAX_JOBS",
            "HANDSHAKE_SIM_LATENCY",
        ] {
            c.env_remove(key);
        }
        c.envs(config.env.iter().copied());
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        collect(child.stdout.take().unwrap(), stdout.clone(), Some(port_tx));
        collect(child.stderr.take().unwrap(), stderr.clone(), None);
        let mut w = Workerd {
            child,
            ports: BTreeMap::new(),
            stdout,
            stderr,
            state_dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while w.ports.len() < config.sockets.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match port_rx.recv_timeout(left) {
                Ok((socket, port)) => {
                    w.ports.insert(socket, port);
                }
                Err(_) => panic!(
                    "workerd did not listen within {START_TIMEOUT:?}; stderr:\n{}",
                    w.stderr()
                ),
            }
        }
        w
    }

    /// `http://127.0.0.1:PORT` of the first socket.
    pub fn url(&self) -> String {
        let port = self.ports.values().next().expect("at least one socket");
        format!("http://127.0.0.1:{port}")
    }

    /// The port of socket `name`.
    pub fn port(&self, name: &str) -> u16 {
        self.ports[name]
    }

    /// What the Worker logged (console.log) so far.
    pub fn log(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// Reads `from` line by line into `into` on a thread; the control messages
/// (`{"event":"listen","socket":…,"port":…}`) go to `ports` instead.
fn collect(
    from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
    ports: Option<std::sync::mpsc::Sender<(String, u16)>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &ports {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["event"] == "listen" {
                        let socket = v["socket"].as_str().unwrap_or("").to_string();
                        let port = v["port"].as_u64().unwrap_or(0) as u16;
                        let _ = tx.send((socket, port));
                        continue;
                    }
                }
            }
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

/// One HTTP/1.1 request on its own connection to `port`: the status, the head and the body.
pub fn http(port: u16, raw_head: &str, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{raw_head}\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_string(), body.to_string())
}

/// `GET path` on `port`: the status and the body parsed as JSON.
pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let (status, _, body) = http(port, &format!("GET {path} HTTP/1.1"), "");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}
