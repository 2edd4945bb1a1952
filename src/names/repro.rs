//! The command line that reproduces a run, a sweep point or one job's timeline, printed by
//! every output that names a failure (`reproduce: …`, `worst job: …`, JUnit, Markdown).

use std::fmt::{self, Write as _};

/// The environment variable that sets a library run's first seed (`Experiment::run`).
pub const SEED_VAR: &str = "HANDSHAKE_SIM_SEED";
/// The environment variable that sets how many consecutive seeds a library run pools.
pub const SEEDS_VAR: &str = "HANDSHAKE_SIM_SEEDS";
/// The environment variable that makes a library run check its determinism (`1`).
pub const CHECK_DETERMINISM_VAR: &str = "HANDSHAKE_SIM_CHECK_DETERMINISM";

/// A reproduce command, built part by part in the order the parts are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repro {
    command: String,
}

impl Repro {
    /// `handshake-sim run FILE --seed SEED`.
    pub fn run(file: &str, seed: u64) -> Repro {
        Repro {
            command: format!("handshake-sim run {} --seed {seed}", shell_quote(file)),
        }
    }

    /// `handshake-sim check FILE --seed SEED --seeds SEEDS`: the gate on the seeds a run had
    /// (`check` runs three by default, `run` one, so the count is always said).
    pub fn check(file: &str, seed: u64, seeds: u64) -> Repro {
        Repro {
            command: format!(
                "handshake-sim check {} --seed {seed} --seeds {seeds}",
                shell_quote(file)
            ),
        }
    }

    /// `handshake-sim replay FILE --seed SEED --job JOB --variant VARIANT`.
    pub fn replay(file: &str, seed: u64, job: u64, variant: impl fmt::Display) -> Repro {
        Repro {
            command: format!(
                "handshake-sim replay {} --seed {seed} --job {job} --variant {variant}",
                shell_quote(file)
            ),
        }
    }

    /// `HANDSHAKE_SIM_SEED=S [HANDSHAKE_SIM_SEEDS=N] cargo test TEST -- --exact`: a library
    /// user's test, rerun on the same seeds. Seeds that are not consecutive have no
    /// environment form; the test's own code names them, so the plain command repeats them.
    pub fn cargo_test(test: &str, seeds: &[u64], check_determinism: bool) -> Repro {
        let mut command = String::new();
        let consecutive = seeds.windows(2).all(|w| w[1] == w[0].wrapping_add(1));
        if let (Some(first), true) = (seeds.first(), consecutive) {
            let _ = write!(command, "{SEED_VAR}={first} ");
            if seeds.len() > 1 {
                let _ = write!(command, "{SEEDS_VAR}={} ", seeds.len());
            }
        }
        if check_determinism {
            let _ = write!(command, "{CHECK_DETERMINISM_VAR}=1 ");
        }
        let _ = write!(command, "cargo test {} -- --exact", shell_quote(test));
        Repro { command }
    }

    /// One `--set KEY=VALUE` per override.
    pub fn sets(mut self, sets: &[String]) -> Repro {
        for s in sets {
            let _ = write!(self.command, " --set {}", shell_quote(s));
        }
        self
    }

    /// `--seeds N` when more than one seed ran.
    pub fn seeds(mut self, seeds: usize) -> Repro {
        if seeds > 1 {
            let _ = write!(self.command, " --seeds {seeds}");
        }
        self
    }

    /// One `--variant V` per variant.
    pub fn variants<V: fmt::Display>(mut self, variants: impl IntoIterator<Item = V>) -> Repro {
        for v in variants {
            let _ = write!(self.command, " --variant {v}");
        }
        self
    }

    /// `--jobs N` when the command had it.
    pub fn jobs(mut self, jobs: Option<u32>) -> Repro {
        if let Some(j) = jobs {
            let _ = write!(self.command, " --jobs {j}");
        }
        self
    }
}

impl fmt::Display for Repro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.command)
    }
}

impl From<Repro> for String {
    fn from(r: Repro) -> String {
        r.command
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("sims/issue407.toml"), "sims/issue407.toml");
        assert_eq!(shell_quote("client.retries=3"), "client.retries=3");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(
            shell_quote("storage.read_ms={ uniform = [1, 2] }"),
            "'storage.read_ms={ uniform = [1, 2] }'"
        );
    }

    #[test]
    fn a_cargo_test_is_repeated_by_its_seeds_in_the_environment() {
        assert_eq!(
            Repro::cargo_test("api::slow_storage", &[7], false).to_string(),
            "HANDSHAKE_SIM_SEED=7 cargo test api::slow_storage -- --exact"
        );
        assert_eq!(
            Repro::cargo_test("t", &[4, 5, 6], true).to_string(),
            "HANDSHAKE_SIM_SEED=4 HANDSHAKE_SIM_SEEDS=3 HANDSHAKE_SIM_CHECK_DETERMINISM=1 \
             cargo test t -- --exact"
        );
        assert_eq!(
            Repro::cargo_test("t", &[4, 9], false).to_string(),
            "cargo test t -- --exact"
        );
        assert_eq!(
            Repro::cargo_test("t", &[u64::MAX, 0], false).to_string(),
            "HANDSHAKE_SIM_SEED=18446744073709551615 HANDSHAKE_SIM_SEEDS=2 cargo test t -- --exact"
        );
    }

    #[test]
    fn parts_come_in_the_order_given() {
        let r = Repro::run("my sims/x.toml", 7)
            .sets(&["a.b=1".into()])
            .seeds(3)
            .variants(["sequential", "parallel"])
            .jobs(Some(60));
        assert_eq!(
            r.to_string(),
            "handshake-sim run 'my sims/x.toml' --seed 7 --set a.b=1 --seeds 3 \
             --variant sequential --variant parallel --jobs 60"
        );
        assert_eq!(
            Repro::run("f", 1).seeds(1).jobs(None).to_string(),
            "handshake-sim run f --seed 1"
        );
        assert_eq!(
            Repro::replay("f", 2, 17, "parallel").to_string(),
            "handshake-sim replay f --seed 2 --job 17 --variant parallel"
        );
    }
}
