//! `merge`: the outputs of sweep shards joined into what one unsharded sweep writes.

use std::path::PathBuf;

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

pub(crate) fn merge(args: Args) -> anyhow::Result<Status> {
    let mut parts = Vec::new();
    for d in &args.dirs {
        let path = d.join("sweep.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SweepError::Usage(format!("{}: cannot read: {e}", path.display())))?;
        let part: SweepResult = serde_json::from_str(&text)
            .map_err(|e| SweepError::Usage(format!("{}: not a sweep.json: {e}", path.display())))?;
        parts.push(part);
    }
    let merged = sweep::merge(parts)?;
    super::sweep::finish(&merged, &args.out, args.html.as_deref(), args.png)
}
