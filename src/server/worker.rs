//! The Worker: refuses a request without one well-formed `Host`, routes each request to the
//! object host and relays the answer, then a socket's bytes both ways. In the simulation it
//! calls the object host (`Upstream::Call`) and its streams are in-process pipes that take no
//! time; live, it connects over HTTP/1.1 (`Upstream::Connect`). Every HTTP message and relayed
//! chunk goes through the network model (`network`: latency, loss, partitions) on its way, in
//! order (a chunk never overtakes an earlier one).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::UPGRADE;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

use super::network::{Direction, Hop, Network};
use super::object::{Handover, Objects};
use super::Env;
use crate::clock;
use crate::scenario::LinkName;
use crate::task;
use crate::wire::api::{self, BatchRequest, SessionRequest};
use crate::wire::{host_refusal, plain, read_body, serve_http1, Body, Io, IoObject};

/// Opens a connection to the object host.
pub(crate) trait Dial {
    fn dial(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>>;
}

/// The worker's way to the object host.
pub(crate) enum Upstream {
    /// HTTP/1.1 connections it dials, pooled for plain requests (live: loopback TCP).
    Connect(Box<dyn Dial>),
    /// A call, as a Worker's `stub.fetch()` is: the request handed to the object host's routes
    /// and the response back, with no connection between them (the simulation). An accepted
    /// socket runs on a connected pair of streams from `pair`: the worker's end, the object's.
    Call {
        objects: Rc<Objects>,
        pair: SocketPair,
    },
}

/// Makes a connected pair of streams for an accepted socket: the worker's end, the object's.
pub(crate) type SocketPair = fn() -> (Box<dyn IoObject>, Box<dyn IoObject>);

/// Relay chunk size, and the most chunks in flight per direction of one socket. A read of more
/// bytes than a chunk becomes several chunks, each with its own latency draw; the socket
/// messages of the bundled scenarios are far smaller, and each open socket holds two buffers.
const CHUNK_BYTES: usize = 1024;
const CHUNKS_IN_FLIGHT_MAX: usize = 64;

pub(crate) struct Worker {
    env: Env,
    upstream: Upstream,
    /// Latencies, losses and partitions of the messages it relays.
    network: Network,
    /// Idle keep-alive connections to the object host with when each went idle, reused for
    /// plain requests (an upgrade consumes its connection); live `Upstream::Connect` only.
    idle: RefCell<Vec<(Sender, u64)>>,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

impl Worker {
    pub(crate) fn new(env: Env, upstream: Upstream) -> Rc<Self> {
        Rc::new(Worker {
            network: Network::new(&env),
            env,
            upstream,
            idle: RefCell::new(Vec::new()),
        })
    }

    /// The next message of `job` going `direction`, through the network.
    fn hop(&self, job: u64, direction: Direction) -> Hop {
        self.network.hop(&self.env, job, direction)
    }

    /// An idle connection to the object host that can take a request now, if any: live
    /// only (`Upstream::Connect`; a worker without a live server's bounds keeps none). One
    /// idle for half the object host's header timeout is let go: the host closes an idle
    /// keep-alive connection after that timeout, and a request must not race that close.
    fn take_idle(&self) -> Option<Sender> {
        let now_ms = self.env.clock.now_ms();
        let fresh_ms = self.env.bounds()?.header_timeout.as_millis() as u64 / 2;
        let mut idle = self.idle.borrow_mut();
        while let Some((s, since_ms)) = idle.pop() {
            if s.is_ready() && now_ms.saturating_sub(since_ms) < fresh_ms {
                return Some(s);
            }
        }
        None
    }

