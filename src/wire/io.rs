//! The byte streams a connection runs on: the simulation's in-process pipes, real TCP, or TLS.

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream a server connection can run on.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// An object-safe byte stream: what a dialled or connected stream is boxed as.
pub trait IoObject: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> IoObject for T {}
