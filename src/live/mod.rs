//! The same worker, objects, storage model, variants and client on real tokio sockets and real
//! time: `serve` for real clients, `probe` for real endpoints; and `conform`, which checks any
//! endpoint against the documented HTTP API. All run on a current-thread runtime with a
//! `LocalSet` (the server and client code is single-threaded by design); `probe` and `conform`
//! reach their endpoint through one `Endpoint`.

mod accept;
pub mod conform;
mod endpoint;
mod limits;
mod link;
mod probe;
mod serve;
mod stream;

pub use endpoint::Endpoint;
pub use limits::{connections_fitting, fd_limit, Limits};
pub use link::EmulatedLink;
pub use probe::{probe, random_job_prefix, valid_job_prefix, ProbeOptions, ProbeRun};
pub use serve::Server;

use std::net::{IpAddr, SocketAddr};

/// Why a live command could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl crate::failure::BadInput for LiveError {
    /// A bad argument is input; a socket that failed is not.
    fn is_bad_input(&self) -> bool {
        matches!(self, LiveError::Usage(_))
    }
}

/// Refuses addresses outside the loopback range unless the user allowed it explicitly.
pub fn ensure_loopback(
    addrs: &[SocketAddr],
    allow_remote: bool,
    what: &str,
) -> Result<(), LiveError> {
    if allow_remote {
        return Ok(());
    }
    match addrs.iter().find(|a| !is_loopback(a.ip())) {
        Some(a) => Err(LiveError::Usage(format!(
            "{what} {a} is not a loopback address; pass --allow-remote to use it"
        ))),
        None => Ok(()),
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}
