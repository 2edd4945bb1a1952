//! Scenario files: the TOML schema, `--set` overrides, and validation into a checked
//! [`Scenario`]. Every key has a documented default; unknown keys are rejected.

mod bundled;
mod dist;
mod error;
mod expect;
mod load;
mod lookup;
pub mod memory;
mod reported;
mod validate;

pub use bundled::{bundled, Bundled, BUNDLED};
pub use dist::{Dist, EMPIRICAL_SAMPLES_MAX, LATENCY_MS_MAX};
pub use error::{clip, Location, ScenarioError};
pub use expect::{Expectation, FigureRef, Op, Term};
pub use load::{
    apply_override, not_a_parameter, parse_override, parse_override_from, parse_overrides,
    read_text, Override, FILE_BYTES_MAX, KEY_BYTES_MAX, KEY_SEGMENTS_MAX,
};
pub use lookup::{NoNumber, Number};
pub use reported::{Reported, Stated, REPORTED_MAX};

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::{Figure, VariantId};

/// Most jobs one run may simulate.
pub const JOBS_MAX: u32 = 1_000_000;
/// Most jobs in flight at once. Connections are in-process pipes, not turmoil TCP, so no
/// simulated port runs out (turmoil's ephemeral ports once did, with a panic); the bound is
/// memory: about 16 KB per job in flight, 1.56 GB at the maximum (docs/performance.md), within
/// the memory budget ([`memory::MEMORY_BUDGET_BYTES`], which bounds concurrency, jobs and the
/// number of runs together).
pub const CONCURRENCY_MAX: u32 = 100_000;
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

/// The scenario file's JSON Schema (draft 2020-12), from these types: each key's doc comment
/// is its description, its default the default's value (`docs/schema/scenario.json`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).expect("a schema serialises")
}

/// A checked scenario: every value within its documented limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
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
    #[schemars(extend("default" = {}))]
    pub reported: BTreeMap<String, Stated>,
}

/// `[scenario]` — the run: its name, seed, size, variants and simulated clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Meta {
    /// Shown in reports.
    pub name: String,
    /// Shown in JSON.
    pub description: String,
    /// Root seed of every random draw; `--seed` overrides.
    pub seed: u64,
    /// Client sessions, one durable object each.
    #[schemars(range(min = 1, max = JOBS_MAX))]
    pub jobs: u32,
    /// Jobs in flight at once; the next starts when one ends. About 16 KB each: with the jobs
    /// and the number of runs, within the memory budget of 8 GB (docs/scenario.md, "Resource
    /// limits").
    #[schemars(range(min = 1, max = CONCURRENCY_MAX))]
    pub concurrency: u32,
    /// Variants to run; the first is the baseline.
    pub variants: Vec<VariantId>,
    /// Simulation step; every latency draw is rounded to the nearest tick.
    #[schemars(range(min = 1, max = TICK_MS_MAX))]
    pub tick_ms: u64,
    /// Hard stop of the simulated clock; reaching it fails the run.
    #[schemars(range(min = 1, max = DURATION_S_MAX_LIMIT))]
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

/// `[network]` — the links' latencies, and the client population's network types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// One way, per message, app ↔ edge.
    pub client_edge: Link,
    /// One way, per message, edge ↔ object.
    pub edge_object: Link,
    /// The client population as a mixture of network types (`[[network.types]]`); without it
    /// every client is on `network.client_edge`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = NETWORK_TYPES_MAX), extend("default" = []))]
    pub types: Vec<NetworkType>,
}

/// Most network types in `network.types`.
pub const NETWORK_TYPES_MAX: usize = 16;

