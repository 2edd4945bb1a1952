//! `GET /ws/progress`: the upgrade's checks (steps 3–4 of the write-up's call flow and RFC
//! 6455 4.2.1), the handshake (steps 5–9: activation, the token read by the variant,
//! validation, the pair and the accept) with its timing log, the 101, and the socket after it.

use std::rc::Rc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use super::socket;
use super::{Object, Objects};
use crate::clock;
use crate::draw::Purpose;
use crate::record::UpgradeOpen;
use crate::server::{auth, Env};
use crate::task;
use crate::wire::api;
use crate::wire::{plain, Body, IoObject};

/// What the upgrade handler decided.
enum Decision {
    Reject(StatusCode, &'static str),
    /// `incarnation`: the object's, when it accepted; the socket dies with it. `socket`: the
    /// job's socket since the accept, opened once the 101 is out.
    Accept {
        accept_key: String,
        incarnation: u64,
        socket: socket::Attached,
    },
}

/// A well-formed upgrade request: who asks, with what token, from which progress on, and
/// its `Sec-WebSocket-Key`.
struct Asked {
    /// The job's id, or the session's on a session's socket.
    job_id: String,
    token: String,
    after: socket::After,
    key: Vec<u8>,
    /// The Worker accepted the token at the edge (`edge::EDGE_VERIFIED`): no read here.
    edge_verified: bool,
}

/// Why an upgrade request is refused: the status, the reason, and a header the refusal
/// carries (the upgrade or the version the server speaks).
struct Refused {
    status: StatusCode,
    why: &'static str,
    header: Option<(HeaderName, &'static str)>,
}

impl Refused {
    fn bad_request(why: &'static str) -> Self {
        Refused {
            status: StatusCode::BAD_REQUEST,
            why,
            header: None,
        }
    }

    fn response(self) -> Response<Body> {
        let mut r = plain(self.status, self.why);
        if let Some((name, value)) = self.header {
            r.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        r
    }
}

/// How the object's end of an accepted socket reaches it.
pub(crate) enum Handover {
    /// hyper's upgrade of the HTTP/1 connection the request came on (live `serve`).
    Upgrade(hyper::upgrade::OnUpgrade),
    /// Handed over by the worker, which called the object host with no connection between
    /// them (the simulation, as a Worker's `stub.fetch()` is a call): the worker sends the
    /// object's end once it has the 101, and drops the sender if it never will.
    Direct(oneshot::Receiver<Box<dyn IoObject>>),
    /// None will come: the worker's call is not an upgrade hyper would make of a connection
    /// (no `Upgrade` header, or not HTTP/1.1), so an accept fails as it would there.
    Never,
}

impl Handover {
    /// The end, or `None` when the connection or the worker let it go first.
    async fn end(self) -> Option<Box<dyn IoObject>> {
        match self {
            Handover::Upgrade(on) => on
                .await
                .ok()
                .map(|up| Box::new(TokioIo::new(up)) as Box<dyn IoObject>),
            Handover::Direct(handed) => handed.await.ok(),
            Handover::Never => None,
        }
    }
}

/// The checks, then the handshake spawned; the future waits for its answer without the
/// request (a herd of upgrades waits here).
// Not an `async fn`: ARCHITECTURE.md, "What a job in flight holds".
#[allow(clippy::manual_async_fn)]
pub(super) fn upgrade<B: 'static>(
    req: Request<B>,
    objects: Rc<Objects>,
    handover: Handover,
) -> impl std::future::Future<Output = Response<Body>> {
    // Boxed, so that the future holds a pointer to it, not its 248 bytes, once it is dropped.
    let req = Box::new(req);
    async move {
        let mut asked = match check_request(&req) {
            Ok(asked) => asked,
            Err(refused) => return refused.response(),
        };
        asked.edge_verified = crate::server::edge::verified(&objects.env, req.headers());
        let object = objects.find(&asked.job_id);
        // The request's headers are not needed while the handshake runs (a herd of them waits).
        drop(req);
        // The handshake runs as its own task, so its timings are recorded even when the client
        // is gone and hyper drops this request; the server then counts the upgrade as canceled.
        let (tx, rx) = oneshot::channel();
        let open = UpgradeOpen::new(&objects.env.recorder);
        task::spawn(handshake_task(objects, object, asked, handover, tx, open));
        rx.await
            .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "handshake task ended"))
    }
}

