//! Issue 21: the files a user hands the tool, and the files it writes. Through the binary, on
//! temporary directories with sentinel files: nothing lost, nothing hung, nothing
//! overwritten, no panic on any content.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary in the repository's root, killing it (and failing the test) past
/// `limit`: a command that waits on a FIFO must fail, not hang the suite.
fn exec_within(args: &[&str], limit: Duration) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handshake-sim"))
        .args(args)
        .current_dir(crate::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Generous: every command here takes well under a second when it does not hang.
const LIMIT: Duration = Duration::from_secs(60);

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit 2, no panic, every fragment in the error.
fn refused(args: &[&str], expect: &[&str]) {
    let (code, _, err) = exec_within(args, LIMIT);
    assert_eq!(code, 2, "{args:?} exited {code}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: {err:?} does not contain {e:?}");
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(s(path)).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {path:?}"
    );
}

const PARAM: &str = "client.handshake_timeout_ms=150..400:10";

/// Two shards of the audit's sweep (26 points, 2 variants, 2 seeds), in `dir/s1`, `dir/s2`.
fn shards(dir: &Path) -> (PathBuf, PathBuf) {
    for k in 1..=2 {
        let out = dir.join(format!("s{k}"));
        let shard = format!("{k}/2");
        let args = [
            "sweep",
            "sims/issue407.toml",
            "--seeds",
            "2",
            "--jobs",
            "20",
            "--shard",
            &shard,
            "--out",
            s(&out),
            "-q",
            "--param",
            PARAM,
        ];
        let (code, _, err) = exec_within(&args, LIMIT);
        assert_eq!(code, 0, "{err}");
    }
    (dir.join("s1"), dir.join("s2"))
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Item 1: `merge s1 s2 --out s1` truncated s1/points-by-seed.csv to 0 bytes, then exited 2.
#[test]
fn merge_refuses_an_output_directory_that_is_holds_or_is_inside_a_shard() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = shards(dir.path());
    let before = snapshot(&s1);
    for (out, how) in [
        (s1.clone(), "--out is the input DIRS"),
        (dir.path().to_path_buf(), "--out holds the input DIRS"),
        (s1.join("sub"), "--out is inside the input DIRS"),
    ] {
        refused(&["merge", s(&s1), s(&s2), "--out", s(&out)], &[how]);
        assert_eq!(snapshot(&s1), before, "{out:?} changed a shard");
    }
    assert!(
        !s1.join("sub").exists(),
        "nothing is created for a refused output"
    );
    let (code, _, err) = exec_within(
        &["merge", s(&s1), s(&s2), "--out", s(&dir.path().join("all"))],
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
}

/// Item 1: a command that fails part-way leaves the previous outputs as they were (every
/// output is written to a temporary file and renamed into place only when complete).
#[test]
fn a_failed_merge_leaves_the_previous_output_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = shards(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for name in ["points-by-seed.csv", "points.csv", "sweep.json"] {
        std::fs::write(out.join(name), format!("sentinel {name}")).unwrap();
    }
    let before = snapshot(&out);
    // A shard whose per-seed file lost its last rows: found only while the file is joined.
    let csv = s2.join("points-by-seed.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let cut: Vec<&str> = text.lines().collect();
    std::fs::write(&csv, cut[..cut.len() - 3].join("\n") + "\n").unwrap();
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&out)],
        &["points-by-seed.csv", "missing"],
    );
    assert_eq!(
        snapshot(&out),
        before,
        "a failed merge changed its output directory"
    );
}

