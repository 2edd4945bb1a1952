//! Scenario files: the TOML schema, `--set` overrides, and validation into a checked
//! [`Scenario`]. Every key has a documented default; unknown keys are rejected.

mod bundled;
mod dist;
mod error;
mod expect;
mod load;
mod lookup;
mod reported;
mod validate;

pub use bundled::{bundled, Bundled, BUNDLED};
pub use dist::{Dist, EMPIRICAL_SAMPLES_MAX, LATENCY_MS_MAX};
pub use error::{clip, Location, ScenarioError};
pub use expect::{Expectation, FigureRef, Op, Term};
pub use load::{
    apply_override, parse_override, parse_override_from, parse_overrides, read_text, Override,
    FILE_BYTES_MAX, KEY_BYTES_MAX, KEY_SEGMENTS_MAX,
};
pub use lookup::{NoNumber, Number};
pub use reported::{Reported, Stated, REPORTED_MAX};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::names::{Figure, VariantId};

/// Most jobs one run may simulate.
pub const JOBS_MAX: u32 = 1_000_000;
/// Most jobs in flight at once. Connections are in-process pipes, not turmoil TCP, so no
/// simulated port runs out (turmoil's ephemeral ports once did, with a panic); the bound is
/// memory: about 100 KB per job in flight, 2 GB at the maximum.
pub const CONCURRENCY_MAX: u32 = 20_000;
/// Most jobs of one app session (`[session]`): the API's.
pub const SESSION_JOBS_MAX: u32 = crate::wire::api::SESSION_JOBS_MAX as u32;
/// Most progress messages (books) per job.
pub const BOOKS_PER_JOB_MAX: u32 = 10_000;
/// Most retries after the first upgrade attempt.
pub const RETRIES_MAX: u32 = 100;
/// Longest simulated run, in seconds (one week).
pub const DURATION_S_MAX_LIMIT: u64 = 7 * 24 * 3600;
/// Longest tick, in ms.
pub const TICK_MS_MAX: u64 = 1_000;
/// Most `[expect]` lines in one scenario.
pub const EXPECTATIONS_MAX: usize = 256;
/// Most partitions of each kind in `[faults]`.
pub const PARTITIONS_MAX: usize = 64;
/// Longest timeout or idle period a scenario may name, in ms (one week).
pub const PERIOD_MS_MAX: u64 = 7 * 24 * 3600 * 1000;

/// A checked scenario: every value within its documented limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    pub scenario: Meta,
    pub network: Network,
    pub storage: StorageConfig,
    pub object: ObjectConfig,
    pub auth: Auth,
    /// Workers KV, for the variants that check the token at the edge (`kv-edge`,
    /// `kv-edge-strict`); unused by the others.
    #[serde(skip_serializing_if = "KvConfig::is_default")]
    pub kv: KvConfig,
    pub client: ClientConfig,
    /// One socket per app session (none: one socket per job, the write-up's design).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionConfig>,
    pub enrichment: Enrichment,
    pub faults: Faults,
    pub slo: Slo,
    /// Expectations, `"variant.metric" = "OP EXPR"`; judged by `check`.
    pub expect: BTreeMap<String, String>,
    /// `expect`, parsed when the scenario was checked (in key order).
    #[serde(skip)]
    expectations: Vec<Expectation>,
    /// The options `decide` runs side by side (none: `decide` refuses the scenario).
    #[serde(skip_serializing_if = "Decide::is_empty")]
    pub decide: Decide,
    /// The figures a write-up states, `"variant.metric" = value or [low, high]`; the HTML
    /// report shows them beside the simulated ones, and sweep plots draw them as bands.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reported: BTreeMap<String, Stated>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Meta {
    pub name: String,
    pub description: String,
    /// Root seed of every random draw (default 1); `--seed` overrides it.
    pub seed: u64,
    /// Client sessions, one durable object each (default 100).
    pub jobs: u32,
    /// Jobs in flight at once (default 100).
    pub concurrency: u32,
    /// Handshake variants to run, the first is the baseline of paired deltas.
    pub variants: Vec<VariantId>,
    /// Simulation tick; every sleep resolves to a tick boundary (default 1).
    pub tick_ms: u64,
    /// Hard stop of the simulated clock (default 3600).
    pub duration_s_max: u64,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            name: "unnamed".into(),
            description: String::new(),
            seed: 1,
            jobs: 100,
            concurrency: 100,
            variants: vec![VariantId::Sequential, VariantId::Parallel],
            tick_ms: 1,
            duration_s_max: 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    pub client_edge: Link,
    pub edge_object: Link,
    /// The client population as a mixture of network types (default none: every client on
    /// `client_edge`). Each job draws its type once, by share; its client–edge latency, loss
    /// and handshake deadline are its type's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<NetworkType>,
}

