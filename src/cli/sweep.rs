//! `sweep`: parameters over a grid (or a random swarm) × variants × seeds, in parallel.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use handshake_sim::internal::files;
use handshake_sim::internal::names::escape_control;
use handshake_sim::internal::report;
use handshake_sim::internal::scenario::{self, Scenario};
use handshake_sim::internal::sweep::{self, ParamSpec, SweepDef, SweepError, SweepResult};

use super::args::{jobs_override, pick_variants, SeedRange, Sets};
use super::output::{check_dir_writable, check_disjoint, check_file_writable, write_output};
use super::Status;
use super::{CliError, CliResult};

pub(crate) const EXAMPLES: &str = "SPEC: a list (100,200,500), a range with a step (50..300:25, ends included),
or a TOML array ([{ uniform = [50, 100] }, { uniform = [75, 100] }]). Array items of a key are
addressed by index: storage.read_ms.uniform.1=60..200:20.

Writes DIR/points.csv (one row per point × variant), DIR/sweep.json, and plots: failure rate
against a 1-D parameter, or a heatmap per variant for 2-D.

Examples:
  handshake-sim sweep sims/issue407.toml --param client.handshake_timeout_ms=200..300:10 --out out/deadline
  handshake-sim sweep sims/issue407.toml --seeds 3 --out out/grid \\
      --param storage.read_ms.uniform.1=80..140:20 --param client.handshake_timeout_ms=200,250,300
  handshake-sim sweep sims/issue407.toml --shard 1/4 --out out/s1 --param ...   # then: merge
  handshake-sim sweep sims/issue407.toml --swarm 200 --param storage.read_ms.uniform.1=75..200 \\
      --param client.handshake_timeout_ms=150..400 --out out/swarm";

#[derive(clap::Args)]
#[command(mut_arg("sets", |a| a.help("Override a key at every point (repeatable)")))]
pub(crate) struct Args {
    /// Scenario file.
    scenario: PathBuf,
    /// A swept key: KEY=SPEC (repeatable; the grid is their product, first outermost).
    #[arg(long = "param", value_name = "KEY=SPEC", required = true)]
    params: Vec<String>,
    #[command(flatten)]
    seeds: SeedRange,
    /// Variant to run (repeatable; default: the scenario's).
    #[arg(long = "variant", value_name = "VARIANT")]
    variants: Vec<String>,
    #[command(flatten)]
    sets: Sets,
    /// Shorthand for --set scenario.jobs=N, as for `run`.
    #[arg(long)]
    jobs: Option<u32>,
    /// Output directory.
    #[arg(long, default_value = "sweep-out")]
    out: PathBuf,
    /// Run only the K-th of N disjoint slices of the points (1-based), for `merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Draw N random points within the --param ranges (KEY=LOW..HIGH) instead of a grid.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    swarm: Option<u32>,
    /// Also write a self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the plots as PNG.
    #[arg(long)]
    png: bool,
    /// Run a sweep estimated past 24 hours on one core (refused without it).
    #[arg(long)]
    allow_large: bool,
    /// Print no estimate, progress or summary: only errors and failed runs; the files are
    /// written as always.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn sweep(args: Args) -> CliResult<Status> {
    let mut overrides = args.sets.overrides()?;
    if let Some(j) = args.jobs {
        overrides.push(jobs_override(j)?);
    }
    let base = Scenario::load(&args.scenario, &overrides)?;
    let text = scenario::read_text(&args.scenario)?;
    let def = definition(&args, &base)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let plan = sweep::Plan::new(&def, &overrides, &text, shard)?;
    if !args.quiet {
        announce(&plan);
    }
    plan.check_size(args.allow_large)?;
    check_files(&args, &plan)?;
    let bar = progress_bar(plan.runs, "runs", args.quiet);
    let result = run_writing_seed_rows(&plan, &base, &args.out, &|| bar.inc(1))?;
    bar.finish_and_clear();
    finish(
        &result,
        &args.out,
        args.html.as_deref(),
        args.png,
        args.quiet,
    )
}

