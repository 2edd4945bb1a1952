//! Durable objects: one per job, all on one host. Lifecycle (cold start on activation,
//! hibernation and eviction after idle, restarts), the input gate, and the HTTP service that
//! answers the batch POST and the progress upgrade.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot, RwLock, RwLockReadGuard};

use super::api::{self, BatchAccepted, BatchRequest, ServerMsg};
use super::auth;
use super::storage::{Store, Stored, AUTH_TOKEN, AUTH_TOKEN_EXPIRATION};
use super::variant::TokenRead;
use super::StorageFailed;
use super::{Env, Io};
use crate::draw::Purpose;
use crate::record::fault;

/// Most objects one host keeps (one per job id seen).
pub const OBJECTS_MAX: usize = 2_000_000;

/// Every object of the run, by job id.
pub struct Objects {
    pub env: Env,
    objects: RefCell<BTreeMap<String, Rc<Object>>>,
}

impl Objects {
    pub fn new(env: Env) -> Rc<Self> {
        Rc::new(Objects {
            env,
            objects: RefCell::new(BTreeMap::new()),
        })
    }

    /// Stores a token for `id` as a finished POST would have, with the object active, its
    /// cache warm and its job complete (the `upgrade` benchmark starts from there).
    pub fn preload(&self, id: &str, token: &str, expires_at_ms: u64) {
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

    /// The object named `id`, created (cold, empty) on first use, as `idFromName` does.
    fn get(&self, id: &str) -> Option<Rc<Object>> {
        let mut objects = self.objects.borrow_mut();
        if let Some(o) = objects.get(id) {
            return Some(o.clone());
        }
        if objects.len() >= OBJECTS_MAX {
            return None;
        }
        let o = Rc::new(Object::new(id));
        objects.insert(id.to_string(), o.clone());
        Some(o)
    }
}

pub struct Object {
    pub id: String,
    /// Key of the job's random draws.
    pub job: u64,
    pub(super) state: RefCell<State>,
    /// Serialises activation: concurrent first events share one cold start.
    activation: tokio::sync::Mutex<()>,
    /// The input gate: storage operations hold it shared, event delivery waits for it.
    gate: RwLock<()>,
}

#[derive(Default)]
pub(super) struct State {
    pub store: Store,
    /// The token as `setAuthToken` left it in memory (`memory-cache` variant).
    pub memory_token: Option<(String, u64)>,
    active: bool,
    activations: u64,
    events_in_flight: u32,
    last_event_end_ms: u64,
    upgrades: u32,
    pub socket: Option<Socket>,
    pub sockets_opened: u64,
    /// Crashes so far: a handshake or socket that began in another incarnation is gone.
    pub incarnation: u64,
    /// The batch was accepted once; a repeated POST only issues a fresh token.
    posted: bool,
    tokens_issued: u64,
    // The job's progress: kept by the enrichment pipeline (it survives crashes), so a
    // reconnect or a status poll can catch up.
    pub books: u32,
    pub books_done: u32,
    pub done: bool,
}

/// The object's open progress socket.
pub(super) struct Socket {
    pub id: u64,
    pub tx: mpsc::Sender<ServerMsg>,
    /// Progress up to this sequence number is already on the socket (replayed at accept).
    pub through_seq: u32,
    pub complete_sent: bool,
}

/// Holds an event "in flight" for the idle clock; dropping it ends the event.
struct EventGuard<'a> {
    object: &'a Object,
    env: &'a Env,
}

impl Drop for EventGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.object.state.borrow_mut();
        st.events_in_flight -= 1;
        st.last_event_end_ms = self.env.clock.now_ms();
    }
}

impl Object {
    fn new(id: &str) -> Self {
        Object {
            id: id.to_string(),
            job: api::job_key(id),
            state: RefCell::new(State::default()),
            activation: tokio::sync::Mutex::new(()),
            gate: RwLock::new(()),
        }
    }

    /// Memory is gone; the next event starts the object cold. Storage is kept.
    fn go_cold(&self, st: &mut State, why: &str, now_ms: u64) {
        if st.active {
            tracing::debug!(job = self.job, t_ms = now_ms, why, "object cold");
        }
        st.active = false;
        st.store.forget_memory();
        st.memory_token = None;
    }

