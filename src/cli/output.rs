//! Where output goes: files or standard output (`-`), and the trace log on standard error.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use handshake_sim::internal::files;

use super::{CliError, CliResult};

/// Whether a `--json FILE`-style argument means standard output.
pub(crate) fn is_stdout(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p.as_os_str() == "-")
}

/// Refuses, before anything runs (exit 2), two outputs that would both go to standard
/// output: `outputs` are (option, its path).
pub(crate) fn one_stdout(outputs: &[(&str, Option<&Path>)]) -> CliResult<()> {
    let to_stdout: Vec<&str> = outputs
        .iter()
        .filter(|(_, p)| is_stdout(*p))
        .map(|(name, _)| *name)
        .collect();
    if to_stdout.len() > 1 {
        let args: Vec<String> = to_stdout.iter().map(|n| format!("{n} -")).collect();
        return Err(CliError::usage(
            args.join(" "),
            "only one output can go to standard output; write the others to files",
        ));
    }
    Ok(())
}

/// Refuses, before anything runs or connects (exit 2), two outputs to standard output
/// ([`one_stdout`]), an output on one of the command's `inputs` or on another output
/// ([`check_no_overwrite`]), and a file output that cannot be written
/// ([`check_file_writable`]), in that order: a FIFO is opened for writing only once it is
/// known to be no input.
pub(crate) fn check_outputs(
    outputs: &[(&str, Option<&Path>)],
    inputs: &[(&str, &Path)],
) -> CliResult<()> {
    one_stdout(outputs)?;
    check_no_overwrite(outputs, inputs)?;
    for (arg, path) in outputs {
        if let Some(path) = path {
            check_file_writable(arg, path)?;
        }
    }
    Ok(())
}

/// Refuses (exit 2), before anything is written, an output file that is one of the command's
/// input files or another output: `outputs` and `inputs` are (option, its path).
fn check_no_overwrite(
    outputs: &[(&str, Option<&Path>)],
    inputs: &[(&str, &Path)],
) -> CliResult<()> {
    let mut io = files::Disjoint::default();
    for (arg, path) in inputs {
        io.input(arg, path);
    }
    for (arg, path) in outputs {
        if let Some(path) = path {
            io.output(arg, path);
        }
    }
    check_disjoint(&io)
}

/// Whether any of `paths` is standard output.
pub(crate) fn any_stdout(paths: &[Option<&Path>]) -> bool {
    paths.iter().any(|p| is_stdout(*p))
}

/// Set once standard output was found closed (`| head -1`): from then on output is dropped and
/// the command ends with the exit code it would have had, as ripgrep does (no message, no
/// panic: Rust ignores SIGPIPE, so a write returns `BrokenPipe` instead of killing us).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `bytes` to standard output: a closed pipe silences this and all later output; any
/// other error (a full disk behind `> file`) ends the program with exit code 1.
pub(crate) fn stdout_bytes(bytes: &[u8]) {
    stdout_with(|out| out.write_all(bytes));
}

/// [`stdout_bytes`] for formatted text (what `out!` and `outln!` expand to).
pub(crate) fn stdout_fmt(args: std::fmt::Arguments) {
    stdout_with(|out| out.write_fmt(args));
}

fn stdout_with(write: impl FnOnce(&mut std::io::StdoutLock) -> std::io::Result<()>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            eprintln!("handshake-sim: error: writing to standard output: {e}");
            std::process::exit(1);
        }
    }
}

/// Writes `bytes` to `path` whole (a temporary file renamed into place, never through a
/// symbolic link; a device or FIFO the user named in place: [`files::write_named`]), or to
/// standard output for `-`.
pub(crate) fn write_output(path: &Path, bytes: &[u8]) -> CliResult<()> {
    if path.as_os_str() == "-" {
        stdout_bytes(bytes);
        return Ok(());
    }
    Ok(files::write_named(path, bytes)?)
}

/// `--records`: one row per job of `runs`, as `seen` saw them, written whole to `path`.
pub(crate) fn write_records(
    path: &Path,
    runs: &[handshake_sim::internal::sim::RunOutput],
    network_types: &[String],
    seen: handshake_sim::internal::report::Seen,
) -> CliResult<()> {
    let mut buf = Vec::new();
    handshake_sim::internal::report::write_records(&mut buf, runs, network_types, seen)
        .map_err(|e| CliError::failed_msg(format!("formatting records: {e}")))?;
    write_output(path, &buf)
}

