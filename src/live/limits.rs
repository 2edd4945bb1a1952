//! The resource limits of `serve`: connections, timeouts and jobs, with defaults that keep a
//! server under the process's descriptor limit and its memory under a documented bound.

use std::time::Duration;

/// What `serve` holds at most and how long it waits for a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Client connections open at once on the worker; one more is answered 503 and closed.
    pub connections_max: usize,
    /// A request's head, and its body, must arrive within this long of the connection being
    /// ready for a request (the first, or the next one on a keep-alive connection).
    pub header_timeout: Duration,
    /// A progress socket with no frame either way for this long is closed (1001), and a
    /// write that cannot make progress for this long ends its connection.
    pub idle_timeout: Duration,
    /// Jobs (objects) the host keeps; past it, idle ones are forgotten, oldest first.
    pub jobs_max: usize,
    /// An idle finished job whose token is still valid is kept at most this long.
    pub job_retention: Duration,
}

/// Descriptors one proxied client connection can take: its own, and both ends of the
/// worker's connection to the object host (an upgrade holds one for the socket's life).
pub const FDS_PER_CONNECTION: u64 = 3;
/// Descriptors kept for the process itself (standard streams, the runtime, listeners).
pub const FDS_RESERVED: u64 = 32;
/// Most client connections by default, whatever the descriptor limit.
pub const CONNECTIONS_DEFAULT_MAX: usize = 1024;
/// Most idle keep-alive connections the worker keeps to the object host, by default.
pub const POOL_MAX: usize = 32;

impl Limits {
    /// The defaults under a soft descriptor limit of `fd_limit`: as many connections as fit
    /// (see [`connections_fitting`]), at most `CONNECTIONS_DEFAULT_MAX`.
    pub fn defaults(fd_limit: Option<u64>) -> Limits {
        Limits {
            connections_max: fd_limit.map_or(CONNECTIONS_DEFAULT_MAX, connections_fitting),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            jobs_max: 20_000,
            job_retention: Duration::from_secs(600),
        }
    }

    /// Descriptors the limits can take at most: each connection and the worker's pool of
    /// idle connections to the object host (both ends), plus the process's own.
    pub fn fds_needed(&self) -> u64 {
        let c = self.connections_max as u64;
        FDS_PER_CONNECTION * c + 2 * self.pool_max() as u64 + FDS_RESERVED
    }

    /// Idle keep-alive connections the worker keeps to the object host.
    pub fn pool_max(&self) -> usize {
        POOL_MAX.min(self.connections_max)
    }

    /// Connections the object host accepts: one per client connection the worker relays,
    /// and its pool.
    pub fn object_connections_max(&self) -> usize {
        self.connections_max + self.pool_max()
    }
}

/// The most client connections whose descriptors fit under `fd_limit` (at least 1), at most
/// `CONNECTIONS_DEFAULT_MAX`: 309 under the usual limit of 1,024.
pub fn connections_fitting(fd_limit: u64) -> usize {
    let mut c = CONNECTIONS_DEFAULT_MAX;
    while c > 1 {
        let limits = Limits {
            connections_max: c,
            ..Limits::defaults(None)
        };
        if limits.fds_needed() <= fd_limit {
            break;
        }
        c -= 1;
    }
    c
}

/// The process's soft limit on open descriptors, if it has one.
pub fn fd_limit() -> Option<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0;
    // `rlim_t` is not u64 on every platform.
    #[allow(clippy::unnecessary_cast)]
    let soft = rl.rlim_cur as u64;
    (ok && rl.rlim_cur != libc::RLIM_INFINITY).then_some(soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_connections_fit_the_descriptor_limit() {
        assert_eq!(connections_fitting(1024), 309);
        assert_eq!(connections_fitting(64), 6);
        for fd_limit in [64, 256, 1024, 4096] {
            let l = Limits::defaults(Some(fd_limit));
            assert!(l.fds_needed() <= fd_limit, "{fd_limit}: {l:?}");
            let one_more = Limits {
                connections_max: l.connections_max + 1,
                ..l
            };
            assert!(
                one_more.fds_needed() > fd_limit || l.connections_max == CONNECTIONS_DEFAULT_MAX
            );
        }
        assert_eq!(
            Limits::defaults(Some(1 << 20)).connections_max,
            CONNECTIONS_DEFAULT_MAX
        );
        assert_eq!(Limits::defaults(Some(8)).connections_max, 1);
    }
}