    /// Delivers an event: waits at the input gate, applies idle hibernation or eviction,
    /// and activates a cold object. Returns the cold start paid, if any.
    async fn deliver<'a>(&'a self, env: &'a Env) -> (EventGuard<'a>, Option<u64>) {
        if env.scenario.object.input_gate {
            drop(self.gate.write().await);
        }
        let _activation = self.activation.lock().await;
        let now_ms = env.clock.now_ms();
        let cold_ms = {
            let mut st = self.state.borrow_mut();
            if st.active && st.events_in_flight == 0 {
                let idle_ms = now_ms - st.last_event_end_ms;
                let o = &env.scenario.object;
                if idle_ms >= o.evict_after_idle_ms {
                    self.go_cold(&mut st, "evicted after idle", now_ms);
                } else if idle_ms >= o.hibernate_after_idle_ms {
                    self.go_cold(&mut st, "hibernated after idle", now_ms);
                }
            }
            st.events_in_flight += 1;
            if st.active {
                None
            } else {
                st.activations += 1;
                Some(env.draws.ms(
                    &env.scenario.object.cold_start_ms,
                    self.job,
                    Purpose::ColdStart,
                    st.activations - 1,
                ))
            }
        };
        let guard = EventGuard { object: self, env };
        if let Some(ms) = cold_ms {
            tracing::debug!(
                job = self.job,
                t_ms = now_ms,
                cold_start_ms = ms,
                "cold start"
            );
            Env::sleep_ms(ms).await;
            self.state.borrow_mut().active = true;
        }
        (guard, cold_ms)
    }

    /// Checks a presented token against what the variant reads: the read token, or the status
    /// and reason that refuse it (401 missing/wrong/expired, 503 when storage failed).
    async fn authorize(
        &self,
        env: &Env,
        token: &str,
    ) -> Result<TokenRead, (StatusCode, &'static str)> {
        if token.is_empty() {
            return Err((StatusCode::UNAUTHORIZED, "missing token"));
        }
        let Ok(read) = env.variant.read_token(self, env).await else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "storage read failed"));
        };
        let now_ms = env.clock.now_ms();
        if let Err(why) = auth::check(token, read.token.as_deref(), read.expires_at_ms, now_ms) {
            tracing::info!(job = self.job, t_ms = now_ms, ?why, "token refused: 401");
            return Err((StatusCode::UNAUTHORIZED, "invalid or expired token"));
        }
        Ok(read)
    }

    /// The token `setAuthToken` kept in memory, if memory survived.
    pub fn memory_token(&self) -> Option<(String, u64)> {
        self.state.borrow().memory_token.clone()
    }

    /// Crashes so far; memory filled by an operation issued in an earlier incarnation is
    /// not kept.
    pub fn incarnation(&self) -> u64 {
        self.state.borrow().incarnation
    }

    /// Keeps the token in memory, unless the object crashed since `incarnation`.
    pub fn remember_token(&self, incarnation: u64, token: String, expires_at_ms: u64) {
        let mut st = self.state.borrow_mut();
        if st.incarnation == incarnation {
            st.memory_token = Some((token, expires_at_ms));
        }
    }

    /// Held by each storage operation while the input gate is on.
    pub(super) async fn storage_gate(&self, env: &Env) -> Option<RwLockReadGuard<'_, ()>> {
        if env.scenario.object.input_gate {
            Some(self.gate.read().await)
        } else {
            None
        }
    }

    /// `setAuthToken`: stores the token and its expiration; memory too where the variant says.
    async fn set_auth_token(
        &self,
        env: &Env,
        token: &str,
        expires_at_ms: u64,
    ) -> Result<(), StorageFailed> {
        let incarnation = self.incarnation();
        self.storage_put(
            env,
            vec![
                (AUTH_TOKEN, Stored::Text(token.to_string())),
                (AUTH_TOKEN_EXPIRATION, Stored::Ms(expires_at_ms)),
            ],
        )
        .await?;
        if env.variant.keeps_token_in_memory() {
            self.remember_token(incarnation, token.to_string(), expires_at_ms);
        }
        Ok(())
    }

    /// Issues the job's next token: its value and expiry (a short one under the
    /// token-expiry fault).
    fn issue_token(&self, env: &Env, now_ms: u64) -> (String, u64) {
        let k = {
            let mut st = self.state.borrow_mut();
            st.tokens_issued += 1;
            st.tokens_issued - 1
        };
        let token = env.draws.hex128(self.job, Purpose::Token, k);
        let f = &env.scenario.faults.token_expiry;
        let ttl_ms = if env
            .draws
            .chance(f.probability, self.job, Purpose::TokenExpiry, 2 * k)
        {
            env.recorder.borrow_mut().fault(fault::TOKEN_EXPIRY);
            env.draws
                .ms(&f.ttl_ms, self.job, Purpose::TokenExpiry, 2 * k + 1)
        } else {
            env.scenario.auth.token_ttl_ms
        };
        (token, now_ms + ttl_ms)
    }

    /// The object crashes: memory, the open socket and in-flight handshakes are lost;
    /// storage and the job's progress are kept.
    fn crash(&self, env: &Env) {
        let now_ms = env.clock.now_ms();
        {
            let mut st = self.state.borrow_mut();
            st.incarnation += 1;
            self.go_cold(&mut st, "crashed", now_ms);
            // Dropping the sender ends the socket task; the new incarnation makes it abrupt.
            st.socket = None;
        }
        env.recorder.borrow_mut().fault(fault::OBJECT_CRASH);
        tracing::info!(job = self.job, t_ms = now_ms, "object crashed");
    }

    /// A progress event from the enrichment pipeline: pushed on the socket, or warned about.
    /// A message the socket already carried (replayed at accept) is not pushed again.
    async fn progress(&self, env: &Env, msg: ServerMsg) {
        let (_event, _cold) = self.deliver(env).await;
        let now_ms = env.clock.now_ms();
        let socket = {
            let mut st = self.state.borrow_mut();
            st.socket.as_mut().map(|s| {
                let replayed = match msg {
                    ServerMsg::Progress { seq, .. } => seq <= s.through_seq,
                    ServerMsg::Complete { .. } => s.complete_sent,
                    ServerMsg::Ready { .. } => false,
                };
                (s.tx.clone(), replayed)
            })
        };
        let sent = match socket {
            Some((_, true)) => return,
            Some((tx, false)) => tx.try_send(msg.clone()).is_ok(),
            None => false,
        };
        if !sent {
            env.recorder.borrow_mut().job(self.job).no_socket_warnings += 1;
            tracing::warn!(
                job = self.job,
                t_ms = now_ms,
                "[{}] No WebSocket connection available",
                self.id
            );
        } else {
            tracing::debug!(job = self.job, t_ms = now_ms, ?msg, "progress pushed");
        }
    }
}

