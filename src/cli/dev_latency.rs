//! `dev-latency`: the scenario's storage latency and cold start as the JSON the
//! scenario-latency module reads, for a real Worker under workerd or `wrangler dev`.

use std::path::PathBuf;

use handshake_sim::internal::report::dev_latency;
use handshake_sim::internal::scenario::Scenario;

use super::output::{check_outputs, write_output};
use super::Status;
use super::{CliResult, Context as _};

pub(crate) const EXAMPLES: &str = "The module (scenario-latency/ in the repository) wraps a Durable Object class with one
line at its export, `export const JobObject = withScenarioLatency(JobObject);`, and reads this
JSON from the binding HANDSHAKE_SIM_LATENCY: every storage read then waits storage.read_ms (+ a
spike) with the input gate held, writes wait storage.write_ms, an object's first event waits
object.cold_start_ms, and a fetch into a warm object restarts it (memory lost, a cold start)
with object.restart_probability or after hibernate_after_idle_ms idle. Storage errors are not
injected (said on standard error when the scenario sets them). docs/runtime.md, \"Catch it in dev\".

Examples:
  handshake-sim dev-latency sims/issue407.toml > latency.json
  cd worker && HANDSHAKE_SIM_LATENCY=\"$(handshake-sim dev-latency ../sims/workerd.toml)\" \\
      VARIANT=sequential npx workerd serve config.capnp config
    (the reference Worker; a config of your own needs the binding
     (name = \"HANDSHAKE_SIM_LATENCY\", fromEnvironment = \"HANDSHAKE_SIM_LATENCY\"))
  npx wrangler dev --var HANDSHAKE_SIM_LATENCY:\"$(handshake-sim dev-latency sims/issue407.toml --seed 3)\"";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scenario file.
    scenario: PathBuf,
    /// Seed of the module's draws (default: the scenario's `scenario.seed`).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    sets: super::args::Sets,
    /// Write the JSON to FILE (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn dev_latency(args: Args) -> CliResult<Status> {
    check_outputs(
        &[("--out", args.out.as_deref())],
        &[("SCENARIO", &args.scenario)],
    )?;
    let scenario = Scenario::load(&args.scenario, &args.sets.overrides()?)?;
    let seed = args.seed.unwrap_or(scenario.scenario.seed);
    for key in dev_latency::not_exported(&scenario) {
        eprintln!("dev-latency: {key} is set but not injected by the module (latency, cold starts and restarts are)");
    }
    let text = dev_latency::config(&scenario, seed).context("dev-latency JSON")?;
    match &args.out {
        Some(path) => write_output(path, text.as_bytes())?,
        None => out!("{text}"),
    }
    Ok(Status::Success)
}