/// Runs the sweep, writing `points-by-seed.csv` row by row as points finish (into a hidden
/// temporary file renamed into place when the sweep ends, so an interrupted sweep leaves no
/// file that looks whole, and the previous one as it was).
fn run_writing_seed_rows(
    plan: &sweep::Plan,
    base: &Scenario,
    out: &Path,
    progress: &(dyn Fn() + Sync),
) -> CliResult<SweepResult> {
    use report::seed_rows::{SeedRows, FILE};
    let path = out.join(FILE);
    let io = |e: &dyn std::fmt::Display| format!("writing {}: {e}", path.display());
    let staged = files::Staged::create(&path)?;
    let mut rows = SeedRows::new(staged, &plan.def).map_err(|e| CliError::failed_msg(io(&e)))?;
    let mut sink = |p| rows.write(&p).map_err(|e| io(&e));
    let result = sweep::run_by_seed(plan, base, progress, Some(&mut sink))?;
    rows.finish()
        .map_err(|e| CliError::failed_msg(io(&e)))?
        .commit()?;
    Ok(result)
}

/// Refuses, before anything runs, outputs that cannot be written whole or would land on the
/// scenario file or on each other: first the overlaps (nothing is created for a refused
/// output), then each file.
fn check_files(args: &Args, plan: &sweep::Plan) -> CliResult<()> {
    let names = report::sweep_dir_files(&plan.def, plan.shard.is_some(), args.png);
    let mut io = files::Disjoint::default();
    io.input("SCENARIO", &args.scenario)
        .output_dir("--out", &args.out, &names);
    if let Some(path) = &args.html {
        io.output("--html", path);
    }
    check_disjoint(&io)?;
    check_dir_writable("--out", &args.out, &names)?;
    report::plot::check_plot_dir(&args.out)?;
    if let Some(path) = &args.html {
        check_file_writable("--html", path)?;
    }
    Ok(())
}