/// Most network types in `network.types`.
pub const NETWORK_TYPES_MAX: usize = 16;

/// One network type of the client population (`[[network.types]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkType {
    /// Its name in outputs and in `[expect]` (`sequential.failure_rate[lte]`): lower-case
    /// letters, digits, `-` and `_`.
    pub name: String,
    /// The share of jobs on it; the shares of all types sum to 1.
    pub share: f64,
    /// One-way latency of each message between the client and the edge, as
    /// `network.client_edge.latency_ms` (required: a type is its latency).
    pub client_edge_latency_ms: Dist,
    /// Chance that a message on its client–edge link is lost (default `faults.client_edge_loss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_edge_loss: Option<f64>,
    /// Its clients' handshake deadline (default `client.handshake_timeout_ms`): the
    /// write-up's "configurable based on network type".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake_timeout_ms: Option<u64>,
    /// Where its figures come from: a measurement's citation, or "assumed".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Link {
    /// One-way latency of each message on the link (default constant 0).
    pub latency_ms: Dist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Legacy key-value Durable Object storage: uncached reads are round trips.
    #[default]
    Kv,
    /// SQLite-backed storage: reads are local (`cached_read_ms`).
    Sqlite,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub backend: Backend,
    /// One uncached kv round trip, a get or a get-many (default uniform 50..100).
    pub read_ms: Dist,
    /// A read served from the object's in-memory cache, or any sqlite read (default 0).
    pub cached_read_ms: Dist,
    /// One write round trip, confirmed before the response (default uniform 5..20).
    pub write_ms: Dist,
    /// Whether `put` fills the in-memory cache (default true).
    pub put_populates_cache: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: Backend::Kv,
            read_ms: Dist::Uniform([50.0, 100.0]),
            cached_read_ms: Dist::Constant(0.0),
            write_ms: Dist::Uniform([5.0, 20.0]),
            put_populates_cache: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectConfig {
    /// Activation delay of a cold object, before its first event runs (default uniform 5..15).
    pub cold_start_ms: Dist,
    /// Idle time after which the object hibernates: memory lost, sockets kept (default 10000).
    pub hibernate_after_idle_ms: u64,
    /// Idle time after which the object is evicted: memory lost (default 70000).
    pub evict_after_idle_ms: u64,
    /// Hold new events while a storage operation is in flight, as workerd does (default true).
    pub input_gate: bool,
    /// Chance that the object restarts cold between the POST and the upgrade (default 0).
    pub restart_probability: f64,
    /// Creating the WebSocket pair (default 0).
    pub pair_ms: Dist,
    /// Accepting the server end of the pair (default 0).
    pub accept_ms: Dist,
}

impl Default for ObjectConfig {
    fn default() -> Self {
        ObjectConfig {
            cold_start_ms: Dist::Uniform([5.0, 15.0]),
            hibernate_after_idle_ms: 10_000,
            evict_after_idle_ms: 70_000,
            input_gate: true,
            restart_probability: 0.0,
            pair_ms: Dist::Constant(0.0),
            accept_ms: Dist::Constant(0.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Lifetime of the token issued by the POST (default 7200000, two hours).
    pub token_ttl_ms: u64,
    /// Chance that a job's token is revoked (the user signed out elsewhere, the token
    /// leaked): the object forgets it, and the Worker deletes it from KV (default 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub revoke_probability: f64,
    /// When, after the job's first POST reached the object (default constant 0).
    #[serde(skip_serializing_if = "is_constant_zero")]
    pub revoke_after_ms: Dist,
    /// A holder of the revoked token (an old device, whoever it leaked to) opens an upgrade
    /// with it this long after the revocation, landing where an upgrade lands (default
    /// constant 0). An accept is the edge cache's security cost.
    #[serde(skip_serializing_if = "is_constant_zero")]
    pub stale_attempt_after_ms: Dist,
}

fn is_zero(p: &f64) -> bool {
    *p == 0.0
}

fn is_constant_zero(d: &Dist) -> bool {
    *d == Dist::Constant(0.0)
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            token_ttl_ms: 7_200_000,
            revoke_probability: 0.0,
            revoke_after_ms: Dist::Constant(0.0),
            stale_attempt_after_ms: Dist::Constant(0.0),
        }
    }
}

/// Most options in `[decide]`.
pub const DECIDE_OPTIONS_MAX: usize = 16;

/// What `decide` compares: options, each a variant with its own overrides, run on the same
/// seeds (so on the same draws), ranked by one figure, and a small sweep where the ranking
/// may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Decide {
    pub options: Vec<DecideOption>,
    /// The figure the options are ranked by, lowest first (default `failure_rate`).
    pub rank_by: String,
    /// `KEY=SPEC` grid parameters (as `sweep --param`) over which the ranking is redone.
    pub sweep: Vec<String>,
    /// Seeds per point of that sweep, from the first seed (default 2).
    pub sweep_seeds: u32,
}