/// Item 2: symbolic links planted in an output directory were written through.
#[test]
fn outputs_are_never_written_through_a_symbolic_link() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let victim = outside.join("victim");
    let plant = |out: &Path, name: &str| {
        std::fs::write(&victim, "precious").unwrap();
        std::fs::create_dir_all(out).unwrap();
        let link = out.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        link
    };
    let intact = || assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let plots = dir.path().join("plots");
    for name in ["upgrade-cdf.svg", "plots.manifest"] {
        let link = plant(&plots, name);
        refused(
            &[
                "run",
                "sims/issue407.toml",
                "--jobs",
                "10",
                "--plots",
                s(&plots),
            ],
            &[s(&link), "symbolic link"],
        );
        intact();
        std::fs::remove_file(&link).unwrap();
    }
    let out = dir.path().join("sweep");
    for name in [
        "points.csv",
        "sweep.json",
        "points-by-seed.csv",
        "plots.manifest",
    ] {
        let link = plant(&out, name);
        refused(
            &[&crate::SMALL_SWEEP[..], &["--out", s(&out)]].concat(),
            &[s(&link), "symbolic link"],
        );
        intact();
        std::fs::remove_file(&link).unwrap();
    }
    // A file the tool no longer writes under that name is not touched either.
    plant(&out, "points-by-seed.csv.partial");
    let (code, _, err) = exec_within(
        &[&crate::SMALL_SWEEP[..], &["--out", s(&out)]].concat(),
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
    intact();
    // A file output named directly.
    let link = plant(dir.path(), "run.json");
    refused(
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "10",
            "--json",
            s(&link),
        ],
        &["symbolic link", "nothing was run"],
    );
    intact();
    // merge's output directory.
    let (s1, s2) = shards(dir.path());
    let merged = dir.path().join("merged");
    let link = plant(&merged, "points-by-seed.csv");
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&merged)],
        &[s(&link), "symbolic link"],
    );
    intact();
}

/// Item 3: a FIFO as the plot manifest, or as a shard's file, hung the command forever.
#[test]
fn fifos_are_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().join("o");
    std::fs::create_dir(&plots).unwrap();
    mkfifo(&plots.join("plots.manifest"));
    refused(
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "10",
            "--plots",
            s(&plots),
        ],
        &["plots.manifest", "a FIFO"],
    );
    let (s1, s2) = shards(dir.path());
    for name in ["sweep.json", "points-by-seed.csv"] {
        let path = s2.join(name);
        let keep = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        mkfifo(&path);
        refused(
            &["merge", s(&s1), s(&s2), "--out", s(&dir.path().join("all"))],
            &[s(&path), "a FIFO"],
        );
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, keep).unwrap();
    }
    let fifo = dir.path().join("fifo.toml");
    mkfifo(&fifo);
    refused(&["run", s(&fifo)], &["a FIFO"]);
    refused(&["calibrate", s(&fifo)], &["a FIFO"]);
    refused(&["compare", s(&fifo), s(&fifo)], &["a FIFO"]);
    // An output named as a FIFO nobody reads: refused, not waited on (one with a reader,
    // such as `--json >(jq .)`, is written in place, as `/dev/null` is).
    let json = ["run", "sims/issue407.toml", "--jobs", "10", "--json"];
    refused(&[&json[..], &[s(&fifo)]].concat(), &["a FIFO nobody reads"]);
    let (code, _, err) = exec_within(&[&json[..], &["/dev/null"]].concat(), LIMIT);
    assert_eq!(code, 0, "{err}");
    // In a directory the tool manages, a FIFO is refused before anything runs.
    let out = dir.path().join("sweep");
    std::fs::create_dir(&out).unwrap();
    mkfifo(&out.join("points.csv"));
    let sweep = [
        "sweep",
        "sims/issue407.toml",
        "--param",
        "client.retries=0,1",
        "--out",
    ];
    refused(
        &[&sweep[..], &[s(&out)]].concat(),
        &["points.csv", "a FIFO", "nothing was run"],
    );
}

