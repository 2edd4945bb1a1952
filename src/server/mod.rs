//! The simulated Cloudflare side: the worker relay, the durable objects with their storage
//! and lifecycle, and the handshake variants. Generic over the byte stream, so the same code
//! runs on the simulation's in-process pipes and on real sockets.

mod auth;
mod object;
mod socket;
mod storage;
pub mod variant;
mod worker;

use std::cell::RefCell;
use std::rc::Rc;

use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::Recorder;
use crate::scenario::Scenario;

pub use object::Object;
pub(crate) use object::{serve_objects_conn, Objects};
pub use storage::StorageFailed;
pub use variant::Variant;
pub(crate) use worker::{serve_worker_conn, Dial, Worker};

/// What every server component of a run shares.
pub struct Env {
    pub(crate) scenario: Rc<Scenario>,
    pub(crate) draws: Draws,
    pub(crate) clock: Clock,
    pub(crate) variant: &'static dyn Variant,
    pub(crate) recorder: Rc<RefCell<Recorder>>,
}
