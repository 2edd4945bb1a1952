//! Scenario files: the TOML schema, `--set` overrides, and validation into a checked
//! [`Scenario`]. Every key has a documented default; unknown keys are rejected.

mod dist;
mod error;
mod load;

pub use dist::{Dist, EMPIRICAL_SAMPLES_MAX, LATENCY_MS_MAX};
pub use error::{Location, ScenarioError};
pub use load::{apply_override, parse_override, parse_overrides, Override};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::expect::Expectation;
use crate::server::variant;

/// Most jobs one run may simulate.
pub const JOBS_MAX: u32 = 1_000_000;
/// Most jobs in flight at once: each holds up to two of the fleet's 64,512 simulated ports.
pub const CONCURRENCY_MAX: u32 = 20_000;
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
/// Longest timeout or idle period a scenario may name, in ms (one week).
pub const PERIOD_MS_MAX: u64 = 7 * 24 * 3600 * 1000;

/// A checked scenario: every value within its documented limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    pub scenario: Meta,
    pub network: Network,
    pub storage: Storage,
    pub object: Object,
    pub auth: Auth,
    pub client: Client,
    pub enrichment: Enrichment,
    pub slo: Slo,
    /// Expectations, `"variant.metric" = "OP EXPR"`; judged by `check`.
    pub expect: BTreeMap<String, String>,
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
    pub variants: Vec<String>,
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
            variants: vec!["sequential".into(), "parallel".into()],
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
pub struct Storage {
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

impl Default for Storage {
    fn default() -> Self {
        Storage {
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
pub struct Object {
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

impl Default for Object {
    fn default() -> Self {
        Object {
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
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            token_ttl_ms: 7_200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Client {
    /// Wait between the 202 and opening the socket (default 0).
    pub connect_delay_ms: Dist,
    /// Give up on the upgrade this long after the connect started (default 60000).
    pub handshake_timeout_ms: u64,
    /// Issue the ping this long after the connect started; queued until the 101 (default 0).
    pub ping_after_ms: u64,
    /// Fail when no pong arrives this long after the ping was issued (default 10000).
    pub ping_timeout_ms: u64,
    /// Upgrade attempts after the first (default 0).
    pub retries: u32,
    /// Wait before each retry (default constant 1000).
    pub retry_backoff_ms: Dist,
    /// Books in the batch, one progress message each (default 5).
    pub books_per_job: u32,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            connect_delay_ms: Dist::Constant(0.0),
            handshake_timeout_ms: 60_000,
            ping_after_ms: 0,
            ping_timeout_ms: 10_000,
            retries: 0,
            retry_backoff_ms: Dist::Constant(1000.0),
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
    pub apply_to: Vec<String>,
    /// Mean server upgrade time, ms (default 200 / 500).
    pub avg_upgrade_ms: Threshold,
    /// 95th percentile server upgrade time, ms (default 300 / 1000).
    pub p95_upgrade_ms: Threshold,
    /// Canceled upgrades per job (default 0.05 / 0.10).
    pub canceled_rate: Threshold,
    /// Mean storage read time of the upgrade, ms (default 150 / 300).
    pub avg_storage_ms: Threshold,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            apply_to: Vec::new(),
            avg_upgrade_ms: Threshold::new(200.0, 500.0),
            p95_upgrade_ms: Threshold::new(300.0, 1000.0),
            canceled_rate: Threshold::new(0.05, 0.10),
            avg_storage_ms: Threshold::new(150.0, 300.0),
        }
    }
}

impl Slo {
    /// (name, figure it judges, threshold), in report order.
    pub fn checks(&self) -> [(&'static str, &'static str, Threshold); 4] {
        [
            ("avg_upgrade_ms", "mean_upgrade_ms", self.avg_upgrade_ms),
            ("p95_upgrade_ms", "p95_upgrade_ms", self.p95_upgrade_ms),
            ("canceled_rate", "canceled_rate", self.canceled_rate),
            ("avg_storage_ms", "mean_storage_ms", self.avg_storage_ms),
        ]
    }

    pub fn applies_to(&self, variant: &str) -> bool {
        self.apply_to.is_empty() || self.apply_to.iter().any(|v| v == variant)
    }
}

impl Scenario {
    /// For the gate: every variant an SLO or expectation names must be one that runs.
    pub fn check_gate_variants(&self) -> Result<(), (String, String)> {
        let runs = &self.scenario.variants;
        let missing = |v: &str| !runs.iter().any(|r| r == v);
        for (i, v) in self.slo.apply_to.iter().enumerate() {
            if missing(v) {
                return Err((
                    format!("slo.apply_to.{i}"),
                    format!(
                        "{v:?} is not one of scenario.variants ({})",
                        runs.join(", ")
                    ),
                ));
            }
        }
        for (key, expr) in &self.expect {
            let e = Expectation::parse(key, expr).expect("checked when loaded");
            if let Some(v) = e.variants().into_iter().find(|v| missing(v)) {
                return Err((
                    format!("expect.\"{key}\""),
                    format!(
                        "names variant {v:?}, which is not one of scenario.variants ({})",
                        runs.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A validation failure: the dotted key and what is wrong with it.
pub(crate) type Invalid = (String, String);

impl Scenario {
    /// Checks every value against its limits; the error names the dotted key.
    pub(crate) fn check(&self) -> Result<(), Invalid> {
        let m = &self.scenario;
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        if m.jobs == 0 {
            return err("scenario.jobs", "must be at least 1".into());
        }
        if m.jobs > JOBS_MAX {
            return err(
                "scenario.jobs",
                format!("{} exceeds the limit of {JOBS_MAX}", m.jobs),
            );
        }
        if m.concurrency == 0 || m.concurrency > CONCURRENCY_MAX {
            return err(
                "scenario.concurrency",
                format!("{} is outside 1..={CONCURRENCY_MAX}", m.concurrency),
            );
        }
        if m.variants.is_empty() {
            return err("scenario.variants", "needs at least one variant".into());
        }
        for (i, v) in m.variants.iter().enumerate() {
            if variant::by_name(v).is_none() {
                return err(
                    &format!("scenario.variants.{i}"),
                    format!(
                        "unknown variant {v:?}; known: {}",
                        variant::NAMES.join(", ")
                    ),
                );
            }
            if m.variants[..i].contains(v) {
                return err(
                    &format!("scenario.variants.{i}"),
                    format!("variant {v:?} is listed twice"),
                );
            }
        }
        if m.tick_ms == 0 || m.tick_ms > TICK_MS_MAX {
            return err(
                "scenario.tick_ms",
                format!("{} is outside 1..={TICK_MS_MAX}", m.tick_ms),
            );
        }
        if m.duration_s_max == 0 || m.duration_s_max > DURATION_S_MAX_LIMIT {
            return err(
                "scenario.duration_s_max",
                format!("{} is outside 1..={DURATION_S_MAX_LIMIT}", m.duration_s_max),
            );
        }
        let dists: [(&str, &Dist); 11] = [
            (
                "network.client_edge.latency_ms",
                &self.network.client_edge.latency_ms,
            ),
            (
                "network.edge_object.latency_ms",
                &self.network.edge_object.latency_ms,
            ),
            ("storage.read_ms", &self.storage.read_ms),
            ("storage.cached_read_ms", &self.storage.cached_read_ms),
            ("storage.write_ms", &self.storage.write_ms),
            ("object.cold_start_ms", &self.object.cold_start_ms),
            ("object.pair_ms", &self.object.pair_ms),
            ("object.accept_ms", &self.object.accept_ms),
            ("client.connect_delay_ms", &self.client.connect_delay_ms),
            ("client.retry_backoff_ms", &self.client.retry_backoff_ms),
            ("enrichment.book_ms", &self.enrichment.book_ms),
        ];
        for (key, d) in dists {
            d.check()
                .map_err(|(sub, msg)| (format!("{key}.{sub}"), msg))?;
        }
        let periods: [(&str, u64); 5] = [
            (
                "object.hibernate_after_idle_ms",
                self.object.hibernate_after_idle_ms,
            ),
            (
                "object.evict_after_idle_ms",
                self.object.evict_after_idle_ms,
            ),
            ("auth.token_ttl_ms", self.auth.token_ttl_ms),
            ("client.ping_after_ms", self.client.ping_after_ms),
            ("client.ping_timeout_ms", self.client.ping_timeout_ms),
        ];
        for (key, v) in periods {
            if v > PERIOD_MS_MAX {
                return err(key, format!("{v} exceeds the limit of {PERIOD_MS_MAX} ms"));
            }
        }
        if self.client.handshake_timeout_ms == 0 || self.client.handshake_timeout_ms > PERIOD_MS_MAX
        {
            return err(
                "client.handshake_timeout_ms",
                format!(
                    "{} is outside 1..={PERIOD_MS_MAX}",
                    self.client.handshake_timeout_ms
                ),
            );
        }
        let p = self.object.restart_probability;
        if !(0.0..=1.0).contains(&p) {
            return err(
                "object.restart_probability",
                format!("{p} is not a probability in 0..=1"),
            );
        }
        if self.client.retries > RETRIES_MAX {
            return err(
                "client.retries",
                format!("{} exceeds the limit of {RETRIES_MAX}", self.client.retries),
            );
        }
        for (i, v) in self.slo.apply_to.iter().enumerate() {
            if variant::by_name(v).is_none() {
                return err(
                    &format!("slo.apply_to.{i}"),
                    format!(
                        "unknown variant {v:?}; known: {}",
                        variant::NAMES.join(", ")
                    ),
                );
            }
        }
        for (name, _, t) in self.slo.checks() {
            for (which, v) in [("warning", t.warning), ("critical", t.critical)] {
                if !v.is_finite() || v < 0.0 {
                    return err(
                        &format!("slo.{name}.{which}"),
                        format!("{v} is not a finite number >= 0"),
                    );
                }
            }
            if t.warning > t.critical {
                return err(
                    &format!("slo.{name}"),
                    format!("warning {} > critical {}", t.warning, t.critical),
                );
            }
        }
        if self.expect.len() > EXPECTATIONS_MAX {
            return err(
                "expect",
                format!("more than {EXPECTATIONS_MAX} expectations"),
            );
        }
        for (key, expr) in &self.expect {
            Expectation::parse(key, expr).map_err(|msg| (format!("expect.\"{key}\""), msg))?;
        }
        if self.client.books_per_job > BOOKS_PER_JOB_MAX {
            return err(
                "client.books_per_job",
                format!(
                    "{} exceeds the limit of {BOOKS_PER_JOB_MAX}",
                    self.client.books_per_job
                ),
            );
        }
        Ok(())
    }
}