/// Rewrites a shard's per-seed file by its lines.
fn edit_lines(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    f(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Item 4: a shard CSV cut at a line end, header-only, with a duplicated row, or with point
/// 0 renumbered 10^18 was merged with exit 0 and no message.
#[test]
fn merge_refuses_incomplete_or_altered_shards() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = shards(dir.path());
    let csv = s1.join("points-by-seed.csv");
    let keep = std::fs::read(&csv).unwrap();
    let out = dir.path().join("all");
    type Edit = fn(&mut Vec<String>);
    let cases: [(&str, Edit); 4] = [
        ("missing", |l| l.truncate(20)),
        ("missing", |l| l.truncate(1)),
        ("duplicated", |l| {
            let row = l[5].clone();
            l.insert(5, row);
        }),
        ("1000000000000000000", |l| {
            let rest = l[1].split_once(',').unwrap().1.to_string();
            l[1] = format!("1000000000000000000,{rest}");
        }),
    ];
    for (what, edit) in cases {
        edit_lines(&csv, edit);
        refused(
            &["merge", s(&s1), s(&s2), "--out", s(&out)],
            &[s(&csv), what],
        );
        std::fs::write(&csv, &keep).unwrap();
    }
    // A shard without its per-seed file is incomplete too.
    std::fs::remove_file(&csv).unwrap();
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&out)],
        &[s(&csv), "missing"],
    );
    std::fs::write(&csv, &keep).unwrap();
    // sweep.json: a point removed, or renumbered.
    let json = s1.join("sweep.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut v = original.clone();
    v["points"].as_array_mut().unwrap().remove(3);
    std::fs::write(&json, v.to_string()).unwrap();
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&out)],
        &[s(&json), "point 6 is missing"],
    );
    let mut v = original.clone();
    v["points"][0]["point"] = serde_json::json!(1_000_000_000_000_000_000u64);
    std::fs::write(&json, v.to_string()).unwrap();
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&out)],
        &[s(&json), "point 0 is missing"],
    );
    std::fs::write(&json, original.to_string()).unwrap();
    let (code, _, err) = exec_within(&["merge", s(&s1), s(&s2), "--out", s(&out)], LIMIT);
    assert_eq!(code, 0, "{err}");
}

/// Items 5 to 7: numbers read from a shard are range-checked where they are read: no panic,
/// no 4 GB allocation, no figure this tool cannot have written, no raw escape sequence.
#[test]
fn merge_range_checks_every_number_of_a_shard() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = shards(dir.path());
    let json = s1.join("sweep.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let out = dir.path().join("all");
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("/shard", serde_json::json!([0, 0]), "is not a shard k/n"),
        ("/shard", serde_json::json!([0, 1]), "is not a shard k/n"),
        (
            "/shard",
            serde_json::json!([1, 4_000_000_000u64]),
            "is not a shard k/n",
        ),
        (
            "/points/0/variants/0/failure_rate/value",
            serde_json::json!(-5),
            "failure_rate",
        ),
        (
            "/points/0/variants/0/failure_rate",
            serde_json::json!({"value": 0.5, "ci95_low": 0.8, "ci95_high": 0.2}),
            "outside its own interval",
        ),
        (
            "/points/0/variants/0/jobs",
            serde_json::json!(u64::MAX),
            "jobs is 18446744073709551615",
        ),
        (
            "/points/0/variants/0/storage_ms/mean",
            serde_json::json!(1e308),
            "storage_ms.mean",
        ),
        (
            "/points/0/variants/0/outcomes/ok",
            serde_json::json!(1000),
            "outcomes.ok is 1000",
        ),
    ];
    for (pointer, value, what) in cases {
        let mut v = original.clone();
        *v.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer}")) = value;
        std::fs::write(&json, v.to_string()).unwrap();
        refused(
            &["merge", s(&s1), s(&s2), "--out", s(&out)],
            &[s(&json), what],
        );
    }
    // A failed run's message with a terminal escape sequence is printed escaped.
    let mut v = original.clone();
    v["failed_runs"] = serde_json::json!([{
        "point": 0, "variant": "sequential", "seed": 1,
        "message": "boom \u{1b}[2J\u{1b}]0;pwned\u{7}", "command": "x"
    }]);
    std::fs::write(&json, v.to_string()).unwrap();
    // Its run is then missing from the per-seed rows the shard holds: drop those rows.
    edit_lines(&s1.join("points-by-seed.csv"), |l| {
        let i = l
            .iter()
            .position(|r| r.starts_with("0,150,sequential,1,"))
            .unwrap();
        l.remove(i);
    });
    let (code, stdout, err) = exec_within(&["merge", s(&s1), s(&s2), "--out", s(&out)], LIMIT);
    assert_eq!(code, 1, "a failed run fails the merge: {err}");
    assert!(
        !err.contains('\u{1b}') && !stdout.contains('\u{1b}'),
        "{err:?}"
    );
    assert!(err.contains("boom \\u{1b}[2J"), "{err}");
}

