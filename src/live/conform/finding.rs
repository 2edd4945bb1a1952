//! What a case's code finds, shared by every case and its helpers: a failure or an error, and
//! the one-line wording of each.

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finding {
    Fail(String),
    Error(String),
}

/// What a case's code returns.
pub(super) type Checked = Result<(), Finding>;

/// A failed check: `what` expected `want`, got `got`.
pub(super) fn mismatch(
    what: &str,
    want: impl std::fmt::Display,
    got: impl std::fmt::Display,
) -> Finding {
    Finding::Fail(format!("{what}: expected {want}, got {got}"))
}

/// A set-up step's finding: whatever went wrong, the case cannot judge its own subject.
pub(super) fn setup(f: Finding) -> Finding {
    match f {
        Finding::Fail(why) => Finding::Error(format!("set-up: {why}")),
        e @ Finding::Error(_) => e,
    }
}

/// `text` on one line, at most 80 characters (and an ellipsis), for a one-line detail.
pub(super) fn short(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}