impl Default for Decide {
    fn default() -> Self {
        Decide {
            options: Vec::new(),
            rank_by: "failure_rate".into(),
            sweep: Vec::new(),
            sweep_seeds: 2,
        }
    }
}

impl Decide {
    fn is_empty(&self) -> bool {
        *self == Decide::default()
    }
}

/// One option of `[decide]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideOption {
    /// Its name in the decision's table.
    pub name: String,
    /// The handshake variant it runs.
    pub variant: VariantId,
    /// What it is, in one line (the write-up's words).
    #[serde(default)]
    pub what: String,
    /// Overrides of the scenario for this option only, `KEY=VALUE` as `--set`.
    #[serde(default)]
    pub set: Vec<String>,
}

/// Least `kv.cache_ttl_ms`: get()'s `cacheTtl` minimum, 30 s since 30 January 2026
/// (developers.cloudflare.com/kv/api/read-key-value-pairs/).
pub const KV_CACHE_TTL_MS_MIN: u64 = 30_000;
/// Least `kv.expiration_ttl_ms`: put()'s `expirationTtl` minimum, 60 s
/// (developers.cloudflare.com/kv/api/write-key-value-pairs/).
pub const KV_EXPIRATION_TTL_MS_MIN: u64 = 60_000;

/// Workers KV as Cloudflare documents it (developers.cloudflare.com/kv/concepts/how-kv-works/):
/// a write goes to the central stores and is visible at once where it was made; a read at a
/// location with no cached value goes through the tiers (`cold_read_ms`) and is cached there,
/// value or absence, for `cache_ttl_ms`; reads within it are served from that cache
/// (`hot_read_ms`), so a write made elsewhere is seen only when it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KvConfig {
    /// get()'s `cacheTtl`: how long a location keeps what it read (default 60000, least 30000).
    pub cache_ttl_ms: u64,
    /// put()'s `expirationTtl`: the entry is gone this long after its write (default
    /// 7200000, `auth.token_ttl_ms`'s default; least 60000).
    pub expiration_ttl_ms: u64,
    /// A read served from the location's cache (default uniform 1..5, assumed: Cloudflare
    /// publishes no end-to-end figure).
    pub hot_read_ms: Dist,
    /// A read through the tiers to the central stores (default lognormal median 30, p99 250,
    /// assumed from the changelog's p95 ~50 ms and p99 ~250 ms of August 2025).
    pub cold_read_ms: Dist,
    /// The Worker's put, awaited before the 202 leaves (default uniform 20..60, assumed).
    pub write_ms: Dist,
    /// Chance that an upgrade lands at another location than the job's POST (a phone moving
    /// between networks) (default 0).
    pub move_probability: f64,
}

impl Default for KvConfig {
    fn default() -> Self {
        KvConfig {
            cache_ttl_ms: 60_000,
            expiration_ttl_ms: 7_200_000,
            hot_read_ms: Dist::Uniform([1.0, 5.0]),
            cold_read_ms: Dist::Lognormal {
                median: 30.0,
                p99: 250.0,
            },
            write_ms: Dist::Uniform([20.0, 60.0]),
            move_probability: 0.0,
        }
    }
}