    fn put_idle(&self, sender: Sender) {
        let now_ms = self.env.clock.now_ms();
        let Some(b) = self.env.bounds() else {
            return;
        };
        let mut idle = self.idle.borrow_mut();
        // Connections gone stale or closed leave now (their descriptors too).
        let fresh_ms = b.header_timeout.as_millis() as u64 / 2;
        idle.retain(|(s, since_ms)| !s.is_closed() && now_ms.saturating_sub(*since_ms) < fresh_ms);
        if idle.len() < b.pool_max && !sender.is_closed() {
            idle.push((sender, now_ms));
        }
    }
}

/// A message on the client–edge link was lost: the modelled TCP does not retransmit, so the
/// client's connection resets (hyper closes it without a response).
#[derive(Debug, thiserror::Error)]
#[error("connection reset: a message was lost on the client–edge link")]
pub(crate) struct Reset;

/// Serves one client connection to the worker.
pub(crate) fn serve_worker_conn<S: Io>(
    stream: S,
    worker: Rc<Worker>,
) -> impl std::future::Future<Output = ()> {
    let header_timeout = worker.env.bounds().map(|b| b.header_timeout);
    let handle = move |req| relay(req, worker.clone());
    serve_http1(stream, handle, "worker", header_timeout)
}

fn status(code: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = code;
    r
}

/// Relays one request: up to the object host (its latency, a drop on either link), the
/// answer back down the same way, and, after a 101, the socket's bytes both ways. The request
/// is boxed, and every phase but the wait for the object's answer runs boxed (the way up, the
/// KV put, the hop down): a herd of requests waits for its answers holding none of them, and
/// hyper sizes each connection's slot for a request by this future.
// Not an `async fn`: ARCHITECTURE.md, "What a job in flight holds".
#[allow(clippy::manual_async_fn)]
fn relay(
    req: Request<Incoming>,
    worker: Rc<Worker>,
) -> impl std::future::Future<Output = Result<Response<Body>, Reset>> {
    let mut req = Box::new(req);
    async move {
        // Refused at the edge, before anything is drawn for it: the simulated clients always send
        // one Host, so no run sees this.
        if let Some(why) = host_refusal(&req) {
            return Ok(plain(StatusCode::BAD_REQUEST, why));
        }
        let arrived = clock::mark();
        let client_upgrade = req
            .headers()
            .contains_key(UPGRADE)
            .then(|| hyper::upgrade::on(&mut *req));
        let upgrade = client_upgrade.is_some();
        // `_open`, not `_`: the upgrade stays open until the relay ends.
        let (job, _open, exchange) = match Box::pin(way_up(&worker, req, upgrade)).await {
            Ok(up) => up,
            Err(early) => return early,
        };
        let Answer {
            parts,
            body,
            socket,
        } = match exchange.answer(&worker, upgrade).await {
            Ok(a) => a,
            Err(r) => return Ok(r),
        };
        if !upgrade && parts.status == StatusCode::ACCEPTED {
            Box::pin(super::edge::put_accepted(&worker.env, job, &body)).await;
        }
        let hop = worker.hop(job, Direction::Down);
        // Live, the hop down takes back the hop up's timer lateness (one path, one timeline).
        Box::pin(clock::sleep_ms_since(hop.latency_ms, arrived)).await;
        match hop.dropped_by {
            // The worker's end of an accepted socket is dropped with `socket`.
            Some(LinkName::ClientEdge) => return Err(Reset),
            Some(LinkName::EdgeObject) => {
                return Ok(status(
                    StatusCode::BAD_GATEWAY,
                    "object host unreachable: response lost",
                ))
            }
            None => {}
        }
        if let (Some(client_up), Some(object_up)) = (client_upgrade, socket) {
            task::spawn(async move {
                if let (Ok(c), Some(o)) = (client_up.await, object_up.await) {
                    splice(worker, job, TokioIo::new(c), o).await;
                }
            });
        }
        Ok(Response::from_parts(parts, Full::new(body)))
    }
}

/// The request's way up: its body, the job it is for, then [`forward`]. `Ok`: the job, the
/// upgrade held open (for as long as the relay runs) and the exchange with the object host;
/// `Err`: what the relay answers at once.
async fn way_up(
    worker: &Rc<Worker>,
    req: Box<Request<Incoming>>,
    upgrade: bool,
) -> Result<(u64, Option<crate::record::UpgradeOpen>, Exchange), Result<Response<Body>, Reset>> {
    // Out of its box, which is freed with this future rather than the relay's.
    let (parts, body) = (*req).into_parts();
    let body = match read_body(body, worker.env.bounds().map(|b| b.header_timeout)).await {
        Ok(b) => b,
        Err(r) => return Err(Ok(r)),
    };
    let job = job_of(&parts, &body);
    // A client that leaves before the request reaches the object is a canceled upgrade seen
    // by the edge; after that the object sees (and counts) it.
    let mut edge_cancel = EdgeCancel {
        worker: worker.clone(),
        job,
        armed: upgrade,
    };
    let open = upgrade.then(|| crate::record::UpgradeOpen::new(&worker.env.recorder));
    let forwarded = forward(worker, job, upgrade, parts, body).await;
    edge_cancel.armed = false;
    match forwarded {
        Ok(exchange) => Ok((job, open, exchange)),
        Err(Some(r)) => Err(Ok(r)),
        Err(None) => Err(Err(Reset)),
    }
}

/// The job a request is for: from the query of the upgrade, from the body of the batch POST;
/// a session's (its first job's key, `api::job_key`) for the session's POST and socket
/// (`u64::MAX` when none names a well-formed one: the object host refuses those, and they
/// share one set of counters rather than adding one each).
fn job_of(parts: &hyper::http::request::Parts, body: &Bytes) -> u64 {
    let query = parts.uri.query();
    let id = match (
        api::query_param(query, "jobId"),
        api::query_param(query, "sessionId"),
    ) {
        (Ok(Some(id)), _) | (_, Ok(Some(id))) => Some(id.to_string()),
        _ => serde_json::from_slice::<BatchRequest>(body)
            .ok()
            .map(|b| b.job_id)
            .or_else(|| {
                serde_json::from_slice::<SessionRequest>(body)
                    .ok()
                    .map(|s| s.session_id)
            }),
    };
    id.as_deref()
        .filter(|id| api::valid_job_id(id))
        .map_or(u64::MAX, api::job_key)
}

/// The request's way up: its latency over both links, a drop on either, then the request
/// sent to the object host ([`send`]). `Err(None)`: the client's connection resets;
/// `Err(Some(r))`: the edge answers `r`.
async fn forward(
    worker: &Worker,
    job: u64,
    upgrade: bool,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Exchange, Option<Response<Body>>> {
    let hop = worker.hop(job, Direction::Up);
    clock::sleep_ms(hop.latency_ms).await;
    match hop.dropped_by {
        Some(LinkName::ClientEdge) => return Err(None),
        Some(LinkName::EdgeObject) => {
            return Err(Some(status(
                StatusCode::BAD_GATEWAY,
                "object host unreachable: request lost",
            )))
        }
        None => {}
    }
    // Only the worker says what the edge checked (`edge::EDGE_VERIFIED`), on any request.
    parts.headers.remove(super::edge::EDGE_VERIFIED);
    if upgrade {
        if let super::edge::Verdict::Refuse =
            super::edge::check_upgrade(&worker.env, job, &mut parts).await
        {
            return Err(Some(status(
                StatusCode::UNAUTHORIZED,
                "invalid or expired token (refused at the edge)",
            )));
        }
    }
    let mut forward = Request::from_parts(parts, Full::new(body));
    *forward.uri_mut() = forward
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .parse()
        .expect("a path and query is a valid URI");
    send(worker, upgrade, forward).await
}

/// Sends `req` to the object host: on a connection (pooled, unless it is an upgrade, which
/// consumes its connection), or as a call.
async fn send(
    worker: &Worker,
    upgrade: bool,
    req: Request<Body>,
) -> Result<Exchange, Option<Response<Body>>> {
    match &worker.upstream {
        Upstream::Connect(dial) => {
            let pooled = if upgrade { None } else { worker.take_idle() };
            let mut sender = match pooled {
                Some(s) => s,
                None => open_connection(dial.as_ref()).await?,
            };
            let response = Box::pin(sender.send_request(req));
            Ok(Exchange::Connection(sender, response))
        }
        Upstream::Call { objects, pair } => {
            // hyper upgrades a connection for an HTTP/1.1 request only: the call hands the
            // object its end under the same condition.
            let (handed, handover) = if upgrade && req.version() == hyper::Version::HTTP_11 {
                let (handed, handover) = tokio::sync::oneshot::channel();
                (Some(handed), Handover::Direct(handover))
            } else {
                (None, Handover::Never)
            };
            let response = super::object::route(req, objects.clone(), handover);
            Ok(Exchange::Call(response, handed, *pair))
        }
    }
}

/// A request sent to the object host, its answer to come.
enum Exchange {
    /// On a connection, which goes back to the pool after a plain request's answer.
    Connection(
        Sender,
        LocalBoxFuture<'static, hyper::Result<Response<Incoming>>>,
    ),
    /// A call: the object host's answer, the sender of the object's end of a socket it
    /// accepts (for an upgrade), and where a socket's pair of ends comes from.
    Call(
        LocalBoxFuture<'static, Response<Body>>,
        Option<tokio::sync::oneshot::Sender<Box<dyn IoObject>>>,
        SocketPair,
    ),
}

/// The object host's answer as the worker relays it: its head and body, and after a 101 the
/// worker's end of the socket, to come.
struct Answer {
    parts: hyper::http::response::Parts,
    body: Bytes,
    socket: Option<LocalBoxFuture<'static, Option<Box<dyn IoObject>>>>,
}

impl Exchange {
    /// The object host's answer, or the edge's own when that answer cannot be read. The body
    /// is read boxed: the future waits for the answer holding a pointer, not the read.
    async fn answer(self, worker: &Worker, upgrade: bool) -> Result<Answer, Response<Body>> {
        let timeout = worker.env.bounds().map(|b| b.header_timeout);
        match self {
            Exchange::Connection(sender, response) => {
                let mut resp = response
                    .await
                    .map_err(|e| status(StatusCode::BAD_GATEWAY, &format!("object host: {e}")))?;
                let socket = switched(&resp).then(|| {
                    let on = hyper::upgrade::on(&mut resp);
                    async move {
                        let up = on.await.ok()?;
                        Some(Box::new(TokioIo::new(up)) as Box<dyn IoObject>)
                    }
                    .boxed_local()
                });
                let (parts, body) = resp.into_parts();
                let body = Box::pin(read_body(body, timeout)).await?;
                if !upgrade {
                    worker.put_idle(sender);
                }
                Ok(Answer {
                    parts,
                    body,
                    socket,
                })
            }
            Exchange::Call(response, handed, pair) => {
                let resp = response.await;
                // The object's end leaves with the 101, as hyper's upgrade hands the object
                // host its connection once the 101 is written.
                let socket = match handed {
                    Some(handed) if switched(&resp) => {
                        let (worker_end, object_end) = pair();
                        let _ = handed.send(object_end);
                        Some(std::future::ready(Some(worker_end)).boxed_local())
                    }
                    _ => None,
                };
                let (parts, body) = resp.into_parts();
                let body = Box::pin(read_body(body, timeout)).await?;
                Ok(Answer {
                    parts,
                    body,
                    socket,
                })
            }
        }
    }
}

/// Whether the object host accepted an upgrade.
fn switched<B>(resp: &Response<B>) -> bool {
    resp.status() == StatusCode::SWITCHING_PROTOCOLS
}

/// A new connection to the object host, its connection task spawned.
async fn open_connection(dial: &dyn Dial) -> Result<Sender, Option<Response<Body>>> {
    let io = dial.dial().await.map_err(|e| {
        Some(status(
            StatusCode::BAD_GATEWAY,
            &format!("object host unreachable: {e}"),
        ))
    })?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| {
            Some(status(
                StatusCode::BAD_GATEWAY,
                &format!("object host: {e}"),
            ))
        })?;
    // Not an `async` block, which would hold the connection twice (captured, and in the
    // future it awaits) for the connection's life.
    task::spawn(conn.with_upgrades().map(drop));
    Ok(sender)
}

/// Counts an upgrade canceled at the edge when dropped (the client went away while the edge
/// held it, before it reached the object: apart from the object's `canceled`).
struct EdgeCancel {
    worker: Rc<Worker>,
    job: u64,
    armed: bool,
}

impl Drop for EdgeCancel {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let env = &self.worker.env;
        env.recorder.borrow_mut().job(self.job).canceled_at_edge += 1;
        tracing::info!(
            job = self.job,
            t_ms = env.clock.now_ms(),
            "upgrade canceled at the edge"
        );
    }
}

/// How one direction of a spliced socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Closed,
    /// A chunk was dropped by a loss or a partition: the whole connection resets.
    Reset,
}