/// The request's checks, all instant, in the call flow's order: the upgrade header (step 3),
/// the job id and token (step 4), then what RFC 6455 4.2.1 requires of the handshake.
fn check_request<B>(req: &Request<B>) -> Result<Asked, Refused> {
    let headers = req.headers();
    let wants_ws = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_ws {
        return Err(Refused {
            status: StatusCode::UPGRADE_REQUIRED,
            why: "expected Upgrade: websocket",
            header: Some((UPGRADE, "websocket")),
        });
    }
    let query = req.uri().query();
    let session = req.uri().path() == api::SESSION_SOCKET_PATH;
    let (job_id, token) = if session {
        api::session_and_token(query)
    } else {
        api::job_and_token(query)
    }
    .map_err(Refused::bad_request)?;
    // A reconnect asks for the progress after the last sequence number it has (of each job,
    // on a session's socket).
    let after = match api::query_param(query, "after") {
        Ok(None) if session => socket::After::Session(Default::default()),
        Ok(None) => socket::After::Job(None),
        Ok(Some(v)) if session => {
            socket::After::Session(api::parse_session_after(v).map_err(Refused::bad_request)?)
        }
        Ok(Some(v)) => match v.parse::<u32>() {
            Ok(n) => socket::After::Job(Some(n)),
            Err(_) => return Err(Refused::bad_request("malformed after")),
        },
        Err(api::Repeated) => return Err(Refused::bad_request("after given twice")),
    };
    let key = websocket_key(headers)?;
    Ok(Asked {
        job_id,
        token,
        after,
        key,
        edge_verified: false,
    })
}

/// RFC 6455 4.2.1: a handshake without `Connection: Upgrade`, without a valid key or with
/// another version is refused; so is one with two keys (11.3.1: the key "MUST NOT appear
/// more than once in an HTTP request"; which one would the accept answer?). The key, when
/// all three are right.
fn websocket_key(headers: &HeaderMap) -> Result<Vec<u8>, Refused> {
    let connection_ok = headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| api::connection_upgrade(v.as_bytes()));
    if !connection_ok {
        return Err(Refused::bad_request("missing Connection: Upgrade"));
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    let key_ok = match (keys.next(), keys.next()) {
        (Some(k), None) => api::valid_ws_key(k.as_bytes()),
        _ => false,
    };
    if !key_ok {
        return Err(Refused::bad_request(
            "missing, malformed or repeated Sec-WebSocket-Key",
        ));
    }
    if headers.get(SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return Err(Refused {
            status: StatusCode::UPGRADE_REQUIRED,
            why: "unsupported Sec-WebSocket-Version",
            header: Some((SEC_WEBSOCKET_VERSION, "13")),
        });
    }
    Ok(headers[SEC_WEBSOCKET_KEY].as_bytes().to_vec())
}

