//! What the outputs say about the figures (issue 11): an unmeasured latency is absent, the
//! seed that ran is the one shown, the uncensored server delta sits beside the censored client
//! one, points.csv carries every count of the run JSON, and check reports each failed check once.

fn run(args: &[&str]) -> (i32, String, String) {
    crate::exec(args, None)
}

fn json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn an_empty_latency_is_null_in_json_and_the_seed_that_ran_is_shown() {
    let v = json(&[
        "run",
        "sims/issue407.toml",
        "--jobs",
        "5",
        "--seed",
        "7",
        "--set",
        "client.handshake_timeout_ms=1",
        "--json",
        "-",
    ]);
    assert_eq!(v["seed"], 7);
    assert_eq!(
        v["scenario"]["scenario"]["seed"], 7,
        "the resolved scenario's seed"
    );
    for variant in v["variants"].as_array().unwrap() {
        assert!(variant["client_upgrade_ms"].is_null(), "{variant}");
    }
    for key in [
        "storage_ms",
        "upgrade_ms",
        "client_upgrade_ms",
        "paired_delta.upgrade_ms",
    ] {
        assert!(v["includes"][key].is_string(), "includes.{key}");
    }
}

#[test]
fn the_uncensored_server_delta_pairs_every_job_the_client_delta_only_the_upgraded() {
    let v = json(&["run", "sims/issue407.toml", "--jobs", "200", "--json", "-"]);
    let parallel = &v["variants"][1]["paired_delta"];
    let server = parallel["upgrade_ms"]["pairs"].as_u64().unwrap();
    let client = parallel["client_upgrade_ms"]["pairs"].as_u64().unwrap();
    assert_eq!(server, 200, "every job's upgrade is timed at the object");
    assert!(
        client < server,
        "the client's delta leaves out the jobs that timed out: {client}"
    );
    let (_, table, _) = run(&["run", "sims/issue407.toml", "--jobs", "200"]);
    assert!(
        table.contains("Δ upgrade_ms vs sequential (server, all)"),
        "{table}"
    );
    assert!(
        table.contains("Δ client_upgrade_ms vs sequential (101 in both)"),
        "{table}"
    );
}

#[test]
fn points_csv_has_every_count_of_the_run_json() {
    let dir = std::env::temp_dir().join(format!("hs-points-{}", std::process::id()));
    let (code, _, err) = run(&[
        "sweep",
        "sims/issue407.toml",
        "--param",
        "client.handshake_timeout_ms=200,300",
        "--seeds",
        "1",
        "--set",
        "scenario.jobs=10",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(dir.join("points.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for column in [
        "progress_duplicates",
        "progress_reordered",
        "unauthorized_accepts",
        "fault_object_crash",
        "fault_ack_before_token_write",
        "delta_upgrade_ms",
    ] {
        assert!(header.contains(&column), "{column} missing from {header:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_reports_a_failed_check_once_with_its_seeds_and_a_constant_bound() {
    let dir = std::env::temp_dir().join(format!("hs-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("never.toml");
    std::fs::write(
        &file,
        "[scenario]\nname = \"never\"\njobs = 5\nvariants = [\"parallel\"]\n\
         [storage]\nread_ms = { constant = 50 }\nput_populates_cache = false\n\
         [client]\nhandshake_timeout_ms = 1\n\
         [expect]\n\"parallel.p50_client_upgrade_ms\" = \"<= 100\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&["check", file.to_str().unwrap(), "--seeds", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    let failed = out.split("failed:").nth(1).expect("a failed section");
    let entries: Vec<&str> = failed
        .lines()
        .filter(|l| l.contains("expect parallel.p50_client_upgrade_ms"))
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one entry for the check, not one per seed:\n{out}"
    );
    assert!(entries[0].contains("seeds 1, 2, 3"), "{}", entries[0]);
    assert!(entries[0].contains("bound 100"), "{}", entries[0]);
    assert!(!out.contains("NaN"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A paired delta of one pair has no interval (issue 26, item 11): at a 193 ms deadline one
/// job got its 101 in both variants, and its difference was printed `[-76.0, -76.0]`, an
/// interval of zero width; now `[–]`, and `null` in the JSON.
#[test]
fn a_paired_delta_of_one_pair_has_no_interval() {
    let s = crate::load("issue407.toml", &["client.handshake_timeout_ms=193"]);
    let (report, _) = crate::report(&s, &[1]);
    let d = report.variants[1]
        .paired_delta
        .as_ref()
        .unwrap()
        .client_upgrade_ms
        .unwrap();
    assert_eq!(d.pairs, 1);
    assert_eq!((d.ci95_low, d.ci95_high), (None, None));
    let table = handshake_sim::internal::report::table(&report);
    assert!(table.contains("-76.0 [–]"), "{table}");
}

/// A request the client abandoned before the edge forwarded it never reached the object: it is
/// `canceled_at_edge`, not `canceled` ("canceled (server)": upgrades the object finished for a
/// client that was gone). With a deadline shorter than every upgrade, every job times out
/// once: the object's canceled upgrades are exactly its upgrade samples, and the two counts
/// together are every job. (Before, `canceled` was 400 at every deadline here, while the
/// object finished 13, 243, 369 and 397 upgrades.)
#[test]
fn a_request_abandoned_before_the_object_is_canceled_at_the_edge() {
    for deadline in ["10", "25", "40", "60"] {
        let set = format!("client.handshake_timeout_ms={deadline}");
        let v = json(&["run", "sims/issue407.toml", "--set", &set, "--json", "-"]);
        for variant in v["variants"].as_array().unwrap() {
            let at_object = variant["canceled"].as_u64().unwrap();
            let at_edge = variant["canceled_at_edge"].as_u64().unwrap();
            let upgrades = variant["upgrade_ms"]["count"].as_u64().unwrap();
            assert_eq!(at_object, upgrades, "deadline {deadline}: {variant}");
            assert_eq!(at_object + at_edge, 400, "deadline {deadline}");
            assert!(
                at_edge > 0,
                "deadline {deadline}: some never reached the object"
            );
        }
    }
}