/// Refuses, before any run, an output file that cannot be written (`-` is standard output):
/// its directory takes no new file, or it is a symbolic link or a directory
/// ([`files::check_named_output`]). The one rule for every output flag: missing parent
/// directories are created (as a directory output is, [`check_dir_writable`]); nothing else is
/// created, and nothing but a FIFO is opened for writing (held open until it is written).
pub(crate) fn check_file_writable(arg: &str, path: &Path) -> CliResult<()> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    files::create_parent(path).map_err(|e| before_run(arg, e))?;
    files::check_named_output(path).map_err(|e| before_run(arg, e))
}

/// Creates the output directory `dir` (as the command would after its runs) and refuses it,
/// before any run, when it is not a directory or takes no new file; then checks each of the
/// files the command writes there by name, as [`check_file_writable`] does.
pub(crate) fn check_dir_writable(arg: &str, dir: &Path, names: &[String]) -> CliResult<()> {
    files::prepare_dir(dir).map_err(|e| before_run(arg, e))?;
    for name in names {
        files::check_output(&dir.join(name)).map_err(|e| before_run(arg, e))?;
    }
    Ok(())
}

/// Refuses, before anything is opened for writing, an output that would land on one of the
/// command's inputs ([`files::Disjoint`]).
pub(crate) fn check_disjoint(files: &files::Disjoint) -> CliResult<()> {
    files.check().map_err(|e| before_run("", e))
}

/// A refused output as a usage error (exit 2): `{arg} {path}: {reason}; nothing was run`.
fn before_run(arg: &str, e: files::FileError) -> CliError {
    let (path, reason) = match e {
        files::FileError::Refused { path, reason } => (path, reason),
        other => (String::new(), other.to_string()),
    };
    CliError::usage(
        format!("{arg} {path}").trim(),
        format!("{reason}; nothing was run"),
    )
}

/// Installs a subscriber for `--log LEVEL`, else `RUST_LOG`, else none.
pub(crate) fn init_tracing(level: Option<&str>) -> CliResult<()> {
    init_tracing_or(level, None)
}

/// Installs a subscriber for `level`, else `RUST_LOG`, else `default` (else none at all).
pub(crate) fn init_tracing_or(level: Option<&str>, default: Option<&str>) -> CliResult<()> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(l) => filter(l, &format!("--log {l}"))?,
        None => match (std::env::var("RUST_LOG"), default) {
            (Ok(v), _) if !v.is_empty() => filter(&v, &format!("RUST_LOG={v}"))?,
            (_, Some(d)) => EnvFilter::try_new(d)
                .map_err(|e| CliError::failed(anyhow::anyhow!("default log filter: {e}")))?,
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

/// The levels `--log` takes, least to most verbose.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
/// Crates whose name alone is a directive (every level of that crate); any other bare word
/// that is not a level is refused as a typo, as EnvFilter would take it for a target that
/// never logs and print nothing.
const CRATES: [&str; 7] = [
    "handshake_sim",
    "turmoil",
    "hyper",
    "hyper_util",
    "tokio",
    "tokio_tungstenite",
    "tungstenite",
];

/// The filter for a `--log` (or `RUST_LOG`) value `spec`, which `arg` names in errors: a
/// level, or EnvFilter directives (`handshake_sim::timing=info,warn`). The span that says
/// which variant and seed each line is of is always on; turmoil's own host and bind messages
/// are noise unless asked for by name.
fn filter(spec: &str, arg: &str) -> CliResult<tracing_subscriber::EnvFilter> {
    let usage = |message: String| CliError::usage(arg, message);
    for d in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = d.rsplit_once('=').map_or(d, |(_, level)| level).trim();
        let target_only =
            !d.contains('=') && (d.contains("::") || d.contains('[') || CRATES.contains(&d));
        if !target_only
            && level
                .parse::<tracing_subscriber::filter::LevelFilter>()
                .is_err()
        {
            let names = LEVELS.iter().chain(CRATES.iter()).copied();
            let hint = handshake_sim::internal::names::closest(level, names)
                .map(|c| format!("did you mean {c:?}? "))
                .unwrap_or_default();
            return Err(usage(format!(
                "{level:?} is not a log level; {hint}valid: {} (or TARGET=LEVEL directives, \
                 e.g. handshake_sim::timing=info)",
                LEVELS.join(", ")
            )));
        }
    }
    let mut full = spec.to_string();
    if !spec.contains("turmoil") {
        full.push_str(",turmoil=warn");
    }
    full.push_str(&format!(
        ",{}=error",
        handshake_sim::internal::sim::RUN_SPAN_TARGET
    ));
    tracing_subscriber::EnvFilter::try_new(&full).map_err(|e| usage(e.to_string()))
}
