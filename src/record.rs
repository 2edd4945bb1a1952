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
    /// The upgrade was answered with a client error status (400, 401, 426, ...); in `probe`
    /// also a POST answered with something unusable (its [`Violation`] names what).
    Rejected,
    /// The upgrade was answered with a server error status (500, 502, 503); in `probe` also
    /// a job the server broke on its socket (its [`Violation`] names how).
    ServerError,
    /// The connection failed or closed early.
    NetworkError,
}

impl crate::names::by_name::Named for Outcome {
    fn name(self) -> &'static str {
        Outcome::name(self)
    }
    fn from_name(name: &str) -> Option<Self> {
        Outcome::parse(name)
    }
    fn all() -> &'static [Self] {
        &Outcome::ALL
    }
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Ok,
        Outcome::HandshakeTimeout,
        Outcome::PingTimeout,
        Outcome::Rejected,
        Outcome::ServerError,
        Outcome::NetworkError,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HandshakeTimeout => "handshake_timeout",
            Outcome::PingTimeout => "ping_timeout",
            Outcome::Rejected => "rejected",
            Outcome::ServerError => "server_error",
            Outcome::NetworkError => "network_error",
        }
    }

    /// The outcome of this name.
    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Whether a fresh attempt with the same token could succeed (a rejection will not).
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Outcome::HandshakeTimeout
                | Outcome::PingTimeout
                | Outcome::ServerError
                | Outcome::NetworkError
        )
    }
}

/// What a server did wrong that made `probe` fail a job, named in its output beside the job's
/// [`Outcome`]. Probe only: the simulated server does none of it, so no simulated record has
/// one. Why not more `Outcome`s: `Outcome::ALL` is every run's outcomes map and table rows, so
/// a new outcome would add a key (at 0) to every simulation output; a name beside an existing
/// outcome changes none (docs/commands.md, `probe`, "What is judged").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    /// An HTTP answer whose head is over 64 KiB (an endless header).
    HeadTooLarge,
    /// An HTTP answer that is not HTTP/1.1.
    HeadMalformed,
    /// An HTTP answer whose body is over 64 KiB, by its `Content-Length` or as read.
    BodyTooLarge,
    /// A 202 whose body is not the API's JSON, or whose `jobId` or token cannot go into a URL.
    Bad202,
    /// The server's pings outran their pongs: more than 64 KiB of pongs it did not read.
    PingFlood,
    /// A progress message whose `seq` is not an integer within `1..=books`.
    SeqOutOfRange,
    /// Progress duplicated, or older than progress already had.
    ProgressOutOfOrder,
    /// The completion came with results missing, or a result below the highest never came.
    ProgressGap,
    /// Every result and the completion came, after `client.result_deadline_ms`.
    ResultsLate,
}

impl Violation {
    pub const ALL: [Violation; 9] = [
        Violation::HeadTooLarge,
        Violation::HeadMalformed,
        Violation::BodyTooLarge,
        Violation::Bad202,
        Violation::PingFlood,
        Violation::SeqOutOfRange,
        Violation::ProgressOutOfOrder,
        Violation::ProgressGap,
        Violation::ResultsLate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Violation::HeadTooLarge => "head_too_large",
            Violation::HeadMalformed => "head_malformed",
            Violation::BodyTooLarge => "body_too_large",
            Violation::Bad202 => "bad_202",
            Violation::PingFlood => "ping_flood",
            Violation::SeqOutOfRange => "seq_out_of_range",
            Violation::ProgressOutOfOrder => "progress_out_of_order",
            Violation::ProgressGap => "progress_gap",
            Violation::ResultsLate => "results_late",
        }
    }

    /// What the server did, in a few words.
    pub fn what(self) -> &'static str {
        match self {
            Violation::HeadTooLarge => "an HTTP answer's head was over 64 KiB",
            Violation::HeadMalformed => "an HTTP answer was not HTTP/1.1",
            Violation::BodyTooLarge => {
                "an HTTP answer's body was over 64 KiB (by its Content-Length or as read)"
            }
            Violation::Bad202 => {
                "a 202's body was not {jobId, token} usable in a URL, or named another job"
            }
            Violation::PingFlood => {
                "the server pinged faster than it read the pongs (over 64 KiB of pongs unsent)"
            }
            Violation::SeqOutOfRange => "a progress seq was not an integer within 1..=books",
            Violation::ProgressOutOfOrder => "progress came duplicated or out of order",
            Violation::ProgressGap => "the job ended with results missing",
            Violation::ResultsLate => "every result came, after client.result_deadline_ms",
        }
    }
}