/// Networks by type, and deadlines by type. Each job draws its type once (keyed by seed and job, so
/// every variant meets the same types), by share; its client–edge latency, loss and handshake
/// deadline are its type's. Every figure is then also given per type: the table and the HTML page
/// add one block per type, `run --json` a `by_network` object in each variant, `--records` a last
/// `network` column, and `[expect]` names a type as `"sequential.failure_rate[lte]" = "< 0.5"`.
/// Faults are counted per run, not per job, so they have no per-type figure. A scenario without
/// types draws nothing for them, so its figures do not move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkType {
    /// The type's name in outputs and `[expect]`; unique. 1 to 32 of `a-z 0-9 - _`.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,32}$"))]
    pub name: String,
    /// Its part of the jobs; the shares of all types sum to 1. Above 0, at most 1.
    #[schemars(range(max = 1.0), extend("exclusiveMinimum" = 0))]
    pub share: f64,
    /// One way, per message, app ↔ edge, for its jobs (replaces `network.client_edge.latency_ms`).
    pub client_edge_latency_ms: Dist,
    /// Its jobs' chance that a message on the app–edge link is lost. Default:
    /// `faults.client_edge_loss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub client_edge_loss: Option<f64>,
    /// Its jobs' handshake deadline: the write-up's "configurable based on network type". Default:
    /// `client.handshake_timeout_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = PERIOD_MS_MAX))]
    pub handshake_timeout_ms: Option<u64>,
    /// Where its figures come from: a measurement's citation, or "assumed".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("default" = ""))]
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Link {
    /// One-way latency of each message on the link.
    pub latency_ms: Dist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Legacy key-value Durable Object storage: uncached reads are round trips.
    #[default]
    Kv,
    /// SQLite-backed storage: reads are local (`cached_read_ms`).
    Sqlite,
}

/// `[storage]` — the Durable Object's storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// kv: uncached reads are round trips; sqlite: reads are local.
    pub backend: Backend,
    /// One uncached kv round trip, a get or a get-many.
    pub read_ms: Dist,
    /// A read from the in-memory cache, and every sqlite read.
    pub cached_read_ms: Dist,
    /// One put's commit, until durable (commits land in issue order); the object's outgoing
    /// messages after the put (the POST's `202`, a `101`) wait for it.
    pub write_ms: Dist,
    /// A put's value stays in the object's in-memory cache once durable (it is there, visible to
    /// the object's reads, until then either way).
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

/// `[object]` — the Durable Object's life: cold starts, hibernation, eviction, its input gate and
/// the WebSocket pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectConfig {
    /// Activation of a cold object, before its event runs.
    pub cold_start_ms: Dist,
    /// Idle this long ⇒ memory lost (sockets kept), next event cold.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub hibernate_after_idle_ms: u64,
    /// Idle this long ⇒ evicted: memory lost, next event cold.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub evict_after_idle_ms: u64,
    /// No event is delivered while a storage read is in flight (a put's commit and timers do not
    /// hold it).
    pub input_gate: bool,
    /// Chance the object restarts cold (empty cache) between the POST and the upgrade.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub restart_probability: f64,
    /// Creating the WebSocket pair.
    pub pair_ms: Dist,
    /// Accepting the server end.
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

/// `[auth]` — the token the POST issues, and its revocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Lifetime of the token the POST issues.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub token_ttl_ms: u64,
    /// Chance that a job's token is revoked: the object forgets it, the Worker deletes it from KV.
    #[serde(skip_serializing_if = "is_zero")]
    // The derive leaves out the default of a field skipped at its default; say it.
    #[schemars(range(min = 0.0, max = 1.0), extend("default" = 0))]
    pub revoke_probability: f64,
    /// When the token is revoked, after the job's first POST reached the object.
    #[serde(skip_serializing_if = "is_constant_zero")]
    #[schemars(extend("default" = { "constant": 0 }))]
    pub revoke_after_ms: Dist,
    /// A holder of the revoked token tries an upgrade with it this long after the revocation (from
    /// the first 202 at the client, or when the app's job ended if later).
    #[serde(skip_serializing_if = "is_constant_zero")]
    #[schemars(extend("default" = { "constant": 0 }))]
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
/// Most seeds per point of `decide.sweep`.
pub const DECIDE_SWEEP_SEEDS_MAX: u32 = 10;

/// What `decide` compares (`sims/next-steps.toml`); other commands ignore it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Decide {
    /// Each option: a unique name, a variant, one line of what it is, and `set`, overrides of the
    /// scenario for it alone (`KEY=VALUE` as `--set`).
    #[schemars(length(max = DECIDE_OPTIONS_MAX))]
    pub options: Vec<DecideOption>,
    /// The options are ranked by it, lowest first (not a paired delta). It names a figure.
    pub rank_by: String,
    /// A grid, as `sweep --param`, over which the ranking is redone. Each item is `KEY=SPEC`.
    pub sweep: Vec<String>,
    /// Seeds per point of `decide.sweep`'s grid, consecutive from the first seed.
    #[schemars(range(min = 1, max = DECIDE_SWEEP_SEEDS_MAX))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideOption {
    /// The option's name in `decide`'s tables; unique.
    pub name: String,
    /// The handshake variant it runs.
    pub variant: VariantId,
    /// One line of what the option is.
    #[serde(default)]
    pub what: String,
    /// Overrides of the scenario for it alone (`KEY=VALUE` as `--set`).
    #[serde(default)]
    pub set: Vec<String>,
}

