//! The object's end of an accepted progress socket: ready, progress and completion messages
//! out; pings answered (tungstenite replies with the pong); close when the client closes.

use std::rc::Rc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::object::{canceled, Object, Objects, Socket};
use super::Env;
use crate::wire::api::ServerMsg;
use crate::wire::{ws_config, Io};

/// Most frames one socket handles before the object closes it (a bound on the loop).
const FRAMES_MAX: u64 = 1_000_000;

/// Runs an accepted socket. `after`: the client's last progress sequence number, when it
/// asks for a catch-up; progress after it is replayed right after the ready message.
/// `incarnation`: the object's when it accepted; a crash since then has already taken the
/// socket, which is dropped without a close frame.
pub(super) async fn run<S: Io>(
    objects: Rc<Objects>,
    object: Rc<Object>,
    io: S,
    after: Option<u32>,
    incarnation: u64,
) {
    let env = &objects.env;
    if object.incarnation() != incarnation {
        tracing::info!(
            job = object.job,
            t_ms = env.clock.now_ms(),
            "object crashed before the socket opened"
        );
        return;
    }
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config())).await;
    env.recorder.borrow_mut().socket_opened();
    let (tx, mut rx) = mpsc::channel::<ServerMsg>(object_queue_len(&object));
    let (socket_id, first) = register(&object, after, tx);
    tracing::debug!(
        job = object.job,
        t_ms = env.clock.now_ms(),
        replayed = first.len() - 1,
        "socket accepted, ready sent"
    );
    let (heard_client, code) = exchange(&mut ws, &mut rx, first, &object, env).await;
    let crashed = object.state.borrow().incarnation != incarnation;
    if crashed {
        // The object died: the connection drops without a close frame.
        drop(ws);
    } else {
        // Our close with its code, or the echo of the client's (tungstenite queued it when it
        // read the client's close; a flush sends it). The simulation keeps its old ending (the
        // echo unsent: sending it moves sims/faults.toml's figures). Errors only mean the peer
        // is gone.
        let _ = match code {
            Some(code) => {
                ws.close(Some(CloseFrame {
                    code,
                    reason: "".into(),
                }))
                .await
            }
            None if env.live.is_some() => ws.flush().await,
            None => ws.close(None).await,
        };
    }
    {
        let mut st = object.state.borrow_mut();
        if st.socket.as_ref().is_some_and(|s| s.id == socket_id) {
            st.socket = None;
        }
    }
    env.recorder.borrow_mut().socket_closed();
    tracing::debug!(job = object.job, t_ms = env.clock.now_ms(), "socket closed");
    if !heard_client {
        canceled(env, &object, "socket closed before the client spoke");
    }
}

/// Makes the socket the object's, with `tx` as its queue: its id, and the first messages to
/// send (ready, the progress after `after` when asked, completion when the job is done).
fn register(
    object: &Object,
    after: Option<u32>,
    tx: mpsc::Sender<ServerMsg>,
) -> (u64, Vec<ServerMsg>) {
    let mut st = object.state.borrow_mut();
    st.sockets_opened += 1;
    let id = st.sockets_opened;
    let mut first = vec![ServerMsg::Ready {
        job_id: object.id.clone(),
        books_done: st.books_done,
        books: st.books,
    }];
    let through_seq = match after {
        Some(a) => {
            first.extend(
                (a.saturating_add(1)..=st.books_done).map(|seq| ServerMsg::Progress {
                    seq,
                    books: st.books,
                }),
            );
            a.max(st.books_done)
        }
        None => 0,
    };
    if st.done {
        first.push(ServerMsg::Complete { books: st.books });
    }
    st.socket = Some(Socket {
        id,
        tx,
        through_seq,
        complete_sent: st.done,
    });
    (id, first)
}

/// Sends the first messages, then the queued progress, and reads the client's frames (the
/// pong to a ping is tungstenite's) until either side ends. Whether the client spoke, and
/// the code of the close the server sends: 1000 after the job's end, 1001 on shutdown or
/// (live) after the idle timeout with no frame either way, 1002
/// on a protocol error, 1009 on a message too big; none when the client closed (tungstenite
/// echoes its close) or the connection is gone.
async fn exchange<S: Io>(
    ws: &mut WebSocketStream<S>,
    rx: &mut mpsc::Receiver<ServerMsg>,
    mut first: Vec<ServerMsg>,
    object: &Object,
    env: &Env,
) -> (bool, Option<CloseCode>) {
    let mut heard_client = false;
    let mut ok = true;
    for m in first.drain(..) {
        ok = ok && send(ws, &m).await;
    }
    let mut frames = 0u64;
    let mut code = Some(CloseCode::Normal);
    let down = env.shutting_down();
    tokio::pin!(down);
    let idle_timeout = env.bounds().map(|b| b.idle_timeout);
    while ok && frames < FRAMES_MAX {
        frames += 1;
        // Each turn of the loop is a frame one way or the other: the idle clock starts again.
        let idle = async {
            match idle_timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        // Biased: the order of the branches, not tokio's RNG, decides when both are ready.
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Some(m) => ok = send(ws, &m).await,
                None => break,
            },
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) | None => {
                    code = None;
                    break;
                }
                Some(Err(e)) => {
                    code = error_code(&e);
                    break;
                }
                Some(Ok(Message::Ping(_))) => {
                    heard_client = true;
                    tracing::debug!(job = object.job, t_ms = env.clock.now_ms(), "ping received, pong queued");
                }
                Some(Ok(_)) => heard_client = true,
            },
            () = &mut down => {
                code = Some(CloseCode::Away);
                break;
            }
            () = idle => {
                tracing::debug!(job = object.job, t_ms = env.clock.now_ms(), "socket idle: closed");
                code = Some(CloseCode::Away);
                break;
            }
        }
    }
    (heard_client, code)
}

/// The close code answering a read error: 1002 for a protocol error, 1009 for a message too
/// big, none when the connection itself failed.
fn error_code(e: &WsError) -> Option<CloseCode> {
    match e {
        WsError::Protocol(_) | WsError::Utf8(_) => Some(CloseCode::Protocol),
        WsError::Capacity(_) => Some(CloseCode::Size),
        _ => None,
    }
}

fn object_queue_len(object: &Object) -> usize {
    object.state.borrow().books as usize + 4
}

async fn send<S: Io>(ws: &mut WebSocketStream<S>, msg: &ServerMsg) -> bool {
    let text = serde_json::to_string(msg).expect("plain enum serialises");
    ws.send(Message::text(text)).await.is_ok()
}
