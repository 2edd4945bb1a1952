//! "did you mean": the known name closest to a misspelt one (strsim's Jaro similarity, as
//! clap's own suggestions), and the message that names the unknown one.

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

/// `"{what} {name:?}; did you mean {closest:?}? known: a, b, c"`, the hint only when one is
/// close.
pub fn unknown<'a>(what: &str, name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.into_iter().collect();
    let hint = closest(name, known.iter().copied())
        .map_or(String::new(), |c| format!("; did you mean {c:?}?"));
    format!("{what} {name:?}{hint} (known: {})", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_its_name_and_an_unrelated_word_finds_none() {
        let names = ["sequential", "parallel", "batched", "memory-cache"];
        assert_eq!(closest("paralel", names), Some("parallel"));
        assert_eq!(closest("sequental", names), Some("sequential"));
        assert_eq!(closest("fast", names), None);
        assert_eq!(closest("x", []), None);
    }

    #[test]
    fn a_typo_gets_the_closest_name_and_another_word_gets_none() {
        let known = ["failure_rate", "failures", "p95_upgrade_ms", "ok"];
        assert_eq!(closest("failure_rat", known), Some("failure_rate"));
        assert_eq!(closest("p95_upgrade", known), Some("p95_upgrade_ms"));
        assert_eq!(closest("throughput", known), None);
        assert_eq!(
            unknown("unknown metric", "failurerate", known),
            "unknown metric \"failurerate\"; did you mean \"failure_rate\"? \
             (known: failure_rate, failures, p95_upgrade_ms, ok)"
        );
        assert_eq!(
            unknown("no such scenario", "zzz", ["a"]),
            "no such scenario \"zzz\" (known: a)"
        );
    }
}
