//! The object's end of an accepted progress socket: ready, progress and completion messages
//! out; pings answered (tungstenite replies with the pong); close when the client closes, and
//! live (`serve`), with 1000 once the complete message is out.

use std::collections::BTreeMap;
use std::rc::Rc;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::{canceled, session, Object, Objects, Socket};
use crate::server::queue::{self, Receiver, Sender};
use crate::server::Env;
use crate::wire::api::ServerMsg;
use crate::wire::{ws_config, Io};

/// Most frames one socket handles before the object closes it (a bound on the loop).
const FRAMES_MAX: u64 = 1_000_000;

/// A socket made the job's at the accept, before the 101 leaves (as workerd's accepted end
/// is the object's at once): its id, what it sends first, and its queue, where messages
/// pushed before the client has the 101 wait.
pub(super) struct Attached {
    id: u64,
    first: Vec<ServerMsg>,
    rx: Receiver<ServerMsg>,
    /// The socket it replaced, kept open until the 101 leaves: a 101 refused at the last
    /// check gives the job its old socket back.
    previous: Option<Socket>,
}

/// What the app asks to catch up on when its socket opens.
pub(super) enum After {
    /// A job's socket: the client's last progress sequence number, when it asks.
    Job(Option<u32>),
    /// A session's socket: the app's last sequence number of each job it names.
    Session(BTreeMap<String, u32>),
}

/// Makes a new socket the object's; the progress after `after` is replayed right after the
/// ready message.
pub(super) fn attach(object: &Object, after: &After) -> Attached {
    let (id, first, previous, rx) = match after {
        After::Job(a) => {
            let (tx, rx) = queue::queue::<ServerMsg>(object_queue_len(object));
            let (id, first, previous) = register(object, *a, tx);
            (id, first, previous, rx)
        }
        After::Session(a) => {
            let (tx, rx) = queue::queue::<ServerMsg>(session::socket_queue_len());
            let (id, first, previous) = session::register(object, a, tx);
            (id, first, previous, rx)
        }
    };
    Attached {
        id,
        first,
        rx,
        previous,
    }
}

/// A socket made at the accept that never opened (the client left before the 101, or the 101
/// was refused at the last check) is the job's no more; what waited in its queue is lost.
pub(super) fn detach(object: &Object, attached: Attached) {
    let mut st = object.state.borrow_mut();
    if st.socket.as_ref().is_some_and(|s| s.id == attached.id) {
        st.socket = attached.previous;
    }
}

/// Runs an accepted socket over `io` once the 101 is out. `incarnation`: the object's when it
/// accepted; a crash since then has already taken the socket, which is dropped without a
/// close frame.
// Not an `async fn`: ARCHITECTURE.md, "What a job in flight holds".
#[allow(clippy::manual_async_fn)]
pub(super) fn run<S: Io>(
    objects: Rc<Objects>,
    object: Rc<Object>,
    io: S,
    attached: Attached,
    incarnation: u64,
) -> impl std::future::Future<Output = ()> {
    async move {
        let env = &objects.env;
        if object.incarnation() != incarnation {
            tracing::info!(
                job = object.job,
                t_ms = env.clock.now_ms(),
                "object crashed before the socket opened"
            );
            // In the order an `async fn` dropped them (its arguments, last first): each wakes a
            // task (the old socket's, the worker's splice), and tasks run in wake order.
            drop(attached);
            drop(io);
            return;
        }
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config())).await;
        env.recorder.borrow_mut().socket_opened();
        let Attached {
            id: socket_id,
            first,
            mut rx,
            previous,
        } = attached;
        // The socket this one replaced ends now (its queue closed), as the 101 has left.
        drop(previous);
        tracing::debug!(
            job = object.job,
            t_ms = env.clock.now_ms(),
            replayed = first.len() - 1,
            "socket accepted, ready sent"
        );
        let Ending {
            heard_client,
            code,
            completed,
        } = exchange(&mut ws, &mut rx, first, &object, env).await;
        let crashed = object.state.borrow().incarnation != incarnation;
        if crashed {
            // The object died: the connection drops without a close frame.
            drop(ws);
        } else {
            close(&mut ws, code, env.live.is_some()).await;
        }
        {
            let mut st = object.state.borrow_mut();
            if st.socket.as_ref().is_some_and(|s| s.id == socket_id) {
                st.socket = None;
            }
        }
        env.recorder.borrow_mut().socket_closed();
        tracing::debug!(job = object.job, t_ms = env.clock.now_ms(), "socket closed");
        // Live, the server's own close after complete is no cancel (the simulation keeps its count).
        let closed_at_end = completed && env.live.is_some();
        if !heard_client && !closed_at_end {
            canceled(env, &object, "socket closed before the client spoke");
        }
    }
}

