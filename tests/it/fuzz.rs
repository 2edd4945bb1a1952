//! Issue 21, item 8: every reader of a file a user hands back — a shard's `sweep.json` and
//! `points-by-seed.csv` (`merge`), a run's JSON (`compare`), a timing log and a CSV
//! (`calibrate`), a scenario file, a plot directory's `plots.manifest` — fed mutations of
//! real outputs: truncation, duplication, bit flips, huge numbers, deep nesting, NUL bytes,
//! invalid UTF-8. In-process (many cases): no panic, and what a reader accepts goes through
//! the rest of its command (merge, comparison, plots, snippet) without one. Through the
//! binary (fewer cases, under a 2 GiB address-space limit): exit 0, 1 or 2, never a panic or
//! an abort. The mutations are drawn from a fixed seed, so a failure repeats;
//! `HANDSHAKE_SIM_FUZZ_SCALE=N` runs N times as many cases (the note gives a run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use handshake_sim::internal::sweep::{self, SweepResult};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// One change to a file's bytes; positions are fractions of its length (per 65,536).
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(u16),
    Duplicate {
        from: u16,
        len: u16,
        at: u16,
    },
    FlipBit {
        at: u16,
        bit: u8,
    },
    /// The n-th number in the text (counting around) replaced by a huge or odd one.
    Number {
        nth: u16,
        with: &'static str,
    },
    /// In a JSON text, the n-th number leaf (counting around) replaced, the text rewritten:
    /// a mutation at a place that means something (a count, a shard, a rate).
    JsonLeaf {
        nth: u16,
        with: &'static str,
    },
    Nest(u16),
    Nul(u16),
    InvalidUtf8(u16),
}

const NUMBERS: [&str; 13] = [
    "1",
    "2",
    "3",
    "-1",
    "18446744073709551615",
    "1e308",
    "-5",
    "3e-321",
    "NaN",
    "-0",
    "0",
    "4000000000",
    "1000000000000000000",
];

/// The mutations, weighted towards changed numbers at meaningful places (a JSON leaf), which
/// reach the checks past parsing; the byte-level ones mostly test the parsers.
fn mutation() -> impl Strategy<Value = Mutation> {
    let number = 0..NUMBERS.len();
    prop_oneof![
        1 => any::<u16>().prop_map(Mutation::Truncate),
        1 => (any::<u16>(), 1..4096u16, any::<u16>())
            .prop_map(|(from, len, at)| Mutation::Duplicate { from, len, at }),
        1 => (any::<u16>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (any::<u16>(), number.clone())
            .prop_map(|(nth, i)| Mutation::Number { nth, with: NUMBERS[i] }),
        6 => (any::<u16>(), number)
            .prop_map(|(nth, i)| Mutation::JsonLeaf { nth, with: NUMBERS[i] }),
        1 => (1..20_000u16).prop_map(Mutation::Nest),
        1 => any::<u16>().prop_map(Mutation::Nul),
        1 => any::<u16>().prop_map(Mutation::InvalidUtf8),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..3)
}

fn at(frac: u16, len: usize) -> usize {
    (frac as usize * len) / 65_536
}

/// (start, end) of every run of digits (with a sign, point or exponent) in `b`.
fn numbers(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'-')) {
                i += 1;
            }
            out.push((start, i));
        }
        i += 1;
    }
    out
}

