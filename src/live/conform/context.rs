//! What every case of one run shares: the target, the settings, fresh job ids, and the
//! connection budget (every connection of the run is counted against one fixed cap).

use std::cell::Cell;
use std::time::Duration;

use super::finding::Finding;
use super::Settings;
use crate::client::Connect;
use crate::live::Endpoint;
use crate::wire::IoObject;

/// Most connections one run opens (the full suite needs under 100).
pub const CONNECTIONS_MAX: u32 = 400;

pub(super) struct Context {
    pub(super) target: Endpoint,
    pub(super) settings: Settings,
    connections: Cell<u32>,
    jobs: Cell<u32>,
}

impl Context {
    pub(super) fn new(target: Endpoint, settings: Settings) -> Context {
        Context {
            target,
            settings,
            connections: Cell::new(0),
            jobs: Cell::new(0),
        }
    }

    /// A job id no other case of this run uses: `{job_prefix}{n}`.
    pub(super) fn job_id(&self) -> String {
        let n = self.jobs.get();
        self.jobs.set(n + 1);
        format!("{}{n}", self.settings.job_prefix)
    }

    /// A fresh job id padded with `x` to exactly `len` characters (`conform` refuses a prefix
    /// that leaves no room for 64).
    pub(super) fn job_id_of_len(&self, len: usize) -> String {
        let mut id = self.job_id();
        while id.len() < len {
            id.push('x');
        }
        id
    }

    pub(super) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.request_timeout_ms)
    }

    pub(super) fn job_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.job_timeout_ms)
    }

    /// Connections opened so far.
    pub(super) fn connections(&self) -> u32 {
        self.connections.get()
    }

    /// A new connection to the target (TCP, or TLS over it), counted against the cap.
    pub(super) async fn connect(&self) -> Result<Box<dyn IoObject>, Finding> {
        let n = self.connections.get();
        if n >= CONNECTIONS_MAX {
            return Err(Finding::Error(format!(
                "the run's cap of {CONNECTIONS_MAX} connections is reached"
            )));
        }
        self.connections.set(n + 1);
        match tokio::time::timeout(self.request_timeout(), self.target.connect()).await {
            Ok(Ok(io)) => Ok(io),
            Ok(Err(e)) => Err(Finding::Fail(format!("connecting: {e}"))),
            Err(_) => Err(Finding::Fail(format!(
                "connecting: no connection within {} ms",
                self.settings.request_timeout_ms
            ))),
        }
    }
}
