//! "Did you mean …?" for a mistyped name: the known name closest to it by edit distance,
//! when it is close enough to be a typo rather than another word.

/// The known name closest to `name`, if it is within a typo's distance of it.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let (distance, best) = known
        .into_iter()
        .map(|k| (edit_distance(name, k), k))
        .min_by_key(|(d, _)| *d)?;
    let len = name.chars().count();
    (distance <= 2 || (distance as f64) < 0.4 * len as f64).then_some(best)
}

/// `"{what} {name:?}; did you mean {closest:?}? known: a, b, c"`, the hint only when one is
/// close.
pub fn unknown<'a>(what: &str, name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.into_iter().collect();
    let hint = closest(name, known.iter().copied())
        .map_or(String::new(), |c| format!("; did you mean {c:?}?"));
    format!("{what} {name:?}{hint} (known: {})", known.join(", "))
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

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