/// One job in one variant. Server timings are the object's first upgrade of the job, so
/// variants compare pair-wise on the same draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub job: u64,
    pub outcome: Option<Outcome>,
    /// Socket connects (the first, retries and reconnects).
    pub attempts: u32,
    /// Retries taken (of the POST and the socket), within `client.retries`.
    pub retries: u32,
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
    /// Upgrade requests the client abandoned while the edge held them, before they reached
    /// the object (the object never saw them).
    pub canceled_at_edge: u32,
    pub no_socket_warnings: u32,
    pub progress_received: u32,
    pub enrichment_done: bool,
    /// Books whose result the app has (distinct progress sequence numbers).
    pub results: u32,
    /// The client got the batch's 202 (else the app knows the job failed).
    pub post_accepted: bool,
    /// Ms after the POST when the app had every result and the completion, if ever.
    pub results_complete_ms: Option<u64>,
    /// ... and that was within `client.result_deadline_ms`.
    pub results_in_time: bool,
    /// Accepted, finished on the server, not known to the client by the result deadline.
    pub silent_failure: bool,
    /// Sockets opened again after one dropped (counted in `attempts` too).
    pub reconnects: u32,
    /// Fresh tokens fetched after a 401.
    pub token_refreshes: u32,
    /// Status polls sent by the fallback.
    pub polls: u32,
    /// The job's results came (partly) through the polling fallback.
    pub fallback_used: bool,
    /// Progress messages that repeated a sequence number the app already had.
    pub progress_duplicates: u32,
    /// Progress messages older than one the app already had.
    pub progress_reordered: u32,
    /// Sockets the object accepted with a token the durable store did not hold (or expired).
    pub unauthorized_accepts: u32,
    /// The client's view at its end: a result below the highest it had never came, or the
    /// completion came with results missing.
    pub progress_gap: bool,
    /// The client heard the job's completion (a `complete` message or a `done` poll).
    pub complete_heard: bool,
    /// What the server did wrong, the first thing the client saw (`probe` only; never in the
    /// simulation, whose records serialize as before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
    /// The job's network type: its index in the scenario's `network.types` (none without them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_type: Option<u8>,
    /// The app session the job ran in (its first job), with `[session]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    /// The edge's KV reads of this job's token (variants with an edge check) …
    #[serde(skip_serializing_if = "is_zero")]
    pub kv_reads: u32,
    /// … of which its location's cache served (hot reads).
    #[serde(skip_serializing_if = "is_zero")]
    pub kv_hot_reads: u32,
    /// The Worker's KV puts and deletes of this job's token.
    #[serde(skip_serializing_if = "is_zero")]
    pub kv_writes: u32,
    /// Upgrades the edge did not accept and forwarded to the object.
    #[serde(skip_serializing_if = "is_zero")]
    pub edge_fallbacks: u32,
    /// Upgrades the edge refused (401) without the object.
    #[serde(skip_serializing_if = "is_zero")]
    pub edge_refusals: u32,
    /// The job's token was revoked (`auth.revoke_probability`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
    /// At the revocation, how much longer some edge location would still accept the old
    /// token from its KV cache, ms (0: none would).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_window_ms: Option<u64>,
    /// Upgrades a holder of the revoked token tried, and the server accepted.
    #[serde(skip_serializing_if = "is_zero")]
    pub stale_attempts: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub stale_accepts: u32,
    /// How long after the revocation the last stale accept came, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_accept_after_ms: Option<u64>,
    /// What the job's object cost, at the run's end: its storage operations (gets, cached
    /// or not, and puts) …
    #[serde(skip)]
    pub storage_ops: u32,
    /// … and its wall time while active, ms: from each activation until it hibernated
    /// (`object.hibernate_after_idle_ms` after its last event) or was lost; Cloudflare
    /// bills a Durable Object's duration so.
    #[serde(skip)]
    pub object_wall_ms: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl JobRecord {
    pub fn new(job: u64) -> Self {
        JobRecord {
            job,
            outcome: None,
            attempts: 0,
            retries: 0,
            cold_start: false,
            cold_start_ms: None,
            reads_ms: Vec::new(),
            storage_ms: None,
            upgrade_ms: None,
            client_upgrade_ms: None,
            canceled: 0,
            canceled_at_edge: 0,
            no_socket_warnings: 0,
            progress_received: 0,
            enrichment_done: false,
            results: 0,
            post_accepted: false,
            results_complete_ms: None,
            results_in_time: false,
            silent_failure: false,
            reconnects: 0,
            token_refreshes: 0,
            polls: 0,
            fallback_used: false,
            progress_duplicates: 0,
            progress_reordered: 0,
            unauthorized_accepts: 0,
            progress_gap: false,
            complete_heard: false,
            violation: None,
            network_type: None,
            session: None,
            kv_reads: 0,
            kv_hot_reads: 0,
            kv_writes: 0,
            edge_fallbacks: 0,
            edge_refusals: 0,
            revoked: false,
            stale_window_ms: None,
            stale_attempts: 0,
            stale_accepts: 0,
            stale_accept_after_ms: None,
            storage_ops: 0,
            object_wall_ms: 0,
        }
    }
}

