//! `probe --emulate-client-edge`: the scenario's client–edge latency on a live connection. A
//! target on loopback (workerd, `wrangler dev`, `serve`) answers with no network between it
//! and the probe, where the simulation puts the scenario's phone network; this delay line puts
//! it back, so the same scenario's deadlines meet the same latency.
//!
//! Every chunk the probe writes leaves after a one-way latency drawn from
//! `network.client_edge.latency_ms`, and every chunk it reads is handed over after another;
//! chunks keep their order (none overtakes the one before it). The simulation draws per HTTP
//! message; a chunk is one message for the requests, answers and frames of a handshake-sized
//! exchange (each is written at once and arrives at once on loopback). Draws are keyed by
//! (seed, connection, direction, chunk): the same distribution as the simulation, not its
//! draws. Loss and partitions are not emulated: only latency.

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::client::Connect;
use crate::draw::{Draws, Purpose};
use crate::scenario::Dist;
use crate::wire::IoObject;

/// Bytes a direction of the line holds at most (each chunk at its own size): a writer past
/// it waits for the line to drain, and a reader's side stops reading its socket (the kernel's
/// buffers hold the rest).
const HELD_BYTES_MAX: usize = 256 * 1024;
/// Bytes read from the socket at once.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A [`Connect`] whose connections carry the client–edge latency.
pub struct EmulatedLink<C> {
    inner: C,
    latency_ms: Dist,
    draws: Draws,
    connections: Rc<Cell<u64>>,
}

impl<C: Connect> EmulatedLink<C> {
    pub fn new(inner: C, latency_ms: Dist, draws: Draws) -> Self {
        EmulatedLink {
            inner,
            latency_ms,
            draws,
            connections: Rc::new(Cell::new(0)),
        }
    }
}

impl<C: Connect> Connect for EmulatedLink<C> {
    fn connect(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>> {
        let connection = self.connections.get();
        self.connections.set(connection + 1);
        let delays = Delays {
            latency_ms: self.latency_ms.clone(),
            draws: self.draws.clone(),
            connection,
            chunks: [0, 0],
        };
        let inner = self.inner.connect();
        Box::pin(async move {
            let stream = inner.await?;
            Ok(Box::new(DelayLine::new(stream, delays)) as Box<dyn IoObject>)
        })
    }

    fn authority(&self) -> String {
        self.inner.authority()
    }

    fn ws_scheme(&self) -> &'static str {
        self.inner.ws_scheme()
    }
}

/// The latency draws of one connection.
struct Delays {
    latency_ms: Dist,
    draws: Draws,
    connection: u64,
    /// Chunks so far, up and down: the index of their draws.
    chunks: [u64; 2],
}

impl Delays {
    fn next(&mut self, up: bool) -> Duration {
        let (slot, purpose) = if up {
            (0, Purpose::ClientEdgeUp)
        } else {
            (1, Purpose::ClientEdgeDown)
        };
        let index = self.chunks[slot];
        self.chunks[slot] += 1;
        let ms = self
            .draws
            .ms(&self.latency_ms, self.connection, purpose, index);
        Duration::from_millis(ms)
    }
}

/// Bytes on their way, due at `due`.
struct Chunk {
    due: Instant,
    bytes: Vec<u8>,
    /// How many of them were passed on already.
    at: usize,
}

/// Who waits on a lane: a timer wakes one task, and the up lane is driven by the writer and,
/// through `poll_read`, by the reader (the probe drives each connection from one task, but a
/// reader that waits must not take the writer's wake-up).
#[derive(Clone, Copy)]
enum Waiter {
    Reader = 0,
    Writer = 1,
}

/// One direction of the line: the chunks in order, when the last one is due, a timer per
/// waiter.
struct Lane {
    chunks: VecDeque<Chunk>,
    held_bytes: usize,
    last_due: Instant,
    timers: [Pin<Box<Sleep>>; 2],
}

impl Lane {
    fn new() -> Self {
        let now = Instant::now();
        Lane {
            chunks: VecDeque::new(),
            held_bytes: 0,
            last_due: now,
            timers: [
                Box::pin(tokio::time::sleep_until(now)),
                Box::pin(tokio::time::sleep_until(now)),
            ],
        }
    }

    /// Queues `bytes`, due after `delay` and never before the chunk ahead of them.
    fn push(&mut self, bytes: Vec<u8>, delay: Duration) {
        let due = (Instant::now() + delay).max(self.last_due);
        self.last_due = due;
        self.held_bytes += bytes.len();
        self.chunks.push_back(Chunk { due, bytes, at: 0 });
    }

    /// Ready once `due` has come; otherwise the waiter's timer wakes its task then.
    fn wait_until(&mut self, due: Instant, who: Waiter, cx: &mut Context<'_>) -> Poll<()> {
        if due <= Instant::now() {
            return Poll::Ready(());
        }
        let timer = &mut self.timers[who as usize];
        if timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        timer.as_mut().poll(cx)
    }

    /// The first chunk once it is due.
    fn due_front(&mut self, who: Waiter, cx: &mut Context<'_>) -> Poll<Option<&mut Chunk>> {
        let Some(due) = self.chunks.front().map(|c| c.due) else {
            return Poll::Ready(None);
        };
        ready!(self.wait_until(due, who, cx));
        Poll::Ready(self.chunks.front_mut())
    }

