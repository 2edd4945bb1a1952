//! `run`: every variant of a scenario on the same seeded latencies, side by side.

use std::fmt::Write as _;
use std::path::PathBuf;

use handshake_sim::internal::files;
use handshake_sim::internal::names::{Repro, VariantId};
use handshake_sim::internal::pipeline;
use handshake_sim::internal::replay::{self, DeterminismCheck, Divergence, JobRef};
use handshake_sim::internal::report::{self, Report};
use handshake_sim::internal::scenario::Scenario;
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim::RunOutput;

use super::args::{jobs_override, pick_variants, seed_range, Sets};
use super::output::{
    any_stdout, check_dir_writable, check_disjoint, check_file_writable, init_tracing, one_stdout,
    write_output,
};
use super::progress::Progress;
use super::Status;
use super::{CliError, CliResult};

pub(crate) const EXAMPLES: &str = "Examples:
  handshake-sim run sims/issue407.toml
  handshake-sim run sims/issue407.toml --seed 7 --seeds 5 --json out.json --records jobs.csv
  handshake-sim run sims/issue407.toml --variant sequential --variant batched \\
      --set 'storage.read_ms={ uniform = [20, 140] }' --set client.handshake_timeout_ms=250
  handshake-sim run sims/issue407.toml --jobs 3 --log debug      # every step, in simulated ms";

#[derive(clap::Args)]
#[command(mut_arg("sets", |a| a.help(
    "Override a scenario key with a TOML value, e.g. client.handshake_timeout_ms=250 (repeatable)"
)))]
pub(crate) struct Args {
    /// Scenario file (TOML); its keys: docs/reference/scenario.md.
    scenario: PathBuf,
    /// Root seed (default: the scenario's `scenario.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Run this many consecutive seeds from --seed and pool the figures.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: u64,
    /// Variant to run (repeatable; default: the scenario's `scenario.variants`).
    #[arg(long = "variant", value_name = "VARIANT")]
    variants: Vec<String>,
    #[command(flatten)]
    sets: Sets,
    /// Shorthand for --set scenario.jobs=N.
    #[arg(long)]
    jobs: Option<u32>,
    /// Write the figures as JSON to FILE ('-' for standard output, which then holds only the JSON).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one CSV row per job, variant and seed to FILE ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Print the simulation's trace events at LEVEL (error, warn, info, debug, trace) to stderr;
    /// RUST_LOG works too.
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
    /// Write plots to DIR: upgrade-cdf.svg (client upgrade time per variant, with the
    /// deadline) and storage-histogram.svg.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Also write the plots as PNG (with --plots).
    #[arg(long, requires = "plots")]
    png: bool,
    /// The x axis of the upgrade-time CDF: linear (fitted to the data) or log (the data and
    /// a far deadline both fit).
    #[arg(long, value_name = "SCALE", default_value = "linear", value_parser = ["linear", "log"])]
    plot_scale: String,
    /// Write a self-contained HTML report: headline, verdicts, the write-up's figures beside
    /// the simulated ones, the table, plots, the worst job's timeline, the resolved scenario.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// First run every variant and seed twice and compare hashes of the full event traces
    /// and records; a difference fails with the first differing event.
    #[arg(long)]
    check_determinism: bool,
    /// Print no table, notice or progress: only errors, and the files asked for.
    #[arg(short, long)]
    quiet: bool,
}

/// What a run is of, once the arguments are checked.
struct Plan {
    /// The scenario file, as the reproduce commands name it.
    file: String,
    scenario: Scenario,
    variants: Vec<VariantId>,
    seeds: Vec<u64>,
}

impl Plan {
    /// The runs it makes: every variant on every seed.
    fn runs(&self) -> u64 {
        (self.variants.len() * self.seeds.len()) as u64
    }
}

impl Args {
    fn command<'a>(&'a self, plan: &'a Plan) -> RunCommand<'a> {
        RunCommand {
            scenario: &plan.file,
            sets: &self.sets.sets,
            jobs: self.jobs,
        }
    }

