//! `merge`: the outputs of sweep shards joined into what one unsharded sweep writes.

use std::path::{Path, PathBuf};

use handshake_sim::internal::files;
use handshake_sim::internal::sweep::{self, SweepError, SweepResult};

use super::output::{check_dir_writable, check_disjoint, check_file_writable};
use super::CliResult;
use super::Status;

pub(crate) const EXAMPLES: &str = "Examples:
  handshake-sim merge out/s1 out/s2 out/s3 out/s4 --out out/all";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Shard output directories (each with a sweep.json).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "sweep-out")]
    out: PathBuf,
    /// Also write a self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the plots as PNG.
    #[arg(long)]
    png: bool,
    /// Print no summary: only errors, and the files asked for.
    #[arg(short, long)]
    quiet: bool,
}

/// Most bytes of sweep.json read over all shards (1.5 GiB): more than the largest sweep
/// writes (100,000 points × 4 variants make 829 MB), so that merge holds at most about
/// 2 GiB ([`MEMORY_PER_JSON_BYTE`]).
pub(crate) const INPUT_BYTES_MAX: u64 = 3 * 512 * 1024 * 1024;
/// Address space merge needs per byte of the shards' sweep.json, with a margin: 704 MB of
/// sweep.json (100,000 points × 4 variants) merged under `ulimit -v` 750,000 KB and failed
/// at 700,000 KB, so about 1.03; 1.25 plus [`MEMORY_BASE_BYTES`] is asked for.
const MEMORY_PER_JSON_BYTE: f64 = 1.25;
const MEMORY_BASE_BYTES: u64 = 64 * 1024 * 1024;

pub(crate) fn merge(args: Args) -> CliResult<Status> {
    check_files(&args)?;
    let (shards, total) = open_parts(&args.dirs)?;
    let memory = memory_budget_bytes(total);
    let mut parts = Vec::with_capacity(shards.len());
    let mut budget = INPUT_BYTES_MAX;
    for (path, file) in shards {
        parts.push(read_part(&path, file, &mut budget, memory)?);
    }
    let shards: Vec<(u32, u32)> = parts.iter().filter_map(|p| p.result.shard).collect();
    let merged = sweep::merge(parts)?;
    check_plot_files(&args, &merged)?;
    merge_seed_rows(&args.dirs, &shards, &merged, &args.out)?;
    super::sweep::finish(
        &merged,
        &args.out,
        args.html.as_deref(),
        args.png,
        args.quiet,
    )
}

/// Every shard's sweep.json, opened (regular files only: a FIFO would hang the read), and
/// refused before any is parsed when together they are past [`INPUT_BYTES_MAX`] or past
/// what the process may allocate (`ulimit -v`, `ulimit -d`): exit 2, not an abort.
fn open_parts(dirs: &[PathBuf]) -> Result<(Vec<(PathBuf, std::fs::File)>, u64), SweepError> {
    let mut opened = Vec::with_capacity(dirs.len());
    let mut total = 0u64;
    for d in dirs {
        let path = d.join("sweep.json");
        let file = files::open_input(&path).map_err(|e| SweepError::Usage(e.to_string()))?;
        let len = file
            .metadata()
            .map_err(|e| SweepError::Usage(format!("{}: cannot read: {e}", path.display())))?
            .len();
        total = total.saturating_add(len);
        if total > INPUT_BYTES_MAX {
            return Err(SweepError::Usage(format!(
                "{}: the shards' sweep.json files exceed {INPUT_BYTES_MAX} bytes in all",
                path.display()
            )));
        }
        opened.push((path, file));
    }
    let need = (total as f64 * MEMORY_PER_JSON_BYTE) as u64 + MEMORY_BASE_BYTES;
    if let Some(limit) = files::memory_limit_bytes().filter(|&l| need > l) {
        return Err(SweepError::Usage(format!(
            "the shards' sweep.json files ({total} bytes) need about {} MB of memory to \
             merge; the process may have {} MB (ulimit -v / -d): raise the limit",
            need / 1_000_000,
            limit / 1_000_000
        )));
    }
    Ok((opened, total))
}

/// The most resident memory the shards may take while they are read: twice what real shards
/// need ([`MEMORY_PER_JSON_BYTE`]), so that a shard whose shape costs more than its bytes (a
/// million empty strings) is refused with exit 2, and never past 90% of the process's limit.
fn memory_budget_bytes(total_json_bytes: u64) -> u64 {
    let need = 2.0 * (total_json_bytes as f64 * MEMORY_PER_JSON_BYTE) + MEMORY_BASE_BYTES as f64;
    let limit = files::memory_limit_bytes().map_or(u64::MAX, |l| l / 10 * 9);
    (need as u64).min(limit)
}

