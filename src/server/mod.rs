//! The simulated Cloudflare side: the worker relay, the durable objects with their storage
//! and lifecycle, and the handshake variants. Generic over the byte stream, so the same code
//! runs on the simulation's in-process pipes and on real sockets.

mod auth;
mod edge;
mod kv;
mod network;
mod object;
mod queue;
mod recent;
mod storage;
pub mod variant;
mod worker;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::Recorder;
use crate::scenario::Scenario;

pub use object::Object;
pub(crate) use object::{serve_objects_conn, Objects};
pub use storage::StorageFailed;
pub use variant::Variant;
pub(crate) use worker::{serve_worker_conn, Dial, Upstream, Worker};

/// What every server component of a run shares.
pub struct Env {
    pub(crate) scenario: Rc<Scenario>,
    pub(crate) draws: Draws,
    pub(crate) clock: Clock,
    pub(crate) variant: Variant,
    pub(crate) recorder: Rc<RefCell<Recorder>>,
    /// What a live server does differently; `None` in the simulation.
    pub(crate) live: Option<Live>,
    /// The run's Workers KV namespace, the worker's and the objects' (one for both).
    pub(crate) kv: Rc<kv::Kv>,
    /// The value by which the worker tells the objects the edge accepted a token
    /// (`edge::EDGE_VERIFIED`): shared by the two only; live, from OS randomness, so that no
    /// one who reaches the object host directly can claim it.
    pub(crate) edge_secret: Rc<str>,
}

/// The simulation's edge secret: its objects are reached only through its worker.
pub(crate) const SIM_EDGE_SECRET: &str = "simulation";

/// A run's Workers KV namespace, as its scenario's `[kv]` says (live: as many jobs as the
/// host keeps objects for, twice over, as the network's counters).
pub(crate) fn kv_namespace(scenario: &Scenario, bounds: Option<&Bounds>) -> Rc<kv::Kv> {
    let k = &scenario.kv;
    Rc::new(kv::Kv::new(
        k.cache_ttl_ms,
        k.expiration_ttl_ms,
        bounds.map(|b| 2 * b.jobs_max.max(1)),
    ))
}

/// A live server's differences from the simulation, supplied by `live` (the server itself
/// reads neither OS randomness nor the wall clock).
#[derive(Clone)]
pub(crate) struct Live {
    /// A fresh token from OS randomness (the simulation draws its tokens from the seed).
    pub(crate) token: fn() -> String,
    /// Epoch milliseconds at the clock's start: `expiresAtMs` is sent as epoch milliseconds.
    pub(crate) epoch_start_ms: u64,
    /// Turns true on shutdown: open sockets close with 1001 (going away).
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
    pub(crate) bounds: Bounds,
}

/// What a live server holds at most and how long it waits for a peer (the simulation has
/// neither: its clients are the model's, its time simulated, its jobs counted).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// A request's head, and then its body, must arrive within this long.
    pub(crate) header_timeout: Duration,
    /// A progress socket with no frame either way for this long is closed.
    pub(crate) idle_timeout: Duration,
    /// Objects the host keeps; past it, idle ones are forgotten, least recently used first.
    pub(crate) jobs_max: usize,
    /// An idle object whose token is still valid is kept at most this long.
    pub(crate) job_retention_ms: u64,
    /// Idle keep-alive connections the worker keeps to the object host.
    pub(crate) pool_max: usize,
}

impl Env {
    /// An expiry on the run's clock as the API sends it: epoch milliseconds in live mode,
    /// the simulated clock's milliseconds in the simulation.
    pub(crate) fn api_ms(&self, ms: u64) -> u64 {
        self.live.as_ref().map_or(ms, |l| l.epoch_start_ms + ms)
    }

    /// An expiry as the API sent it, back on the run's clock (the inverse of `api_ms`).
    pub(crate) fn sim_ms(&self, api_ms: u64) -> u64 {
        self.live
            .as_ref()
            .map_or(api_ms, |l| api_ms.saturating_sub(l.epoch_start_ms))
    }

    /// The live server's bounds; `None` in the simulation.
    pub(crate) fn bounds(&self) -> Option<&Bounds> {
        self.live.as_ref().map(|l| &l.bounds)
    }

    /// Completes when a live server shuts down; never in the simulation.
    pub(crate) async fn shutting_down(&self) {
        match &self.live {
            Some(l) => {
                let mut rx = l.shutdown.clone();
                if rx.wait_for(|down| *down).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }
}