type Body = Full<Bytes>;

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    r
}

/// Serves one connection to the object host (HTTP/1.1 with upgrades).
pub async fn serve_objects_conn<S: Io>(stream: S, objects: Rc<Objects>) {
    let service = hyper::service::service_fn(move |req| {
        let objects = objects.clone();
        async move { Ok::<_, Infallible>(route(req, objects).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::trace!(error = %e, "object connection ended");
    }
}

async fn route(req: Request<Incoming>, objects: Rc<Objects>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::POST, api::BATCH_PATH) => post_batch(req, objects).await,
        (_, api::BATCH_PATH) => plain(StatusCode::METHOD_NOT_ALLOWED, "use POST"),
        (&Method::GET, api::PROGRESS_PATH) => upgrade(req, objects).await,
        (&Method::GET, api::STATUS_PATH) => status(req, objects).await,
        (_, api::STATUS_PATH) => plain(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
        (_, api::PROGRESS_PATH) => plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET with Upgrade: websocket",
        ),
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

/// Reads a JSON body of at most [`api::BODY_BYTES_MAX`] bytes.
pub(super) async fn read_body(body: Incoming) -> Result<Bytes, Response<Body>> {
    match Limited::new(body, api::BODY_BYTES_MAX).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(_) => Err(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body too large or unreadable",
        )),
    }
}

async fn post_batch(req: Request<Incoming>, objects: Rc<Objects>) -> Response<Body> {
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("bad batch body: {e}")),
    };
    if !api::valid_job_id(&batch.job_id) {
        return plain(StatusCode::BAD_REQUEST, "malformed jobId");
    }
    if batch.books > crate::scenario::BOOKS_PER_JOB_MAX {
        return plain(StatusCode::BAD_REQUEST, "too many books");
    }
    let Some(object) = objects.get(&batch.job_id) else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "object limit reached");
    };
    let env = &objects.env;
    let (event, _cold) = object.deliver(env).await;
    let now_ms = env.clock.now_ms();
    let repeat = object.state.borrow().posted;
    tracing::debug!(
        job = object.job,
        t_ms = now_ms,
        books = batch.books,
        repeat,
        "POST batch"
    );
    if env.scenario.faults.panic_on_job == Some(object.job) {
        panic!(
            "faults.panic_on_job: the object of job {} panicked",
            object.job
        );
    }
    let (token, expires_at_ms) = object.issue_token(env, now_ms);
    if env.scenario.faults.ack_before_token_write {
        // #378: the 202 leaves before the write is confirmed.
        env.recorder
            .borrow_mut()
            .fault(fault::ACK_BEFORE_TOKEN_WRITE);
        let (object, objects, token) = (object.clone(), objects.clone(), token.clone());
        super::spawn(async move {
            let _ = object
                .set_auth_token(&objects.env, &token, expires_at_ms)
                .await;
        });
    } else if object
        .set_auth_token(env, &token, expires_at_ms)
        .await
        .is_err()
    {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "storage write failed");
    }
    if repeat {
        // The job runs already: the client only needed a fresh token.
        tracing::debug!(
            job = object.job,
            t_ms = env.clock.now_ms(),
            "token refreshed"
        );
    } else {
        let restart_ms = env.clock.now_ms();
        {
            let mut st = object.state.borrow_mut();
            st.posted = true;
            st.books = batch.books;
            st.books_done = 0;
            st.done = false;
            // A deploy, eviction or relocation between the POST and the upgrade.
            if env.draws.chance(
                env.scenario.object.restart_probability,
                object.job,
                Purpose::Restart,
                0,
            ) {
                object.go_cold(&mut st, "restarted", restart_ms);
            }
        }
        env.recorder.borrow_mut().enrichment_started();
        super::spawn(enrich(objects.clone(), object.clone(), batch.books));
        schedule_crash(&objects, &object);
    }
    drop(event);
    let accepted = BatchAccepted {
        job_id: batch.job_id,
        token,
        expires_at_ms,
    };
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(&accepted).expect("plain struct serialises"),
    )));
    *r.status_mut() = StatusCode::ACCEPTED;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The object-crash fault: with its probability, the job's object crashes once, a drawn