/// Told each new peak of open sockets (the benchmark samples memory then).
pub type PeakHook = Box<dyn FnMut(usize)>;

thread_local! {
    static OPEN_SOCKETS_PEAK_HOOK: std::cell::RefCell<Option<PeakHook>> =
        const { std::cell::RefCell::new(None) };
}

/// Sets (or clears) this thread's hook for new peaks of open sockets, which also hears of the
/// run's start as a peak of 0 (`note_run_start`). Measurement only: the simulation never
/// reads what the hook does.
pub fn set_open_sockets_peak_hook(hook: Option<PeakHook>) {
    OPEN_SOCKETS_PEAK_HOOK.with(|h| *h.borrow_mut() = hook);
}

/// Tells this thread's peak hook that the run proper starts, with 0 sockets open: the world is
/// built and, for the upgrade benchmark, every token preloaded. Measurement only.
pub(crate) fn note_run_start() {
    OPEN_SOCKETS_PEAK_HOOK.with(|h| {
        if let Some(hook) = h.borrow_mut().as_mut() {
            hook(0);
        }
    });
}

/// Job records by job id, in id order (so outputs never depend on hash order). A run's jobs are
/// numbered from 0, so a vector indexed by id holds ids `0..room`, with room made for them at
/// once ([`Recorder::for_jobs`]). It never grows by doubling, and its records become the run's
/// vector of records without a copy. Why: the binary's allocator keeps the memory it frees
/// (src/main.rs) and reuses it in pieces, so a doubled vector or a copy of the records would
/// be a fresh block as large as itself. An id at or past the room (none in a run) goes to an
/// ordered map, as every id did before.
#[derive(Debug, Default)]
struct Records {
    /// Slot `id` holds job `id`'s record, if it has one.
    dense: Vec<Option<JobRecord>>,
    /// `dense` holds ids `0..room`.
    room: u64,
    sparse: BTreeMap<u64, JobRecord>,
}

impl Records {
    fn with_room(jobs: usize) -> Self {
        Records {
            dense: Vec::with_capacity(jobs),
            room: jobs as u64,
            sparse: BTreeMap::new(),
        }
    }

    fn entry(&mut self, job: u64) -> &mut JobRecord {
        if job >= self.room {
            return self
                .sparse
                .entry(job)
                .or_insert_with(|| JobRecord::new(job));
        }
        let slot = job as usize;
        if slot >= self.dense.len() {
            self.dense.resize_with(slot + 1, || None);
        }
        self.dense[slot].get_or_insert_with(|| JobRecord::new(job))
    }

    fn get(&self, job: u64) -> Option<&JobRecord> {
        if job >= self.room {
            return self.sparse.get(&job);
        }
        self.dense.get(job as usize).and_then(Option::as_ref)
    }

    fn iter(&self) -> impl Iterator<Item = &JobRecord> {
        self.dense.iter().flatten().chain(self.sparse.values())
    }

    fn into_vec(self) -> Vec<JobRecord> {
        // `filter_map` collects into the dense vector's own block (std collects in place when
        // the items are the same size, and `Option<JobRecord>` is); `flatten` copies here
        // (the test below fails with it).
        #[allow(clippy::filter_map_identity)]
        let mut records: Vec<JobRecord> = self.dense.into_iter().filter_map(|r| r).collect();
        records.extend(self.sparse.into_values());
        records
    }
}

/// Records of one run, by job, and its counters.
#[derive(Debug, Default)]
pub struct Recorder {
    jobs: Records,
    enrichments_open: usize,
    upgrades_open: usize,
    sockets_open: usize,
    sockets_open_max: usize,
    faults: BTreeMap<crate::names::FaultKind, u64>,
    /// Keep no job records: what is written to one lands in a scratch record, overwritten by
    /// the next (a live server: nobody reads them, and any client can name any job).
    discard_jobs: bool,
    scratch: Option<JobRecord>,
}

