//! The simulation's in-process connection: two ends, each reading what the other wrote, in one
//! allocation. It behaves as tokio's `duplex` did (the same budget, the same wakes, so every
//! output is the same) but holds less while a herd waits (issue 27): both directions share
//! one lock, and a direction's buffer is freed once it is read to its end, so a connection
//! waiting for its next message holds no bytes (tokio's kept the largest message's capacity).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// One end of a pipe.
#[derive(Debug)]
pub(super) struct End {
    shared: Arc<Mutex<Shared>>,
    /// The direction this end reads; it writes the other one.
    reads: usize,
}

/// What both ends share.
#[derive(Debug)]
struct Shared {
    directions: [OneWay; 2],
    /// Most unread bytes a direction holds; a write past it waits.
    bytes_max: usize,
}

/// The bytes one way, and who waits on them.
#[derive(Debug, Default)]
struct OneWay {
    buffer: BytesMut,
    /// The writer shut down, or either end was dropped.
    closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

/// A pipe whose directions each hold at most `bytes_max` unread bytes (a write past it waits).
pub(super) fn pipe(bytes_max: usize) -> (End, End) {
    assert!(bytes_max > 0, "a pipe that holds no byte never carries one");
    let shared = Arc::new(Mutex::new(Shared {
        directions: Default::default(),
        bytes_max,
    }));
    let near = End {
        shared: shared.clone(),
        reads: 0,
    };
    (near, End { shared, reads: 1 })
}

impl OneWay {
    /// Moves what is buffered into `buf`: `Pending` (the waker kept) while nothing is.
    fn read(&mut self, cx: &Context<'_>, buf: &mut ReadBuf<'_>, wakers: &mut Wakers) -> Poll<()> {
        if buf.remaining() == 0 {
            return Poll::Ready(());
        }
        if self.buffer.has_remaining() {
            let n = self.buffer.remaining().min(buf.remaining());
            buf.put_slice(&self.buffer[..n]);
            self.buffer.advance(n);
            if self.buffer.is_empty() {
                // Read to its end: a waiting connection holds no bytes.
                self.buffer = BytesMut::new();
            }
            wakers.wake = self.write_waker.take();
            return Poll::Ready(());
        }
        if self.closed {
            return Poll::Ready(());
        }
        wakers.replaced = keep(&mut self.read_waker, cx);
        Poll::Pending
    }

    /// Appends what fits of `bufs`: the bytes taken, or `Pending` (the waker kept) when full.
    fn write(
        &mut self,
        cx: &Context<'_>,
        bufs: &[io::IoSlice<'_>],
        bytes_max: usize,
        wakers: &mut Wakers,
    ) -> Poll<io::Result<usize>> {
        if self.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let avail = bytes_max.saturating_sub(self.buffer.len());
        if avail == 0 {
            wakers.replaced = keep(&mut self.write_waker, cx);
            return Poll::Pending;
        }
        let mut room = avail;
        for b in bufs {
            let n = b.len().min(room);
            self.buffer.extend_from_slice(&b[..n]);
            room -= n;
        }
        wakers.wake = self.read_waker.take();
        Poll::Ready(Ok(avail - room))
    }

    /// Closes this direction: its reader, if waiting, is returned to be woken.
    fn close(&mut self) -> Option<Waker> {
        self.closed = true;
        self.read_waker.take()
    }
}

/// Keeps `cx`'s waker in `slot`, not cloning it again when it is the one kept; the waker it
/// replaces is returned, to be dropped once the lock is let go.
fn keep(slot: &mut Option<Waker>, cx: &Context<'_>) -> Option<Waker> {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => None,
        _ => slot.replace(cx.waker().clone()),
    }
}

/// What a poll wakes, and the waker it replaced: both handled after the lock is let go, as
/// a woken task, or a dropped waker's last reference, may use the pipe.
#[derive(Default)]
struct Wakers {
    wake: Option<Waker>,
    replaced: Option<Waker>,
}

impl Wakers {
    fn wake(self) {
        if let Some(w) = self.wake {
            w.wake();
        }
        drop(self.replaced);
    }
}

impl End {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A poisoned lock means a task panicked mid-copy; the run has failed already.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The direction it reads and the one it writes.
    fn directions(shared: &mut Shared, reads: usize) -> (&mut OneWay, &mut OneWay) {
        let [a, b] = &mut shared.directions;
        if reads == 0 {
            (a, b)
        } else {
            (b, a)
        }
    }