/// `b` as JSON with its n-th number leaf (counting around) replaced by `with`; none when
/// `b` is not JSON or has no number.
fn replace_json_leaf(b: &[u8], nth: usize, with: &str) -> Option<Vec<u8>> {
    fn leaves(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Number(_) => out.push(at),
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    leaves(x, format!("{at}/{i}"), out);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    let k = k.replace('~', "~0").replace('/', "~1");
                    leaves(x, format!("{at}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(b).ok()?;
    let mut found = Vec::new();
    leaves(&v, String::new(), &mut found);
    let pointer = found.get(nth % found.len().max(1))?;
    // NaN is no JSON number: it goes in as text, which a reader must refuse as well.
    let new: serde_json::Value =
        serde_json::from_str(with).unwrap_or(serde_json::Value::String(with.into()));
    *v.pointer_mut(pointer)? = new;
    serde_json::to_vec_pretty(&v).ok()
}

fn apply(bytes: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in ms {
        let len = b.len();
        match *m {
            Mutation::Truncate(f) => b.truncate(at(f, len)),
            Mutation::Duplicate {
                from,
                len: n,
                at: to,
            } => {
                let start = at(from, len);
                let end = (start + n as usize).min(len);
                let piece = b[start..end].to_vec();
                let to = at(to, len);
                b.splice(to..to, piece);
            }
            Mutation::FlipBit { at: f, bit } if len > 0 => b[at(f, len)] ^= 1 << bit,
            Mutation::FlipBit { .. } => {}
            Mutation::Number { nth, with } => {
                let found = numbers(&b);
                if let Some(&(s, e)) = found.get(nth as usize % found.len().max(1)) {
                    b.splice(s..e, with.bytes());
                }
            }
            Mutation::JsonLeaf { nth, with } => {
                if let Some(text) = replace_json_leaf(&b, nth as usize, with) {
                    b = text;
                }
            }
            Mutation::Nest(depth) => {
                let to = at(depth, len);
                let open = "[".repeat(depth as usize);
                b.splice(to..to, open.bytes());
            }
            Mutation::Nul(f) => b.insert(at(f, len), 0),
            Mutation::InvalidUtf8(f) => {
                let to = at(f, len);
                b.splice(to..to, [0xff, 0xfe, 0xc3]);
            }
        }
    }
    b
}

/// Cases per reader in-process, and through the binary; scaled by HANDSHAKE_SIM_FUZZ_SCALE.
fn cases(base: u32) -> u32 {
    let scale: u32 = std::env::var("HANDSHAKE_SIM_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    base * scale.clamp(1, 1000)
}

/// Runs `check` on `cases` mutants of `original` drawn from a fixed seed; a panic in it
/// fails the test with the mutations that caused it (shrunk by proptest).
fn fuzz(name: &str, original: &[u8], cases: u32, check: impl Fn(&[u8])) {
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(21),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&mutations(), |ms| {
        let bytes = apply(original, &ms);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        prop_assert!(caught.is_ok(), "{name}: a panic on mutations {ms:?}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!("fuzz {name}: {cases} mutants, no panic");
}

/// The real outputs the mutants start from: two shards of a small sweep, two run JSONs, a
/// simulated timing log, made once per test binary.
struct Corpus {
    dir: tempfile::TempDir,
}

impl Corpus {
    fn get() -> &'static Corpus {
        static CORPUS: OnceLock<Corpus> = OnceLock::new();
        CORPUS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().to_str().unwrap().to_string();
            for k in 1..=2 {
                run_ok(&[
                    "sweep",
                    "sims/issue407.toml",
                    "--seeds",
                    "2",
                    "--jobs",
                    "10",
                    "--shard",
                    &format!("{k}/2"),
                    "--out",
                    &format!("{d}/s{k}"),
                    "-q",
                    "--param",
                    "client.handshake_timeout_ms=150..220:10",
                ]);
            }
            run_ok(&[
                "run",
                "sims/issue407.toml",
                "--jobs",
                "20",
                "--json",
                &format!("{d}/a.json"),
            ]);
            run_ok(&[
                "run",
                "sims/issue407.toml",
                "--jobs",
                "20",
                "--seed",
                "2",
                "--json",
                &format!("{d}/b.json"),
            ]);
            let log = Command::new(env!("CARGO_BIN_EXE_handshake-sim"))
                .args([
                    "run",
                    "sims/issue407.toml",
                    "--jobs",
                    "30",
                    "--log",
                    "handshake_sim::timing=info",
                ])
                .current_dir(crate::root())
                .output()
                .unwrap();
            std::fs::write(dir.path().join("run.log"), log.stderr).unwrap();
            Corpus { dir }
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
}

fn run_ok(args: &[&str]) {
    let (code, _, err) = crate::exec(args, Some("1"));
    assert_eq!(code, 0, "{args:?}: {err}");
}

/// The binary on a mutant, under a 2 GiB address-space limit and a minute of wall time (a
/// hang fails the test instead of stalling the suite): exit 0, 1 or 2 only.
fn exec_limited(args: &[&str]) -> (i32, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handshake-sim"));
    cmd.args(args)
        .current_dir(crate::root())
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            let rl = libc::rlimit {
                rlim_cur: 2 << 30,
                rlim_max: 2 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} hung for a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.code().unwrap_or(-1), err)
}

fn assert_handled(args: &[&str], allowed: &[i32]) {
    let (code, err) = exec_limited(args);
    assert!(
        allowed.contains(&code) && !err.contains("panicked"),
        "{args:?} exited {code}: {err}"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A shard's sweep.json through sweep::merge, the per-seed join, the plots and the files.
fn merge_in_process(mutant_s1: &[u8], csv_s1: &[u8]) {
    let c = Corpus::get();
    let Ok(s1) = serde_json::from_slice::<SweepResult>(mutant_s1) else {
        return;
    };
    let s2: SweepResult = serde_json::from_slice(&c.bytes("s2/sweep.json")).unwrap();
    let parts = vec![
        sweep::Part {
            name: "s1".into(),
            result: s1,
        },
        sweep::Part {
            name: "s2".into(),
            result: s2,
        },
    ];
    let Ok(merged) = sweep::merge(parts) else {
        return;
    };
    use handshake_sim::internal::report::seed_rows::{self, ShardRows};
    let csv_s2 = c.bytes("s2/points-by-seed.csv");
    let rows = vec![
        ShardRows {
            name: "s1".into(),
            reader: csv_s1,
            expected: Box::new(sweep::seed_rows_of(&merged, (1, 2))),
        },
        ShardRows {
            name: "s2".into(),
            reader: &csv_s2[..],
            expected: Box::new(sweep::seed_rows_of(&merged, (2, 2))),
        },
    ];
    let _ = seed_rows::merge(rows, &seed_rows::header(&merged.definition), Vec::new());
    let mut sink = Vec::new();
    handshake_sim::internal::report::write_points(&mut sink, &merged).unwrap();
    merged.write_json(&mut sink).unwrap();
    handshake_sim::internal::report::plot::sweep_plots(&merged, false).unwrap();
}

#[test]
fn a_shards_sweep_json_never_panics_merge() {
    let c = Corpus::get();
    let csv = c.bytes("s1/points-by-seed.csv");
    fuzz(
        "merge sweep.json",
        &c.bytes("s1/sweep.json"),
        cases(512),
        |m| merge_in_process(m, &csv),
    );
}

#[test]
fn a_shards_per_seed_csv_never_panics_merge() {
    let c = Corpus::get();
    let json = c.bytes("s1/sweep.json");
    fuzz(
        "merge points-by-seed.csv",
        &c.bytes("s1/points-by-seed.csv"),
        cases(512),
        |m| merge_in_process(&json, m),
    );
}

#[test]
fn a_run_json_never_panics_compare() {
    let c = Corpus::get();
    let a = handshake_sim::internal::compare::parse("a", &c.bytes("a.json")).unwrap();
    fuzz("compare", &c.bytes("b.json"), cases(512), |m| {
        if let Ok(b) = handshake_sim::internal::compare::parse("b", m) {
            if let Ok(cmp) = handshake_sim::internal::compare::compare(("a", &a), ("b", &b), &[]) {
                let _ = handshake_sim::internal::report::compare::compare_text(&cmp);
                let _ = handshake_sim::internal::report::compare::compare_json(&cmp);
            }
        }
    });
}

#[test]
fn a_log_or_csv_never_panics_calibrate() {
    let c = Corpus::get();
    let csv = b"storage_ms\n75\n80.5\n120\n66\n140\n".repeat(8);
    for (name, original) in [
        ("calibrate log", c.bytes("run.log")),
        ("calibrate csv", csv),
    ] {
        fuzz(name, &original, cases(256), |m| {
            for sequential in [false, true] {
                if let Ok(cal) = handshake_sim::internal::calibrate::calibrate(m, sequential) {
                    if !cal.samples_ms.is_empty() {
                        let _ = handshake_sim::internal::report::snippet::calibration(&cal, "x");
                    }
                }
            }
        });
    }
}

#[test]
fn a_scenario_file_never_panics_loading() {
    let original = std::fs::read(crate::root().join("sims/issue407.toml")).unwrap();
    fuzz("scenario", &original, cases(512), |m| {
        if let Ok(text) = std::str::from_utf8(m) {
            let _ = handshake_sim::internal::scenario::Scenario::from_toml_str("x.toml", text, &[]);
        }
    });
}

#[test]
fn a_plot_manifest_never_panics_or_escapes_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.svg");
    std::fs::write(&outside, "keep").unwrap();
    let plots = dir.path().join("plots");
    std::fs::create_dir(&plots).unwrap();
    let manifest = b"# plots\nupgrade-cdf.svg\nstorage-histogram.png\n../outside.svg\nx.svg\n";
    fuzz("plots.manifest", manifest, cases(256), |m| {
        std::fs::write(plots.join("plots.manifest"), m).unwrap();
        let _ = handshake_sim::internal::report::plot::write_plots(&plots, &[]);
    });
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
}

/// The same readers through the binary, fewer cases: exit codes and memory.
#[test]
fn the_binary_exits_0_1_or_2_on_every_mutant() {
    let c = Corpus::get();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let out = w.join("out");
    let (s1, s2) = (w.join("s1"), c.path("s2"));
    std::fs::create_dir(&s1).unwrap();
    let shard_json = c.bytes("s1/sweep.json");
    let shard_csv = c.bytes("s1/points-by-seed.csv");
    fuzz("binary merge", &shard_json, cases(64), |m| {
        std::fs::write(s1.join("sweep.json"), m).unwrap();
        std::fs::write(s1.join("points-by-seed.csv"), &shard_csv).unwrap();
        assert_handled(&["merge", s(&s1), s(&s2), "--out", s(&out)], &[0, 2]);
    });
    fuzz("binary merge csv", &shard_csv, cases(64), |m| {
        std::fs::write(s1.join("sweep.json"), &shard_json).unwrap();
        std::fs::write(s1.join("points-by-seed.csv"), m).unwrap();
        assert_handled(&["merge", s(&s1), s(&s2), "--out", s(&out)], &[0, 2]);
    });
    let b = w.join("b.json");
    fuzz("binary compare", &c.bytes("b.json"), cases(64), |m| {
        std::fs::write(&b, m).unwrap();
        assert_handled(&["compare", s(&c.path("a.json")), s(&b)], &[0, 2]);
    });
    let log = w.join("run.log");
    fuzz("binary calibrate", &c.bytes("run.log"), cases(64), |m| {
        std::fs::write(&log, m).unwrap();
        assert_handled(&["calibrate", s(&log), "--sequential"], &[0, 2]);
    });
    let toml = w.join("x.toml");
    let original = std::fs::read(crate::root().join("sims/issue407.toml")).unwrap();
    let plots = w.join("plots");
    fuzz("binary scenario + manifest", &original, cases(64), |m| {
        std::fs::write(&toml, m).unwrap();
        std::fs::create_dir_all(&plots).unwrap();
        std::fs::write(plots.join("plots.manifest"), m).unwrap();
        // A mutant may still be a scenario whose run fails (exit 1), as a real one may.
        assert_handled(
            &["run", s(&toml), "--jobs", "3", "-q", "--plots", s(&plots)],
            &[0, 1, 2],
        );
    });
}
