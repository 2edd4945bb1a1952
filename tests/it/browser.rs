//! Every kind of page the tool writes, opened in a real headless Chromium (`browser/`:
//! `@sparticuz/chromium` and `puppeteer-core`, pinned in `browser/package-lock.json`):
//! no console error or external request, every image and plot drawn, no sideways scroll at
//! 1366 px, nothing past a 390 px phone's edge outside a scroll box, and every verdict colour
//! at 4.5:1 or more (browser/README.md says how each is measured).
//!
//! Without the checker (`browser/node_modules` missing and `npm ci` impossible) the tests print
//! `skipped: …` and return, unless `HANDSHAKE_SIM_REQUIRE_BROWSER=1` or
//! `HANDSHAKE_SIM_REQUIRE_WORKERD=1` (CI sets it: the npm pieces must be there), when they fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn browser_dir() -> PathBuf {
    crate::root().join("browser")
}

fn required() -> bool {
    [
        "HANDSHAKE_SIM_REQUIRE_BROWSER",
        "HANDSHAKE_SIM_REQUIRE_WORKERD",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|x| x == "1"))
}

/// Whether the checker can run (installing it once with `npm ci`); `Err` says why not.
fn installed() -> Result<(), String> {
    static FOUND: OnceLock<Result<(), String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let marker = browser_dir().join("node_modules/puppeteer-core/package.json");
            if !marker.exists() {
                crate::common::npm::ci(&browser_dir())?;
            }
            if marker.exists() {
                Ok(())
            } else {
                Err(format!("{} missing after npm ci", marker.display()))
            }
        })
        .clone()
}

/// A page's file and what the checker found wrong with it.
type PageProblems = (String, Vec<String>);

/// The checker's verdict on `pages`: (exit code, each page's problems), or `None` when the
/// test skips (said on stderr).
fn check(pages: &[PathBuf]) -> Option<(i32, Vec<PageProblems>)> {
    if let Err(why) = installed() {
        assert!(!required(), "the browser checks must run here but: {why}");
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no page checker ({why}); run `npm ci` in browser/"
        );
        return None;
    }
    let out = Command::new("node")
        .arg(browser_dir().join("check-pages.mjs"))
        .args(pages)
        .output()
        .expect("node runs");
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 2: the browser could not start (or a usage error): a missing piece, like no npm.
    if code == 2 && !required() {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the page checker could not run: {stderr}"
        );
        return None;
    }
    assert!(code == 0 || code == 1, "checker exit {code}: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("checker output is not JSON ({e}): {stderr}"));
    let pages = json["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| {
            let file = p["file"].as_str().unwrap_or("?").to_string();
            let problems = p["problems"]
                .as_array()
                .expect("problems")
                .iter()
                .map(|x| x.as_str().unwrap_or("?").to_string())
                .collect();
            (file, problems)
        })
        .collect();
    Some((code, pages))
}

fn ok(args: &[&str]) {
    let (code, out, err) = crate::exec(args, None);
    assert_eq!(code, 0, "{args:?}\n{out}{err}");
}

