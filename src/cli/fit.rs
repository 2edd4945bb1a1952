//! `fit`: the parameter value that reproduces an observed figure, by bisection.

use std::fmt::Write as _;
use std::path::PathBuf;

use handshake_sim::internal::fit::{
    Edge, FitResult, FitSpec, Goal, Parameter, Spread, REPORT_BYTES_MAX,
};
use handshake_sim::internal::report;
use handshake_sim::internal::scenario::{self, Scenario};

use super::args::{SeedRange, Sets};
use super::output::{check_outputs, is_stdout, write_output};
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
      --target sequential.mean_storage_ms=170 --range 80..150 --seeds 5 --json fit.json
  handshake-sim fit sims/issue407.toml --param client.handshake_timeout_ms \\
      --target-from observed.json --variant sequential --range 200..300 --seeds 5
    (observed.json: `calibrate EXPORT --report observed.json`, production's canceled rate)";

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("goal").required(true).args(["target", "target_from"])))]
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
    target: Option<String>,
    /// The observed figure from production: the canceled rate in a `calibrate --report` file,
    /// as the target of VARIANT.canceled_rate (the variant from --variant, else the scenario's
    /// first).
    #[arg(long, value_name = "REPORT")]
    target_from: Option<PathBuf>,
    /// Variant, when --target names only the metric.
    #[arg(long)]
    variant: Option<String>,
    /// Search range LOW..HIGH (default: half to twice the scenario's value).
    #[arg(long, value_name = "LOW..HIGH")]
    range: Option<String>,
    /// Also write the result as JSON ('-' for standard output, instead of the text).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print no result text: only errors, and the files asked for.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    seeds: SeedRange,
    #[command(flatten)]
    sets: Sets,
    /// Shorthand for --set scenario.jobs=N, as for `run`.
    #[arg(long, value_name = "JOBS")]
    jobs: Option<u32>,
}