/// time after the POST.
fn schedule_crash(objects: &Rc<Objects>, object: &Rc<Object>) {
    let env = &objects.env;
    let f = &env.scenario.faults.object_crash;
    if !env
        .draws
        .chance(f.probability, object.job, Purpose::ObjectCrash, 0)
    {
        return;
    }
    let after_ms = env
        .draws
        .ms(&f.after_ms, object.job, Purpose::ObjectCrash, 1);
    let (objects, object) = (objects.clone(), object.clone());
    super::spawn(async move {
        Env::sleep_ms(after_ms).await;
        object.crash(&objects.env);
    });
}

/// The `jobId` (well formed, once) and the `token` (empty when absent, at most once) of a
/// query, or why it gets a 400.
fn job_and_token(query: Option<&str>) -> Result<(String, String), &'static str> {
    let job_id = match api::query_param(query, "jobId") {
        Ok(Some(id)) if api::valid_job_id(id) => id.to_string(),
        _ => return Err("missing or malformed jobId"),
    };
    let token = match api::query_param(query, "token") {
        Ok(t) => t.unwrap_or("").to_string(),
        Err(api::Repeated) => return Err("token given twice"),
    };
    Ok((job_id, token))
}

/// `GET /api/enrichment/status?jobId=…&token=…`: the job's progress, for a client that
/// cannot keep a socket. The token is checked as the upgrade checks it.
async fn status(req: Request<Incoming>, objects: Rc<Objects>) -> Response<Body> {
    let query = req.uri().query();
    let (job_id, token) = match job_and_token(query) {
        Ok(x) => x,
        Err(why) => return plain(StatusCode::BAD_REQUEST, why),
    };
    let Some(object) = objects.get(&job_id) else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "object limit reached");
    };
    let env = &objects.env;
    let (_event, _cold) = object.deliver(env).await;
    if let Err((code, why)) = object.authorize(env, &token).await {
        return plain(code, why);
    }
    let status = {
        let st = object.state.borrow();
        api::Status {
            job_id,
            books_done: st.books_done,
            books: st.books,
            done: st.done,
        }
    };
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(&status).expect("plain struct serialises"),
    )));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The enrichment pipeline of one job: one progress event per enriched book, then completion.