/// Writes every kind of page into `dir`: run (several seeds), faults, race-378, a failing
/// run and its check page, 1-D and 2-D sweeps, a swarm, a comparison and a decision.
fn write_pages(dir: &Path) -> Vec<PathBuf> {
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let jobs = ["--jobs", "100"];
    let run = |scenario: &str, page: &str, extra: &[&str]| {
        let html = p(page);
        let mut args = vec!["run", scenario, "-q", "--html", &html];
        args.extend_from_slice(extra);
        ok(&args);
    };
    run(
        "sims/issue407.toml",
        "run.html",
        &["--seeds", "2", "--json", &p("a.json")],
    );
    run("sims/faults.toml", "faults.html", &jobs);
    run("sims/race-378.toml", "race-378.html", &jobs);
    run(
        "sims/issue407.toml",
        "failing-check.html",
        &[
            "--jobs",
            "100",
            "--seeds",
            "2",
            "--set",
            "client.handshake_timeout_ms=150",
            "--json",
            &p("b.json"),
        ],
    );
    let sweep = |page: &str, out: &str, params: &[&str]| {
        let (html, out) = (p(page), p(out));
        let mut args = vec![
            "sweep",
            "sims/issue407.toml",
            "-q",
            "--jobs",
            "50",
            "--seeds",
            "1",
            "--out",
            &out,
            "--html",
            &html,
        ];
        args.extend_from_slice(params);
        ok(&args);
    };
    sweep(
        "sweep-1d.html",
        "s1",
        &["--param", "client.handshake_timeout_ms=200..300:50"],
    );
    sweep(
        "sweep-2d.html",
        "s2",
        &[
            "--param",
            "client.handshake_timeout_ms=200,300",
            "--param",
            "storage.read_ms.uniform.1=80,140",
        ],
    );
    sweep(
        "swarm.html",
        "s3",
        &[
            "--swarm",
            "6",
            "--param",
            "client.handshake_timeout_ms=150..400",
            "--param",
            "storage.read_ms.uniform.1=75..200",
        ],
    );
    // `check` exits 1 on its failing checks: the page is what is wanted.
    let (code, _, err) = crate::exec(
        &[
            "check",
            "sims/issue407.toml",
            "-q",
            "--seeds",
            "2",
            "--jobs",
            "100",
            "--set",
            "client.handshake_timeout_ms=150",
            "--html",
            &p("check.html"),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    ok(&[
        "compare",
        &p("a.json"),
        &p("b.json"),
        "-q",
        "--html",
        &p("compare.html"),
    ]);
    ok(&[
        "decide",
        "sims/next-steps.toml",
        "-q",
        "--seeds",
        "1",
        "--set",
        "scenario.jobs=50",
        "--html",
        &p("decide.html"),
    ]);
    [
        "run",
        "faults",
        "race-378",
        "failing-check",
        "check",
        "sweep-1d",
        "sweep-2d",
        "swarm",
        "compare",
        "decide",
    ]
    .iter()
    .map(|n| dir.join(format!("{n}.html")))
    .collect()
}

#[test]
fn every_page_reads_in_a_real_browser_on_a_desktop_and_a_phone() {
    if let Err(why) = installed() {
        assert!(!required(), "the browser checks must run here but: {why}");
        let _ = writeln!(std::io::stderr(), "skipped: no page checker ({why})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = write_pages(dir.path());
    let Some((code, results)) = check(&pages) else {
        return;
    };
    let bad: Vec<String> = results
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(f, p)| format!("{f}:\n  {}", p.join("\n  ")))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!((code, results.len()), (0, pages.len()));
}

/// The checker fails what it should: a wide table outside a scroll box, an image that does not
/// load, a verdict in the old 3.87:1 orange; and passes the same page without them.
#[test]
fn the_page_checker_fails_each_planted_defect() {
    let dir = tempfile::tempdir().unwrap();
    let page = |name: &str, body: &str| {
        let path = dir.path().join(format!("{name}.html"));
        let html = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{name}</title></head><body>{body}</body></html>"
        );
        std::fs::write(&path, html).unwrap();
        path
    };
    let cells: String = (0..12)
        .map(|i| format!("<td>column {i} value</td>"))
        .collect();
    let table = format!("<table><tr>{cells}</tr></table>");
    let pages = [
        page("clean", "<p>fine</p><div style=\"overflow-x:auto\">TABLE</div>".replace("TABLE", &table).as_str()),
        page("overflow", &table),
        page("image", "<img src=\"missing.png\" alt=\"a plot\">"),
        page("contrast", "<table><tr><td data-verdict=\"fail\" style=\"color:#D55E00\">✗ critical</td></tr></table>"),
    ];
    let Some((code, results)) = check(&pages) else {
        return;
    };
    assert_eq!(code, 1);
    let problems = |name: &str| {
        results
            .iter()
            .find(|(f, _)| f.ends_with(&format!("{name}.html")))
            .map(|(_, p)| p.join("\n"))
            .unwrap_or_else(|| panic!("{name} not checked"))
    };
    assert_eq!(problems("clean"), "");
    assert!(
        problems("overflow").contains("not in a scroll box"),
        "{}",
        problems("overflow")
    );
    assert!(
        problems("image").contains("image did not load"),
        "{}",
        problems("image")
    );
    assert!(
        problems("contrast").contains("contrast 3.87:1 < 4.5:1"),
        "{}",
        problems("contrast")
    );
}
