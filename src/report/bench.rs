//! `bench`'s JSON file, and the line its child processes hand the driver.

use schemars::JsonSchema;
use serde::Serialize;

use crate::bench::{Measurement, Results, SweepScaling};
use crate::names::stamp::{self, Live};

/// `bench --json`: what was measured, where and when. The type is the layout: the writer
/// serialises it and `docs/schema/bench.json` is derived from it.
#[derive(Serialize, JsonSchema)]
pub struct BenchJson<'a> {
    pub tool: &'static str,
    pub version: &'static str,
    pub schema_version: u32,
    #[serde(flatten)]
    pub live: Live,
    /// One measurement per workload.
    pub workloads: &'a [Measurement],
    /// The flow workload at each concurrency of `--scaling` (empty without it).
    pub scaling: &'a [Measurement],
    /// A sweep on 1 and 2 threads (`null` unless asked for).
    pub sweep_scaling: Option<&'a SweepScaling>,
}

/// The `--json` file: pretty, with a trailing newline.
pub fn json(r: &Results) -> Result<String, serde_json::Error> {
    let out = BenchJson {
        tool: stamp::TOOL,
        version: stamp::VERSION,
        schema_version: stamp::SCHEMA_VERSION,
        live: Live::now(),
        workloads: &r.workloads,
        scaling: &r.scaling,
        sweep_scaling: r.sweep_scaling.as_ref(),
    };
    // Through a `Value` (a sorted map): the keys stay in the order they always had.
    let v = serde_json::to_value(&out)?;
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}

/// What a `bench --child` process prints for its driver: the measurement as one JSON line
/// (without the newline).
pub fn child_line(m: &Measurement) -> Result<String, serde_json::Error> {
    serde_json::to_string(m)
}
