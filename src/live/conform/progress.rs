//! The progress socket's cases: the messages (ready, progress, complete) and their order,
//! `after=N` replay, pings, and the close handshake both ways.

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::context::Context;
use super::finding::{mismatch, Checked, Finding};
use super::job::{posted, posted_with, Job};
use super::socket::{close_text, Socket, Wait};
use super::upgrade::open;
use crate::wire::api::ServerMsg;

/// Opens `job`'s socket (with `after=N` when given): the socket and its ready message's
/// `booksDone`, the ready message checked against the job.
async fn connect(ctx: &Context, job: &Job, after: Option<u32>) -> Result<(Socket, u32), Finding> {
    let (query, what) = match after {
        Some(n) => (
            format!("{}&after={n}", job.query()),
            format!("upgrade with the job's token and after={n}"),
        ),
        None => (job.query(), "upgrade with the job's token".to_string()),
    };
    let answer = open(ctx, &query, &what).await?;
    let upgraded = answer
        .upgraded
        .expect("a checked 101 carries its connection");
    // Ready, one progress per book, complete, a close, and room for pings and pongs.
    let mut socket = Socket::new(upgraded, 2 * job.books + 32).await;
    let wait = Wait::new(ctx.request_timeout());
    let books_done = match socket.message(wait, "the first message").await? {
        ServerMsg::Ready {
            job_id,
            books_done,
            books,
        } => {
            if job_id != job.id {
                return Err(mismatch("ready jobId", &job.id, job_id));
            }
            if books != job.books {
                return Err(mismatch("ready books", job.books, books));
            }
            if books_done > books {
                return Err(mismatch(
                    "ready booksDone",
                    format!("≤ {books}"),
                    books_done,
                ));
            }
            books_done
        }
        other => return Err(mismatch("the first message", "ready", kind(&other))),
    };
    Ok((socket, books_done))
}

fn kind(m: &ServerMsg) -> String {
    match m {
        ServerMsg::Ready { .. } => "ready".into(),
        ServerMsg::Progress { seq, .. } => format!("progress seq {seq}"),
        ServerMsg::Complete { .. } => "complete".into(),
    }
}

/// Reads progress `from..=books` in order, each for `books` books, then complete, within the
/// job timeout.
async fn sequence_from(ctx: &Context, socket: &mut Socket, job: &Job, from: u32) -> Checked {
    let wait = Wait::new(ctx.job_timeout());
    let mut next = from;
    loop {
        let what = if next <= job.books {
            format!("progress seq {next}")
        } else {
            "complete".to_string()
        };
        match socket.message(wait, &what).await? {
            ServerMsg::Progress { seq, books, .. } if seq == next && next <= job.books => {
                if books != job.books {
                    return Err(mismatch(
                        &format!("progress seq {seq} books"),
                        job.books,
                        books,
                    ));
                }
                next += 1;
            }
            ServerMsg::Complete { books, .. } if next > job.books => {
                return if books == job.books {
                    Ok(())
                } else {
                    Err(mismatch("complete books", job.books, books))
                };
            }
            other => return Err(mismatch("the next message", what, kind(&other))),
        }
    }
}

pub(super) async fn ready(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let (socket, _) = connect(ctx, &job, None).await?;
    socket.leave().await;
    Ok(())
}

pub(super) async fn sequence(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let (mut socket, books_done) = connect(ctx, &job, None).await?;
    sequence_from(ctx, &mut socket, &job, books_done + 1).await?;
    socket.leave().await;
    Ok(())
}

pub(super) async fn replay_all(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let (mut socket, _) = connect(ctx, &job, Some(0)).await?;
    sequence_from(ctx, &mut socket, &job, 1).await?;
    socket.leave().await;
    Ok(())
}

/// A job whose socket has seen complete (a set-up step for cases about the finished job).
pub(super) async fn finished(ctx: &Context) -> Result<Job, Finding> {
    let job = posted(ctx).await?;
    let (mut socket, books_done) = connect(ctx, &job, None)
        .await
        .map_err(super::finding::setup)?;
    sequence_from(ctx, &mut socket, &job, books_done + 1)
        .await
        .map_err(super::finding::setup)?;
    socket.leave().await;
    Ok(job)
}

pub(super) async fn replay_after(ctx: &Context) -> Checked {
    let job = finished(ctx).await?;
    let (mut socket, books_done) = connect(ctx, &job, Some(1)).await?;
    if books_done != job.books {
        return Err(mismatch(
            "ready booksDone after complete",
            job.books,
            books_done,
        ));
    }
    sequence_from(ctx, &mut socket, &job, 2).await?;
    socket.leave().await;
    Ok(())
}