/// Least `kv.cache_ttl_ms`: get()'s `cacheTtl` minimum, 30 s since 30 January 2026
/// (developers.cloudflare.com/kv/api/read-key-value-pairs/).
pub const KV_CACHE_TTL_MS_MIN: u64 = 30_000;
/// Least `kv.expiration_ttl_ms`: put()'s `expirationTtl` minimum, 60 s
/// (developers.cloudflare.com/kv/api/write-key-value-pairs/).
pub const KV_EXPIRATION_TTL_MS_MIN: u64 = 60_000;

/// `[kv]` — Workers KV as Cloudflare documents it
/// (developers.cloudflare.com/kv/concepts/how-kv-works/): a write goes to the central stores and is
/// visible at once where it was made; a read at a location with no cached value goes through the
/// tiers (`cold_read_ms`) and is cached there, value or absence, for `cache_ttl_ms`; reads within
/// it are served from that cache (`hot_read_ms`), so a write made elsewhere is seen only when it
/// expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KvConfig {
    /// Workers KV get()'s `cacheTtl`: how long a location keeps what it read.
    #[schemars(range(min = KV_CACHE_TTL_MS_MIN, max = PERIOD_MS_MAX))]
    pub cache_ttl_ms: u64,
    /// put()'s `expirationTtl`: the entry is gone this long after its write.
    #[schemars(range(min = KV_EXPIRATION_TTL_MS_MIN, max = PERIOD_MS_MAX))]
    pub expiration_ttl_ms: u64,
    /// A read a location's cache serves (assumed).
    pub hot_read_ms: Dist,
    /// A read through the tiers to the central stores (assumed).
    pub cold_read_ms: Dist,
    /// The Worker's put, awaited before the 202 (assumed).
    pub write_ms: Dist,
    /// Chance that an upgrade lands at another location than its job's POST.
    #[schemars(range(min = 0.0, max = 1.0))]
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

/// One socket per app session, the write-up's "connection pooling": the app runs `session.jobs`
/// imports in a session and hears the progress of all of them on one socket to the session's own
/// durable object. Jobs `k·jobs .. (k+1)·jobs` are session `k` (the last may have fewer). A session
/// posts `POST /api/session` (its token; retried by the client's policy), opens its socket right
/// away (`GET /ws/session`, under the handshake and ping deadlines of its first job's network
/// type), then starts its jobs `job_interval_ms` apart, each a batch POST naming the session. A
/// dropped socket is opened again by the retry policy — counted from when it was lost, since a
/// session outlives one job's budget — with `after` naming what the app has of each job, so nothing
/// comes twice; a session that gives up polls each unfinished job. The session's jobs share its
/// network type. Its handshakes (attempts, reconnects, upgrade times, cold start) are recorded on
/// its first job, so counts over jobs count each once; each job keeps its own outcome and results.
/// The per-session figures are in `run --json`'s `session` object and the table's session rows.
/// Without `[session]` nothing is drawn for it and no figure moves. A session that has given up
/// reconnecting stops once every job's POST has ended and every job still without its results is
/// past `client.result_deadline_ms` from its start.
///
/// What the model leaves out, which favours sessions: a session's object is not crashed by
/// `faults.object_crash` (a job's crash no longer takes a socket either), the calls between objects
/// see no loss or partition, and the session's object draws its cold starts and restart with its
/// first job's key, so the two are correlated within a run.
///
/// The server side (in the simulation, `serve` and the reference Worker alike): the session's
/// object (`idFromName(sessionId)`) issues and stores the session's token as a job's object does
/// (the handshake variants read it the same way; it meets `object.restart_probability` between its
/// POST and its upgrade as a job's does), owns the socket and keeps what each job has done; a job
/// joins it only with the session's token (`sessionToken` in the batch POST, checked against the
/// session's stored token without a read's latency); each job keeps its own object, which sends
/// every progress message to the session's object (a call between objects,
/// `network.edge_object.latency_ms`, awaited in order). This design keeps a job addressable alone
/// (its token, its status poll) and puts no enrichment in the session's object; its price is that
/// call per message, and the session's object awake while any of its jobs runs (`decide`'s object
/// wall time). The edge cache variants (`kv-edge`, `kv-edge-strict`) check a job's socket at the
/// edge and cannot check a session's: a run of one with `[session]` is refused (exit 2). `probe`
/// runs sessions too (its session ids are `{--job-prefix}session-N`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Jobs per app session; `0` is refused (a session with zero jobs runs nothing). At most
    /// `scenario.concurrency`.
    #[schemars(range(min = 1, max = SESSION_JOBS_MAX))]
    pub jobs: u32,
    /// From one job's start to the next one's in a session (0: they overlap).
    #[serde(default = "SessionConfig::no_wait")]
    pub job_interval_ms: Dist,
}

