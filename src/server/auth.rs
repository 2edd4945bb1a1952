//! Token checks for the progress socket upgrade.

/// Compares two byte strings in time that depends only on their lengths, so a wrong token
/// leaks nothing about how much of it was right.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a presented token was refused (all answered 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Missing,
    NoneStored,
    Wrong,
    Expired,
}

/// Checks `presented` against what the object read from storage.
pub(crate) fn check(
    presented: &str,
    stored: Option<&str>,
    expires_at_ms: Option<u64>,
    now_ms: u64,
) -> Result<(), Refusal> {
    if presented.is_empty() {
        return Err(Refusal::Missing);
    }
    let (Some(stored), Some(expires_at_ms)) = (stored, expires_at_ms) else {
        return Err(Refusal::NoneStored);
    };
    if !ct_eq(presented.as_bytes(), stored.as_bytes()) {
        return Err(Refusal::Wrong);
    }
    if now_ms >= expires_at_ms {
        return Err(Refusal::Expired);
    }
    Ok(())
}
