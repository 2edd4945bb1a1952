//! An accepted connection as the live server runs it: it holds its place under the connection
//! cap for as long as the stream lives (an upgraded socket included, which outlives hyper's
//! connection task), and a write that makes no progress for too long fails.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// Connections open under one cap (atomic only because a stream must be `Send`).
#[derive(Debug, Clone, Default)]
pub(super) struct Open(Arc<AtomicUsize>);

impl Open {
    pub(super) fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// One more connection, released when the slot is dropped.
    pub(super) fn slot(&self) -> Slot {
        self.0.fetch_add(1, Ordering::Relaxed);
        Slot(self.0.clone())
    }
}

/// One connection's place under the cap.
#[derive(Debug)]
pub(super) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP stream holding its slot, whose writes fail with `TimedOut` after `stall_limit`
/// without progress (a peer that stops reading cannot hold the connection for ever).
pub(super) struct LiveStream {
    inner: TcpStream,
    _slot: Slot,
    stall_limit: Duration,
    /// Started when a write first found the peer's window full; cleared on progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl LiveStream {
    pub(super) fn new(inner: TcpStream, slot: Slot, stall_limit: Duration) -> Self {
        LiveStream {
            inner,
            _slot: slot,
            stall_limit,
            stalled: None,
        }
    }

    /// `polled` as it is, except that a `Pending` past the stall limit becomes `TimedOut`.
    fn within_limit<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.stall_limit;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "peer stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for LiveStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for LiveStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.within_limit(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.within_limit(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.within_limit(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.within_limit(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn a_write_to_a_peer_that_stopped_reading_fails_and_the_slot_is_freed() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let _peer = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (accepted, _) = listener.accept().await.unwrap();
            let open = Open::default();
            let mut s = LiveStream::new(accepted, open.slot(), Duration::from_millis(200));
            assert_eq!(open.count(), 1);
            // The peer never reads: the socket buffers fill, then the write stalls.
            let bytes = vec![0u8; 256 << 20];
            let write = s.write_all(&bytes);
            let e = tokio::time::timeout(Duration::from_secs(10), write)
                .await
                .expect("the stalled write ends by itself")
                .unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            drop(s);
            assert_eq!(open.count(), 0);
        });
    }
}