/// Relays socket bytes both ways, each chunk delayed by its own one-way latency draw. A
/// dropped chunk ends both directions at once (both streams are dropped).
/// Live, a socket with no byte either way for the idle timeout (the object closes its end
/// after that long; a client that never answers the close is not waited for) ends too.
async fn splice<C: Io, O: Io>(worker: Rc<Worker>, job: u64, client: C, object: O) {
    let (client_r, client_w) = tokio::io::split(client);
    let (object_r, object_w) = tokio::io::split(object);
    let activity = Cell::new(worker.env.clock.now_ms());
    let up = delayed_copy(&worker, job, Direction::Up, client_r, object_w, &activity);
    let down = delayed_copy(&worker, job, Direction::Down, object_r, client_w, &activity);
    let idle = idle_for(&worker.env, &activity);
    tokio::pin!(up, down, idle);
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        let ended = tokio::select! {
            biased;
            e = &mut up, if !up_done => { up_done = true; e }
            e = &mut down, if !down_done => { down_done = true; e }
            () = &mut idle => {
                tracing::debug!(job, t_ms = worker.env.clock.now_ms(), "socket idle: relay ended");
                return;
            }
        };
        if ended == Ended::Reset {
            tracing::info!(
                job,
                t_ms = worker.env.clock.now_ms(),
                "socket reset: a chunk was dropped"
            );
            return;
        }
    }
}