/// A ping during a job: the answer must be a pong with its payload. The job has `BOOKS_MAX`
/// books (not `--books`), as `close_echo`'s: a server closes after `complete`, and a short job
/// on a fast server could end (and close) before the pong, a false failure.
pub(super) async fn ping(ctx: &Context) -> Checked {
    let job = posted_with(ctx, super::BOOKS_MAX).await?;
    let (mut socket, _) = connect(ctx, &job, None).await?;
    let payload = b"conform-ping".to_vec();
    socket
        .send(Message::Ping(payload.clone().into()), "ping")
        .await?;
    let wait = Wait::new(ctx.request_timeout());
    // A pong of another payload may be a heartbeat (RFC 6455 §5.5.3: a pong may be sent
    // unsolicited): passed over, and named if no pong of the ping's payload comes.
    let mut other: Option<String> = None;
    loop {
        let message = match socket.next(wait, "the pong").await {
            Ok(m) => m,
            Err(e) => {
                return Err(match other {
                    Some(seen) => mismatch(
                        "the pong's payload",
                        "conform-ping",
                        format!("only {seen:?}"),
                    ),
                    None => e,
                })
            }
        };
        match message {
            Message::Pong(p) if p.as_ref() == payload.as_slice() => break,
            Message::Pong(p) => other = Some(String::from_utf8_lossy(&p).into_owned()),
            Message::Close(f) => {
                return Err(mismatch(
                    "the answer to a ping",
                    "a pong",
                    format!("a Close ({})", close_text(f.as_ref())),
                ))
            }
            _ => {}
        }
    }
    socket.leave().await;
    Ok(())
}

/// A client `Close 1000` in the middle of a long job: the answer must be a `Close 1000` that
/// comes before the job's `complete`. A server that ignores the Close goes on with the job
/// and closes with 1000 after `complete`; that Close is its own, not an echo. The job has
/// `BOOKS_MAX` books (not `--books`), so a server that echoes has the whole job's time to do
/// it and the case cannot race the job's end.
pub(super) async fn close_echo(ctx: &Context) -> Checked {
    let job = posted_with(ctx, super::BOOKS_MAX).await?;
    let (mut socket, books_done) = connect(ctx, &job, None).await?;
    if books_done >= job.books {
        return Err(Finding::Error(format!(
            "set-up: the job of {} books had ended before its socket opened",
            job.books
        )));
    }
    let normal = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    socket
        .send(Message::Close(Some(normal)), "Close 1000")
        .await?;
    let what = "the answer to Close 1000";
    let wait = Wait::new(ctx.request_timeout());
    loop {
        match socket.next(wait, what).await? {
            Message::Close(f) => return expect_normal(what, f.as_ref()),
            Message::Text(t) if is_complete(t.as_str()) => {
                return Err(Finding::Fail(format!(
                    "{what}: expected a Close 1000 before the job's end, got complete \
                     (the job went on; a Close after it is the server's own, not an echo)"
                )))
            }
            // Progress already on its way when the Close arrived, pings, pongs.
            _ => {}
        }
    }
}

/// Most bytes of a message the documented API takes; a longer one gets a `Close 1009`.
const MESSAGE_BYTES_MAX: usize = 64 * 1024;

pub(super) async fn text_too_big(ctx: &Context) -> Checked {
    let text = "x".repeat(MESSAGE_BYTES_MAX + 1);
    too_big(ctx, Message::text(text), "a text message").await
}

pub(super) async fn binary_too_big(ctx: &Context) -> Checked {
    let bytes = vec![0x5a; MESSAGE_BYTES_MAX + 1];
    too_big(ctx, Message::binary(bytes), "a binary message").await
}

/// A message one byte over the limit, sent during a job of `BOOKS_MAX` books (so its end's
/// own `Close 1000` cannot come first): the answer must be a `Close 1009`. A server that
/// takes it goes on with the job and closes with 1000 after `complete`.
async fn too_big(ctx: &Context, message: Message, kind: &str) -> Checked {
    let job = posted_with(ctx, super::BOOKS_MAX).await?;
    let (mut socket, _) = connect(ctx, &job, None).await?;
    let what = format!("the answer to {kind} of {} bytes", MESSAGE_BYTES_MAX + 1);
    // A server may close before it has read the whole message: the answer is what counts.
    let _ = socket.send(message, &what).await;
    let wait = Wait::new(ctx.request_timeout());
    let close = socket.close_frame(wait, &what).await?;
    if close.as_ref().is_some_and(|f| f.code == CloseCode::Size) {
        Ok(())
    } else {
        Err(mismatch(
            &what,
            "Close 1009",
            format!("Close ({})", close_text(close.as_ref())),
        ))
    }
}

fn is_complete(text: &str) -> bool {
    matches!(
        serde_json::from_str::<ServerMsg>(text),
        Ok(ServerMsg::Complete { .. })
    )
}

pub(super) async fn close_after_complete(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let (mut socket, books_done) = connect(ctx, &job, None).await?;
    sequence_from(ctx, &mut socket, &job, books_done + 1).await?;
    let wait = Wait::new(ctx.request_timeout());
    let close = socket
        .close_frame(wait, "the server's Close after complete")
        .await?;
    expect_normal("the server's Close after complete", close.as_ref())
}

fn expect_normal(what: &str, f: Option<&CloseFrame>) -> Checked {
    if f.is_some_and(|f| f.code == CloseCode::Normal) {
        Ok(())
    } else {
        Err(mismatch(
            what,
            "Close 1000",
            format!("Close ({})", close_text(f)),
        ))
    }
}