/// Our close with its code, or the echo of the client's (tungstenite queued it when it read the
/// client's close; a flush sends it). The simulation keeps its old ending (the echo unsent:
/// sending it moves sims/faults.toml's figures). Errors only mean the peer is gone.
async fn close<S: Io>(ws: &mut WebSocketStream<S>, code: Option<CloseCode>, live: bool) {
    let _ = match code {
        Some(code) => {
            let sent = ws
                .close(Some(CloseFrame {
                    code,
                    reason: "".into(),
                }))
                .await;
            if live {
                await_close_echo(ws).await;
            }
            sent
        }
        None if live => ws.flush().await,
        None => ws.close(None).await,
    };
}

/// Makes the socket the object's, with `tx` as its queue: its id, the first messages to send
/// (ready, the progress after `after` when asked, completion when the job is done), and the
/// socket it replaces.
fn register(
    object: &Object,
    after: Option<u32>,
    tx: Sender<ServerMsg>,
) -> (u64, Vec<ServerMsg>, Option<Socket>) {
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
                    job_id: None,
                }),
            );
            a.max(st.books_done)
        }
        None => 0,
    };
    if st.done {
        first.push(ServerMsg::Complete {
            books: st.books,
            job_id: None,
        });
    }
    let complete_sent = st.done;
    let previous = st.socket.replace(Socket {
        id,
        tx,
        through_seq,
        complete_sent,
        jobs: BTreeMap::new(),
    });
    (id, first, previous)
}

/// How a socket's exchange ended.
struct Ending {
    /// The client sent a frame.
    heard_client: bool,
    /// The close the server sends: 1000 after the job's end, 1001 on shutdown, 1002 on a
    /// protocol error, 1009 on a message too big; none when the client closed (tungstenite
    /// echoes its close) or the connection is gone.
    code: Option<CloseCode>,
    /// The complete message went out (live, the server then closes with 1000).
    completed: bool,
}

/// Sends the first messages, then the queued progress, and reads the client's frames (the
/// pong to a ping is tungstenite's) until either side ends; live, until the complete message
/// has gone out (the documented close with 1000 at the job's end) or the idle timeout passes
/// with no frame either way (1001). The simulation keeps its old ending (the client closes
/// first), so its figures stay as they were.
async fn exchange<S: Io>(
    ws: &mut WebSocketStream<S>,
    rx: &mut Receiver<ServerMsg>,
    first: Vec<ServerMsg>,
    object: &Object,
    env: &Env,
) -> Ending {
    let mut heard_client = false;
    // A session's socket outlives each job's completion: the app closes it.
    let close_at_end = env.live.is_some() && !object.is_session();
    let (mut ok, mut completed) = send_first(ws, first).await;
    let mut frames = 0u64;
    let mut code = Some(CloseCode::Normal);
    let down = env.shutting_down();
    tokio::pin!(down);
    let idle_timeout = env.bounds().map(|b| b.idle_timeout);
    while ok && frames < FRAMES_MAX && !(close_at_end && completed) {
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
                Some(m) => {
                    ok = send(ws, &m).await;
                    completed |= ok && matches!(m, ServerMsg::Complete { .. });
                }
                None => break,
            },
            frame = ws.next() => if let Some(end) = on_frame(frame, object, env, &mut heard_client) {
                code = end;
                break;
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
    Ending {
        heard_client,
        code,
        completed,
    }
}

/// Sends the first messages until one fails: whether all went out, and whether the complete
/// message was among them.
async fn send_first<S: Io>(ws: &mut WebSocketStream<S>, first: Vec<ServerMsg>) -> (bool, bool) {
    let (mut ok, mut completed) = (true, false);
    for m in first {
        ok = ok && send(ws, &m).await;
        completed |= ok && matches!(m, ServerMsg::Complete { .. });
    }
    (ok, completed)
}

/// What a frame read from the client means: `Some(code)` ends the exchange with that close
/// (none when the client closed or left, tungstenite echoing its close); any other frame is the
/// client speaking (a ping's pong is tungstenite's).
fn on_frame(
    frame: Option<Result<Message, WsError>>,
    object: &Object,
    env: &Env,
    heard_client: &mut bool,
) -> Option<Option<CloseCode>> {
    match frame {
        Some(Ok(Message::Close(_))) | None => Some(None),
        Some(Err(e)) => Some(error_code(&e)),
        Some(Ok(Message::Ping(_))) => {
            *heard_client = true;
            tracing::debug!(
                job = object.job,
                t_ms = env.clock.now_ms(),
                "ping received, pong queued"
            );
            None
        }
        Some(Ok(_)) => {
            *heard_client = true;
            None
        }
    }
}

/// Longest a live server waits for the client's answer to its close.
const CLOSE_ECHO_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads (and drops) the client's frames until its close answers ours, it leaves, or
/// [`CLOSE_ECHO_WAIT`] passes: the server closes the connection after the close handshake,
/// not in the middle of it (RFC 6455 7.1.1). Live only (real time).
async fn await_close_echo<S: Io>(ws: &mut WebSocketStream<S>) {
    let _ = tokio::time::timeout(CLOSE_ECHO_WAIT, async {
        let mut frames = 0u32;
        while let Some(Ok(m)) = ws.next().await {
            frames += 1;
            if m.is_close() || frames >= 64 {
                break;
            }
        }
    })
    .await;
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
