//! `calibrate`: upgrade timing logs (or a CSV) → an empirical storage.read_ms distribution.

use std::fmt::Write as _;
use std::io::{BufRead, Read};
use std::path::PathBuf;

use handshake_sim::internal::calibrate::{self, Calibration, InputError};
use handshake_sim::internal::report;
use handshake_sim::internal::scenario::{Location, ScenarioError};

use super::output::write_output;
use super::CliResult;
use super::Status;

pub(crate) const EXAMPLES: &str = "Reads lines like
  [job-1] 📊 WebSocket upgrade timing: { storageDuration: \"75ms\", pairCreation: \"1ms\", ... }
(other lines are ignored) or a CSV with a storage_ms column. Lines that look like timing lines
but cannot be read are counted and reported, not fatal. With --sequential each total is taken
as the sum of two independent reads and the per-read distribution is deconvolved from them
(halving each total would give a per-read sd 29% too low); standard error then shows the grid,
the EM steps and the per-read mean, sd and p95.

A simulated log (run --log …) names each line's run: `run{variant=sequential seed=1}: …`;
--variant V keeps only the lines of V (the others count as blank lines, so line numbers in
messages stay those of the file).

Examples:
  handshake-sim calibrate sims/logs/worker-sample.log --sequential
  handshake-sim calibrate worker.log --sequential --out sims/calibrated-read.toml
  handshake-sim run sims/issue407.toml --log handshake_sim::timing=info 2> run.log
  handshake-sim calibrate run.log --variant sequential --sequential";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Log file (timing lines) or CSV (storage_ms column); '-' for standard input.
    logfile: PathBuf,
    /// The logs come from the sequential variant: each total is the sum of two independent
    /// reads; recover the law of one read by maximum-likelihood deconvolution (smoothed EM on
    /// a grid) and write its quantiles, one per total.
    #[arg(long)]
    sequential: bool,
    /// Only the lines of this variant, in a log of several (`run{variant=V …}` in each line).
    #[arg(long, value_name = "V")]
    variant: Option<String>,
    /// Write the scenario snippet to FILE (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn calibrate(args: Args) -> CliResult<Status> {
    let source = args.logfile.display().to_string();
    let invalid = |line_col: Option<(usize, usize)>, message: String| ScenarioError::Invalid {
        location: Location {
            file: source.clone(),
            line_col,
            key: None,
        },
        message,
    };
    if let Some(v) = &args.variant {
        super::args::parse_variant(v)?;
    }
    if let Some(path) = &args.out {
        super::output::check_file_writable("--out", path)?;
    }
    super::output::check_no_overwrite(
        &[("--out", args.out.as_deref())],
        &[("LOGFILE", &args.logfile)],
    )?;
    let c = read_input(&args.logfile, args.sequential, args.variant.as_deref())?
        .map_err(|e| invalid(e.line().map(|l| (l, 1)), e.to_string()))?;
    eprint!("{}", notes(&c, &source));
    if c.samples_ms.is_empty() {
        return Err(invalid(None, "no usable timing sample".into()).into());
    }
    let snippet = report::snippet::calibration(&c, &source);
    match &args.out {
        Some(path) => write_output(path, snippet.as_bytes())?,
        None => out!("{snippet}"),
    }
    Ok(Status::Success)
}

/// Calibrates from the file, or standard input for `-`, streamed line by line (only the lines
/// of `variant`, when given). The outer error is a file that cannot be opened; the inner one
/// input that is not a text log.
fn read_input(
    path: &std::path::Path,
    sequential: bool,
    variant: Option<&str>,
) -> CliResult<Result<Calibration, InputError>> {
    let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = handshake_sim::internal::files::open_named_input(path)?;
        Box::new(std::io::BufReader::new(file))
    };
    Ok(match variant {
        Some(v) => calibrate::calibrate(OnlyVariant::new(input, v), sequential),
        None => calibrate::calibrate(input, sequential),
    })
}

/// A log with the lines of other variants blanked (kept as `\n`, so line numbers hold). A
/// line is read at most [`calibrate::LINE_BYTES_MAX`] + 1 bytes at a time; a longer one is
/// passed on as it is, for `calibrate` to refuse.
struct OnlyVariant<R> {
    inner: R,
    /// `variant=V` as the span prints it, followed by a space or `}`.
    needles: [String; 2],
    line: Vec<u8>,
    pos: usize,
}

impl<R: BufRead> OnlyVariant<R> {
    fn new(inner: R, variant: &str) -> Self {
        OnlyVariant {
            inner,
            needles: [
                format!("variant={variant} "),
                format!("variant={variant}}}"),
            ],
            line: Vec::new(),
            pos: 0,
        }
    }

    fn keeps(&self) -> bool {
        let text = String::from_utf8_lossy(&self.line);
        self.line.len() > calibrate::LINE_BYTES_MAX
            || self.needles.iter().any(|n| text.contains(n.as_str()))
    }
}

impl<R: BufRead> Read for OnlyVariant<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for OnlyVariant<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos >= self.line.len() {
            self.line.clear();
            self.pos = 0;
            let cap = calibrate::LINE_BYTES_MAX as u64 + 1;
            (&mut self.inner)
                .take(cap)
                .read_until(b'\n', &mut self.line)?;
            if !self.line.is_empty() && !self.keeps() {
                self.line.clear();
                self.line.push(b'\n');
            }
        }
        Ok(&self.line[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

/// Malformed lines shown before the rest are only counted.
const MALFORMED_SHOWN_MAX: usize = 20;

/// The notes, one per line; `source` names the input.
fn notes(c: &Calibration, source: &str) -> String {
    let mut s = String::new();
    for (line, why) in c.malformed.iter().take(MALFORMED_SHOWN_MAX) {
        let _ = writeln!(s, "{source}:{line}: malformed, skipped: {why}");
    }
    if c.malformed_count > MALFORMED_SHOWN_MAX {
        let _ = writeln!(
            s,
            "... and {} more malformed line(s)",
            c.malformed_count - MALFORMED_SHOWN_MAX
        );
    }
    let _ = writeln!(
        s,
        "calibrate: {} sample(s) from {} {} line(s), {} malformed",
        c.samples_ms.len(),
        c.candidates,
        c.format,
        c.malformed_count,
    );
    if let Some(d) = &c.deconvolution {
        let _ = writeln!(
            s,
            "calibrate: sequential totals deconvolved into one read: {} ms grid, {} bins, {} EM steps{}",
            d.step_ms,
            d.bins,
            d.iterations,
            if d.converged {
                " (converged)"
            } else {
                " (step limit reached)"
            }
        );
    }
    if let Some(r) = c.summary() {
        let _ = writeln!(
            s,
            "calibrate: per read: mean {:.1} ms, sd {:.1} ms, p95 {:.1} ms",
            r.mean_ms, r.sd_ms, r.p95_ms
        );
    }
    s
}