async fn enrich(objects: Rc<Objects>, object: Rc<Object>, books: u32) {
    let env = &objects.env;
    for i in 0..books {
        let ms = env.draws.ms(
            &env.scenario.enrichment.book_ms,
            object.job,
            Purpose::BookEnrich,
            i as u64,
        );
        Env::sleep_ms(ms).await;
        object.state.borrow_mut().books_done = i + 1;
        object
            .progress(env, ServerMsg::Progress { seq: i + 1, books })
            .await;
    }
    object.state.borrow_mut().done = true;
    object.progress(env, ServerMsg::Complete { books }).await;
    tracing::debug!(
        job = object.job,
        t_ms = env.clock.now_ms(),
        "enrichment done"
    );
    env.recorder.borrow_mut().enrichment_finished(object.job);
}

/// What the upgrade handler decided.
enum Decision {
    Reject(StatusCode, &'static str),
    /// `incarnation`: the object's, when it accepted; the socket dies with it.
    Accept {
        accept_key: String,
        incarnation: u64,
    },
}

async fn upgrade(mut req: Request<Incoming>, objects: Rc<Objects>) -> Response<Body> {
    // Step 3 of the write-up's call flow: the upgrade header, instantly.
    let wants_ws = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_ws {
        let mut r = plain(StatusCode::UPGRADE_REQUIRED, "expected Upgrade: websocket");
        r.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        return r;
    }
    // Step 4: the job id, instantly.
    let query = req.uri().query();
    let (job_id, token) = match job_and_token(query) {
        Ok(x) => x,
        Err(why) => return plain(StatusCode::BAD_REQUEST, why),
    };
    // A reconnect asks for the progress after the last sequence number it has.
    let after = match api::query_param(query, "after") {
        Ok(None) => None,
        Ok(Some(v)) => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return plain(StatusCode::BAD_REQUEST, "malformed after"),
        },
        Err(api::Repeated) => return plain(StatusCode::BAD_REQUEST, "after given twice"),
    };
    // RFC 6455 4.2.1: a handshake without `Connection: Upgrade`, without a valid key or with
    // another version is refused here.
    let connection_ok = req
        .headers()
        .get_all(CONNECTION)
        .iter()
        .any(|v| api::connection_upgrade(v.as_bytes()));
    if !connection_ok {
        return plain(StatusCode::BAD_REQUEST, "missing Connection: Upgrade");
    }
    let key_ok = req
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .is_some_and(|k| api::valid_ws_key(k.as_bytes()));
    if !key_ok {
        return plain(
            StatusCode::BAD_REQUEST,
            "missing or malformed Sec-WebSocket-Key",
        );
    }
    if req
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        let mut r = plain(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported Sec-WebSocket-Version",
        );
        r.headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return r;
    }
    let key = req.headers()[SEC_WEBSOCKET_KEY].as_bytes().to_vec();
    let Some(object) = objects.get(&job_id) else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "object limit reached");
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    // The handshake runs as its own task, so its timings are recorded even when the client is
    // gone and hyper drops this request; the server then counts the upgrade as canceled.
    let (tx, rx) = oneshot::channel();
    super::spawn(async move {
        let decision = handshake(&objects, &object, &token, &key).await;
        let accepted = match decision {
            Decision::Accept { incarnation, .. } => Some(incarnation),
            Decision::Reject(..) => None,
        };
        let response = match decision {
            Decision::Reject(status, why) => plain(status, why),
            Decision::Accept { accept_key, .. } => {
                let mut r = Response::new(Full::new(Bytes::new()));
                *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                let h = r.headers_mut();
                h.insert(UPGRADE, HeaderValue::from_static("websocket"));
                h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
                h.insert(
                    SEC_WEBSOCKET_ACCEPT,
                    HeaderValue::from_str(&accept_key).expect("base64 is a valid header"),
                );
                r
            }
        };
        let env = &objects.env;
        if tx.send(response).is_err() {
            if accepted.is_some() {
                canceled(env, &object, "client gone before the 101");
            }
            return;
        }
        let Some(incarnation) = accepted else {
            return;
        };
        match on_upgrade.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                super::socket::run(objects.clone(), object, io, after, incarnation).await
            }
            Err(_) => canceled(env, &object, "upgrade failed"),
        }
    });
    rx.await
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "handshake task ended"))
}