    fn poll_write_slices(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // The runtime's budget, as tokio's pipe spends it: a task yields at the same point.
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        let mut wakers = Wakers::default();
        let written = {
            let mut shared = self.lock();
            let bytes_max = shared.bytes_max;
            End::directions(&mut shared, self.reads)
                .1
                .write(cx, bufs, bytes_max, &mut wakers)
        };
        if written.is_ready() {
            coop.made_progress();
        }
        wakers.wake();
        written
    }
}

impl AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        let mut wakers = Wakers::default();
        let read = {
            let mut shared = self.lock();
            End::directions(&mut shared, self.reads)
                .0
                .read(cx, buf, &mut wakers)
        };
        if read.is_ready() {
            coop.made_progress();
        }
        wakers.wake();
        read.map(Ok)
    }
}

impl AsyncWrite for End {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_slices(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_slices(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let reader = {
            let mut shared = self.lock();
            End::directions(&mut shared, self.reads).1.close()
        };
        if let Some(w) = reader {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for End {
    /// The connection's reset: the other end reads its end and its writes fail.
    fn drop(&mut self) {
        let (reader, writer) = {
            let mut shared = self.lock();
            let (mine, theirs) = End::directions(&mut shared, self.reads);
            let reader = theirs.close();
            mine.closed = true;
            // No one reads it again.
            mine.buffer = BytesMut::new();
            (reader, mine.write_waker.take())
        };
        if let Some(w) = reader {
            w.wake();
        }
        if let Some(w) = writer {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn capacity(end: &End, direction: usize) -> usize {
        end.lock().directions[direction].buffer.capacity()
    }

    #[tokio::test]
    async fn bytes_cross_both_ways_in_order_and_a_drained_direction_holds_none() {
        let (mut near, mut far) = pipe(1024);
        near.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        near.write_all(b"\r\n").await.unwrap();
        far.write_all(b"HTTP/1.1 101").await.unwrap();
        let mut got = [0; 18];
        far.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(capacity(&near, 1), 0, "read to its end: freed");
        assert!(capacity(&near, 0) >= 12, "not yet read: kept");
        let mut got = [0; 12];
        near.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"HTTP/1.1 101");
        assert_eq!(capacity(&near, 0), 0);
    }

    #[tokio::test]
    async fn a_write_past_the_limit_waits_for_the_reader() {
        let (mut near, mut far) = pipe(4);
        assert_eq!(near.write(b"abcdef").await.unwrap(), 4);
        let full = std::future::poll_fn(|cx| {
            Poll::Ready(Pin::new(&mut near).poll_write(cx, b"ef").is_pending())
        });
        assert!(full.await, "the direction is full");
        let mut got = [0; 4];
        far.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"abcd");
        assert_eq!(near.write(b"ef").await.unwrap(), 2);
    }

    /// A waker that says whether it was woken.
    #[derive(Default)]
    struct Flag(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl Flag {
        fn woken(&self) -> bool {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// Polls a read of `end` once with a fresh flag: the poll's result and the flag.
    fn poll_read_once(end: &mut End) -> (Poll<io::Result<()>>, Arc<Flag>) {
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut buf = [0; 8];
        let polled = Pin::new(end).poll_read(
            &mut Context::from_waker(&waker),
            &mut ReadBuf::new(&mut buf),
        );
        (polled, flag)
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_by_a_write_a_shutdown_and_a_reset() {
        let (mut near, mut far) = pipe(1024);
        let (polled, flag) = poll_read_once(&mut far);
        assert!(polled.is_pending());
        near.write_all(b"x").await.unwrap();
        assert!(flag.woken(), "a write wakes the reader");
        far.read_exact(&mut [0; 1]).await.unwrap();
        let (polled, flag) = poll_read_once(&mut far);
        assert!(polled.is_pending());
        near.shutdown().await.unwrap();
        assert!(flag.woken(), "a shutdown wakes the reader");
        let (near, mut far) = pipe(1024);
        let (polled, flag) = poll_read_once(&mut far);
        assert!(polled.is_pending());
        drop(near);
        assert!(flag.woken(), "a reset wakes the reader");
        assert_eq!(far.read(&mut [0; 8]).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_waiting_writer_is_woken_by_a_reset_and_its_write_fails() {
        let (mut near, far) = pipe(1);
        near.write_all(b"x").await.unwrap();
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut near).poll_write(&mut cx, b"y").is_pending());
        drop(far);
        assert!(flag.woken(), "a reset wakes the writer");
        let err = near.write(b"y").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[tokio::test]
    async fn a_shutdown_is_the_readers_end_and_a_dropped_end_a_reset() {
        let (mut near, mut far) = pipe(1024);
        near.write_all(b"bye").await.unwrap();
        near.shutdown().await.unwrap();
        let mut got = Vec::new();
        far.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
        // A reset, on a pair whose ends have not shut down: the survivor reads the end, and
        // its writes fail.
        let (mut near, far) = pipe(1024);
        drop(far);
        assert_eq!(near.read(&mut [0; 8]).await.unwrap(), 0);
        let err = near.write(b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
