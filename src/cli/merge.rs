//! `merge`: the outputs of sweep shards joined into what one unsharded sweep writes.

use std::path::{Path, PathBuf};

use handshake_sim::sweep::{self, SweepError, SweepResult};

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
}

/// Most bytes of sweep.json read over all shards (2 GiB): more than the largest sweep writes
/// (100,000 points of ~2.5 KB per variant), read as a stream so the text is never held whole.
pub(crate) const INPUT_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;

pub(crate) fn merge(args: Args) -> anyhow::Result<Status> {
    let mut parts = Vec::new();
    let mut budget = INPUT_BYTES_MAX;
    for d in &args.dirs {
        parts.push(read_part(&d.join("sweep.json"), &mut budget)?);
    }
    let merged = sweep::merge(parts)?;
    merge_seed_rows(&args.dirs, &merged, &args.out)?;
    super::sweep::finish(&merged, &args.out, args.html.as_deref(), args.png, false)
}

/// Joins the shards' `points-by-seed.csv` into the output directory, as a stream; a shard
/// without one (from an older version) leaves the merged output without one, and says so.
fn merge_seed_rows(dirs: &[PathBuf], merged: &SweepResult, out: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use handshake_sim::report::seed_rows::{self, FILE};
    let mut shards = Vec::with_capacity(dirs.len());
    for d in dirs {
        let path = d.join(FILE);
        match std::fs::File::open(&path) {
            Ok(f) => shards.push((path.display().to_string(), f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "merge: {} has no {FILE}; the merged output has none",
                    d.display()
                );
                return Ok(());
            }
            Err(e) => {
                return Err(
                    SweepError::Usage(format!("{}: cannot read: {e}", path.display())).into(),
                )
            }
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(FILE);
    let file =
        std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    let header = seed_rows::header(&merged.definition);
    seed_rows::merge(shards, &header, std::io::BufWriter::new(file))
        .map_err(|e| SweepError::Usage(format!("merging {FILE}: {e}")))?;
    Ok(())
}

/// One shard's sweep.json, within what is left of [`INPUT_BYTES_MAX`].
fn read_part(path: &Path, budget: &mut u64) -> Result<SweepResult, SweepError> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| SweepError::Usage(format!("{}: cannot read: {e}", path.display()));
    let over = || {
        SweepError::Usage(format!(
            "{}: the shards' sweep.json files exceed {INPUT_BYTES_MAX} bytes in all",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    if len > *budget {
        return Err(over());
    }
    let mut reader = std::io::BufReader::new(file.take(*budget + 1));
    let part: SweepResult = serde_json::from_reader(&mut reader)
        .map_err(|e| SweepError::Usage(format!("{}: not a sweep.json: {e}", path.display())))?;
    let left = reader.into_inner().limit();
    if left == 0 {
        return Err(over());
    }
    *budget = left - 1;
    Ok(part)
}
