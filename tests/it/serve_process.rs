//! A `serve` process on a free loopback port (`127.0.0.1:0`, the port read from its banner),
//! shared by the `serve` tests and `examples/soak_serve.rs` (which includes this file): the
//! scenario of `tests/serve.toml`, seed 1, the sequential variant, stderr in a log file, and
//! optionally a lowered descriptor limit. Killed when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The scenario every harnessed `serve` runs (small latencies, 1 ms books).
pub(crate) const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/serve.toml");

pub(crate) struct Serve {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
    _stdout: std::thread::JoinHandle<()>,
}

impl Serve {
    /// `bin serve` of [`SCENARIO`] with `args`, its log named after `tag`, under a descriptor
    /// limit of `fd_limit` when given.
    pub(crate) fn spawn(bin: &Path, tag: &str, fd_limit: Option<u64>, args: &[&str]) -> Serve {
        Serve::spawn_scenario(bin, SCENARIO.as_ref(), tag, fd_limit, args)
    }

    /// [`Serve::spawn`] of another scenario file.
    pub(crate) fn spawn_scenario(
        bin: &Path,
        scenario: &Path,
        tag: &str,
        fd_limit: Option<u64>,
        args: &[&str],
    ) -> Serve {
        let log = std::env::temp_dir().join(format!("hs-serve-{}-{tag}.log", std::process::id()));
        let mut c = Command::new(bin);
        c.arg("serve")
            .arg(scenario)
            .args(["--listen", "127.0.0.1:0"]);
        // `--variant` in `args` replaces sequential (one variant per server).
        let variant = args
            .iter()
            .position(|a| *a == "--variant")
            .and_then(|i| args.get(i + 1))
            .copied()
            .unwrap_or("sequential");
        let args: Vec<&str> = match args.iter().position(|a| *a == "--variant") {
            Some(i) => args[..i].iter().chain(&args[i + 2..]).copied().collect(),
            None => args.to_vec(),
        };
        c.args(["--seed", "1", "--variant", variant]).args(&args);
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
        let mut child = c.spawn().expect("start serve");
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

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One request on its own connection: the status and the body (`None`: the connection
    /// closed or failed without an answer).
    pub(crate) fn try_http(&self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
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
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
