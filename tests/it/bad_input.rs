//! Malformed scenario files and arguments: exit code 2 and a message naming the place and the
//! key, never a panic. Each file in tests/bad/ states what its error must say on its first
//! line: `# expect: TEXT` (and `TEXT` may hold several fragments separated by ` && `).

fn run(args: &[&str]) -> (i32, String) {
    let (code, _, err) = crate::exec(args, None);
    (code, err)
}

fn check(args: &[&str], expect: &[&str]) {
    let (code, err) = run(args);
    assert_eq!(code, 2, "{args:?} exited {code}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: {err:?} does not contain {e:?}");
    }
}

#[test]
fn every_file_in_the_corpus_is_refused_with_its_message() {
    let dir = crate::root().join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is missing");
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no '# expect:' line", f.display()));
        let rel = format!("tests/bad/{}", f.file_name().unwrap().to_string_lossy());
        let mut fragments: Vec<&str> = expect.split(" && ").collect();
        fragments.push(&rel);
        check(&["run", &rel], &fragments);
    }
}

#[test]
fn bad_arguments_are_refused() {
    check(
        &["run", "sims/nope.toml"],
        &["sims/nope.toml", "cannot read"],
    );
    check(
        &["run", "sims/issue407.toml", "--set", "nokey"],
        &["--set", "KEY=VALUE"],
    );
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--set",
            "storage.read_ms={ uniform = [9, 1] }",
        ],
        &["--set", "storage.read_ms.uniform", "min 9 > max 1"],
    );
    check(
        &["run", "sims/issue407.toml", "--set", "client.retries=-1"],
        &["client.retries"],
    );
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--set",
            "storage.backend=postgres",
        ],
        &["storage.backend", "postgres"],
    );
    check(
        &["run", "sims/issue407.toml", "--variant", "fastest"],
        &["fastest", "unknown variant"],
    );
    check(
        &["run", "sims/issue407.toml", "--jobs", "0"],
        &["scenario.jobs"],
    );
    check(&["run", "sims/issue407.toml", "--seeds", "0"], &["--seeds"]);
    check(
        &["run", "sims/issue407.toml", "--log", "debug[[["],
        &["--log"],
    );
    check(&["run"], &["SCENARIO"]);
    check(
        &[
            "run",
            "sims/issue407.toml",
            "--variant",
            "parallel",
            "--variant",
            "parallel",
        ],
        &["--variant parallel", "given twice"],
    );
    check(&["probe", "http://127.0.0.1:99999"], &["port"]);
    check(&["probe", "http://192.0.2.1:8787"], &["--allow-remote"]);
    check(&["merge", "/nonexistent-dir"], &["cannot read"]);
    check(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms",
            "--target",
            "sequential.failure_rate=nan",
        ],
        &["not a finite number"],
    );
    check(
        &[
            "sweep",
            "sims/issue407.toml",
            "--param",
            "client.retries=1..100000000:1",
            "--out",
            "/tmp/never",
        ],
        &["exceed the limit of 100000"],
    );
}