impl Recorder {
    /// A recorder with room made at once for the records of jobs `0..jobs` (a run's).
    pub fn for_jobs(jobs: usize) -> Self {
        Recorder {
            jobs: Records::with_room(jobs),
            ..Recorder::default()
        }
    }

    /// A recorder that keeps the counters and no job records.
    pub fn discarding_jobs() -> Self {
        Recorder {
            discard_jobs: true,
            ..Recorder::default()
        }
    }

    pub fn job(&mut self, job: u64) -> &mut JobRecord {
        if self.discard_jobs {
            return self.scratch.insert(JobRecord::new(job));
        }
        self.jobs.entry(job)
    }

    pub fn get(&self, job: u64) -> Option<&JobRecord> {
        self.jobs.get(job)
    }

    pub fn clone_records(&self) -> Vec<JobRecord> {
        self.jobs.iter().cloned().collect()
    }

    pub fn into_records(self) -> Vec<JobRecord> {
        self.jobs.into_vec()
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
        if self.sockets_open > self.sockets_open_max {
            self.sockets_open_max = self.sockets_open;
            OPEN_SOCKETS_PEAK_HOOK.with(|h| {
                if let Some(hook) = h.borrow_mut().as_mut() {
                    hook(self.sockets_open);
                }
            });
        }
    }

    pub fn socket_closed(&mut self) {
        assert!(self.sockets_open > 0, "a socket closed that never opened");
        self.sockets_open -= 1;
    }

    /// Progress sockets open now on the object host.
    pub fn sockets_open(&self) -> usize {
        self.sockets_open
    }

    /// Most progress sockets open at once on the object host.
    pub fn sockets_open_max(&self) -> usize {
        self.sockets_open_max
    }

    /// Counts one injected fault of `kind`.
    pub fn fault(&mut self, kind: crate::names::FaultKind) {
        *self.faults.entry(kind).or_insert(0) += 1;
    }

    /// Faults injected so far, by kind.
    pub fn faults(&self) -> BTreeMap<crate::names::FaultKind, u64> {
        self.faults.clone()
    }

    /// Enrichments still running on the server side.
    pub fn enrichments_open(&self) -> usize {
        self.enrichments_open
    }

    /// Upgrades the server began (at the edge or at the object) and has not finished: not yet
    /// answered and, after a 101, the socket not yet ended.
    pub fn upgrades_open(&self) -> usize {
        self.upgrades_open
    }
}

/// Holds one upgrade open on the server side (see [`Recorder::upgrades_open`]); dropping it
/// ends it. A run drains until none is held.
pub(crate) struct UpgradeOpen(std::rc::Rc<std::cell::RefCell<Recorder>>);

impl UpgradeOpen {
    pub(crate) fn new(recorder: &std::rc::Rc<std::cell::RefCell<Recorder>>) -> Self {
        recorder.borrow_mut().upgrades_open += 1;
        UpgradeOpen(recorder.clone())
    }
}

impl Drop for UpgradeOpen {
    fn drop(&mut self) {
        let mut r = self.0.borrow_mut();
        assert!(r.upgrades_open > 0, "an upgrade ended that never began");
        r.upgrades_open -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_out_in_id_order_from_the_room_and_past_it() {
        let mut r = Recorder::for_jobs(4);
        for job in [7, 2, 0, 3, 5] {
            r.job(job).attempts = job as u32 + 1;
        }
        assert_eq!(r.get(2).map(|j| j.attempts), Some(3));
        assert_eq!(r.get(7).map(|j| j.attempts), Some(8));
        assert!(r.get(1).is_none() && r.get(4).is_none() && r.get(6).is_none());
        let ids = |v: &[JobRecord]| v.iter().map(|j| j.job).collect::<Vec<_>>();
        assert_eq!(ids(&r.clone_records()), [0, 2, 3, 5, 7]);
        assert_eq!(ids(&r.into_records()), [0, 2, 3, 5, 7]);
    }

    /// The run's records are the recorder's own block: no copy as large as the records
    /// (std collects `filter_map` in place; this fails if it stops doing so).
    #[test]
    fn a_runs_records_leave_the_recorder_without_a_copy() {
        let mut r = Recorder::for_jobs(1_000);
        for job in (0..1_000).filter(|j| j % 7 != 3) {
            r.job(job);
        }
        let block = r.jobs.dense.as_ptr() as usize;
        let records = r.into_records();
        assert_eq!(records.as_ptr() as usize, block);
        assert_eq!(records.len(), 857);
    }
}
