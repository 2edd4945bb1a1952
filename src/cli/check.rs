//! `check`: the pre-deploy check, scenarios over seeds with their SLOs and expectations judged.

use std::path::PathBuf;

use handshake_sim::internal::names::{shell_quote, Repro};
use handshake_sim::internal::report;
use handshake_sim::internal::scenario::{Location, Scenario, ScenarioError};
use handshake_sim::internal::verdict::{self, check_scenario_with, CheckRow};

use super::args::{SeedRange, Sets};
use super::output::{any_stdout, check_outputs, write_output};
use super::progress::Progress;
use super::Status;
use super::{CliError, CliResult, Context as _};

pub(crate) const EXAMPLES: &str =
    "Exit codes: 0 every check holds (warnings allowed), 1 a critical SLO or an expectation failed,
2 bad input.

Examples:
  handshake-sim check                                  # every scenario in sims/
  handshake-sim check sims/issue407.toml --seeds 5 --junit check.xml --markdown summary.md
  handshake-sim check sims/issue407.toml --set client.handshake_timeout_ms=150 --html check.html
  handshake-sim check sims/issue407.toml --set client.handshake_timeout_ms=100";

#[derive(clap::Args)]
#[command(
    mut_arg("seeds", |a| a.help("Seeds per scenario, consecutive from --seed")),
    mut_arg("seed", |a| a.help("First seed (default: each scenario's `scenario.seed`)")),
    mut_arg("sets", |a| a.help(
        "Override a key in every scenario, e.g. client.handshake_timeout_ms=250 (repeatable)"
    )),
)]
pub(crate) struct Args {
    /// Scenario files or directories of them (default: sims/).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    seeds: SeedRange,
    #[command(flatten)]
    sets: Sets,
    /// Shorthand for --set scenario.jobs=N, as for `run`.
    #[arg(long, value_name = "JOBS")]
    jobs: Option<u32>,
    /// Write a JUnit XML report (one test case per scenario × variant × check).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary (for a CI job page).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write a page: the verdict first, failing checks first, and the commands that rerun them.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write every check and its per-seed values as JSON to FILE ('-' for standard output,
    /// which then holds only the JSON).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print no table, summary or progress: only errors, and the files asked for.
    #[arg(short, long)]
    quiet: bool,
}

/// The command that makes this check again (its outputs left out).
fn command(args: &Args) -> String {
    let mut c = String::from("handshake-sim check");
    for p in &args.paths {
        c.push(' ');
        c.push_str(&shell_quote(&p.display().to_string()));
    }
    if let Some(seed) = args.seeds.seed {
        c.push_str(&format!(" --seed {seed}"));
    }
    c.push_str(&format!(" --seeds {}", args.seeds.seeds));
    for s in &args.sets.sets {
        c.push_str(&format!(" --set {}", shell_quote(s)));
    }
    c
}

pub(crate) fn check(args: Args) -> CliResult<Status> {
    let args = Args {
        sets: args.sets.clone().with_jobs(args.jobs),
        ..args
    };
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--junit", args.junit.as_deref()),
        ("--markdown", args.markdown.as_deref()),
        ("--html", args.html.as_deref()),
    ];
    // Load everything first: bad input stops the check before any run.
    let scenarios = load_all(&args)?;
    let inputs: Vec<(&str, &std::path::Path)> = scenarios
        .iter()
        .map(|(f, _)| ("SCENARIO", std::path::Path::new(f)))
        .collect();
    check_outputs(&outputs, &inputs)?;
    if args.paths.is_empty() && !args.quiet {
        // A bare `check` gates on every bundled scenario, the benchmark's among them: say so.
        let names: Vec<&str> = scenarios
            .iter()
            .map(|(_, s)| s.scenario.name.as_str())
            .collect();
        eprintln!(
            "check: every scenario in sims/ ({}); name files or directories to check fewer",
            names.join(", ")
        );
    }
    let sets = &args.sets.sets;
    let runs = scenarios
        .iter()
        .map(|(_, s)| (s.scenario.variants.len() as u64) * args.seeds.seeds)
        .sum();
    let progress = Progress::start(runs, args.quiet);
    let mut rows: Vec<CheckRow> = Vec::new();
    for (file, s) in &scenarios {
        let seeds = args.seeds.seeds(s.scenario.seed);
        let r = check_scenario_with(file, s, &seeds, &|| progress.inc()).map_err(|e| {
            CliError::failed_msg(format!(
                "{e}\nreproduce: {}",
                Repro::run(file, seeds[0]).sets(sets)
            ))
        })?;
        rows.extend(r);
    }
    progress.finish();
    let table = !args.quiet && !any_stdout(&outputs.map(|(_, p)| p));
    if table {
        out!("{}", report::check_table(&rows, sets));
    }
    if let Some(path) = &args.junit {
        write_output(path, report::junit(&rows, sets).as_bytes())?;
    }
    if let Some(path) = &args.markdown {
        write_output(path, report::markdown(&rows, sets).as_bytes())?;
    }
    if let Some(path) = &args.html {
        let page = report::check_html(scenarios.len(), &rows, sets, &command(&args));
        write_output(path, page.as_bytes())?;
    }
    if let Some(path) = &args.json {
        let json = report::check::json(scenarios.len(), &rows, sets);
        write_output(path, json.as_bytes())?;
    }
    if table {
        outln!("{}", summary(scenarios.len(), &rows));
    }
    Ok(if rows.iter().any(|r| r.fails()) {
        Status::Failed
    } else {
        Status::Success
    })
}

/// Every scenario, with the overrides, checked for `check`: (file as given, scenario).
fn load_all(args: &Args) -> CliResult<Vec<(String, Scenario)>> {
    let overrides = args.sets.overrides()?;
    let mut scenarios = Vec::new();
    for f in scenario_files(&args.paths)? {
        let s = Scenario::load(&f, &overrides)?;
        s.check_judged_variants_run()
            .map_err(|(key, message)| ScenarioError::Invalid {
                location: Location {
                    file: f.display().to_string(),
                    line_col: None,
                    key: Some(key),
                },
                message,
            })?;
        scenarios.push((f.display().to_string(), s));
    }
    Ok(scenarios)
}

/// Scenario files named by `paths`: files as given, directories' `*.toml` in name order.
fn scenario_files(paths: &[PathBuf]) -> CliResult<Vec<PathBuf>> {
    let default = [PathBuf::from("sims")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    for p in paths {
        if !p.is_dir() {
            files.push(p.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(p)
            .context(format!("reading {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.extension().is_some_and(|x| x == "toml"))
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(ScenarioError::Invalid {
                location: Location {
                    file: p.display().to_string(),
                    line_col: None,
                    key: None,
                },
                message: "no *.toml scenario files here".into(),
            }
            .into());
        }
        files.extend(found);
    }
    Ok(files)
}

// What `check` prints after its table.

/// The count of scenarios, checks, failures and warnings, after a blank line.
fn summary(scenarios: usize, rows: &[CheckRow]) -> String {
    let (failed, warnings) = verdict::tally(rows);
    format!(
        "\n{} scenario(s), {} check(s): {} failed, {} warning(s)",
        scenarios,
        rows.len(),
        failed,
        warnings
    )
}
