//! The examples of the README and of every chapter in `docs/`, run as written: in each
//! ```console block every `$ handshake-sim …` line is run (in a fresh directory per page,
//! holding `sims/`) and its standard output is compared with the lines under it. A line `...`
//! stands for any lines, none included; `[..]` for any part of one line (what changes from run
//! to run: a live server's timings, a random job prefix). A command exits 0 unless the next
//! line is `$ echo $?`, whose output is the exit code it must have. A line ending in `\`
//! continues on the next. A `$ handshake-sim serve … &` line starts that server, with the
//! page's own arguments, on a free port that the commands after it use for `127.0.0.1:8787`.
//! Standard error (warnings, progress) is compared only where the line ends in `2>&1`.
//! `docs/reference/` is generated, not written (`reference.rs`). The picture the README shows
//! is the one `run --plots` draws now.

use std::path::Path;

use crate::serve::Serve;

/// One example: a command line, what it prints, and the exit code it must have.
struct Example {
    cmd: String,
    out: Vec<String>,
    code: i32,
}

/// The console blocks of a Markdown text: each a list of examples.
fn console_blocks(md: &str) -> Vec<Vec<Example>> {
    let mut blocks = Vec::new();
    let mut lines = md.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let mut block: Vec<Example> = Vec::new();
        let mut continued = false;
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            if continued {
                let last = block.last_mut().expect("a continued command");
                last.cmd.push(' ');
                last.cmd
                    .push_str(l.trim().trim_end_matches('\\').trim_end());
                continued = l.ends_with('\\');
                continue;
            }
            match (l.strip_prefix("$ "), block.last_mut()) {
                (Some("echo $?"), Some(last)) => last.code = -1,
                (Some(cmd), _) => {
                    continued = cmd.ends_with('\\');
                    let cmd = cmd.trim_end_matches('\\').trim_end().to_string();
                    block.push(Example {
                        cmd,
                        out: Vec::new(),
                        code: 0,
                    });
                }
                (None, Some(last)) if last.code == -1 => {
                    last.code = l.trim().parse().expect("an exit code after `$ echo $?`")
                }
                (None, Some(last)) => last.out.push(l.to_string()),
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
        Some((e, rest)) if e.trim() == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((e, rest)) => {
            !actual.is_empty() && line_matches(e, actual[0]) && output_matches(rest, &actual[1..])
        }
    }
}

/// Runs one example in `dir` with the binary: its standard output (and its standard error
/// too, interleaved as written, when the line ends in `2>&1`); it must exit with `code`.
fn run(page: &str, dir: &Path, cmd: &str, code: i32, port: u16) -> String {
    let cmd = cmd.replace("127.0.0.1:8787", &format!("127.0.0.1:{port}"));
    let (line, merged) = match cmd.strip_suffix(" 2>&1") {
        Some(line) => (line, true),
        None => (cmd.as_str(), false),
    };
    let w = words(line);
    assert_eq!(w[0], "handshake-sim", "{cmd}");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_handshake-sim"));
    command.args(&w[1..]).current_dir(dir);
    // One file for both streams, as a shell's `2>&1` gives one pipe: the order is the writes'.
    let both = tempfile::tempfile().unwrap();
    if merged {
        command
            .stdout(both.try_clone().unwrap())
            .stderr(both.try_clone().unwrap());
    }
    let out = command.output().unwrap();
    let stdout = if merged {
        let mut text = String::new();
        let mut f = both;
        std::io::Seek::rewind(&mut f).unwrap();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        text
    } else {
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        out.status.code(),
        Some(code),
        "{page}: `{cmd}` exited {:?}\n{stdout}\n{}",
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

/// Runs every example of the page at `page` (relative to the root); how many it ran.
fn run_page(page: &str) -> usize {
    let root = crate::root();
    let md = std::fs::read_to_string(root.join(page)).unwrap();
    let blocks = console_blocks(&md);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root.join("sims"), dir.path().join("sims")).unwrap();
    let mut serve: Option<Serve> = None;
    for ex in blocks.iter().flatten() {
        if ex.cmd.ends_with('&') {
            serve = Some(start_serve(&root, &ex.cmd));
            continue;
        }
        let port = serve.as_ref().map_or(8787, |s| s.addr.port());
        let actual = run(page, dir.path(), &ex.cmd, ex.code, port);
        let lines: Vec<&str> = actual.lines().collect();
        assert!(
            output_matches(&ex.out, &lines),
            "{page}: `{}` printed\n{actual}\nwhich is not what the page shows:\n{}",
            ex.cmd,
            ex.out.join("\n")
        );
    }
    blocks.iter().map(Vec::len).sum()
}

#[test]
fn the_readme_quick_start_prints_what_it_shows() {
    assert!(
        run_page("README.md") >= 6,
        "the quick start has lost its examples"
    );
}

/// Every chapter of the book: its examples print what it shows.
#[test]
fn every_docs_example_prints_what_it_shows() {
    let mut pages: Vec<String> = std::fs::read_dir(crate::root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    pages.sort();
    let ran: usize = pages.iter().map(|p| run_page(p)).sum();
    assert!(ran >= 10, "the docs have lost their examples: {ran} ran");
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

/// A page's blocks read as the shell would: continued lines, and `echo $?` as an exit code.
#[test]
fn a_console_block_reads_continuations_and_exit_codes() {
    let md = "```console\n$ handshake-sim fit a \\\n    --b c\n...\n$ echo $?\n1\n$ handshake-sim run x\nout\n```\n";
    let blocks = console_blocks(md);
    let got: Vec<(&str, usize, i32)> = blocks[0]
        .iter()
        .map(|e| (e.cmd.as_str(), e.out.len(), e.code))
        .collect();
    assert_eq!(
        got,
        [
            ("handshake-sim fit a --b c", 1, 1),
            ("handshake-sim run x", 1, 0)
        ]
    );
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