    /// The command that reruns all of `plan`.
    fn reproduce(&self, plan: &Plan) -> String {
        self.command(plan)
            .reproduce(&plan.variants, plan.seeds[0], self.seeds)
    }
}

pub(crate) fn run(args: Args) -> CliResult<Status> {
    init_tracing(args.log.as_deref())?;
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--records", args.records.as_deref()),
        ("--html", args.html.as_deref()),
    ];
    one_stdout(&outputs)?;
    let plan = plan(&args)?;
    check_outputs(&args)?;
    // A broken invariant crashes the run; say how to get the same crash again.
    super::on_panic_print_reproduce(args.reproduce(&plan));
    let runs = plan.runs();
    if let Some(notice) = handshake_sim::internal::cost::run_notice(&plan.scenario, runs) {
        if !args.quiet {
            eprint!("{notice}");
        }
    }
    let to_stdout = any_stdout(&outputs.map(|(_, p)| p));
    if args.check_determinism {
        check_determinism(&args, &plan, to_stdout)?;
    }
    let progress = Progress::start(runs, args.quiet);
    let (report, runs) =
        pipeline::run_with_progress(&plan.scenario, &plan.variants, &plan.seeds, &|| {
            progress.inc()
        })
        .map_err(|e| {
            let bad_input = handshake_sim::internal::failure::BadInput::is_bad_input(&e);
            let message = format!("{e}\nreproduce: {}", args.reproduce(&plan));
            if bad_input {
                CliError::usage("the scenario", message)
            } else {
                CliError::failed_msg(message)
            }
        })?;
    progress.finish();
    write_files(&args, &plan, &report, &runs)?;
    if !args.quiet {
        let gate = args.command(&plan).check(plan.seeds[0], args.seeds);
        if let Some(line) = breached_checks(&report, &gate) {
            eprintln!("{line}");
        }
    }
    if !to_stdout && !args.quiet {
        let worst = replay::worst_job(&runs).map(|j| args.command(&plan).replay(&j));
        out!(
            "{}",
            run_text(&report, &args.reproduce(&plan), worst.as_deref())
        );
    }
    Ok(Status::Success)
}

/// What `run` says on stderr when a check of the scenario fails on the pooled seeds: `run`
/// still exits 0 (it is not the gate), so the line names the failures and the `gate` command
/// that judges the same seeds.
fn breached_checks(report: &Report, gate: &str) -> Option<String> {
    let rows = report::pooled::pooled_verdicts(report);
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| r.grade == report::pooled::Grade::Fail)
        .map(|r| {
            format!(
                "{} ({}: {}, bound {})",
                r.check, r.variant, r.measured, r.bound
            )
        })
        .collect();
    if failing.is_empty() {
        return None;
    }
    let summary = report::pooled::summary(&rows)?;
    Some(format!(
        "warning: {summary} on the pooled seeds: {}\n`run` exits 0 all the same; the gate is `{gate}` (it judges each seed, exit 1 on a failure)",
        failing.join("; ")
    ))
}

fn plan(args: &Args) -> CliResult<Plan> {
    let mut overrides = args.sets.overrides()?;
    if let Some(j) = args.jobs {
        overrides.push(jobs_override(j)?);
    }
    let scenario = Scenario::load(&args.scenario, &overrides)?;
    let variants = pick_variants(&args.variants, &scenario)?;
    let seeds = seed_range(args.seed.unwrap_or(scenario.scenario.seed), args.seeds);
    let plan = Plan {
        file: args.scenario.display().to_string(),
        scenario,
        variants,
        seeds,
    };
    // Refused here, before the determinism check's extra runs, as the pipeline would.
    handshake_sim::internal::scenario::memory::check(&plan.scenario, plan.runs())
        .map_err(|why| CliError::usage("the scenario", why))?;
    Ok(plan)
}

