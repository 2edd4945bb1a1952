//! `fit`: the parameter value that reproduces an observed figure, by bisection.

use std::path::PathBuf;

use handshake_sim::fit::{FitSpec, Parameter, Target};
use handshake_sim::report;
use handshake_sim::scenario::{Scenario, ScenarioError};

use super::args::{SeedRange, Sets};
use super::Status;

pub(crate) const EXAMPLES: &str =
    "The metric must move monotonically with the parameter (common random numbers keep
it so per seed). For failure_rate the uncertainty is the range of parameter values whose 95%
interval contains the target.

Examples:
  handshake-sim fit sims/issue407.toml --param client.handshake_timeout_ms \\
      --target sequential.failure_rate=0.35 --range 200..300 --seeds 5";

#[derive(clap::Args)]
#[command(mut_arg("seeds", |a| a
    .help("Seeds pooled at every evaluation")
    .value_parser(clap::value_parser!(u64).range(1..=1_000))))]
pub(crate) struct Args {
    /// Scenario file.
    scenario: PathBuf,
    /// The numeric key to solve for, e.g. client.handshake_timeout_ms.
    #[arg(long, value_name = "KEY")]
    param: String,
    /// The observed figure: VARIANT.METRIC=VALUE, e.g. sequential.failure_rate=0.35.
    #[arg(long, value_name = "METRIC=VALUE")]
    target: String,
    /// Variant, when --target names only the metric.
    #[arg(long)]
    variant: Option<String>,
    /// Search range LOW..HIGH (default: half to twice the scenario's value).
    #[arg(long, value_name = "LOW..HIGH")]
    range: Option<String>,
    #[command(flatten)]
    seeds: SeedRange,
    #[command(flatten)]
    sets: Sets,
}

pub(crate) fn fit(args: Args) -> anyhow::Result<Status> {
    let overrides = args.sets.overrides()?;
    let text = std::fs::read_to_string(&args.scenario).map_err(|source| ScenarioError::Read {
        path: args.scenario.clone(),
        source,
    })?;
    let origin = args.scenario.display().to_string();
    let base = Scenario::from_toml_str(&origin, &text, &overrides)?;
    let default_variant = args
        .variant
        .as_deref()
        .unwrap_or_else(|| base.scenario.variants[0].name());
    let target = Target::parse(&args.target, default_variant)?;
    let parameter = Parameter::lookup(&base, &args.param)?;
    let range = parameter.range(args.range.as_deref())?;
    let seeds = args.seeds.seeds(base.scenario.seed);
    let spec = FitSpec {
        origin: &origin,
        text: &text,
        overrides: &overrides,
        key: &args.param,
        variant: &target.variant,
        metric: &target.metric,
        target: target.value,
        range,
        integer: parameter.integer,
        seeds: &seeds,
    };
    let r = handshake_sim::fit::fit(&spec)?;
    out!("{}", report::fit::text(&spec, &r));
    Ok(Status::Success)
}