/// One `run --json` output, edited.
fn run_json(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let path = dir.join(name);
    let (code, _, err) = exec_within(
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "20",
            "--json",
            s(&path),
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

/// Items 5 and 7: `compare` panicked on `jobs` below `outcomes.ok`, and printed
/// `inf% [-inf–inf] … within noise` for figures no run writes.
#[test]
fn compare_refuses_figures_no_run_can_have() {
    let dir = tempfile::tempdir().unwrap();
    let a = run_json(dir.path(), "a.json", |_| {});
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("/variants/0/jobs", serde_json::json!(3), "more than 3"),
        (
            "/variants/0/failure_rate/value",
            serde_json::json!(-5),
            "failure_rate",
        ),
        (
            "/variants/0/failure_rate",
            serde_json::json!({"value": 0.5, "ci95_low": 0.8, "ci95_high": 0.2}),
            "outside its own interval",
        ),
        (
            "/variants/0/jobs",
            serde_json::json!(u64::MAX),
            "jobs is 18446744073709551615",
        ),
        (
            "/variants/1/paired_delta/client_upgrade_ms/mean",
            serde_json::json!(1e308),
            "paired_delta.client_upgrade_ms",
        ),
    ];
    for (i, (pointer, value, what)) in cases.into_iter().enumerate() {
        let b = run_json(dir.path(), &format!("b{i}.json"), |v| {
            *v.pointer_mut(pointer)
                .unwrap_or_else(|| panic!("{pointer}")) = value;
        });
        refused(&["compare", s(&a), s(&b)], &[s(&b), what]);
    }
    // Text from the file reaches the terminal escaped, or not at all.
    let b = run_json(dir.path(), "esc.json", |v| {
        v["scenario"]["scenario"]["name"] = serde_json::json!("x\u{1b}]0;pwned\u{7}");
    });
    let (code, out, err) = exec_within(&["compare", s(&a), s(&b)], LIMIT);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\u{1b}') && out.contains("x\\u{1b}]0;pwned"),
        "{out}"
    );
    let b = run_json(dir.path(), "esc2.json", |v| {
        v["variants"][0]["variant"] = serde_json::json!("seq\u{1b}[2J");
    });
    refused(&["compare", s(&a), s(&b)], &["control characters"]);
    // An output on an input.
    refused(
        &["compare", s(&a), s(&a), "--json", s(&a)],
        &["would overwrite the input A"],
    );
}

/// Item 5: `calibrate --sequential` on a storage value of 3e-321 tripped an assert (exit 101).
#[test]
fn calibrate_takes_subnormal_values_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tiny.log");
    for values in [
        &["3e-321"][..],
        &["3e-321", "3e-321", "0"],
        &["3e-321", "150", "140"],
    ] {
        let mut text = String::new();
        for v in values {
            text.push_str(&format!(
                "[job-1] 📊 WebSocket upgrade timing: {{ storageDuration: \"{v}ms\" }}\n"
            ));
        }
        std::fs::write(&log, text).unwrap();
        let (code, out, err) = exec_within(&["calibrate", s(&log), "--sequential"], LIMIT);
        assert_eq!(code, 0, "{values:?}: {err}");
        assert!(out.contains("empirical"), "{out}");
    }
    // The snippet is never written over the log it came from.
    refused(
        &["calibrate", s(&log), "--out", s(&log)],
        &["would overwrite the input LOGFILE"],
    );
}

/// Item 12: a manifest entry naming a directory failed the command after the run (exit 1).
/// Only regular files the previous manifest lists are removed; anything else by that name is
/// no longer a plot of ours and is left alone.
#[test]
fn a_manifest_entry_that_is_no_longer_a_plot_file_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().join("plots");
    std::fs::create_dir_all(plots.join("sub.svg")).unwrap();
    std::fs::write(plots.join("sub.svg").join("mine"), "keep").unwrap();
    std::fs::write(plots.join("old.svg"), "<svg/>").unwrap();
    std::fs::write(plots.join("plots.manifest"), "# plots\nold.svg\nsub.svg\n").unwrap();
    let (code, _, err) = exec_within(
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "10",
            "--plots",
            s(&plots),
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(plots.join("sub.svg/mine")).unwrap(),
        "keep"
    );
    assert!(
        !plots.join("old.svg").exists(),
        "a stale plot of ours is removed"
    );
    assert!(plots.join("upgrade-cdf.svg").is_file());
}

