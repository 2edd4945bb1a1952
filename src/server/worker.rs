//! The Worker: routes each request to the object host and relays the answer. It is also where
//! the scenario's network latencies are applied (turmoil's own link latency is 0): each HTTP
//! message and each relayed chunk of socket bytes waits client–edge plus edge–object latency,
//! drawn per job and message, in order (a chunk never overtakes an earlier one).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::rc::Rc;

use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::UPGRADE;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::api::{self, BatchRequest};
use super::object::read_body;
use super::{Env, Io};
use crate::draw::Purpose;

/// Opens a connection to the object host.
pub trait Dial {
    fn dial(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>>;
}

/// An object-safe byte stream.
pub trait IoObject: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> IoObject for T {}

/// Relay chunk size, and the most chunks in flight per direction of one socket.
const CHUNK_BYTES: usize = 4096;
const CHUNKS_IN_FLIGHT_MAX: usize = 64;

pub struct Worker {
    pub env: Env,
    pub dial: Box<dyn Dial>,
    /// Messages relayed so far per (job, direction): the index of their latency draws.
    messages: RefCell<BTreeMap<(u64, bool), u64>>,
    /// Idle keep-alive connections to the object host, reused for plain requests (an upgrade
    /// consumes its connection).
    idle: RefCell<Vec<Sender>>,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Most idle connections the worker keeps to the object host.
const IDLE_CONNECTIONS_MAX: usize = 256;

impl Worker {
    pub fn new(env: Env, dial: Box<dyn Dial>) -> Rc<Self> {
        Rc::new(Worker {
            env,
            dial,
            messages: RefCell::new(BTreeMap::new()),
            idle: RefCell::new(Vec::new()),
        })
    }

