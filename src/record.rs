//! Per-job records: what the object measured and what the client experienced.

use std::collections::BTreeMap;

use serde::Serialize;

/// How a job's progress socket ended, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 101 received, pong in time, socket kept until the job completed.
    Ok,
    /// No 101 before `client.handshake_timeout_ms`.
    HandshakeTimeout,
    /// No pong within `client.ping_timeout_ms` of the (queued) ping.
    PingTimeout,
    /// The upgrade was answered with an error status (400, 401, 426, ...).
    Rejected,
    /// The connection failed or closed early.
    NetworkError,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::HandshakeTimeout,
        Outcome::PingTimeout,
        Outcome::Rejected,
        Outcome::NetworkError,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HandshakeTimeout => "handshake_timeout",
            Outcome::PingTimeout => "ping_timeout",
            Outcome::Rejected => "rejected",
            Outcome::NetworkError => "network_error",
        }
    }

    /// Whether a fresh attempt could succeed (a rejection will not).
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Outcome::HandshakeTimeout | Outcome::PingTimeout | Outcome::NetworkError
        )
    }
}

/// One job in one variant. Server timings are the object's first upgrade of the job, so
/// variants compare pair-wise on the same draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub job: u64,
    pub outcome: Option<Outcome>,
    pub attempts: u32,
    /// The first upgrade found the object cold.
    pub cold_start: bool,
    pub cold_start_ms: Option<u64>,
    /// Durations of the token reads of the first upgrade, in issue order.
    pub reads_ms: Vec<u64>,
    pub storage_ms: Option<u64>,
    pub upgrade_ms: Option<u64>,
    pub client_upgrade_ms: Option<u64>,
    /// Upgrades the object processed for a client that was gone by then.
    pub canceled: u32,
    pub no_socket_warnings: u32,
    pub progress_received: u32,
    pub enrichment_done: bool,
}

impl JobRecord {
    pub fn new(job: u64) -> Self {
        JobRecord {
            job,
            outcome: None,
            attempts: 0,
            cold_start: false,
            cold_start_ms: None,
            reads_ms: Vec::new(),
            storage_ms: None,
            upgrade_ms: None,
            client_upgrade_ms: None,
            canceled: 0,
            no_socket_warnings: 0,
            progress_received: 0,
            enrichment_done: false,
        }
    }
}

/// Records of one run, keyed by job (ordered, so outputs never depend on hash order).
#[derive(Debug, Default)]
pub struct Recorder {
    jobs: BTreeMap<u64, JobRecord>,
    enrichments_open: usize,
    sockets_open: usize,
    sockets_open_max: usize,
}

impl Recorder {
    pub fn job(&mut self, job: u64) -> &mut JobRecord {
        self.jobs.entry(job).or_insert_with(|| JobRecord::new(job))
    }

    pub fn get(&self, job: u64) -> Option<&JobRecord> {
        self.jobs.get(&job)
    }

    pub fn clone_records(&self) -> Vec<JobRecord> {
        self.jobs.values().cloned().collect()
    }

    pub fn into_records(self) -> Vec<JobRecord> {
        self.jobs.into_values().collect()
    }

    pub fn enrichment_started(&mut self) {
        self.enrichments_open += 1;
    }

    pub fn enrichment_finished(&mut self, job: u64) {
        assert!(
            self.enrichments_open > 0,
            "job {job}: enrichment finished twice"
        );
        self.enrichments_open -= 1;
        self.job(job).enrichment_done = true;
    }

    pub fn socket_opened(&mut self) {
        self.sockets_open += 1;
        self.sockets_open_max = self.sockets_open_max.max(self.sockets_open);
    }

    pub fn socket_closed(&mut self) {
        assert!(self.sockets_open > 0, "a socket closed that never opened");
        self.sockets_open -= 1;
    }

    /// Most progress sockets open at once on the object host.
    pub fn sockets_open_max(&self) -> usize {
        self.sockets_open_max
    }

    /// Enrichments still running on the server side.
    pub fn enrichments_open(&self) -> usize {
        self.enrichments_open
    }
}
