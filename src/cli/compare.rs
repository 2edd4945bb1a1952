//! `compare`: two runs' `--json` outputs, figure by figure, with what changed beyond noise.

use std::path::PathBuf;

use handshake_sim::internal::compare::{self, CompareError};
use handshake_sim::internal::names::shell_quote;
use handshake_sim::internal::report::compare::{compare_json, compare_text};
use handshake_sim::internal::report::compare_html;

use super::output::{check_outputs, is_stdout, write_output};
use super::CliResult;
use super::Status;

pub(crate) const EXAMPLES: &str =
    "A and B are outputs of `run --json`. Every variant that ran on both sides is compared
(or the --pair given), figure by figure: A, B, B − A and the change. Rates (Wilson intervals)
and paired deltas (t intervals) are judged by the 95% interval of B − A: `CHANGED` when it
excludes 0, else `within noise`; counts, means and percentiles carry no interval and show
`no CI`. A different scenario is allowed and said, with the settings that differ.

Exit codes: 0 compared (and, with --fail-on-change, nothing changed beyond noise); 1 with
--fail-on-change when a figure changed beyond noise; 2 bad input (not a run's JSON, larger
than 16 MiB, an unknown --pair variant).

Examples:
  handshake-sim run sims/issue407.toml --json before.json
  handshake-sim run sims/issue407.toml --set client.handshake_timeout_ms=400 --json after.json
  handshake-sim compare before.json after.json
  handshake-sim compare before.json after.json --fail-on-change --json diff.json
  handshake-sim compare before.json after.json --html compare.html
  handshake-sim compare seq.json par.json --pair sequential=parallel";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The first run's JSON (`run --json`): A, the reference.
    a: PathBuf,
    /// The second run's JSON: B, compared with A.
    b: PathBuf,
    /// Compare A's variant with B's of another name (repeatable; then only the pairs given).
    #[arg(long = "pair", value_name = "A_VARIANT=B_VARIANT")]
    pairs: Vec<String>,
    /// Write the comparison as JSON to FILE ('-' for standard output, which then holds only the JSON).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write a self-contained HTML page: the sides, the settings that differ, one table per variant, what changed first.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Exit 1 when any figure changed beyond noise, or when no variant was compared at all.
    #[arg(long)]
    fail_on_change: bool,
    /// Print no table: only errors, and the files asked for.
    #[arg(short, long)]
    quiet: bool,
}

/// The command that makes the same comparison (the page's reproduce line).
fn command(args: &Args) -> String {
    let quote = |p: &std::path::Path| shell_quote(&p.display().to_string());
    let mut c = format!(
        "handshake-sim compare {} {}",
        quote(&args.a),
        quote(&args.b)
    );
    for p in &args.pairs {
        c.push_str(&format!(" --pair {}", shell_quote(p)));
    }
    c
}

pub(crate) fn compare(args: Args) -> CliResult<Status> {
    let pairs = args
        .pairs
        .iter()
        .map(|p| compare::parse_pair(p))
        .collect::<Result<Vec<_>, CompareError>>()?;
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--html", args.html.as_deref()),
    ];
    check_outputs(&outputs, &[("A", &args.a), ("B", &args.b)])?;
    let a = compare::read(&args.a)?;
    let b = compare::read(&args.b)?;
    let (name_a, name_b) = (args.a.display().to_string(), args.b.display().to_string());
    let c = compare::compare((&name_a, &a), (&name_b, &b), &pairs)?;
    if let Some(path) = &args.json {
        write_output(path, compare_json(&c).as_bytes())?;
    }
    if let Some(path) = &args.html {
        write_output(path, compare_html(&c, &command(&args)).as_bytes())?;
    }
    if !args.quiet && !outputs.iter().any(|(_, p)| is_stdout(*p)) {
        out!("{}", compare_text(&c));
    }
    if args.fail_on_change && c.variants.is_empty() {
        // A CI step that compared nothing (a renamed variant, no --pair) must not pass.
        eprintln!(
            "handshake-sim compare: nothing was compared (no variant on both sides; \
             give --pair A_VARIANT=B_VARIANT): --fail-on-change fails"
        );
        return Ok(Status::Failed);
    }
    Ok(if args.fail_on_change && !c.changed().is_empty() {
        Status::Failed
    } else {
        Status::Success
    })
}
