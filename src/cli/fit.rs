//! `fit`: the parameter value that reproduces an observed figure, by bisection.

use std::path::PathBuf;

use handshake_sim::internal::fit::{FitSpec, Parameter, Target};
use handshake_sim::internal::report;
use handshake_sim::internal::scenario::{self, Scenario};

use super::args::{SeedRange, Sets};
use super::output::{check_file_writable, check_no_overwrite, is_stdout, write_output};
use super::Status;
use super::{CliResult, Context as _};

pub(crate) const EXAMPLES: &str =
    "The metric must move monotonically with the parameter (common random numbers keep
it so per seed). A metric that goes both up and down, or stays flat, over the values tried is
an error (\"not monotone in this range\"); \"widen --range\" means a monotone metric that
misses the target inside the range.

Uncertainty: the seeds are cut into min(seeds, 10) blocks of consecutive seeds, and each block
is fitted again on its own (a count's target scaled to the block's share). The interval is
value ± t·sd/√blocks over the block fits (Student's t, 95%), for every metric, widened to
hold the last bisection bracket and, for failure_rate and silent_failure_rate, the values
whose 95% Wilson interval contains the target. One seed gives no spread: use --seeds 2 or
more (5 or more for a usable interval). Cost: the block fits run only their own seeds and
reuse the pooled runs, so a fit makes at most about twice the runs of the pooled search; the
last line counts them.

Examples:
  handshake-sim fit sims/issue407.toml --param client.handshake_timeout_ms \\
      --target sequential.failure_rate=0.35 --range 200..300 --seeds 5
  handshake-sim fit sims/issue407.toml --param storage.read_ms.uniform.1 \\
      --target sequential.mean_storage_ms=170 --range 80..150 --seeds 5 --json fit.json";

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
    /// Also write the result as JSON ('-' for standard output, instead of the text).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    #[command(flatten)]
    seeds: SeedRange,
    #[command(flatten)]
    sets: Sets,
}

pub(crate) fn fit(args: Args) -> CliResult<Status> {
    let overrides = args.sets.overrides()?;
    let text = scenario::read_text(&args.scenario)?;
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
    if let Some(path) = &args.json {
        check_file_writable("--json", path)?;
    }
    check_no_overwrite(
        &[("--json", args.json.as_deref())],
        &[("SCENARIO", &args.scenario)],
    )?;
    let spec = FitSpec {
        origin: &origin,
        text: &text,
        overrides: &overrides,
        key: &args.param,
        variant: target.variant,
        figure: target.figure,
        metric: &target.metric,
        target: target.value,
        range,
        integer: parameter.integer,
        seeds: &seeds,
    };
    let r = handshake_sim::internal::fit::fit(&spec)?;
    if let Some(path) = &args.json {
        let text = report::fit::json(&spec, &r).context("fit JSON")?;
        write_output(path, text.as_bytes())?;
    }
    if !is_stdout(args.json.as_deref()) {
        out!("{}", report::fit::text(&spec, &r));
    }
    Ok(Status::Success)
}
