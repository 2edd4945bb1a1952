//! Helpers shared by the test binaries: `it` (everything that does not time real sockets) and
//! `timing` (the comparisons of real-time measurements with the simulation, alone on the
//! machine: cargo runs test binaries one after another).

use std::net::SocketAddr;

use handshake_sim::internal::live::Server;
use handshake_sim::internal::server::variant::Variant;

pub mod npm;
pub mod workerd;

use handshake_sim::internal::report::Report;
use handshake_sim::internal::scenario::{parse_override, Scenario};
use handshake_sim::internal::sim::RunOutput;

/// The repository's root, where `sims/` lives.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The arguments of the smallest sweep that writes every file of one (two points of ten jobs),
/// for tests of its outputs: followed by `--out DIR` and any more.
pub const SMALL_SWEEP: [&str; 6] = [
    "sweep",
    "sims/issue407.toml",
    "--jobs",
    "10",
    "--param",
    "client.retries=0,1",
];

/// Runs the binary in the repository's root: (exit code, stdout, stderr). `threads` sets
/// RAYON_NUM_THREADS.
pub fn exec(args: &[&str], threads: Option<&str>) -> (i32, String, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_handshake-sim"));
    c.args(args).current_dir(root());
    if let Some(t) = threads {
        c.env("RAYON_NUM_THREADS", t);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Loads a bundled scenario with `key=value` overrides.
pub fn load(name: &str, sets: &[&str]) -> Scenario {
    let overrides: Vec<_> = sets.iter().map(|s| parse_override(s).unwrap()).collect();
    Scenario::load(&root().join("sims").join(name), &overrides).unwrap()
}

/// Parses scenario text (with the defaults for every key it leaves out).
pub fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str("<test>", text, &[]).unwrap()
}

/// Runs the scenario's variants over `seeds` and summarises them.
pub fn report(s: &Scenario, seeds: &[u64]) -> (Report, Vec<RunOutput>) {
    handshake_sim::internal::pipeline::run(s, &s.scenario.variants, seeds).unwrap()
}

/// Runs `f` on a current-thread runtime with a `LocalSet` (the live code spawns local tasks).
pub fn local<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, f)
}

/// `serve` on an ephemeral loopback port, on its own thread (its own runtime, as the CLI has).
pub struct Served {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Served {
    pub fn start(s: &Scenario, v: Variant, seed: u64) -> Served {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let scenario = s.clone();
        let thread = std::thread::spawn(move || {
            local(async move {
                let server = Server::bind(&scenario, v, seed, "127.0.0.1:0".parse().unwrap())
                    .await
                    .unwrap();
                addr_tx.send(server.local_addr().unwrap()).unwrap();
                server
                    .run(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            })
        });
        let addr = addr_rx.recv().unwrap();
        Served { addr, stop, thread }
    }

    pub fn stop(self) {
        self.stop.send(()).unwrap();
        self.thread.join().unwrap();
    }
}