/// Refuses, before anything is read or written, an output that cannot be written whole or
/// that would land on a shard: `--out` may not be, hold, or be inside a shard directory, nor
/// `--html` inside one; the same shard may not be given twice. The plots are known once the
/// shards are read ([`check_plot_files`]).
fn check_files(args: &Args) -> CliResult<()> {
    use handshake_sim::internal::report::{self, seed_rows};
    let data = [report::POINTS_FILE, report::SWEEP_FILE, seed_rows::FILE].map(String::from);
    let mut io = files::Disjoint::default();
    for d in &args.dirs {
        io.input_dir("DIRS", d);
    }
    io.output_dir("--out", &args.out, &data);
    if let Some(path) = &args.html {
        io.output("--html", path);
    }
    check_disjoint(&io)?;
    check_dir_writable("--out", &args.out, &data)?;
    report::plot::check_plot_dir(&args.out)?;
    if let Some(path) = &args.html {
        check_file_writable("--html", path)?;
    }
    Ok(())
}

/// Refuses, before anything is written, plot files of the merged sweep that cannot be
/// written or would land on `--html`.
fn check_plot_files(args: &Args, merged: &SweepResult) -> CliResult<()> {
    use handshake_sim::internal::report;
    let names = report::sweep_dir_files(&merged.definition, false, args.png);
    let mut io = files::Disjoint::default();
    io.output_dir("--out", &args.out, &names);
    if let Some(path) = &args.html {
        io.output("--html", path);
    }
    check_disjoint(&io)?;
    check_dir_writable("--out", &args.out, &names)?;
    Ok(())
}

/// Joins the shards' `points-by-seed.csv` into the output directory, as a stream, checking
/// every shard's rows against the rows its plan ran (`sweep::seed_rows_of`). Every shard must
/// have one: a shard without it is incomplete.
fn merge_seed_rows(
    dirs: &[PathBuf],
    shards: &[(u32, u32)],
    merged: &SweepResult,
    out: &Path,
) -> CliResult<()> {
    use handshake_sim::internal::report::seed_rows::{self, ShardRows, FILE};
    let mut inputs = Vec::with_capacity(dirs.len());
    for (d, &shard) in dirs.iter().zip(shards) {
        let path = d.join(FILE);
        let reader = files::open_input(&path).map_err(|e| match e {
            files::FileError::Read { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                SweepError::Usage(format!(
                    "{}: missing; every shard of a sweep writes one (is {} complete?)",
                    path.display(),
                    d.display()
                ))
            }
            other => SweepError::Usage(other.to_string()),
        })?;
        inputs.push(ShardRows {
            name: path.display().to_string(),
            reader,
            expected: Box::new(sweep::seed_rows_of(merged, shard)),
        });
    }
    let path = out.join(FILE);
    let mut staged = files::Staged::create(&path)?;
    let header = seed_rows::header(&merged.definition);
    seed_rows::merge(inputs, &header, &mut staged)
        .map_err(|e| SweepError::Usage(format!("merging {FILE}: {e}")))?;
    staged.commit()?;
    Ok(())
}

/// One shard's sweep.json, parsed as a stream within what is left of [`INPUT_BYTES_MAX`]
/// (a file that grew since it was opened is cut there) and within `memory_bytes` of resident
/// memory ([`files::MemoryCap`]).
fn read_part(
    path: &Path,
    file: std::fs::File,
    budget: &mut u64,
    memory_bytes: u64,
) -> Result<sweep::Part, SweepError> {
    use std::io::Read;
    let name = path.display().to_string();
    let capped = files::MemoryCap::new(file.take(*budget + 1), memory_bytes);
    let mut reader = std::io::BufReader::new(capped);
    let result: SweepResult = serde_json::from_reader(&mut reader).map_err(|e| {
        let hint = if e.to_string().starts_with("missing field") {
            " (a shard written by an earlier handshake-sim? run it again with this one)"
        } else {
            ""
        };
        SweepError::Usage(format!("{name}: not a sweep.json: {e}{hint}"))
    })?;
    let layout = serde_json::Value::from(result.schema_version);
    handshake_sim::internal::compare::check_schema_version(
        Some(&layout).filter(|_| result.schema_version > 0),
    )
    .map_err(|why| SweepError::Usage(format!("{name}: {why}")))?;
    let left = reader.into_inner().into_inner().limit();
    if left == 0 {
        return Err(SweepError::Usage(format!(
            "{name}: the shards' sweep.json files exceed {INPUT_BYTES_MAX} bytes in all"
        )));
    }
    *budget = left - 1;
    Ok(sweep::Part { name, result })
}
