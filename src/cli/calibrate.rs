//! `calibrate`: upgrade timing logs (or a CSV) → an empirical storage.read_ms distribution.

use std::path::PathBuf;

use handshake_sim::calibrate::{self, Calibration, InputError};
use handshake_sim::report;
use handshake_sim::scenario::{Location, ScenarioError};

use super::output::write_output;
use super::Status;

pub(crate) const EXAMPLES: &str = "Reads lines like
  [job-1] 📊 WebSocket upgrade timing: { storageDuration: \"75ms\", pairCreation: \"1ms\", ... }
(other lines are ignored) or a CSV with a storage_ms column. Lines that look like timing lines
but cannot be read are counted and reported, not fatal. With --sequential each total is taken
as the sum of two independent reads and the per-read distribution is deconvolved from them
(halving each total would give a per-read sd 29% too low); standard error then shows the grid,
the EM steps and the per-read mean, sd and p95.

Examples:
  handshake-sim calibrate worker.log --sequential --out sims/calibrated-read.toml";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Log file (timing lines) or CSV (storage_ms column); '-' for standard input.
    logfile: PathBuf,
    /// The logs come from the sequential variant: each total is the sum of two independent
    /// reads; recover the law of one read by maximum-likelihood deconvolution (smoothed EM on
    /// a grid) and write its quantiles, one per total.
    #[arg(long)]
    sequential: bool,
    /// Write the scenario snippet to FILE (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn calibrate(args: Args) -> anyhow::Result<Status> {
    let source = args.logfile.display().to_string();
    let invalid = |line_col: Option<(usize, usize)>, message: String| ScenarioError::Invalid {
        location: Location {
            file: source.clone(),
            line_col,
            key: None,
        },
        message,
    };
    let c = read_input(&args.logfile, args.sequential)?
        .map_err(|e| invalid(e.line().map(|l| (l, 1)), e.to_string()))?;
    eprint!("{}", report::calibrate::notes(&c, &source));
    if c.samples_ms.is_empty() {
        return Err(invalid(None, "no usable timing sample".into()).into());
    }
    let snippet = c.snippet(&source);
    match &args.out {
        Some(path) => write_output(path, snippet.as_bytes())?,
        None => out!("{snippet}"),
    }
    Ok(Status::Success)
}

/// Calibrates from the file, or standard input for `-`, streamed line by line. The outer
/// error is a file that cannot be opened; the inner one input that is not a text log.
fn read_input(
    path: &std::path::Path,
    sequential: bool,
) -> anyhow::Result<Result<Calibration, InputError>> {
    if path.as_os_str() == "-" {
        return Ok(calibrate::calibrate(std::io::stdin().lock(), sequential));
    }
    let file = std::fs::File::open(path).map_err(|source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(calibrate::calibrate(
        std::io::BufReader::new(file),
        sequential,
    ))
}