/// The handshake task: decides, sends the answer to the request handler, and after a 101
/// runs the socket. An accept whose client is gone is counted as canceled. `open` keeps the
/// run from ending before the task does.
// Not an `async fn`: ARCHITECTURE.md, "What a job in flight holds".
#[allow(clippy::manual_async_fn)]
fn handshake_task(
    objects: Rc<Objects>,
    object: Rc<Object>,
    asked: Asked,
    handover: Handover,
    tx: oneshot::Sender<Response<Body>>,
    open: UpgradeOpen,
) -> impl std::future::Future<Output = ()> {
    async move {
        // Held until the task ends (a block captures only what it names).
        let _open = open;
        let decision = handshake(&objects, &object, &asked).await;
        let (response, accepted) = answer(decision);
        let env = &objects.env;
        if tx.send(response).is_err() {
            if let Some((_, socket)) = accepted {
                socket::detach(&object, socket);
                canceled(env, &object, "client gone before the 101");
            }
            return;
        }
        let Some((incarnation, socket)) = accepted else {
            return;
        };
        match handover.end().await {
            Some(io) => socket::run(objects.clone(), object, io, socket, incarnation).await,
            None => {
                socket::detach(&object, socket);
                canceled(env, &object, "upgrade failed")
            }
        }
    }
}

/// The response of a decision: the refusal, or the 101 with its accept key, and then the
/// accepted socket with the object's incarnation.
fn answer(decision: Decision) -> (Response<Body>, Option<(u64, socket::Attached)>) {
    match decision {
        Decision::Reject(status, why) => (plain(status, why), None),
        Decision::Accept {
            accept_key,
            incarnation,
            socket,
        } => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = r.headers_mut();
            h.insert(UPGRADE, HeaderValue::from_static("websocket"));
            h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            h.insert(
                SEC_WEBSOCKET_ACCEPT,
                HeaderValue::from_str(&accept_key).expect("base64 is a valid header"),
            );
            (r, Some((incarnation, socket)))
        }
    }
}

pub(in crate::server) fn canceled(env: &Env, object: &Object, why: &str) {
    env.recorder.borrow_mut().job(object.job).canceled += 1;
    tracing::info!(
        job = object.job,
        t_ms = env.clock.now_ms(),
        why,
        "upgrade canceled"
    );
}

/// The write-up's timing log of one upgrade, in ms.
struct TimingLine {
    cold_ms: Option<u64>,
    /// The object read the token (not so when the edge checked it).
    read: bool,
    reads_ms: Vec<u64>,
    storage_ms: u64,
    pair_ms: u64,
    accept_ms: u64,
    upgrade_ms: u64,
}

/// Steps 5–9 of the call flow: activation, the token read by the variant, validation, the
/// pair and the accept, which makes the socket the job's. Records the write-up's timing log
/// for the job's first upgrade. From the token read to the accept the object runs nothing
/// else (`Object::deliver_in_turn`).
async fn handshake(objects: &Objects, object: &Object, asked: &Asked) -> Decision {
    let env = &objects.env;
    let token = asked.token.as_str();
    let arrive_ms = env.clock.now_ms();
    tracing::debug!(
        job = object.job,
        t_ms = arrive_ms,
        "upgrade request at object"
    );
    // The turn, from here to the accept: the handshake's code from its token read on is one
    // synchronous stretch in workerd (the pair and accept are CPU time, not a wait another
    // event could use), so an event that came meanwhile (a book's progress) runs after the
    // accept and finds the socket.
    let (_event, cold_ms, turn) = object.deliver_in_turn(env, true).await;
    let first = {
        let mut st = object.state.borrow_mut();
        st.upgrades += 1;
        st.upgrades == 1
    };
    let incarnation = object.state.borrow().incarnation;
    let storage_start_ms = env.clock.now_ms();
    let read = if asked.edge_verified {
        crate::server::variant::TokenRead::default()
    } else {
        match object.authorize(env, token).await {
            Ok(read) => read,
            Err((code, why)) => return Decision::Reject(code, why),
        }
    };
    // The token was the object's; a session's socket is for a session's object, a job's for
    // a job's.
    let for_session = matches!(asked.after, socket::After::Session(_));
    if for_session != object.is_session() {
        let why = if for_session {
            "no such session"
        } else {
            "no such job"
        };
        return Decision::Reject(StatusCode::NOT_FOUND, why);
    }
    let checked_ms = env.clock.now_ms();
    let storage_ms = checked_ms - storage_start_ms;
    let pair_ms = env
        .draws
        .ms(&env.scenario.object.pair_ms, object.job, Purpose::Pair, 0);
    clock::sleep_ms(pair_ms).await;
    let accept_ms = env.draws.ms(
        &env.scenario.object.accept_ms,
        object.job,
        Purpose::Accept,
        0,
    );
    clock::sleep_ms(accept_ms).await;
    if object.state.borrow().incarnation != incarnation {
        return Decision::Reject(
            StatusCode::SERVICE_UNAVAILABLE,
            "object restarted during the handshake",
        );
    }
    let done_ms = env.clock.now_ms();
    let timing = TimingLine {
        cold_ms,
        read: !asked.edge_verified,
        reads_ms: read.reads_ms,
        storage_ms,
        pair_ms,
        accept_ms,
        upgrade_ms: done_ms - arrive_ms,
    };
    timing.log(env, object, done_ms, first);
    let socket = socket::attach(object, &asked.after);
    drop(turn);
    // The 101 is an outgoing message: it leaves when every put before it is durable.
    if object.output_gate(env).await.is_err() {
        socket::detach(object, socket);
        return Decision::Reject(StatusCode::SERVICE_UNAVAILABLE, "storage write failed");
    }
    if !check_durable(env, object, token, checked_ms, asked.edge_verified) {
        // Re-checked as the 101 would leave: a token replaced (or never durable) since the
        // variant read it is refused, never accepted.
        socket::detach(object, socket);
        return Decision::Reject(StatusCode::UNAUTHORIZED, "invalid or expired token");
    }
    Decision::Accept {
        accept_key: tokio_tungstenite::tungstenite::handshake::derive_accept_key(&asked.key),
        incarnation,
        socket,
    }
}

