//! `docs/reference/commands.md` is generated from clap: the binary's `--help` and each command's
//! `--help`, as clap renders them. The test fails when the page is stale; with
//! `HANDSHAKE_SIM_BLESS=1` it rewrites the page instead (and still fails, so a CI run never
//! passes by rewriting).

/// The page the binary's help makes now.
fn generated() -> String {
    let help = |args: &[&str]| {
        let (code, out, err) = crate::exec(args, None);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let top = help(&["--help"]);
    let mut page = String::from(
        "# Command reference\n\n\
         Generated from the binary's `--help` (clap renders it from the commands' definitions in\n\
         `src/cli/`) by `tests/it/reference.rs`, which fails when this page is stale. Do not\n\
         edit it: after changing a command, run\n\
         `HANDSHAKE_SIM_BLESS=1 cargo test --release --test it reference`. Examples with their\n\
         output are in [Commands, with examples](../commands.md).\n\n\
         ## `handshake-sim`\n\n```text\n",
    );
    page.push_str(&top);
    page.push_str("```\n");
    for name in commands(&top) {
        page.push_str(&format!("\n## `handshake-sim {name}`\n\n```text\n"));
        page.push_str(&help(&[&name, "--help"]));
        page.push_str("```\n");
    }
    page
}

/// The commands the top-level help lists, in its order (`help` left out).
fn commands(top: &str) -> Vec<String> {
    top.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(String::from)
        .collect()
}

#[test]
fn the_command_reference_is_the_binarys_help() {
    let path = crate::root().join("docs/reference/commands.md");
    let page = generated();
    let stale = std::fs::read_to_string(&path).ok().as_deref() != Some(page.as_str());
    if stale && std::env::var_os("HANDSHAKE_SIM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &page).unwrap();
        panic!("{} rewritten; run the test again", path.display());
    }
    assert!(
        !stale,
        "{} is stale: run HANDSHAKE_SIM_BLESS=1 cargo test --release --test it reference",
        path.display()
    );
    assert!(commands(&page).len() >= 15, "commands went missing");
}