    /// An idle connection to the object host that can take a request now, if any.
    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.borrow_mut();
        while let Some(s) = idle.pop() {
            if s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    fn put_idle(&self, sender: Sender) {
        let mut idle = self.idle.borrow_mut();
        if idle.len() < IDLE_CONNECTIONS_MAX && !sender.is_closed() {
            idle.push(sender);
        }
    }

    /// One-way latency of the next message of `job` in direction `up` (client → object).
    fn latency_ms(&self, job: u64, up: bool) -> u64 {
        let index = {
            let mut m = self.messages.borrow_mut();
            let n = m.entry((job, up)).or_insert(0);
            *n += 1;
            *n - 1
        };
        let net = &self.env.scenario.network;
        let (ce, eo) = if up {
            (Purpose::ClientEdgeUp, Purpose::EdgeObjectUp)
        } else {
            (Purpose::ClientEdgeDown, Purpose::EdgeObjectDown)
        };
        self.env
            .draws
            .ms(&net.client_edge.latency_ms, job, ce, index)
            + self
                .env
                .draws
                .ms(&net.edge_object.latency_ms, job, eo, index)
    }
}

type Body = Full<Bytes>;

/// Serves one client connection to the worker.
pub async fn serve_worker_conn<S: Io>(stream: S, worker: Rc<Worker>) {
    let service = hyper::service::service_fn(move |req| {
        let worker = worker.clone();
        async move { Ok::<_, Infallible>(relay(req, worker).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::trace!(error = %e, "worker connection ended");
    }
}

fn status(code: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = code;
    r
}

async fn relay(mut req: Request<Incoming>, worker: Rc<Worker>) -> Response<Body> {
    let client_upgrade = req
        .headers()
        .contains_key(UPGRADE)
        .then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Route by job: from the query of the upgrade, from the body of the batch POST.
    let job_id = match api::query_param(parts.uri.query(), "jobId") {
        Ok(Some(id)) => Some(id.to_string()),
        _ => serde_json::from_slice::<BatchRequest>(&body)
            .ok()
            .map(|b| b.job_id),
    };
    let job = job_id.as_deref().map_or(u64::MAX, api::job_key);
    // A client that leaves before the request reaches the object is a canceled upgrade seen
    // by the edge; after that the object sees (and counts) it.
    let mut edge_cancel = EdgeCancel {
        worker: worker.clone(),
        job,
        armed: client_upgrade.is_some(),
    };
    let upgrade = client_upgrade.is_some();
    let forwarded = async {
        Env::sleep_ms(worker.latency_ms(job, true)).await;
        let pooled = if upgrade { None } else { worker.take_idle() };
        let mut sender = match pooled {
            Some(s) => s,
            None => {
                let io = worker.dial.dial().await.map_err(|e| {
                    status(
                        StatusCode::BAD_GATEWAY,
                        &format!("object host unreachable: {e}"),
                    )
                })?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
                    .await
                    .map_err(|e| status(StatusCode::BAD_GATEWAY, &format!("object host: {e}")))?;
                tokio::task::spawn_local(async move {
                    let _ = conn.with_upgrades().await;
                });
                sender
            }
        };
        let mut forward = Request::from_parts(parts, Full::new(body));
        *forward.uri_mut() = forward
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse()
            .expect("a path and query is a valid URI");
        let response = sender.send_request(forward);
        Ok::<_, Response<Body>>((sender, response))
    }
    .await;
    edge_cancel.armed = false;
    let (sender, response) = match forwarded {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut resp = match response.await {
        Ok(r) => r,
        Err(e) => return status(StatusCode::BAD_GATEWAY, &format!("object host: {e}")),
    };
    let object_upgrade =
        (resp.status() == StatusCode::SWITCHING_PROTOCOLS).then(|| hyper::upgrade::on(&mut resp));
    let (parts, body) = resp.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !upgrade {
        worker.put_idle(sender);
    }
    Env::sleep_ms(worker.latency_ms(job, false)).await;
    if let (Some(client_up), Some(object_up)) = (client_upgrade, object_upgrade) {
        tokio::task::spawn_local(async move {
            if let (Ok(c), Ok(o)) = (client_up.await, object_up.await) {
                splice(worker, job, TokioIo::new(c), TokioIo::new(o)).await;
            }
        });
    }
    Response::from_parts(parts, Full::new(body))
}

/// Counts a canceled upgrade when dropped (the client went away while the edge held it).
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
        env.recorder.borrow_mut().job(self.job).canceled += 1;
        tracing::info!(
            job = self.job,
            t_ms = env.clock.now_ms(),
            "upgrade canceled at the edge"
        );
    }
}

/// Relays socket bytes both ways, each chunk delayed by its own one-way latency draw.
async fn splice<C: Io, O: Io>(worker: Rc<Worker>, job: u64, client: C, object: O) {
    let (client_r, client_w) = tokio::io::split(client);
    let (object_r, object_w) = tokio::io::split(object);
    tokio::join!(
        delayed_copy(&worker, job, true, client_r, object_w),
        delayed_copy(&worker, job, false, object_r, client_w),
    );
}

async fn delayed_copy<R, W>(worker: &Worker, job: u64, up: bool, mut from: R, mut to: W)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let clock = worker.env.clock;
    let (tx, mut rx) = mpsc::channel::<(u64, Option<Bytes>)>(CHUNKS_IN_FLIGHT_MAX);
    let read = async move {
        let mut buf = vec![0u8; CHUNK_BYTES];
        let mut last_ms = 0;
        loop {
            let n = from.read(&mut buf).await.unwrap_or(0);
            // Order-preserving: a chunk is never delivered before the previous one.
            last_ms = (clock.now_ms() + worker.latency_ms(job, up)).max(last_ms);
            let chunk = (n > 0).then(|| Bytes::copy_from_slice(&buf[..n]));
            if tx.send((last_ms, chunk)).await.is_err() || n == 0 {
                break;
            }
        }
    };
    let write = async move {
        while let Some((at_ms, chunk)) = rx.recv().await {
            Env::sleep_ms(at_ms.saturating_sub(clock.now_ms())).await;
            match chunk {
                Some(bytes) => {
                    if to.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = to.shutdown().await;
                    break;
                }
            }
        }
    };
    tokio::join!(read, write);
}
