//! `serve`: the simulated Worker and Durable Objects on real sockets and real time.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::LocalBoxFuture;
use tokio::net::{TcpListener, TcpStream};

use super::accept::{accept_loop, Accept};
use super::limits::Limits;
use super::LiveError;
use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::Recorder;
use crate::scenario::Scenario;
use crate::server::{self, Bounds, Dial, Env, Live, Objects, Upstream, Variant, Worker};
use crate::wire::IoObject;
use rand::rngs::OsRng;
use rand::TryRngCore;

/// A bound live server: the worker on the listen address, the objects on an ephemeral
/// loopback port behind it.
pub struct Server {
    worker_listener: TcpListener,
    objects_listener: TcpListener,
    objects_addr: SocketAddr,
    scenario: Rc<Scenario>,
    variant: Variant,
    seed: u64,
    limits: Limits,
}

struct TcpDial(SocketAddr);

impl Dial for TcpDial {
    fn dial(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>> {
        let addr = self.0;
        Box::pin(async move {
            let s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            Ok(Box::new(s) as Box<dyn IoObject>)
        })
    }
}

impl Server {
    /// Binds the listeners, with the default limits. Must be called inside a tokio runtime.
    pub async fn bind(
        scenario: &Scenario,
        variant: Variant,
        seed: u64,
        listen: SocketAddr,
    ) -> Result<Server, LiveError> {
        let io_err = |context: String| move |source| LiveError::Io { context, source };
        let worker_listener = TcpListener::bind(listen)
            .await
            .map_err(io_err(format!("listening on {listen}")))?;
        let objects_listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(io_err("listening for the object host".into()))?;
        let objects_addr = objects_listener
            .local_addr()
            .map_err(io_err("object host address".into()))?;
        Ok(Server {
            worker_listener,
            objects_listener,
            objects_addr,
            scenario: Rc::new(scenario.clone()),
            variant,
            seed,
            limits: Limits::defaults(super::fd_limit()),
        })
    }

    /// The server with `limits` instead of the defaults under the descriptor limit.
    pub fn with_limits(self, limits: Limits) -> Server {
        Server { limits, ..self }
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.worker_listener.local_addr()
    }

    /// Serves until `shutdown` completes. Must run inside a `LocalSet`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), LiveError> {
        let clock = Clock::live_from_now();
        let epoch_start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let (going_away, shutdown_rx) = tokio::sync::watch::channel(false);
        // Counters only: a live server keeps no per-job records (any client names any job).
        let recorder = Rc::new(RefCell::new(Recorder::discarding_jobs()));
        let l = self.limits;
        let bounds = Bounds {
            header_timeout: l.header_timeout,
            idle_timeout: l.idle_timeout,
            jobs_max: l.jobs_max,
            job_retention_ms: l.job_retention.as_millis() as u64,
            pool_max: l.pool_max(),
        };
        let kv = crate::server::kv_namespace(&self.scenario, Some(&bounds));
        let edge_secret: std::rc::Rc<str> = os_token().into();
        let env = || Env {
            kv: kv.clone(),
            edge_secret: edge_secret.clone(),
            scenario: self.scenario.clone(),
            draws: Draws::new(self.seed, self.scenario.scenario.tick_ms),
            clock,
            variant: self.variant.clone(),
            recorder: recorder.clone(),
            live: Some(Live {
                token: os_token,
                epoch_start_ms,
                shutdown: shutdown_rx.clone(),
                bounds,
            }),
        };
        let objects = Objects::new(env());
        let upstream = Upstream::Connect(Box::new(TcpDial(self.objects_addr)));
        let worker = Worker::new(env(), upstream);
        let objects_loop = accept_loop(
            &self.objects_listener,
            Accept {
                what: "object host",
                connections_max: l.object_connections_max(),
                stall_limit: l.idle_timeout,
            },
            |s| {
                tokio::task::spawn_local(server::serve_objects_conn(s, objects.clone()));
            },
        );
        let worker_loop = accept_loop(
            &self.worker_listener,
            Accept {
                what: "worker",
                connections_max: l.connections_max,
                stall_limit: l.idle_timeout,
            },
            |s| {
                tokio::task::spawn_local(server::serve_worker_conn(s, worker.clone()));
            },
        );
        tokio::select! {
            _ = objects_loop => {}
            _ = worker_loop => {}
            _ = sweep_every_second(&objects) => {}
            _ = shutdown => {}
        }
        // Open sockets close with 1001 (going away); wait a little for their close frames to
        // cross the worker.
        let _ = going_away.send(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while recorder.borrow().sockets_open() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    }
}

/// Forgets, once a second, the objects whose retention has passed (see `server::object`'s
/// `retention`): finished jobs leave without waiting for the next POST at the limit.
async fn sweep_every_second(objects: &Objects) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        objects.sweep();
    }
}

/// Longest a shutdown waits for open sockets to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A fresh 128-bit token from OS randomness, as 32 hex digits.
fn os_token() -> String {
    let mut bytes = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS gives randomness");
    format!("{:032x}", u128::from_be_bytes(bytes))
}
