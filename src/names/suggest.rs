//! "did you mean": the known name closest to a misspelt one.

/// The candidate most like `input`, when one is close enough to be a likely typo: Jaro
/// similarity above 0.7, the threshold clap's own suggestions use. Ties go to the first
/// candidate, so the answer does not depend on anything but the order given.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro(input, c);
        if score > 0.7 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn a_typo_finds_its_name_and_an_unrelated_word_finds_none() {
        let names = ["sequential", "parallel", "batched", "memory-cache"];
        assert_eq!(closest("paralel", names), Some("parallel"));
        assert_eq!(closest("sequental", names), Some("sequential"));
        assert_eq!(closest("fast", names), None);
        assert_eq!(closest("x", []), None);
    }
}