/// Item 6: a large shard under an address-space limit aborted (SIGABRT) instead of exiting
/// 2, and a shard past the cap was read as far as the cap. Sparse files: no disk is used.
#[test]
fn merge_refuses_shards_it_cannot_hold_before_reading_them() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let shard = dir.path().join("s");
    std::fs::create_dir(&shard).unwrap();
    let json = std::fs::File::create(shard.join("sweep.json")).unwrap();
    json.set_len(1200 << 20).unwrap();
    let out = dir.path().join("out");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handshake-sim"));
    cmd.args(["merge", s(&shard), "--out", s(&out)]);
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            let rl = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("need about") && err.contains("ulimit -v"),
        "{err}"
    );
    json.set_len(1700 << 20).unwrap();
    refused(
        &["merge", s(&shard), "--out", s(&out)],
        &["exceed 1610612736 bytes in all"],
    );
}

/// Review of issue 21: outputs spelled with `..`, outputs on each other, outputs inside a
/// shard, a plot file or the scenario itself in a sweep's directory — all refused before
/// anything runs or is written.
#[test]
fn outputs_never_land_on_inputs_or_each_other_however_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = shards(dir.path());
    let before = snapshot(&s1);
    let d = dir.path();
    for out in [s1.join("new/.."), d.join("missing/../s1"), s1.join("./")] {
        refused(
            &["merge", s(&s1), s(&s2), "--out", s(&out)],
            &["the input DIRS"],
        );
    }
    let mm = d.join("mm");
    refused(
        &[
            "merge",
            s(&s1),
            s(&s2),
            "--out",
            s(&mm),
            "--html",
            s(&mm.join("sweep.json")),
        ],
        &["also the output of --out"],
    );
    refused(
        &[
            "merge",
            s(&s1),
            s(&s2),
            "--out",
            s(&d.join("m3")),
            "--html",
            s(&s1.join("points.csv")),
        ],
        &["inside the input DIRS"],
    );
    refused(
        &[
            "merge",
            s(&s1),
            &format!("{}/.", s(&s1)),
            "--out",
            s(&d.join("m4")),
        ],
        &["a second time"],
    );
    assert!(
        !d.join("m4").exists(),
        "nothing is created for a refused merge"
    );
    assert_eq!(snapshot(&s1), before, "a shard changed");
    let o = d.join("o.json");
    let run = ["run", "sims/issue407.toml", "--jobs", "10"];
    refused(
        &[&run[..], &["--json", s(&o), "--records", s(&o)]].concat(),
        &["also the output of --json"],
    );
    let pp = d.join("pp");
    refused(
        &[
            &run[..],
            &["--plots", s(&pp), "--html", s(&pp.join("upgrade-cdf.svg"))],
        ]
        .concat(),
        &["--plots is also the output of --html"],
    );
    refused(
        &[&run[..], &["--json", &format!("{}/", s(&d.join("new")))]].concat(),
        &["ends in /"],
    );
    // A sweep's plot names are known before it runs: a link there stops it before any run.
    let out = d.join("sw");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(d.join("victim.svg"), out.join("failure-rate.svg")).unwrap();
    let sweep = [
        "sweep",
        "sims/issue407.toml",
        "--jobs",
        "5",
        "--param",
        "client.retries=0,1",
    ];
    refused(
        &[&sweep[..], &["--out", s(&out)]].concat(),
        &["failure-rate.svg", "symbolic link", "nothing was run"],
    );
    assert!(
        !out.join("points.csv").exists(),
        "the sweep ran before refusing"
    );
    // A scenario saved under a plot's name in the output directory is an input, not a plot.
    let dd = d.join("dd");
    std::fs::create_dir(&dd).unwrap();
    let own = dd.join("failure-rate.svg");
    std::fs::copy(crate::root().join("sims/issue407.toml"), &own).unwrap();
    refused(
        &[
            "sweep",
            s(&own),
            "--jobs",
            "5",
            "--param",
            "client.retries=0,1",
            "--out",
            s(&dd),
        ],
        &["would overwrite the input SCENARIO"],
    );
}