/// Completes once nothing has moved for the live idle timeout since `activity` (ms on the
/// run's clock); never in the simulation.
async fn idle_for(env: &Env, activity: &Cell<u64>) {
    let Some(idle_ms) = env.bounds().map(|b| b.idle_timeout.as_millis() as u64) else {
        return std::future::pending().await;
    };
    loop {
        let quiet_ms = env.clock.now_ms().saturating_sub(activity.get());
        if quiet_ms >= idle_ms {
            return;
        }
        tokio::time::sleep(Duration::from_millis(idle_ms - quiet_ms)).await;
    }
}

/// A relayed chunk: its bytes, the end of the stream, or a drop that resets the connection.
enum Chunk {
    Bytes(Bytes),
    Eof,
    Dropped,
}

thread_local! {
    /// The one read buffer of every relay on this thread: a read copies what it got out at
    /// once, so an open socket holds no buffer of its own (2 KiB each, before).
    static CHUNK: std::cell::RefCell<[u8; CHUNK_BYTES]> = const {
        std::cell::RefCell::new([0; CHUNK_BYTES])
    };
}

/// Reads what `from` has, up to a chunk: its bytes, empty at the end of the stream.
async fn read_chunk<R: tokio::io::AsyncRead + Unpin>(from: &mut R) -> std::io::Result<Bytes> {
    std::future::poll_fn(|cx| {
        CHUNK.with_borrow_mut(|buf| {
            let mut read = tokio::io::ReadBuf::new(buf);
            std::task::ready!(std::pin::Pin::new(&mut *from).poll_read(cx, &mut read))?;
            std::task::Poll::Ready(Ok(Bytes::copy_from_slice(read.filled())))
        })
    })
    .await
}