/// Safety: whatever the variant read, the durable store must hold the token when the 101
/// leaves, and it must have been unexpired at `now_ms`, when the object checked it. Whether
/// it does; a token it does not hold is counted as an unauthorized accept (the variant's
/// read would have accepted it) and refused — unless the edge checked it, when the object
/// has nothing to check against and accepts: the edge cache's cost, counted, and as a
/// stale accept when the token is one the object revoked or replaced.
fn check_durable(env: &Env, object: &Object, token: &str, now_ms: u64, edge: bool) -> bool {
    let (durable, durable_exp) = object.durable_token(env);
    let held = auth::check(token, durable.as_deref(), durable_exp, now_ms).is_ok();
    if !held {
        let revoked_ms = object.state.borrow().revoked_at_ms;
        let mut rec = env.recorder.borrow_mut();
        let r = rec.job(object.job);
        r.unauthorized_accepts += 1;
        if let Some(at_ms) = revoked_ms {
            r.stale_accepts += 1;
            r.stale_accept_after_ms = Some(now_ms.saturating_sub(at_ms));
        }
        drop(rec);
        if edge {
            tracing::warn!(
                job = object.job,
                t_ms = now_ms,
                "token the durable store does not hold, accepted: the edge checked it"
            );
            return true;
        }
        tracing::error!(
            job = object.job,
            t_ms = now_ms,
            "token the durable store does not hold: 401, not the 101 (an unauthorized accept averted)"
        );
    }
    held
}

impl TimingLine {
    /// Logs the timing line (as the write-up's object does) and, for the job's first
    /// upgrade, records it.
    fn log(self, env: &Env, object: &Object, done_ms: u64, first: bool) {
        let TimingLine {
            cold_ms,
            read,
            reads_ms,
            storage_ms,
            pair_ms,
            accept_ms,
            upgrade_ms,
        } = self;
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
            r.reads_ms = reads_ms;
            // No read is no storage time, not one of 0 ms.
            r.storage_ms = read.then_some(storage_ms);
            r.upgrade_ms = Some(upgrade_ms);
        }
    }
}