/// Review of issue 21: a shard's per-seed parameter columns, a definition listing a seed
/// twice, a base scenario with an escape sequence; and a sweep axis spanning past f64::MAX,
/// which hung the plot (plotters' tick search never ends on an infinite width).
#[test]
fn merge_checks_what_the_first_checks_missed_and_huge_axes_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = shards(dir.path());
    let out = dir.path().join("all");
    let csv = s1.join("points-by-seed.csv");
    let keep = std::fs::read(&csv).unwrap();
    edit_lines(&csv, |l| {
        let rest = l[1].splitn(3, ',').nth(2).unwrap().to_string();
        l[1] = format!("0,999999,{rest}");
    });
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&out)],
        &["parameter values are not those of sweep.json"],
    );
    std::fs::write(&csv, keep).unwrap();
    let json = s1.join("sweep.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut v = original.clone();
    v["definition"]["seeds"] = serde_json::json!([1, 2, 2]);
    std::fs::write(&json, v.to_string()).unwrap();
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&out)],
        &["listed twice"],
    );
    let mut v = original.clone();
    v["base"]["scenario"]["name"] = serde_json::json!("x\u{1b}[2J");
    std::fs::write(&json, v.to_string()).unwrap();
    refused(
        &["merge", s(&s1), s(&s2), "--out", s(&out)],
        &["control characters"],
    );
    std::fs::write(&json, original.to_string()).unwrap();
    let hx = dir.path().join("hx");
    let (code, _, err) = exec_within(
        &[
            "sweep",
            "sims/issue407.toml",
            "--seeds",
            "1",
            "--jobs",
            "5",
            "--out",
            s(&hx),
            "-q",
            "--param",
            "slo.avg_upgrade_ms.critical=0,1.7e308",
            "--set",
            "slo.avg_upgrade_ms.warning=0",
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
    assert!(hx.join("failure-rate.svg").is_file());
}

/// One rule for every output flag: missing parent directories are created — a file's as a
/// directory output's (`--plots`, `--out`) — after the inputs are checked, so a refused run
/// creates nothing; a parent that is a file is refused.
#[test]
fn every_output_creates_its_missing_parents_and_a_refused_run_creates_nothing() {
    let d = tempfile::tempdir().unwrap();
    let at = |p: &str| d.path().join(p).to_str().unwrap().to_string();
    let (code, _, err) = crate::exec(
        &[
            "run",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "5",
            "--json",
            &at("a/b/run.json"),
            "--html",
            &at("c/run.html"),
            "--plots",
            &at("d/e"),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    for f in ["a/b/run.json", "c/run.html", "d/e/upgrade-cdf.svg"] {
        assert!(d.path().join(f).is_file(), "{f}");
    }
    let (code, _, _) = crate::exec(
        &["run", "sims/nope.toml", "--json", &at("x/run.json")],
        None,
    );
    assert_eq!(code, 2);
    assert!(
        !d.path().join("x").exists(),
        "a refused run created its output's directory"
    );
    let (code, _, err) = crate::exec(
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "5",
            "--json",
            "Cargo.toml/out.json",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--json Cargo.toml/out.json: cannot be written"),
        "{err}"
    );
}

/// A new user's trial: a FIFO nobody reads, named as an output, was refused only when the
/// output was written, after all the work (`run` ran its jobs, `sweep` wrote its directory).
/// Every output flag now refuses it before anything runs; one with a reader gets the bytes.
#[test]
fn a_fifo_output_nobody_reads_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    let log = dir.path().join("tiny.log");
    let line = "[job-1] 📊 WebSocket upgrade timing: { storageDuration: \"150ms\" }\n";
    std::fs::write(&log, line.repeat(3)).unwrap();
    let sweep_out = dir.path().join("sweep");
    let (s1, s2) = shards(dir.path());
    let merged = dir.path().join("merged");
    let run = ["run", "sims/issue407.toml", "--jobs", "10"];
    let commands: Vec<Vec<&str>> = vec![
        [&run[..], &["--json", s(&fifo)]].concat(),
        [&run[..], &["--records", s(&fifo)]].concat(),
        vec![
            "check",
            "sims/issue407.toml",
            "--jobs",
            "10",
            "--junit",
            s(&fifo),
        ],
        vec![
            "bench",
            "--workload",
            "floor",
            "--set",
            "scenario.jobs=10",
            "--json",
            s(&fifo),
        ],
        vec!["calibrate", s(&log), "--sequential", "--out", s(&fifo)],
        [
            &crate::SMALL_SWEEP[..],
            &["--out", s(&sweep_out), "--html", s(&fifo)],
        ]
        .concat(),
        vec![
            "merge",
            s(&s1),
            s(&s2),
            "--out",
            s(&merged),
            "--html",
            s(&fifo),
        ],
    ];
    for args in &commands {
        refused(args, &[s(&fifo), "a FIFO nobody reads", "nothing was run"]);
    }
    assert!(!sweep_out.exists(), "a refused sweep wrote its directory");
    assert!(!merged.exists(), "a refused merge wrote its directory");
    // A FIFO that is also an input is refused as one, before it is opened for writing.
    let other = dir.path().join("other.json");
    refused(
        &["compare", s(&fifo), s(&other), "--json", s(&fifo)],
        &["would overwrite the input A"],
    );
    // With a reader (`--json >(jq .)`), the output is written into it whole. The reader is
    // there before the command starts, as a shell's `>(…)` is.
    let reader = read_fifo(&fifo);
    let (code, _, err) = exec_within(&[&run[..], &["-q", "--json", s(&fifo)]].concat(), LIMIT);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(json["tool"], "handshake-sim");
}

/// Opens `fifo` for reading now (non-blocking, so no writer is needed yet) and reads it on a
/// thread until its writer, once it came, closes it.
fn read_fifo(fifo: &Path) -> std::thread::JoinHandle<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
        .unwrap();
    std::thread::spawn(move || {
        let (mut text, mut buf) = (Vec::new(), [0u8; 4096]);
        let start = Instant::now();
        loop {
            match file.read(&mut buf) {
                // End of file once something came: the writer closed it.
                Ok(0) if !text.is_empty() => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("reading the FIFO: {e}"),
            }
            assert!(start.elapsed() < LIMIT, "nothing came through the FIFO");
            std::thread::sleep(Duration::from_millis(5));
        }
        String::from_utf8(text).unwrap()
    })
}

/// A new user's trial: `probe` and `conform` wrote two outputs named as one file, the second
/// over the first, where every other command refuses it. Refused before connecting.
#[test]
fn probe_and_conform_refuse_two_outputs_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one.out");
    let url = "http://127.0.0.1:9";
    refused(
        &["probe", url, "--json", s(&out), "--records", s(&out)],
        &["is also the output of --json", "nothing was run"],
    );
    refused(
        &["conform", url, "--json", s(&out), "--junit", s(&out)],
        &["is also the output of --json", "nothing was run"],
    );
    assert!(!out.exists());
}

/// A new user's trial: a refused command left the directories it had made for its outputs
/// (`merge --out` with a shard missing), and an output file named as another output's
/// directory was made a directory, then refused as one.
#[test]
fn a_refused_command_leaves_no_directory_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, _) = shards(dir.path());
    let merged = dir.path().join("m/n");
    let (code, _, err) = exec_within(&["merge", s(&s1), "--out", s(&merged)], LIMIT);
    assert_eq!(code, 2, "{err}");
    assert!(!dir.path().join("m").exists(), "{err}");
    // An output file that is another output's directory, and one inside another output's
    // file: refused before any directory is made.
    let (p, q) = (dir.path().join("p"), dir.path().join("q"));
    let cases = [
        (p.join("x.json"), "--plots", p.join("x.json")),
        (q.join("a/x.json"), "--html", q.join("a")),
    ];
    for (json, flag, other) in &cases {
        refused(
            &[
                "run",
                "sims/issue407.toml",
                "-q",
                "--jobs",
                "5",
                "--json",
                s(json),
                flag,
                s(other),
            ],
            &["--json", flag, "nothing was run"],
        );
    }
    assert!(
        !p.exists() && !q.exists(),
        "a refused run made its directories"
    );
}