pub(super) fn canceled(env: &Env, object: &Object, why: &str) {
    env.recorder.borrow_mut().job(object.job).canceled += 1;
    tracing::info!(
        job = object.job,
        t_ms = env.clock.now_ms(),
        why,
        "upgrade canceled"
    );
}

/// Steps 5–9 of the call flow: activation, the token read by the variant, validation, the
/// pair and the accept. Records the write-up's timing log for the job's first upgrade.
async fn handshake(objects: &Objects, object: &Object, token: &str, key: &[u8]) -> Decision {
    let env = &objects.env;
    let arrive_ms = env.clock.now_ms();
    tracing::debug!(
        job = object.job,
        t_ms = arrive_ms,
        "upgrade request at object"
    );
    let (_event, cold_ms) = object.deliver(env).await;
    let first = {
        let mut st = object.state.borrow_mut();
        st.upgrades += 1;
        st.upgrades == 1
    };
    let incarnation = object.state.borrow().incarnation;
    let storage_start_ms = env.clock.now_ms();
    let read = match object.authorize(env, token).await {
        Ok(read) => read,
        Err((code, why)) => return Decision::Reject(code, why),
    };
    let now_ms = env.clock.now_ms();
    let storage_ms = now_ms - storage_start_ms;
    // Safety: whatever the variant read, the durable store must agree the token is valid.
    let (durable, durable_exp) = object.durable_token();
    if auth::check(token, durable.as_deref(), durable_exp, now_ms).is_err() {
        env.recorder
            .borrow_mut()
            .job(object.job)
            .unauthorized_accepts += 1;
        tracing::error!(
            job = object.job,
            t_ms = now_ms,
            "token accepted that the durable store does not hold"
        );
    }
    let pair_ms = env
        .draws
        .ms(&env.scenario.object.pair_ms, object.job, Purpose::Pair, 0);
    Env::sleep_ms(pair_ms).await;
    let accept_ms = env.draws.ms(
        &env.scenario.object.accept_ms,
        object.job,
        Purpose::Accept,
        0,
    );
    Env::sleep_ms(accept_ms).await;
    if object.state.borrow().incarnation != incarnation {
        return Decision::Reject(
            StatusCode::SERVICE_UNAVAILABLE,
            "object restarted during the handshake",
        );
    }
    let done_ms = env.clock.now_ms();
    let upgrade_ms = done_ms - arrive_ms;
    tracing::info!(
        target: "handshake_sim::timing",
        job = object.job,
        t_ms = done_ms,
        "[{}] 📊 WebSocket upgrade timing: {{ storageDuration: \"{storage_ms}ms\", pairCreation: \"{pair_ms}ms\", accept: \"{accept_ms}ms\", totalUpgrade: \"{upgrade_ms}ms\" }}",
        object.id
    );
    if first {
        let mut rec = env.recorder.borrow_mut();
        let r = rec.job(object.job);
        r.cold_start = cold_ms.is_some();
        r.cold_start_ms = cold_ms;
        r.reads_ms = read.reads_ms;
        r.storage_ms = Some(storage_ms);
        r.upgrade_ms = Some(upgrade_ms);
    }
    Decision::Accept {
        accept_key: tokio_tungstenite::tungstenite::handshake::derive_accept_key(key),
        incarnation,
    }
}