impl SessionConfig {
    fn no_wait() -> Dist {
        Dist::Constant(0.0)
    }
}

/// `[client]` — the app: its deadlines, retries, reconnects and polls, and its batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Wait between the 202 and opening the socket.
    pub connect_delay_ms: Dist,
    /// Give up when no 101 this long after the connect started.
    #[schemars(range(min = 1, max = PERIOD_MS_MAX))]
    pub handshake_timeout_ms: u64,
    /// Issue the ping this long after the connect started (queued until the 101).
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub ping_after_ms: u64,
    /// Fail when no pong this long after the ping was issued.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub ping_timeout_ms: u64,
    /// Retries after the first attempt, of the POST and of the socket (after a timeout, a 5xx or a
    /// network error, a dropped socket, or a 401 with `refresh_token`; never after another 4xx).
    #[schemars(range(max = RETRIES_MAX))]
    pub retries: u32,
    /// The backoff before retry k is `min(backoff_max_ms, backoff_base_ms · 2^(k−1))`, less
    /// its jitter (`backoff_jitter`).
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub backoff_base_ms: u64,
    /// The longest backoff before a retry, before jitter (`backoff_base_ms`'s doubling stops
    /// here).
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub backoff_max_ms: u64,
    /// Each backoff is less a uniform random fraction of up to this much of it (1 = "full
    /// jitter").
    #[schemars(range(min = 0.0, max = 1.0))]
    pub backoff_jitter: f64,
    /// No retry starts (after its backoff) later than this after the POST; nor at or after the
    /// result deadline.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub retry_budget_ms: u64,
    /// After a dropped socket, reconnect asking for the progress after the last sequence number the
    /// app has (`after=`).
    pub reconnect: bool,
    /// On a 401, post the batch again for a fresh token (the server keeps the running job); a
    /// failed refresh costs a retry and is tried again.
    pub refresh_token: bool,
    /// When no socket can be had, poll `GET /api/enrichment/status` until the job is done or the
    /// deadline passes.
    pub poll_fallback: bool,
    /// Wait between polls.
    #[schemars(range(min = 1, max = PERIOD_MS_MAX))]
    pub poll_interval_ms: u64,
    /// Give up on a POST (also a token refresh) or a status poll this long after it started
    /// (URLSession's default); counts as a network error.
    #[schemars(range(min = 1, max = PERIOD_MS_MAX))]
    pub request_timeout_ms: u64,
    /// The app needs every result this long after the POST; no retry or poll starts after it.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub result_deadline_ms: u64,
    /// Books in the batch; one progress message each.
    #[schemars(range(max = BOOKS_PER_JOB_MAX))]
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

/// `[enrichment]` — the server's work on the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Enrichment {
    /// Time to enrich one book.
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LinkName {
    ClientEdge,
    EdgeObject,
}

