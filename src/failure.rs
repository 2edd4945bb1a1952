//! Whether an error is the user's input or a failure of the work: the one question the
//! command line's exit code asks (2 for bad input, 1 for a failed run), answered by each
//! error type about its own variants, so that adding a variant means deciding it there. The
//! binary accepts only errors that answer it (`cli::CliError`), so a new error type cannot
//! reach an exit code without a decision.

/// An error that says whether it is the user's input: a file, an argument, a scenario, a
/// shard, an endpoint's answer the user pointed the tool at (exit 2); or a failure of the
/// work itself: a run that failed, a write that failed, a crashed child process (exit 1).
pub trait BadInput: std::error::Error + Send + Sync + 'static {
    fn is_bad_input(&self) -> bool;
}

/// An I/O error the tool met while working (a full disk, a closed connection): not the
/// user's input (those are reported as the reader's own errors).
impl BadInput for std::io::Error {
    fn is_bad_input(&self) -> bool {
        false
    }
}

/// Formatting an output as JSON failed: never the user's input.
impl BadInput for serde_json::Error {
    fn is_bad_input(&self) -> bool {
        false
    }
}

/// Formatting an output as CSV failed: never the user's input.
impl BadInput for csv::Error {
    fn is_bad_input(&self) -> bool {
        false
    }
}
