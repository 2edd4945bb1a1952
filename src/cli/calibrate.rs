//! `calibrate`: upgrade timing logs (or a CSV) → an empirical storage.read_ms distribution.

use std::fmt::Write as _;
use std::io::{BufRead, Read};
use std::path::PathBuf;

use handshake_sim::internal::calibrate::events::{Columns, Format, Observed, Options};
use handshake_sim::internal::calibrate::{self, Calibration, InputError};
use handshake_sim::internal::report;
use handshake_sim::internal::scenario::{Location, ScenarioError};

use super::output::write_output;
use super::CliResult;
use super::Status;

pub(crate) const EXAMPLES: &str = "Reads lines like
  [job-1] 📊 WebSocket upgrade timing: { storageDuration: \"75ms\", pairCreation: \"1ms\", ... }
(other lines are ignored), a CSV with a storage_ms column, or Cloudflare's event exports, known
by their content (or --format), gzip or not: `wrangler tail --format json`, Logpush Workers
Trace Events (NDJSON), the events array a Tail Worker receives, Analytics Engine SQL rows (its
JSON, JSONEachRow, TabSeparated with --columns, or a CSV with a header). From an event export it also reports what
production says on standard error (and as JSON with --report): the upgrades on --route, the
canceled rate (the write-up's outcome: \"canceled\") with its Wilson interval, per colo and per
network, and the fit command that fits the client deadline to it. Lines or events that look like
timing lines but cannot be read are counted and reported, not fatal. With --sequential each
total is taken as the sum of two independent reads and the per-read distribution is
deconvolved from them (halving each total would give a per-read sd 29% too low); standard error
then shows the grid, the EM steps and the per-read mean, sd and p95.

A simulated log (run --log …) names each line's run: `run{variant=sequential seed=1}: …`;
--variant V keeps only the lines of V (the others count as blank lines, so line numbers in
messages stay those of the file).

Examples:
  handshake-sim calibrate sims/logs/worker-sample.log --sequential
  handshake-sim calibrate worker.log --sequential --out sims/calibrated-read.toml
  npx wrangler tail my-worker --format json > tail.json   # then:
  handshake-sim calibrate tail.json --sequential --report observed.json --scenario sims/issue407.toml
  handshake-sim fit sims/issue407.toml --param client.handshake_timeout_ms --target-from observed.json
  handshake-sim calibrate rows.tsv --format analytics-tsv --columns outcome,storageDuration,colo
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
    /// Only the lines of this variant, in a log of several (`run{variant=VARIANT …}` in each line).
    #[arg(long, value_name = "VARIANT")]
    variant: Option<String>,
    /// Write the scenario snippet to FILE (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The input's format: auto (known from its content), text, wrangler-tail, logpush,
    /// tail-worker, analytics-json, analytics-rows, analytics-tsv, analytics-csv.
    #[arg(long, value_name = "FORMAT", default_value = "auto")]
    format: String,
    /// The progress upgrade's path, whose requests are the upgrades of an event export.
    #[arg(long, value_name = "PATH", default_value = "/ws/progress")]
    route: String,
    /// A request header that names the client's network (e.g. one the app sets to wifi or
    /// cellular): the canceled rate per network. Cloudflare documents none.
    #[arg(long, value_name = "NAME")]
    network_header: Option<String>,
    /// An Analytics Engine column by role: storage_ms, total_ms, outcome, colo, cold or
    /// network, e.g. storage_ms=double1 (default names: storageDuration, totalUpgradeDuration,
    /// outcome, colo, cold, network).
    #[arg(long = "column", value_name = "ROLE=NAME")]
    column: Vec<String>,
    /// The columns of a TabSeparated file (it has no header), in order: NAME,NAME,…
    #[arg(long, value_name = "NAMES")]
    columns: Option<String>,
    /// Write what production says (an event export's figures) as JSON to FILE; `fit
    /// --target-from FILE` reads it.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// The scenario the printed fit command names (default: SCENARIO, to fill in).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
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
    super::output::check_outputs(
        &[
            ("--out", args.out.as_deref()),
            ("--report", args.report.as_deref()),
        ],
        &[("LOGFILE", &args.logfile)],
    )?;
    let (forced, options) = reading(&args).map_err(|m| invalid(None, m))?;
    let (c, observed) = read_input(
        &args.logfile,
        args.sequential,
        args.variant.as_deref(),
        forced,
        &options,
    )?
    .map_err(|e| invalid(e.line().map(|l| (l, 1)), e.to_string()))?;
    eprint!("{}", notes(&c, &source));
    let scenario = args
        .scenario
        .as_ref()
        .map_or("SCENARIO".to_string(), |p| p.display().to_string());
    let variant = if args.sequential {
        "sequential"
    } else {
        "parallel"
    };
    let fit = observed
        .as_ref()
        .and_then(|o| report::observed::fit_command(o, &scenario, variant));
    let fit_from = args
        .report
        .as_ref()
        .map(|r| report::observed::fit_from_command(&scenario, variant, &r.display().to_string()));
    if let Some(o) = &observed {
        let text = report::observed::text(o, &options.route, fit.as_deref(), fit_from.as_deref());
        eprint!("{text}");
    }
    if let Some(path) = &args.report {
        let Some(o) = &observed else {
            return Err(invalid(
                None,
                "--report needs an event export (wrangler tail, Logpush, Tail Worker, Analytics Engine); a text log has no outcomes".into(),
            )
            .into());
        };
        let text = report::observed::json(o, &c, &source, &options.route, fit.as_deref())
            .map_err(|e| invalid(None, e.to_string()))?;
        write_output(path, text.as_bytes())?;
    }
    if c.samples_ms.is_empty() {
        if observed.is_some() && args.out.is_none() {
            // The figures were the point: no timing line is no snippet, said, not an error.
            eprintln!("calibrate: no usable timing sample: no storage.read_ms snippet");
            return Ok(Status::Success);
        }
        return Err(invalid(None, "no usable timing sample".into()).into());
    }
    let snippet = report::snippet::calibration(&c, &source);
    match &args.out {
        Some(path) => write_output(path, snippet.as_bytes())?,
        None => out!("{snippet}"),
    }
    Ok(Status::Success)
}

/// The format asked for (`None`: from the content) and how to read an event export.
fn reading(args: &Args) -> Result<(Option<Format>, Options), String> {
    let forced = match args.format.as_str() {
        "auto" => None,
        name => Some(Format::parse(name)?),
    };
    let mut columns = Columns::default();
    for c in &args.column {
        columns.map(c)?;
    }
    if let Some(names) = &args.columns {
        columns.order = names.split(',').map(|n| n.trim().to_string()).collect();
        if columns.order.iter().any(String::is_empty) {
            return Err(format!("--columns {names:?}: a column name is empty"));
        }
    }
    let forced = match forced {
        None if !columns.order.is_empty() => Some(Format::AnalyticsTsv),
        f => f,
    };
    if forced == Some(Format::AnalyticsTsv) && columns.order.is_empty() {
        return Err("--format analytics-tsv: TabSeparated has no header; name its columns with --columns A,B,…".into());
    }
    if !args.route.starts_with('/') {
        return Err(format!("--route {:?}: a path starts with '/'", args.route));
    }
    if args.variant.is_some() && forced.is_some_and(|f| f != Format::Text) {
        return Err(
            "--variant picks the lines of a simulated text log; this is an event export".into(),
        );
    }
    Ok((
        forced,
        Options {
            route: args.route.clone(),
            network_header: args.network_header.clone(),
            columns,
        },
    ))
}

/// Calibrates from the file, or standard input for `-`, streamed a line or an event at a time
/// (only the lines of `variant`, when given: a simulated text log). The outer error is a file
/// that cannot be opened; the inner one input that is not what its format says.
#[allow(clippy::type_complexity)]
fn read_input(
    path: &std::path::Path,
    sequential: bool,
    variant: Option<&str>,
    forced: Option<Format>,
    options: &Options,
) -> CliResult<Result<(Calibration, Option<Observed>), InputError>> {
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(handshake_sim::internal::files::open_named_input(path)?)
    };
    Ok(match variant {
        Some(v) => calibrate::calibrate(
            OnlyVariant::new(std::io::BufReader::new(input), v),
            sequential,
        )
        .map(|c| (c, None)),
        None => calibrate::calibrate_export(input, forced, sequential, options),
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
    let from = match c.format {
        "log" | "csv" => format!("{} {} line(s)", c.candidates, c.format),
        events => format!("{} timing line(s) in {events} events", c.candidates),
    };
    let _ = writeln!(
        s,
        "calibrate: {} sample(s) from {from}, {} malformed",
        c.samples_ms.len(),
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