/// Refuses an output that cannot be written before the runs, not after them, and one that
/// would land on the scenario file.
fn check_outputs(args: &Args) -> CliResult<()> {
    let files = [
        ("--json", args.json.as_deref()),
        ("--records", args.records.as_deref()),
        ("--html", args.html.as_deref()),
    ];
    let plots = report::plot::plot_files(report::plot::RUN_PLOT_NAMES, args.png);
    let mut io = files::Disjoint::default();
    io.input("SCENARIO", &args.scenario);
    for (arg, path) in files {
        if let Some(path) = path {
            io.output(arg, path);
        }
    }
    if let Some(dir) = &args.plots {
        io.output_dir("--plots", dir, &plots);
    }
    check_disjoint(&io)?;
    if let Some(dir) = &args.plots {
        check_dir_writable("--plots", dir, &plots)?;
        report::plot::check_plot_dir(dir)?;
    }
    for (arg, path) in files {
        if let Some(path) = path {
            check_file_writable(arg, path)?;
        }
    }
    Ok(())
}

/// `--check-determinism`: every variant and seed run twice; the first difference fails.
/// Each line that held goes to standard output, or to standard error when standard output
/// carries a file, and nowhere with `--quiet`.
fn check_determinism(args: &Args, plan: &Plan, to_stdout: bool) -> CliResult<()> {
    for &id in &plan.variants {
        let (v, variant) = (id.name(), variant::of(id));
        for &seed in &plan.seeds {
            let c = replay::check_determinism(&plan.scenario, variant.clone(), seed)?;
            match &c.divergence {
                None if args.quiet => {}
                None if to_stdout => eprintln!("{}", determinism_held(v, seed, &c)),
                None => outln!("{}", determinism_held(v, seed, &c)),
                Some(d) => {
                    let reproduce = args.command(plan).reproduce(&[id], seed, 1);
                    return Err(CliError::failed_msg(determinism_broken(
                        v, seed, &c, d, &reproduce,
                    )));
                }
            }
        }
    }
    Ok(())
}

/// `--json`, `--records`, `--plots` and `--html`.
fn write_files(args: &Args, plan: &Plan, report: &Report, runs: &[RunOutput]) -> CliResult<()> {
    if let Some(path) = &args.json {
        write_output(path, report.to_json().as_bytes())?;
    }
    if let Some(path) = &args.records {
        let names = report.scenario.network_type_names();
        super::output::write_records(path, runs, &names, report::Seen::Simulation)?;
    }
    if args.plots.is_none() && args.html.is_none() {
        return Ok(());
    }
    if let Some(dir) = &args.plots {
        files::prepare_dir(dir)?;
    }
    let png = args.png && args.plots.is_some();
    let scale = match args.plot_scale.as_str() {
        "log" => report::plot::Scale::Log,
        _ => report::plot::Scale::Linear,
    };
    let plots = report::plot::run_plots(report, runs, png, scale)?;
    if let Some(dir) = &args.plots {
        report::plot::write_plots(dir, &plots)?;
    }
    if let Some(path) = &args.html {
        let html = html_page(args, plan, report, runs, &plots)?;
        write_output(path, html.as_bytes())?;
    }
    Ok(())
}

/// The HTML report, with the worst job replayed for its timeline.
fn html_page(
    args: &Args,
    plan: &Plan,
    report: &Report,
    runs: &[RunOutput],
    plots: &[report::plot::Plot],
) -> CliResult<String> {
    let reproduce = args.reproduce(plan);
    let seeds = seed_rows(args, plan, report, runs);
    let Some(job) = replay::worst_job(runs) else {
        return Ok(report::run_html(report, plots, &reproduce, None, &seeds));
    };
    let id = super::args::parse_variant(&job.variant)?;
    let (record, steps) = replay::replay(&plan.scenario, variant::of(id), job.seed, job.job)?;
    let command = args.command(plan).replay(&job);
    let c = &plan.scenario.client;
    let worst = report::WorstJob {
        variant: &job.variant,
        seed: job.seed,
        job: job.job,
        command: &command,
        record: &record,
        steps: &steps,
        deadline_ms: c.upgrade_deadline_ms(),
    };
    Ok(report::run_html(
        report,
        plots,
        &reproduce,
        Some(&worst),
        &seeds,
    ))
}

