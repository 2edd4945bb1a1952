//! The command line's one error type: what went wrong, and whether it is the user's input,
//! decided where the error is made. A library error converts only if it says which it is
//! (`BadInput`); anything else must be wrapped as `failed` or `usage` on purpose, so no
//! error reaches the exit code undecided.

use std::fmt::Display;

use handshake_sim::internal::failure::BadInput;

/// An error on its way to the exit code: 2 when it is the user's input, 1 otherwise.
pub(crate) struct CliError {
    pub(super) error: anyhow::Error,
    pub(super) bad_input: bool,
}

pub(crate) type CliResult<T> = Result<T, CliError>;

impl<E: BadInput> From<E> for CliError {
    fn from(e: E) -> CliError {
        CliError {
            bad_input: e.is_bad_input(),
            error: e.into(),
        }
    }
}

impl CliError {
    /// A failure of the work itself (exit 1).
    pub(crate) fn failed(error: impl Into<anyhow::Error>) -> CliError {
        CliError {
            error: error.into(),
            bad_input: false,
        }
    }

    /// A failure of the work, said in a message (exit 1).
    pub(crate) fn failed_msg(message: impl Display) -> CliError {
        CliError::failed(anyhow::anyhow!("{message}"))
    }

    /// The user's argument `arg` cannot be used (exit 2): `{arg}: {message}`.
    pub(crate) fn usage(arg: impl Display, message: impl Display) -> CliError {
        CliError {
            error: anyhow::anyhow!("{arg}: {message}"),
            bad_input: true,
        }
    }

    /// This error, said in `context` first; still the user's input if it was.
    pub(crate) fn context(self, context: impl Display + Send + Sync + 'static) -> CliError {
        CliError {
            error: self.error.context(context),
            bad_input: self.bad_input,
        }
    }
}

/// `.context(...)` for any result whose error converts, keeping whether it is bad input.
pub(crate) trait Context<T> {
    fn context(self, context: impl Display + Send + Sync + 'static) -> CliResult<T>;
}

impl<T, E: Into<CliError>> Context<T> for Result<T, E> {
    fn context(self, context: impl Display + Send + Sync + 'static) -> CliResult<T> {
        self.map_err(|e| e.into().context(context))
    }
}