impl KvConfig {
    fn is_default(&self) -> bool {
        *self == KvConfig::default()
    }
}

/// One socket per app session, the write-up's "connection pooling": the app runs
/// `jobs` imports in a session, one after another `job_interval_ms` apart (0: all at once),
/// and hears the progress of all of them on one socket to the session's own durable object,
/// opened once, right after the session's POST. Jobs `k·jobs .. (k+1)·jobs` are session `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Jobs per app session (1..=1000, at most `scenario.concurrency`); the last session of
    /// a run may have fewer.
    pub jobs: u32,
    /// The wait from one job's start to the next one's in a session (default constant 0:
    /// the jobs overlap).
    #[serde(default = "SessionConfig::no_wait")]
    pub job_interval_ms: Dist,
}

impl SessionConfig {
    fn no_wait() -> Dist {
        Dist::Constant(0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Wait between the 202 and opening the socket (default 0).
    pub connect_delay_ms: Dist,
    /// Give up on the upgrade this long after the connect started (default 60000).
    pub handshake_timeout_ms: u64,
    /// Issue the ping this long after the connect started; queued until the 101 (default 0).
    pub ping_after_ms: u64,
    /// Fail when no pong arrives this long after the ping was issued (default 10000).
    pub ping_timeout_ms: u64,
    /// Connect attempts after the first, reconnects included (default 0).
    pub retries: u32,
    /// Backoff before retry k is `min(backoff_max_ms, backoff_base_ms * 2^(k-1))`, less a
    /// random fraction of up to `backoff_jitter` of it (default 250).
    pub backoff_base_ms: u64,
    /// Cap of one backoff (default 8000).
    pub backoff_max_ms: u64,
    /// 0 = no jitter, 1 = "full jitter" (default 1.0).
    pub backoff_jitter: f64,
    /// No retry starts later than this after the POST (default 30000).
    pub retry_budget_ms: u64,
    /// After a dropped socket, reconnect asking for the progress after the last sequence
    /// number the app has (default false).
    pub reconnect: bool,
    /// On a 401 (expired or not yet stored token), fetch a fresh token by posting the batch
    /// again, which the server treats as idempotent (default false).
    pub refresh_token: bool,
    /// When the socket cannot be had, poll `GET /api/enrichment/status` (default false).
    pub poll_fallback: bool,
    /// Wait between two status polls (default 2000).
    pub poll_interval_ms: u64,
    /// Give up on a POST or a status poll this long after it started (default 60000, as
    /// URLSession's request timeout).
    pub request_timeout_ms: u64,
    /// The app needs every book's result this long after the POST; a job the server
    /// finished whose results the client did not have by then is a silent failure
    /// (default 60000).
    pub result_deadline_ms: u64,
    /// Books in the batch, one progress message each (default 5).
    pub books_per_job: u32,
}

impl ClientConfig {
    /// The effective deadline of an upgrade, ms after its connect started: the handshake
    /// timeout, or the ping's timeout when a ping issued (and queued) earlier times out first.
    /// What the plots draw and the worst job's timeline marks; the client applies the two
    /// deadlines it is made of (`client::socket`).
    pub fn upgrade_deadline_ms(&self) -> u64 {
        self.handshake_timeout_ms
            .min(self.ping_after_ms + self.ping_timeout_ms)
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_delay_ms: Dist::Constant(0.0),
            handshake_timeout_ms: 60_000,
            ping_after_ms: 0,
            ping_timeout_ms: 10_000,
            retries: 0,
            backoff_base_ms: 250,
            backoff_max_ms: 8_000,
            backoff_jitter: 1.0,
            retry_budget_ms: 30_000,
            reconnect: false,
            refresh_token: false,
            poll_fallback: false,
            poll_interval_ms: 2_000,
            request_timeout_ms: 60_000,
            result_deadline_ms: 60_000,
            books_per_job: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Enrichment {
    /// Time to enrich one book; a progress message follows each (default uniform 200..800).
    pub book_ms: Dist,
}

impl Default for Enrichment {
    fn default() -> Self {
        Enrichment {
            book_ms: Dist::Uniform([200.0, 800.0]),
        }
    }
}

/// Which network link a fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkName {
    ClientEdge,
    EdgeObject,
}

/// Faults injected into a run, each drawn from the run's seed (keyed per job, so variants
/// meet the same faults). All off by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Chance that one message or relayed chunk on the client–edge link is lost. The modelled
    /// TCP has no retransmission, so a loss resets the connection (default 0).
    pub client_edge_loss: f64,
    /// The same on the edge–object link; a lost request or response is a 502 (default 0).
    pub edge_object_loss: f64,
    /// Partitions over a window of simulated time: every message on the link is dropped.
    pub partition_windows: Vec<PartitionWindow>,
    /// Partitions of one job's traffic, with a probability per job.
    pub job_partitions: Vec<JobPartition>,
    pub object_crash: ObjectCrash,
    pub storage: StorageFaults,
    pub token_expiry: TokenExpiry,
    /// The #378 race: the POST is acknowledged before `setAuthToken`'s write is confirmed,
    /// so an upgrade can reach the object before the token is stored (default false).
    pub ack_before_token_write: bool,
    /// Tests the harness, not the system: the object panics while it handles this job's
    /// POST, and the run must fail with the seed and a command that repeats it (default none).
    pub panic_on_job: Option<u64>,
}

impl Faults {
    /// Every probability of `[faults]` but the per-job partitions' (checked with them), by
    /// key: validation checks each is in 0..=1. A new fault's probability goes here, beside
    /// its field.
    pub(crate) fn probabilities(&self) -> [(&'static str, f64); 7] {
        [
            ("faults.client_edge_loss", self.client_edge_loss),
            ("faults.edge_object_loss", self.edge_object_loss),
            (
                "faults.object_crash.probability",
                self.object_crash.probability,
            ),
            ("faults.storage.read_error", self.storage.read_error),
            ("faults.storage.write_error", self.storage.write_error),
            (
                "faults.storage.spike_probability",
                self.storage.spike_probability,
            ),
            (
                "faults.token_expiry.probability",
                self.token_expiry.probability,
            ),
        ]
    }

    /// Every distribution of `[faults]` but the per-job partitions' (checked with them), by
    /// key: validation checks each. A new fault's distribution goes here, beside its field.
    pub(crate) fn dists(&self) -> [(&'static str, &Dist); 3] {
        [
            ("faults.object_crash.after_ms", &self.object_crash.after_ms),
            ("faults.storage.spike_ms", &self.storage.spike_ms),
            ("faults.token_expiry.ttl_ms", &self.token_expiry.ttl_ms),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionWindow {
    pub link: LinkName,
    /// Start, in simulated ms from the start of the run.
    pub start_ms: u64,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPartition {
    pub link: LinkName,
    /// Chance that a job meets this partition.
    pub probability: f64,
    /// Start, after the job's first request reached the edge.
    pub after_ms: Dist,
    pub duration_ms: Dist,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectCrash {
    /// Chance that a job's object crashes once (memory and sockets lost, storage kept).
    pub probability: f64,
    /// When, after the job's first POST reached the object.
    pub after_ms: Dist,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StorageFaults {
    /// Chance that an uncached read round trip fails (the handshake answers 503).
    pub read_error: f64,
    /// Chance that a write fails (the POST answers 503).
    pub write_error: f64,
    /// Chance that a round trip (read or write) meets a latency spike.
    pub spike_probability: f64,
    /// The spike's extra latency (a heavy tail: lognormal or empirical).
    pub spike_ms: Dist,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TokenExpiry {
    /// Chance that an issued token gets the short lifetime below instead of `auth.token_ttl_ms`.
    pub probability: f64,
    pub ttl_ms: Dist,
}

/// A warning and a critical threshold; a figure above a threshold breaches it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub warning: f64,
    pub critical: f64,
}

impl Threshold {
    pub const fn new(warning: f64, critical: f64) -> Self {
        Threshold { warning, critical }
    }
}

/// Service-level objectives, judged per variant by `check` and `probe`. The defaults are the
/// write-up's alert table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Slo {
    /// Variants the SLOs apply to (default: all). A known-bad baseline is left out here and
    /// described by `[expect]` instead.
    pub apply_to: Vec<VariantId>,
    /// Mean server upgrade time, ms (default 200 / 500).
    pub avg_upgrade_ms: Threshold,
    /// 95th percentile server upgrade time, ms (default 300 / 1000).
    pub p95_upgrade_ms: Threshold,
    /// Canceled upgrades per job (default 0.05 / 0.10).
    pub canceled_rate: Threshold,
    /// Failed jobs per job, any outcome but `ok` (default 0.05 / 0.10, the write-up's
    /// "Canceled connections" thresholds). Judged by `probe`, which sees every outcome; the
    /// simulation's `check` judges the server-side SLOs and `[expect]` instead.
    pub failure_rate: Threshold,
    /// Mean storage read time of the upgrade, ms (default 150 / 300).
    pub avg_storage_ms: Threshold,
    /// Silent failures per job: finished on the server, never learned by the client
    /// (default 0 / 0: any silent failure fails `check`).
    pub silent_failure_rate: Threshold,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            apply_to: Vec::new(),
            avg_upgrade_ms: Threshold::new(200.0, 500.0),
            p95_upgrade_ms: Threshold::new(300.0, 1000.0),
            canceled_rate: Threshold::new(0.05, 0.10),
            failure_rate: Threshold::new(0.05, 0.10),
            avg_storage_ms: Threshold::new(150.0, 300.0),
            silent_failure_rate: Threshold::new(0.0, 0.0),
        }
    }
}

impl Slo {
    /// (name, figure it judges, threshold), in report order.
    pub fn checks(&self) -> [(&'static str, Figure, Threshold); 5] {
        use crate::names::{Stat, Timing};
        [
            (
                "avg_upgrade_ms",
                Figure::Latency(Stat::Mean, Timing::Upgrade),
                self.avg_upgrade_ms,
            ),
            (
                "p95_upgrade_ms",
                Figure::Latency(Stat::P95, Timing::Upgrade),
                self.p95_upgrade_ms,
            ),
            ("canceled_rate", Figure::CanceledRate, self.canceled_rate),
            (
                "avg_storage_ms",
                Figure::Latency(Stat::Mean, Timing::Storage),
                self.avg_storage_ms,
            ),
            (
                "silent_failure_rate",
                Figure::SilentFailureRate,
                self.silent_failure_rate,
            ),
        ]
    }

    /// Whether the SLOs judge the variant of this name.
    pub fn applies_to(&self, variant: &str) -> bool {
        self.apply_to.is_empty() || self.apply_to.iter().any(|v| v.name() == variant)
    }
}

impl Scenario {
    /// The network type of index `i` in `network.types`, if there is one.
    pub fn network_type(&self, i: Option<u8>) -> Option<&NetworkType> {
        i.and_then(|i| self.network.types.get(usize::from(i)))
    }

    /// The client–edge latency of a job on network type `i` (none: `network.client_edge`).
    pub fn client_edge_latency_ms(&self, i: Option<u8>) -> &Dist {
        self.network_type(i)
            .map_or(&self.network.client_edge.latency_ms, |t| {
                &t.client_edge_latency_ms
            })
    }

    /// The client–edge loss of a job on network type `i`.
    pub fn client_edge_loss(&self, i: Option<u8>) -> f64 {
        self.network_type(i)
            .and_then(|t| t.client_edge_loss)
            .unwrap_or(self.faults.client_edge_loss)
    }

    /// The handshake deadline of a job on network type `i`.
    pub fn handshake_timeout_ms(&self, i: Option<u8>) -> u64 {
        self.network_type(i)
            .and_then(|t| t.handshake_timeout_ms)
            .unwrap_or(self.client.handshake_timeout_ms)
    }

    /// The first job of job `n`'s app session (`n` itself without `[session]`): the session's
    /// key, whose draws its socket and its object use.
    pub fn session_first(&self, n: u64) -> u64 {
        match &self.session {
            Some(s) if n < 1 << 63 => n - n % u64::from(s.jobs),
            _ => n,
        }
    }

    /// The names of `network.types`, in file order.
    pub fn network_type_names(&self) -> Vec<String> {
        self.network.types.iter().map(|t| t.name.clone()).collect()
    }

    /// The `[reported]` lines, parsed, in key order. A loaded scenario has checked them all;
    /// one read back from a sweep.json keeps only those that parse.
    pub fn reported_figures(&self) -> Vec<Reported> {
        self.reported
            .iter()
            .filter_map(|(key, v)| reported::parse(key, *v).ok())
            .collect()
    }

    /// The parsed `[expect]` lines, in key order.
    pub fn expectations(&self) -> &[Expectation] {
        &self.expectations
    }
}