    /// `n` more bytes of the first chunk were passed on.
    fn advance(&mut self, n: usize) {
        self.held_bytes -= n;
        let front = self.chunks.front_mut().expect("a chunk to advance");
        front.at += n;
        if front.at == front.bytes.len() {
            self.chunks.pop_front();
        }
    }
}

/// How the peer's stream ended, once read: handed over after the bytes before it, when due.
enum End {
    Eof,
    Failed(io::Error),
}

/// A connection with a delay line in each direction.
struct DelayLine {
    inner: Box<dyn IoObject>,
    delays: Delays,
    up: Lane,
    down: Lane,
    /// The end of the peer's stream, and when it is handed over.
    end: Option<(Instant, End)>,
    /// Where the socket is read into; each chunk is copied out at its own size.
    scratch: Box<[u8]>,
}

impl DelayLine {
    fn new(inner: Box<dyn IoObject>, delays: Delays) -> Self {
        DelayLine {
            inner,
            delays,
            up: Lane::new(),
            down: Lane::new(),
            end: None,
            scratch: vec![0; READ_CHUNK_BYTES].into_boxed_slice(),
        }
    }

    /// Writes the due chunks to the socket; ready when nothing is left to write.
    fn drain_up(&mut self, who: Waiter, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let Some(chunk) = ready!(self.up.due_front(who, cx)) else {
                return Poll::Ready(Ok(()));
            };
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &chunk.bytes[chunk.at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.up.advance(n);
        }
    }

    /// Reads what the socket has into the down lane, up to the bound. The end of the stream,
    /// or an error, waits behind the bytes read before it.
    fn fill_down(&mut self, cx: &mut Context<'_>) {
        while self.end.is_none() && self.down.held_bytes < HELD_BYTES_MAX {
            let mut read = ReadBuf::new(&mut self.scratch);
            let ended = match Pin::new(&mut self.inner).poll_read(cx, &mut read) {
                Poll::Pending => break,
                Poll::Ready(Err(e)) => Some(End::Failed(e)),
                Poll::Ready(Ok(())) if read.filled().is_empty() => Some(End::Eof),
                Poll::Ready(Ok(())) => None,
            };
            let delay = self.delays.next(false);
            match ended {
                Some(end) => {
                    self.end = Some(((Instant::now() + delay).max(self.down.last_due), end));
                }
                None => {
                    let bytes = read.filled().to_vec();
                    self.down.push(bytes, delay);
                }
            }
        }
    }
}

impl AsyncRead for DelayLine {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // A reader may be the only task polling the connection (a WebSocket's pong waits in
        // the up lane): keep the up lane moving.
        if let Poll::Ready(Err(e)) = this.drain_up(Waiter::Reader, cx) {
            return Poll::Ready(Err(e));
        }
        this.fill_down(cx);
        if let Some(chunk) = ready!(this.down.due_front(Waiter::Reader, cx)) {
            let n = buf.remaining().min(chunk.bytes.len() - chunk.at);
            buf.put_slice(&chunk.bytes[chunk.at..chunk.at + n]);
            this.down.advance(n);
            return Poll::Ready(Ok(()));
        }
        let Some((due, _)) = &this.end else {
            return Poll::Pending;
        };
        ready!(this.down.wait_until(*due, Waiter::Reader, cx));
        match &mut this.end {
            Some((_, End::Failed(e))) => {
                // Handed over once; the stream stays ended.
                let e = std::mem::replace(e, io::ErrorKind::BrokenPipe.into());
                Poll::Ready(Err(e))
            }
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for DelayLine {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.up.held_bytes >= HELD_BYTES_MAX {
            ready!(this.drain_up(Waiter::Writer, cx))?;
        }
        let delay = this.delays.next(true);
        this.up.push(buf.to_vec(), delay);
        // Registers the writer for the first due time; a flush waits for all of it.
        if let Poll::Ready(Err(e)) = this.drain_up(Waiter::Writer, cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain_up(Waiter::Writer, cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain_up(Waiter::Writer, cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn local<F: Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(f)
    }

    /// A loopback echo server, and a link of constant `ms` one way to it.
    async fn echo_link(ms: f64) -> EmulatedLink<crate::live::Endpoint> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let target = crate::live::Endpoint::parse(&format!("http://{addr}"), false)
            .await
            .unwrap();
        EmulatedLink::new(target, Dist::Constant(ms), Draws::new(1, 1))
    }

    /// A round trip through the line takes the latency twice (up and down), in order.
    #[test]
    fn a_round_trip_takes_the_latency_each_way_and_keeps_the_order() {
        local(async {
            let link = echo_link(60.0).await;
            let mut s = link.connect().await.unwrap();
            let t0 = Instant::now();
            s.write_all(b"one").await.unwrap();
            s.write_all(b"two").await.unwrap();
            s.flush().await.unwrap();
            let mut got = Vec::new();
            while got.len() < 6 {
                let mut buf = [0; 16];
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "echo ended early");
                got.extend_from_slice(&buf[..n]);
            }
            let took = t0.elapsed();
            assert_eq!(got, b"onetwo");
            // Real time: at least the two one-way latencies (timers never fire early).
            assert!(took >= Duration::from_millis(120), "{took:?}");
        });
    }

    /// With no latency the line passes bytes and the end of stream through.
    #[test]
    fn a_zero_latency_line_passes_bytes_and_the_end_through() {
        local(async {
            let link = echo_link(0.0).await;
            let mut s = link.connect().await.unwrap();
            s.write_all(b"hello").await.unwrap();
            let mut buf = [0; 5];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
            s.shutdown().await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
        });
    }
}
