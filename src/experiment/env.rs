//! Seeds and the determinism check from the environment, the way madsim's users set them:
//! `HANDSHAKE_SIM_SEED`, `HANDSHAKE_SIM_SEEDS`, `HANDSHAKE_SIM_CHECK_DETERMINISM`. They take
//! precedence over what the test's code says, so a printed reproduce command repeats a
//! failure without editing the test.

use std::ffi::OsString;

use super::Error;
use crate::names::{CHECK_DETERMINISM_VAR, SEEDS_VAR, SEED_VAR};

/// Most seeds `HANDSHAKE_SIM_SEEDS` may ask for (the command line's `--seeds` limit).
pub(super) const ENV_SEEDS_MAX: u64 = 10_000;

/// What the environment sets; `None` where it sets nothing (unset or empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct EnvSettings {
    pub(super) seed: Option<u64>,
    pub(super) seeds: Option<u64>,
    pub(super) check_determinism: Option<bool>,
}

impl EnvSettings {
    /// Reads the process environment.
    pub(super) fn read() -> Result<EnvSettings, Error> {
        EnvSettings::from_lookup(|var| std::env::var_os(var))
    }

    /// Reads the variables through `get`; an empty value counts as unset.
    pub(super) fn from_lookup(
        get: impl Fn(&str) -> Option<OsString>,
    ) -> Result<EnvSettings, Error> {
        let value = |var: &'static str| -> Result<Option<String>, Error> {
            match get(var) {
                None => Ok(None),
                Some(v) => match v.into_string() {
                    Ok(s) if s.trim().is_empty() => Ok(None),
                    Ok(s) => Ok(Some(s)),
                    Err(raw) => Err(Error::Env {
                        var,
                        value: raw.to_string_lossy().into_owned(),
                        message: "not valid UTF-8".into(),
                    }),
                },
            }
        };
        let bad = |var: &'static str, value: &str, message: String| Error::Env {
            var,
            value: value.to_string(),
            message,
        };
        let seed = match value(SEED_VAR)? {
            None => None,
            Some(s) => Some(s.trim().parse::<u64>().map_err(|_| {
                bad(
                    SEED_VAR,
                    &s,
                    format!("a seed is a whole number 0..={}", u64::MAX),
                )
            })?),
        };
        let seeds = match value(SEEDS_VAR)? {
            None => None,
            Some(s) => Some(
                s.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=ENV_SEEDS_MAX).contains(n))
                    .ok_or_else(|| {
                        bad(
                            SEEDS_VAR,
                            &s,
                            format!("a count of seeds, 1..={ENV_SEEDS_MAX}"),
                        )
                    })?,
            ),
        };
        let check_determinism = match value(CHECK_DETERMINISM_VAR)? {
            None => None,
            Some(s) => Some(match s.trim() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(bad(
                        CHECK_DETERMINISM_VAR,
                        &s,
                        "use 1 (check) or 0 (do not)".into(),
                    ))
                }
            }),
        };
        Ok(EnvSettings {
            seed,
            seeds,
            check_determinism,
        })
    }

    /// The seeds to run: the code's, unless the environment names them. A seed alone runs
    /// that one seed; a count alone runs that many from the code's first seed; both run the
    /// count from the seed.
    pub(super) fn seeds(&self, code: &[u64]) -> Vec<u64> {
        let first = || self.seed.or(code.first().copied()).unwrap_or(1);
        match (self.seed, self.seeds) {
            (None, None) => code.to_vec(),
            (Some(seed), None) => vec![seed],
            (_, Some(count)) => (0..count).map(|i| first().wrapping_add(i)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<EnvSettings, Error> {
        EnvSettings::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn the_environment_names_seeds_over_the_code() {
        let code = [1, 2, 3];
        let seeds = |vars: &[(&str, &str)]| settings(vars).unwrap().seeds(&code);
        assert_eq!(seeds(&[]), [1, 2, 3]);
        assert_eq!(seeds(&[(SEED_VAR, "")]), [1, 2, 3], "empty is unset");
        assert_eq!(seeds(&[(SEED_VAR, "7")]), [7]);
        assert_eq!(seeds(&[(SEEDS_VAR, "2")]), [1, 2]);
        assert_eq!(seeds(&[(SEED_VAR, "7"), (SEEDS_VAR, "3")]), [7, 8, 9]);
        let max = u64::MAX.to_string();
        assert_eq!(seeds(&[(SEED_VAR, &max), (SEEDS_VAR, "2")]), [u64::MAX, 0]);
        assert_eq!(settings(&[]).unwrap().check_determinism, None);
        for (v, want) in [("1", true), ("true", true), ("0", false), ("no", false)] {
            let s = settings(&[(CHECK_DETERMINISM_VAR, v)]).unwrap();
            assert_eq!(s.check_determinism, Some(want), "{v}");
        }
    }

    #[test]
    fn a_bad_value_names_its_variable_and_what_it_takes() {
        let err = |vars: &[(&str, &str)]| settings(vars).unwrap_err().to_string();
        assert_eq!(
            err(&[(SEED_VAR, "seven")]),
            "environment variable HANDSHAKE_SIM_SEED=\"seven\": a seed is a whole number \
             0..=18446744073709551615"
        );
        assert!(err(&[(SEED_VAR, "-1")]).contains("HANDSHAKE_SIM_SEED=\"-1\""));
        for bad in ["0", "10001", "3.5", "many"] {
            assert!(
                err(&[(SEEDS_VAR, bad)]).ends_with("a count of seeds, 1..=10000"),
                "{bad}"
            );
        }
        assert!(err(&[(CHECK_DETERMINISM_VAR, "maybe")])
            .starts_with("environment variable HANDSHAKE_SIM_CHECK_DETERMINISM=\"maybe\""));
    }
}