pub(crate) fn fit(args: Args) -> CliResult<Status> {
    let args = Args {
        sets: args.sets.clone().with_jobs(args.jobs),
        ..args
    };
    let overrides = args.sets.overrides()?;
    let text = scenario::read_text(&args.scenario)?;
    let origin = args.scenario.display().to_string();
    let base = Scenario::from_toml_str(&origin, &text, &overrides)?;
    let default_variant = args
        .variant
        .as_deref()
        .unwrap_or_else(|| base.scenario.variants[0].name());
    let target = match (&args.target, &args.target_from) {
        (Some(t), _) => Goal::parse(t, default_variant)?,
        (None, Some(path)) => {
            let text = read_report(path)?;
            if base.client.retries > 0 || base.client.reconnect {
                // Production's rate is per upgrade, the simulation's per job: equal only when
                // each job makes one upgrade.
                eprintln!(
                    "handshake-sim fit: note: the scenario's client retries or reconnects, so a job \
                     may make several upgrades; its canceled_rate (canceled upgrades per job) then \
                     reads higher than production's canceled upgrades per upgrade"
                );
            }
            Goal::from_report(&path.display().to_string(), &text, default_variant)?
        }
        (None, None) => unreachable!("clap requires --target or --target-from"),
    };
    let parameter = Parameter::lookup(&base, &args.param)?;
    let range = parameter.range(args.range.as_deref())?;
    let seeds = args.seeds.seeds(base.scenario.seed);
    check_outputs(
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
    if !args.quiet && !is_stdout(args.json.as_deref()) {
        out!("{}", fit_text(&spec, &r));
    }
    Ok(Status::Success)
}

/// A `calibrate --report` file, at most [`REPORT_BYTES_MAX`] bytes of it.
fn read_report(path: &std::path::Path) -> CliResult<Vec<u8>> {
    use std::io::Read as _;
    let file = handshake_sim::internal::files::open_named_input(path)?;
    let mut bytes = Vec::new();
    file.take(REPORT_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .context(format!("reading {}", path.display()))?;
    if bytes.len() as u64 > REPORT_BYTES_MAX {
        return Err(handshake_sim::internal::fit::FitError::Usage(format!(
            "--target-from {}: larger than {REPORT_BYTES_MAX} bytes; not a calibrate --report file",
            path.display()
        ))
        .into());
    }
    Ok(bytes)
}

/// A parameter value as the scenario takes it.
fn show(spec: &FitSpec, x: f64) -> String {
    if spec.integer {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.4}")
    }
}

/// An interval of parameter values, rounded outward for an integer key.
fn show_interval(spec: &FitSpec, (a, b): (f64, f64)) -> String {
    if spec.integer {
        format!("{}..={}", a.floor() as i64, b.ceil() as i64)
    } else {
        format!("{a:.4}..={b:.4}")
    }
}

/// A figure's 95% interval, when it has one.
fn ci(low: Option<f64>, high: Option<f64>) -> Option<String> {
    Some(format!("[{:.4}, {:.4}]", low?, high?))
}

/// The block fits' line: each block's seeds and value, their mean and spread.
fn blocks_line(spec: &FitSpec, sp: &Spread) -> String {
    let fits: Vec<String> = (sp.blocks.iter())
        .map(|b| {
            let (first, last) = (b.seeds[0], b.seeds[b.seeds.len() - 1]);
            let seeds = if first == last {
                format!("{first}")
            } else {
                format!("{first}..={last}")
            };
            let beyond = match b.beyond {
                Some(Edge::Low) => " (or below)",
                Some(Edge::High) => " (or above)",
                None => "",
            };
            format!("{seeds} → {}{beyond}", show(spec, b.value))
        })
        .collect();
    format!(
        "block fits (seeds → {}): {}; mean {:.4}, sd {:.4}, t {:.2}",
        spec.key,
        fits.join(", "),
        sp.mean,
        sp.sd,
        sp.t
    )
}

/// What the uncertainty line's interval is made of.
fn uncertainty_source(r: &FitResult) -> String {
    let rate = "the values whose 95% interval contains the target";
    match &r.spread {
        Some(sp) => format!(
            "95% t-interval over {} fits on disjoint seed blocks{}, and the bisection bracket",
            sp.blocks.len(),
            if r.from_confidence {
                format!(", with {rate}")
            } else {
                String::new()
            }
        ),
        None if r.from_confidence => {
            format!("{rate}; one seed, so no spread over seeds: use --seeds 2 or more")
        }
        None => "the last bisection bracket only: one seed, so no spread over seeds; \
                 use --seeds 2 or more"
            .into(),
    }
}

/// The text `fit` prints.
fn fit_text(spec: &FitSpec, r: &FitResult) -> String {
    let (key, variant, metric) = (spec.key, spec.variant, spec.metric);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "fit {} — {variant}.{metric} = {}, seeds {}..={}",
        spec.origin,
        spec.target,
        spec.seeds[0],
        spec.seeds[spec.seeds.len() - 1]
    );
    for e in &r.evaluations {
        let interval = ci(e.ci95_low, e.ci95_high).map_or(String::new(), |c| format!(" {c}"));
        let _ = writeln!(
            s,
            "  {key} = {:>10}  →  {metric} {:.4}{interval}",
            show(spec, e.x),
            e.value,
        );
    }
    let a = &r.achieved;
    let interval = ci(a.ci95_low, a.ci95_high).map_or(String::new(), |c| format!(", 95% CI {c}"));
    let _ = writeln!(
        s,
        "\n{key} = {}  ({variant}.{metric} = {:.4}{interval})",
        show(spec, r.value),
        a.value,
    );
    if let Some(sp) = &r.spread {
        let _ = writeln!(s, "{}", blocks_line(spec, sp));
    }
    let _ = writeln!(
        s,
        "uncertainty: {key} in {} ({})",
        show_interval(spec, r.interval),
        uncertainty_source(r)
    );
    let beyond = (r.spread.iter())
        .flat_map(|sp| &sp.blocks)
        .filter(|b| b.beyond.is_some())
        .count();
    if beyond > 0 {
        let _ = writeln!(
            s,
            "note: {beyond} block fit(s) lie beyond the range, so the interval stops at its \
             edge; widen --range for the whole interval"
        );
    }
    let _ = writeln!(s, "cost: {} simulation runs", r.runs);
    s
}