/// Injected faults, all off by default. Every draw is keyed by the run's seed and the job, so each
/// variant meets the same faults (`sims/faults.toml` uses all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Chance that one HTTP message or relayed socket chunk is lost on the app–edge link; the
    /// modelled TCP has no retransmission, so the loss **resets the connection** (the client sees a
    /// network error).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub client_edge_loss: f64,
    /// Chance that one message is lost between edge and object: a lost request or response is a
    /// `502`, a lost socket chunk resets the socket.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub edge_object_loss: f64,
    /// Every message on `link` (`"client_edge"` or `"edge_object"`) in the window of simulated time
    /// is dropped (⇒ reset); an idle connection survives it.
    #[schemars(length(max = PARTITIONS_MAX))]
    pub partition_windows: Vec<PartitionWindow>,
    /// With `probability` per job, the job's traffic on `link` is dropped for `duration_ms`
    /// (distribution), starting `after_ms` (distribution) after its first request reached the edge.
    #[schemars(length(max = PARTITIONS_MAX))]
    pub job_partitions: Vec<JobPartition>,
    pub object_crash: ObjectCrash,
    pub storage: StorageFaults,
    pub token_expiry: TokenExpiry,
    /// The #378 race: the Worker answers the POST's `202` without awaiting its call to the object's
    /// `setAuthToken`; the call reaches the object an edge–object round trip (two draws of
    /// `network.edge_object.latency_ms`) later, and an upgrade that overtakes it finds no token
    /// (`401`) (`sims/race-378.toml`).
    pub ack_before_token_write: bool,
    /// Tests the harness, not the system: the object panics handling this job's POST; the run fails
    /// with its seed and a command that repeats it.
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

/// A window of simulated time in which every message on a link is dropped (`faults.partition_windows`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionWindow {
    /// The link whose messages are dropped.
    pub link: LinkName,
    /// Start, in simulated ms from the start of the run.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub start_ms: u64,
    /// The window's length, in simulated ms.
    #[schemars(range(max = PERIOD_MS_MAX))]
    pub duration_ms: u64,
}

/// A partition a job may meet, by chance, on one link (`faults.job_partitions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPartition {
    /// The link whose messages are dropped.
    pub link: LinkName,
    /// Chance that a job meets this partition.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: f64,
    /// Start, after the job's first request reached the edge.
    pub after_ms: Dist,
    /// How long the partition lasts.
    pub duration_ms: Dist,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectCrash {
    /// Chance that the job's object crashes once: memory, cache and the open socket are lost
    /// (closed without a close frame), a handshake in progress answers `503`; storage and the job's
    /// progress survive.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: f64,
    /// When the object crashes, after the job's first POST.
    pub after_ms: Dist,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StorageFaults {
    /// Chance that an uncached read round trip fails (the upgrade or poll answers `503`).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub read_error: f64,
    /// Chance that a write fails (the POST answers `503`).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub write_error: f64,
    /// Chance that a storage round trip (read or write) meets a latency spike of `spike_ms`.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub spike_probability: f64,
    /// The extra latency of a spike (use a heavy tail: lognormal or empirical).
    pub spike_ms: Dist,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TokenExpiry {
    /// Chance that an issued token gets the short lifetime `ttl_ms` instead of
    /// `auth.token_ttl_ms`.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub probability: f64,
    /// The short lifetime, so the token can expire during a slow handshake (⇒ `401`).
    pub ttl_ms: Dist,
}

/// A warning and a critical threshold; a figure above a threshold breaches it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Above it: a warning, printed but not fatal. At most `critical`.
    #[schemars(range(min = 0.0))]
    pub warning: f64,
    /// Above it (or no sample to judge): a breach; `check` and `probe` exit 1.
    #[schemars(range(min = 0.0))]
    pub critical: f64,
}

impl Threshold {
    pub const fn new(warning: f64, critical: f64) -> Self {
        Threshold { warning, critical }
    }
}

/// Thresholds judged per variant by `check` and `probe` (a figure *above* a threshold breaches it);
/// the defaults are the write-up's alert table.
///
/// `check` also judges `safety_violations` (critical above 0) for every variant, whatever
/// `apply_to` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Slo {
    /// Variants judged. Default: `[]` = all; a known-bad baseline is left out and pinned by
    /// `[expect]`.
    pub apply_to: Vec<VariantId>,
    /// Mean `upgrade_ms`.
    pub avg_upgrade_ms: Threshold,
    /// p95 `upgrade_ms`.
    pub p95_upgrade_ms: Threshold,
    /// Upgrades canceled at the object or the edge / jobs (`canceled_rate`).
    pub canceled_rate: Threshold,
    /// Jobs not `ok` / jobs, judged by `probe` only (the simulation's gate pins failures with
    /// `[expect]`). Default: the write-up's "Canceled connections" thresholds.
    pub failure_rate: Threshold,
    /// Mean `storage_ms`.
    pub avg_storage_ms: Threshold,
    /// Silent failures / jobs. Default: any silent failure fails `check`.
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
