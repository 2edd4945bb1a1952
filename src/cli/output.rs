//! Where output goes: files or standard output (`-`), and the trace log on standard error.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use handshake_sim::scenario::ScenarioError;

/// Whether a `--json FILE`-style argument means standard output.
pub(crate) fn is_stdout(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p.as_os_str() == "-")
}

/// Refuses, before anything runs (exit 2), two outputs that would both go to standard
/// output: `outputs` are (option, its path).
pub(crate) fn one_stdout(outputs: &[(&str, Option<&Path>)]) -> Result<(), ScenarioError> {
    let to_stdout: Vec<&str> = outputs
        .iter()
        .filter(|(_, p)| is_stdout(*p))
        .map(|(name, _)| *name)
        .collect();
    if to_stdout.len() > 1 {
        return Err(ScenarioError::Usage {
            arg: to_stdout
                .iter()
                .map(|n| format!("{n} -"))
                .collect::<Vec<_>>()
                .join(" "),
            message: "only one output can go to standard output; write the others to files".into(),
        });
    }
    Ok(())
}

/// Whether any of `paths` is standard output.
pub(crate) fn any_stdout(paths: &[Option<&Path>]) -> bool {
    paths.iter().any(|p| is_stdout(*p))
}

/// Writes `bytes` to `path`, or to standard output for `-`.
pub(crate) fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        std::io::stdout()
            .write_all(bytes)
            .context("writing to standard output")?;
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Installs a subscriber for `--log LEVEL`, else `RUST_LOG`, else none.
pub(crate) fn init_tracing(level: Option<&str>) -> anyhow::Result<()> {
    init_tracing_or(level, None)
}

/// Installs a subscriber for `level`, else `RUST_LOG`, else `default` (else none at all).
pub(crate) fn init_tracing_or(level: Option<&str>, default: Option<&str>) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    // turmoil's own host and bind messages are noise unless asked for by name.
    let with_turmoil = |f: &str| {
        if f.contains("turmoil") {
            f.to_string()
        } else {
            format!("{f},turmoil=warn")
        }
    };
    let filter = match level {
        Some(l) => EnvFilter::try_new(with_turmoil(l)).map_err(|e| ScenarioError::Usage {
            arg: format!("--log {l}"),
            message: e.to_string(),
        })?,
        None => match (std::env::var("RUST_LOG"), default) {
            (Ok(v), _) if !v.is_empty() => {
                EnvFilter::try_new(with_turmoil(&v)).context("RUST_LOG")?
            }
            (_, Some(d)) => EnvFilter::try_new(d).context("default log filter")?,
            _ => return Ok(()),
        },
    };
    // No timestamps: the events carry simulated time (t_ms); wall time would break replays.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}