/// Copies `from` to `to`, each chunk delivered at its own latency after it was read and never
/// before the chunk ahead of it. One loop and a local queue: no channel, no second task.
async fn delayed_copy<R, W>(
    worker: &Worker,
    job: u64,
    direction: Direction,
    mut from: R,
    mut to: W,
    activity: &Cell<u64>,
) -> Ended
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let clock = worker.env.clock;
    let mut queue: VecDeque<(u64, Chunk)> = VecDeque::new();
    let mut last_ms = 0;
    let mut reading = true;
    loop {
        while queue
            .front()
            .is_some_and(|(at_ms, _)| *at_ms <= clock.now_ms())
        {
            match queue.pop_front().expect("front checked").1 {
                Chunk::Bytes(bytes) => {
                    if to.write_all(&bytes).await.is_err() {
                        return Ended::Closed;
                    }
                    activity.set(clock.now_ms());
                }
                Chunk::Eof => {
                    let _ = to.shutdown().await;
                    return Ended::Closed;
                }
                Chunk::Dropped => return Ended::Reset,
            }
        }
        let next_ms = queue.front().map(|(at_ms, _)| *at_ms);
        let wait = Duration::from_millis(next_ms.unwrap_or(0).saturating_sub(clock.now_ms()));
        // Biased: a read ready in the same tick as a delivery is queued first, as before.
        tokio::select! {
            biased;
            read = read_chunk(&mut from), if reading && queue.len() < CHUNKS_IN_FLIGHT_MAX => {
                // An error ends the stream like its end.
                let read = read.unwrap_or_default();
                activity.set(clock.now_ms());
                let hop = worker.hop(job, direction);
                // Order-preserving: a chunk is never delivered before the previous one.
                last_ms = (clock.now_ms() + hop.latency_ms).max(last_ms);
                let chunk = match hop.dropped_by {
                    Some(_) => Chunk::Dropped,
                    None if read.is_empty() => Chunk::Eof,
                    None => Chunk::Bytes(read),
                };
                reading = matches!(chunk, Chunk::Bytes(_));
                queue.push_back((last_ms, chunk));
            }
            _ = tokio::time::sleep(wait), if next_ms.is_some() => {}
            else => return Ended::Closed,
        }
    }
}
