//! The README's quick start, run as written: in each ```console block every `$ handshake-sim …`
//! line is run (in a fresh directory holding `sims/`), must exit 0, and its standard output is
//! compared with the lines under it. A line `...` stands for any lines, none included; `[..]`
//! for any part of one line (what changes from run to run: a live server's timings, a random
//! job prefix). A `$ handshake-sim serve … &` line starts that server, with the README's own
//! arguments, on a free port that the commands after it use for `127.0.0.1:8787`. The picture
//! the README shows is the one `run --plots` draws now.

use std::path::Path;

use crate::serve::Serve;

/// The console blocks of a Markdown text: each a list of (command line, expected output).
fn console_blocks(md: &str) -> Vec<Vec<(String, Vec<String>)>> {
    let mut blocks = Vec::new();
    let mut lines = md.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let mut block: Vec<(String, Vec<String>)> = Vec::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            match (l.strip_prefix("$ "), block.last_mut()) {
                (Some(cmd), _) => block.push((cmd.to_string(), Vec::new())),
                (None, Some((_, out))) => out.push(l.to_string()),
                (None, None) => panic!("output before any command: {l:?}"),
            }
        }
        blocks.push(block);
    }
    blocks
}

/// Splits a command line as a POSIX shell would for these examples: words by spaces, double
/// quotes keeping spaces.
fn words(cmd: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in cmd.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    assert!(!quoted, "unbalanced quotes in {cmd:?}");
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `line` is `pattern`, each `[..]` in it standing for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || !line[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Whether the output lines `actual` are what `expected` shows (`...` for any lines).
fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((e, rest)) => {
            !actual.is_empty() && line_matches(e, actual[0]) && output_matches(rest, &actual[1..])
        }
    }
}

/// Runs one example in `dir` with the binary: its standard output; it must exit 0.
fn run(dir: &Path, cmd: &str, port: u16) -> String {
    let cmd = cmd.replace("127.0.0.1:8787", &format!("127.0.0.1:{port}"));
    let w = words(&cmd);
    assert_eq!(w[0], "handshake-sim", "{cmd}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handshake-sim"))
        .args(&w[1..])
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "README: `{cmd}` exited {:?}\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:8787")
}

/// Starts the server of a `$ handshake-sim serve SCENARIO ARGS… &` line, on a free port.
fn start_serve(root: &Path, cmd: &str) -> Serve {
    let w = words(cmd.trim_end_matches('&').trim());
    assert_eq!(w[..2], ["handshake-sim", "serve"], "{cmd}");
    let args: Vec<&str> = w[3..].iter().map(String::as_str).collect();
    let bin = Path::new(env!("CARGO_BIN_EXE_handshake-sim"));
    Serve::spawn_scenario(bin, &root.join(&w[2]), "readme", None, &args)
}

#[test]
fn the_readme_quick_start_prints_what_it_shows() {
    let root = crate::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = console_blocks(&readme);
    assert!(blocks.len() >= 5, "the quick start has lost its examples");
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root.join("sims"), dir.path().join("sims")).unwrap();
    let mut serve: Option<Serve> = None;
    for (cmd, expected) in blocks.iter().flatten() {
        if cmd.ends_with('&') {
            serve = Some(start_serve(&root, cmd));
            continue;
        }
        let port = serve.as_ref().map_or(8787, |s| s.addr.port());
        let actual = run(dir.path(), cmd, port);
        let lines: Vec<&str> = actual.lines().collect();
        assert!(
            output_matches(expected, &lines),
            "README: `{cmd}` printed\n{actual}\nwhich is not what the README shows:\n{}",
            expected.join("\n")
        );
    }
}

/// The matcher can fail: a changed figure, a missing line and a line past the end are caught.
#[test]
fn the_output_matcher_tells_a_stale_example() {
    let shown: Vec<String> = ["a", "...", "rate 33.0%", "...", "end [..] s"]
        .map(String::from)
        .into();
    assert!(output_matches(
        &shown,
        &["a", "x", "rate 33.0%", "end 1.2 s"]
    ));
    assert!(output_matches(
        &shown,
        &["a", "rate 33.0%", "y", "z", "end 0 s"]
    ));
    assert!(!output_matches(&shown, &["a", "rate 34.0%", "end 1 s"]));
    assert!(!output_matches(&shown, &["a", "rate 33.0%"]));
    assert!(!output_matches(&shown, &["b", "rate 33.0%", "end 1 s"]));
    assert!(!output_matches(&["a".to_string()], &["a", "b"]));
    assert!(line_matches("x [..] y [..] z", "x 1 y 2 z"));
    assert!(!line_matches("x [..] y", "x 1 z"));
}

/// The README's picture is what `run sims/issue407.toml --plots DIR` draws today.
#[test]
fn the_readme_picture_is_current() {
    let root = crate::root();
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().join("plots");
    let (code, _, err) = crate::exec(
        &[
            "run",
            "sims/issue407.toml",
            "--plots",
            plots.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let drawn = std::fs::read(plots.join("upgrade-cdf.svg")).unwrap();
    let shown = std::fs::read(root.join("docs/img/issue407-upgrade-cdf.svg")).unwrap();
    assert!(
        drawn == shown,
        "docs/img/issue407-upgrade-cdf.svg is stale: copy {}",
        plots.join("upgrade-cdf.svg").display()
    );
}
