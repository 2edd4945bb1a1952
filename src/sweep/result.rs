//! What a sweep (or a shard of it, or a merge of shards) found: the figures of every point,
//! the failed runs, and the definition and base scenario that made them.

use serde::{Deserialize, Serialize};

use super::spec::SweepDef;
use crate::metrics::VariantSummary;
use crate::names::{shell_quote, Repro};
use crate::scenario::Scenario;

/// A failed run inside a sweep (the sweep goes on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FailedRun {
    pub point: usize,
    pub variant: String,
    pub seed: u64,
    pub message: String,
    /// The `run` command that repeats this run alone.
    #[serde(default)]
    pub command: String,
}

/// The figures of one grid point, pooled over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PointResult {
    pub point: usize,
    /// (key, TOML value) in `--param` order.
    pub params: Vec<(String, String)>,
    pub variants: Vec<VariantSummary>,
}

/// A whole sweep, or one shard of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepResult {
    pub tool: String,
    pub version: String,
    /// The layout of the JSON outputs; a `sweep.json` without one reads as 0, which `merge`
    /// refuses (`compare::check_schema_version`).
    #[serde(default)]
    pub schema_version: u32,
    pub definition: SweepDef,
    /// The scenario with `--set` applied and no sweep parameter, resolved.
    pub base: Scenario,
    /// `[k, n]` for the k-th of n shards (1-based); absent for a whole sweep.
    pub shard: Option<(u32, u32)>,
    pub points: Vec<PointResult>,
    pub failed_runs: Vec<FailedRun>,
}

impl SweepResult {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("sweep types serialise");
        s.push('\n');
        s
    }

    /// [`SweepResult::to_json`] as a stream, never held whole (a merged sweep.json may be
    /// larger than a gigabyte).
    pub fn write_json(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n")
    }

    /// The worst points per variant (highest failure rate first), at most `n` each.
    pub fn worst(&self, n: usize) -> Vec<(String, Vec<(&PointResult, f64)>)> {
        self.definition
            .variants
            .iter()
            .map(|v| {
                let mut pts: Vec<(&PointResult, f64)> = self
                    .points
                    .iter()
                    .filter_map(|p| {
                        let s = p.variants.iter().find(|s| s.variant == v.name())?;
                        Some((p, s.failure_rate.value))
                    })
                    .collect();
                pts.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.point.cmp(&b.0.point)));
                pts.truncate(n);
                (v.name().to_string(), pts)
            })
            .collect()
    }

    /// The `sweep` command that runs this sweep (or this shard of it) again; a swarm draws its
    /// points from the first seed, so they are the same too.
    pub fn command(&self) -> String {
        let d = &self.definition;
        let mut c = format!("handshake-sim sweep {}", shell_quote(&d.scenario_file));
        for p in &d.params {
            c.push_str(&format!(
                " --param {}",
                shell_quote(&format!("{}={}", p.key, p.spec))
            ));
        }
        if let Some(n) = d.swarm {
            c.push_str(&format!(" --swarm {n}"));
        }
        if let Some(first) = d.seeds.first() {
            c.push_str(&format!(" --seed {first} --seeds {}", d.seeds.len()));
        }
        for v in &d.variants {
            c.push_str(&format!(" --variant {v}"));
        }
        for s in &d.sets {
            c.push_str(&format!(" --set {}", shell_quote(s)));
        }
        if let Some((k, n)) = self.shard {
            c.push_str(&format!(" --shard {k}/{n}"));
        }
        c
    }

    /// The `run` command that reproduces one point (first seed).
    pub fn point_command(&self, point: &PointResult) -> String {
        let mut sets = self.definition.sets.clone();
        sets.extend(point.params.iter().map(|(k, v)| format!("{k}={v}")));
        Repro::run(
            &self.definition.scenario_file,
            self.definition.seeds.first().copied().unwrap_or(1),
        )
        .sets(&sets)
        .variants(&self.definition.variants)
        .seeds(self.definition.seeds.len())
        .into()
    }
}