/// The sweep the arguments ask for.
fn definition(args: &Args, base: &Scenario) -> CliResult<SweepDef> {
    let params = args
        .params
        .iter()
        .map(|p| {
            if args.swarm.is_some() {
                ParamSpec::swarm(p)
            } else {
                ParamSpec::grid(p)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    sweep::check_distinct(&params)?;
    Ok(SweepDef {
        scenario_file: args.scenario.display().to_string(),
        sets: sets(args),
        params,
        variants: pick_variants(&args.variants, base)?,
        seeds: args.seeds.seeds(base.scenario.seed),
        swarm: args.swarm,
        swarm_seed: args.seeds.first(base.scenario.seed),
    })
}

/// The `--set`s, with `--jobs N` as `scenario.jobs=N`: what the reproduce commands repeat.
fn sets(args: &Args) -> Vec<String> {
    let mut sets = args.sets.sets.clone();
    sets.extend(args.jobs.map(|j| format!("scenario.jobs={j}")));
    sets
}

/// Says what a large sweep will cost before it starts (on standard error).
fn announce(plan: &sweep::Plan) {
    let threads = rayon::current_num_threads().max(1);
    let wall_s = plan.cpu_s / threads as f64;
    if wall_s > handshake_sim::internal::cost::ANNOUNCE_S || plan.cpu_s > sweep::CPU_S_MAX {
        eprintln!(
            "sweep: {} run(s) ({} point(s) × {} variant(s) × {} seed(s)), {} simulated job(s): \
             an estimated {} of wall time on {threads} thread(s) ({} on one core), from the \
             scenario, not a measurement",
            plan.runs,
            plan.runs / (plan.def.variants.len() * plan.def.seeds.len()).max(1) as u64,
            plan.def.variants.len(),
            plan.def.seeds.len(),
            plan.sim_jobs,
            handshake_sim::internal::cost::human_s(wall_s),
            handshake_sim::internal::cost::human_s(plan.cpu_s),
        );
    }
}

fn parse_shard(s: &str) -> CliResult<(u32, u32)> {
    let bad = || {
        SweepError::Usage(format!(
            "--shard {s:?}: expected K/N with 1 <= K <= N <= {}",
            sweep::POINTS_MAX
        ))
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || k > n || n as usize > sweep::POINTS_MAX {
        return Err(bad().into());
    }
    Ok((k, n))
}

/// A progress bar on a terminal, nothing otherwise (nor with `quiet`).
fn progress_bar(total: u64, what: &str, quiet: bool) -> indicatif::ProgressBar {
    let target = if quiet {
        indicatif::ProgressDrawTarget::hidden()
    } else {
        indicatif::ProgressDrawTarget::stderr()
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{bar:40}} {{pos}}/{{len}} {what} {{per_sec}} ETA {{eta}}"
    )) {
        bar.set_style(style);
    }
    bar
}

/// Writes a sweep's files into `dir`: `points.csv`, `sweep.json` and the plots (`*.svg`, and
/// `*.png` with `png`), each whole ([`files::Staged`]). Returns the plots for an HTML page.
fn write_sweep_dir(
    dir: &Path,
    sweep: &SweepResult,
    png: bool,
) -> CliResult<Vec<report::plot::Plot>> {
    files::prepare_dir(dir)?;
    let (csv_path, json_path) = (dir.join(report::POINTS_FILE), dir.join(report::SWEEP_FILE));
    let failed = |path: &Path, e: &dyn std::fmt::Display| {
        CliError::failed_msg(format!("writing {}: {e}", path.display()))
    };
    let mut csv = files::Staged::create(&csv_path)?;
    report::write_points(&mut csv, sweep).map_err(|e| failed(&csv_path, &e))?;
    csv.commit()?;
    let mut json = files::Staged::create(&json_path)?;
    sweep
        .write_json(&mut json)
        .map_err(|e| failed(&json_path, &e))?;
    json.commit()?;
    // A shard holds part of the grid: its plots would mislead, so only whole sweeps get them.
    if sweep.shard.is_some() {
        return Ok(Vec::new());
    }
    let plots = report::plot::sweep_plots(sweep, png)?;
    report::plot::write_plots(dir, &plots)?;
    Ok(plots)
}

/// Writes a sweep's (or a merge's) files and summary; any failed run fails the command.
pub(crate) fn finish(
    result: &SweepResult,
    out: &Path,
    html: Option<&Path>,
    png: bool,
    quiet: bool,
) -> CliResult<Status> {
    let plots = write_sweep_dir(out, result, png)?;
    if let Some(path) = html {
        write_output(path, report::sweep_html(result, &plots).as_bytes())?;
    }
    // With the page on standard output, the summary would corrupt it.
    if !quiet && !super::output::is_stdout(html) {
        out!("{}", summary(result, out));
    }
    if !result.failed_runs.is_empty() {
        eprint!("{}", failed_runs(result));
        return Ok(Status::Failed);
    }
    Ok(Status::Success)
}

/// The summary on standard output: size, output directory and the worst points per variant
/// (5 of a swarm, 3 of a grid).
fn summary(result: &SweepResult, out: &std::path::Path) -> String {
    let def = &result.definition;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} point(s) × {} variant(s) × {} seed(s){} → {}",
        result.points.len(),
        def.variants.len(),
        def.seeds.len(),
        result
            .shard
            .map_or(String::new(), |(k, n)| format!(" (shard {k}/{n})")),
        out.display()
    );
    let worst_n = if def.swarm.is_some() { 5 } else { 3 };
    for (v, pts) in result.worst(worst_n) {
        let _ = writeln!(s, "worst points for {v} (failure rate):");
        for (p, rate) in pts {
            let params: Vec<String> = p.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                s,
                "  {:>6.1}%  {}\n          {}",
                rate * 100.0,
                params.join(" "),
                result.point_command(p)
            );
        }
    }
    s
}

/// The failed runs with their reproduce commands (for standard error); empty when none failed.
fn failed_runs(result: &SweepResult) -> String {
    let mut s = String::new();
    if result.failed_runs.is_empty() {
        return s;
    }
    let _ = writeln!(s, "{} run(s) failed:", result.failed_runs.len());
    for f in &result.failed_runs {
        let _ = writeln!(
            s,
            "  point {} {} seed {}: {}\n    reproduce: {}",
            f.point,
            escape_control(&f.variant),
            f.seed,
            escape_control(&f.message),
            escape_control(&f.command)
        );
    }
    s
}
