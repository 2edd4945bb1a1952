//! Durable objects: one per job, all on one host. The registry and each object's state live
//! here; the rest is split by job: `lifecycle` (activation, cold starts, hibernation and
//! eviction, restarts and crashes, the input gate), `token` (issuing, storing and checking
//! the job's token), `routes` (the HTTP service: the batch POST and the status poll),
//! `upgrade` (the progress upgrade: its checks, the handshake and its timing log),
//! `socket` (the object's end of an accepted progress socket), `storage` (get and put on the
//! object's store with their latency, gates and faults; the handshake's `Backing`),
//! `enrichment` (the job's progress events), and `retention` (which objects a live host
//! forgets, and when).

mod enrichment;
mod lifecycle;
mod retention;
pub(crate) mod revoke;
mod routes;
mod session;
mod socket;
mod storage;
#[cfg(test)]
mod tests;
mod token;
mod upgrade;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use tokio::sync::RwLock;

use super::storage::{Store, Stored, AUTH_TOKEN, AUTH_TOKEN_EXPIRATION};
use super::Env;
use crate::wire::api::{self, ServerMsg};

pub(super) use routes::route;
pub(crate) use routes::serve_objects_conn;
pub(super) use upgrade::{canceled, Handover};

/// Most objects one simulated host keeps (one per job posted; a run has at most 100,000
/// jobs). A live host keeps `Bounds::jobs_max` and forgets idle ones (`retention`).
pub(crate) const OBJECTS_MAX: usize = 2_000_000;

/// Every object of the run, by job id.
pub(crate) struct Objects {
    pub(crate) env: Env,
    objects: RefCell<BTreeMap<String, Rc<Object>>>,
}

impl Objects {
    pub(crate) fn new(env: Env) -> Rc<Self> {
        Rc::new(Objects {
            env,
            objects: RefCell::new(BTreeMap::new()),
        })
    }

    /// Stores a token for `id` as a finished POST would have, with the object active, its
    /// cache warm and its job complete (the `upgrade` benchmark starts from there).
    pub(crate) fn preload(&self, id: &str, token: &str, expires_at_ms: u64) {
        let object = self
            .get(id)
            .expect("preloading stays under the object limit");
        let mut st = object.state.borrow_mut();
        st.store.preload(&[
            (AUTH_TOKEN, Stored::Text(token.to_string())),
            (AUTH_TOKEN_EXPIRATION, Stored::Ms(expires_at_ms)),
        ]);
        st.active = true;
        st.posted = true;
        st.tokens_issued = 1;
        st.done = true;
    }

    /// Writes what each kept object cost into its job's record, at the run's end (the
    /// simulation: a live host keeps no records).
    pub(crate) fn record_costs(&self) {
        let now_ms = self.env.clock.now_ms();
        let mut rec = self.env.recorder.borrow_mut();
        for o in self.objects.borrow().values() {
            let (ops, wall_ms) = o.costs(&self.env, now_ms);
            // A session's object keys as its first job: both objects' costs are that job's.
            let r = rec.job(o.job);
            r.storage_ops = r.storage_ops.saturating_add(ops);
            r.object_wall_ms += wall_ms;
        }
    }

    /// The object named `id`, created (cold, empty) on first use, as `idFromName` does; the
    /// batch POST's. `None` when the host keeps its most objects and every one is in use.
    fn get(&self, id: &str) -> Option<Rc<Object>> {
        if let Some(o) = self.kept(id) {
            return Some(o);
        }
        if self.objects.borrow().len() >= self.objects_max() && !self.make_room() {
            return None;
        }
        let o = Rc::new(Object::new(id));
        o.touched_ms.set(self.env.clock.now_ms());
        self.objects.borrow_mut().insert(id.to_string(), o.clone());
        Some(o)
    }

    /// The object named `id` for a request that only reads it (the upgrade, the status poll):
    /// the kept one, or else a fresh one that is not kept. A job never posted has nothing to
    /// keep: it answers as an empty object does (after its cold start and storage read), and
    /// leaves nothing behind, however many such requests come.
    fn find(&self, id: &str) -> Rc<Object> {
        self.kept(id).unwrap_or_else(|| Rc::new(Object::new(id)))
    }

    fn kept(&self, id: &str) -> Option<Rc<Object>> {
        let o = self.objects.borrow().get(id).cloned()?;
        o.touched_ms.set(self.env.clock.now_ms());
        Some(o)
    }

    /// Objects the host keeps at most.
    fn objects_max(&self) -> usize {
        self.env.bounds().map_or(OBJECTS_MAX, |b| b.jobs_max)
    }
}

pub struct Object {
    pub(crate) id: String,
    /// Key of the job's random draws.
    pub(crate) job: u64,
    pub(super) state: RefCell<State>,
    /// Serialises activation: concurrent first events share one cold start.
    activation: tokio::sync::Mutex<()>,
    /// The input gate: storage reads hold it shared, event delivery waits for it.
    gate: RwLock<()>,
    /// An event's synchronous stretch: the handshake holds it shared from its activation to
    /// the socket made the job's, event delivery waits for it (`Object::deliver_in_turn`).
    /// JavaScript runs the code after an awaited storage read up to its next await with no
    /// turn of the event loop in between, so no other event of the object can run there.
    turn: RwLock<()>,
    /// When the host last saw the object in use (a lookup, or held by a task at a sweep).
    touched_ms: Cell<u64>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) store: Store,
    /// The token as `setAuthToken` left it in memory (`memory-cache` variant).
    memory_token: Option<(String, u64)>,
    /// When the job's token was revoked (`auth.revoke_probability`), if it was.
    pub(super) revoked_at_ms: Option<u64>,
    /// When the current activation began, and the wall time of the activations before it.
    activated_ms: u64,
    billed_ms: u64,
    active: bool,
    activations: u64,
    events_in_flight: u32,
    last_event_end_ms: u64,
    upgrades: u32,
    pub(super) socket: Option<Socket>,
    pub(super) sockets_opened: u64,
    /// Crashes so far: a handshake or socket that began in another incarnation is gone.
    pub(super) incarnation: u64,
    /// The batch was accepted once; a repeated POST only issues a fresh token.
    posted: bool,
    tokens_issued: u64,
    // The job's progress: kept by the enrichment pipeline (it survives crashes), so a
    // reconnect or a status poll can catch up.
    pub(super) books: u32,
    pub(super) books_done: u32,
    pub(super) done: bool,
    /// A job's: the app session its progress goes to (`session`).
    session: Option<String>,
    /// A session's object: what each of its jobs has done, by job id (`session`).
    session_jobs: Option<BTreeMap<String, session::JobProgress>>,
}

/// The object's open progress socket.
pub(super) struct Socket {
    pub(super) id: u64,
    pub(super) tx: crate::server::queue::Sender<ServerMsg>,
    /// Progress up to this sequence number is already on the socket (replayed at accept).
    pub(super) through_seq: u32,
    pub(super) complete_sent: bool,
    /// A session's socket: what it carried of each job (empty on a job's).
    jobs: BTreeMap<String, session::Carried>,
}

impl Object {
    fn new(id: &str) -> Self {
        Object {
            id: id.to_string(),
            job: api::job_key(id),
            state: RefCell::new(State::default()),
            activation: tokio::sync::Mutex::new(()),
            gate: RwLock::new(()),
            turn: RwLock::new(()),
            touched_ms: Cell::new(0),
        }
    }

    /// Crashes so far; memory filled by an operation issued in an earlier incarnation is
    /// not kept.
    pub(crate) fn incarnation(&self) -> u64 {
        self.state.borrow().incarnation
    }
}