/// Each seed's failed jobs per variant, and the command that runs that seed alone.
fn seed_rows(
    args: &Args,
    plan: &Plan,
    report: &Report,
    runs: &[RunOutput],
) -> Vec<report::SeedRow> {
    plan.seeds
        .iter()
        .map(|&seed| {
            let failed_of = report
                .variants
                .iter()
                .map(|v| {
                    runs.iter()
                        .find(|r| r.seed == seed && r.variant == v.variant)
                        .map_or((0, 0), |r| {
                            let failed = r
                                .records
                                .iter()
                                .filter(|j| j.outcome != Some(handshake_sim::Outcome::Ok))
                                .count();
                            (failed as u64, r.records.len() as u64)
                        })
                })
                .collect();
            report::SeedRow {
                seed,
                command: args.command(plan).reproduce(&plan.variants, seed, 1),
                failed_of,
            }
        })
        .collect()
}

// What `run` prints: its determinism check, the table with its seeds, and the commands that reproduce the run and replay its worst job.

/// How a run was asked for, as far as reproducing it goes.
struct RunCommand<'a> {
    /// The scenario file, as given.
    scenario: &'a str,
    sets: &'a [String],
    /// `--jobs`, when given.
    jobs: Option<u32>,
}

impl RunCommand<'_> {
    /// The command that reruns exactly `seeds` seeds from `seed` of `variants`.
    fn reproduce(&self, variants: &[VariantId], seed: u64, seeds: u64) -> String {
        Repro::run(self.scenario, seed)
            .sets(self.sets)
            .seeds(seeds as usize)
            .variants(variants)
            .jobs(self.jobs)
            .into()
    }

    /// The `check` that gates on the same seeds, overrides and jobs.
    fn check(&self, seed: u64, seeds: u64) -> String {
        Repro::check(self.scenario, seed, seeds)
            .sets(self.sets)
            .jobs(self.jobs)
            .into()
    }

    /// The command that replays `job`.
    fn replay(&self, job: &JobRef) -> String {
        Repro::replay(self.scenario, job.seed, job.job, &job.variant)
            .sets(self.sets)
            .jobs(self.jobs)
            .into()
    }
}

/// The line of a run-twice check that found both runs the same.
fn determinism_held(variant: &str, seed: u64, c: &DeterminismCheck) -> String {
    format!(
        "determinism {variant} seed {seed}: run twice, {} events, trace hash {} both times",
        c.events, c.hash
    )
}

/// The error of a run-twice check that found the runs differ; `reproduce` reruns the one
/// variant and seed.
fn determinism_broken(
    variant: &str,
    seed: u64,
    c: &DeterminismCheck,
    d: &Divergence,
    reproduce: &str,
) -> String {
    format!(
        "determinism {variant} seed {seed}: the two runs differ at event {} (records {}):\n  first:  {:?}\n  second: {:?}\nreproduce: {reproduce} --check-determinism",
        d.index,
        if c.records_equal { "equal" } else { "differ too" },
        d.first,
        d.second,
    )
}

/// The terminal report of a run: heading, table, seeds, the reproduce command and (when the
/// run had a job) the command that replays its worst job.
fn run_text(report: &Report, reproduce: &str, worst_job: Option<&str>) -> String {
    let s = &report.scenario.scenario;
    let seeds = &report.seeds;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "scenario {} — {} job(s) × {} seed(s), concurrency {}",
        s.name,
        s.jobs,
        seeds.len(),
        s.concurrency
    );
    t.push_str(&report::table(report));
    let seed_text = if seeds.len() == 1 {
        format!("seed {}", seeds[0])
    } else {
        format!("seeds {}..={}", seeds[0], seeds[seeds.len() - 1])
    };
    let _ = writeln!(t, "\n{seed_text}");
    let _ = writeln!(t, "reproduce: {reproduce}");
    if let Some(cmd) = worst_job {
        let _ = writeln!(t, "worst job: {cmd}");
    }
    t
}
