//! Leaf name types every other module shares: the handshake variants ([`VariantId`]), the
//! figures a run reports ([`Figure`]), the fault kinds ([`FaultKind`]), the command that
//! reproduces a run ([`Repro`]) and what every JSON output says about itself ([`stamp`]).
//! Parsed once from text at the edge (scenario files, the command line) and passed around
//! typed. This module imports nothing else of the crate.

pub mod by_name;
mod fault;
mod figure;
mod repro;
pub mod stamp;
mod suggest;
mod variant;

pub use fault::FaultKind;
pub use figure::{Figure, Kind, Stat, Timing};
pub use repro::{shell_quote, Repro, CHECK_DETERMINISM_VAR, SEEDS_VAR, SEED_VAR};
pub use suggest::{closest, unknown};
pub(crate) use variant::builtin_variants;
pub use variant::VariantId;

/// `text` with every control character (terminal escape sequences among them) written as a
/// Rust escape (`\u{1b}`, `\n`), for printing what a file or a peer sent: it can never
/// drive the terminal.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// The known names, for an error message.
fn known<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// `did you mean "NAME"? ` when a known name is close to `input`, else nothing.
fn did_you_mean<'a>(input: &str, names: impl Iterator<Item = &'a str>) -> String {
    closest(input, names)
        .map(|c| format!("did you mean {c:?}? "))
        .unwrap_or_default()
}
