//! `decide`: the write-up's next steps side by side on the same draws (sims/next-steps.toml),
//! each option's figures what `run` gives it alone, the ranking and its ties, the sweep, and
//! bad input refused before anything runs.

use crate::exec;

fn json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = exec(args, None);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn option<'a>(d: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    d["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no option {name}: {d:#}"))
}

#[test]
fn each_option_is_its_variant_run_alone_with_its_overrides_on_the_same_seeds() {
    let d = json(&[
        "decide",
        "sims/next-steps.toml",
        "--seeds",
        "2",
        "--json",
        "-",
    ]);
    let run = |variant: &str, sets: &[&str]| {
        let mut args = vec![
            "run",
            "sims/next-steps.toml",
            "--seeds",
            "2",
            "--variant",
            variant,
        ];
        for s in sets {
            args.extend(["--set", s]);
        }
        args.extend(["--json", "-"]);
        json(&args)["variants"][0].clone()
    };
    for (name, variant, sets) in [
        ("parallel", "parallel", &[][..]),
        ("kv-edge", "kv-edge", &[][..]),
        (
            "parallel, deadlines by network",
            "parallel",
            &[
                "network.types.1.handshake_timeout_ms=400",
                "network.types.2.handshake_timeout_ms=1000",
            ][..],
        ),
    ] {
        let alone = run(variant, sets);
        let o = option(&d, name);
        assert_eq!(
            o["summary"]["failure_rate"], alone["failure_rate"],
            "{name}"
        );
        assert_eq!(
            o["summary"]["client_upgrade_ms"], alone["client_upgrade_ms"],
            "{name}"
        );
        assert_eq!(o["summary"]["by_network"], alone["by_network"], "{name}");
    }
    // Ranked by failure rate, lowest first, numbered.
    let rates: Vec<f64> = d["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["benefit"]["failure_rate"]["value"].as_f64().unwrap())
        .collect();
    assert!(rates.windows(2).all(|w| w[0] <= w[1]), "{rates:?}");
    assert_eq!(d["options"][0]["rank"], 1);
    // The deadlines by network type fix what the handshake variants cannot: LTE and poor
    // networks miss a 240 ms deadline whatever the object does.
    assert_eq!(d["options"][0]["name"], "parallel, deadlines by network");
    // Same draws: memory in the object buys nothing its storage cache does not, and the
    // object's variants read no KV.
    let (p, m) = (option(&d, "parallel"), option(&d, "memory-cache"));
    assert_eq!(p["benefit"]["failure_rate"], m["benefit"]["failure_rate"]);
    assert_eq!(p["tied_with_best"], m["tied_with_best"]);
    assert_eq!(p["costs"]["kv_reads"]["mean"], 0.0);
    assert!(
        option(&d, "kv-edge")["costs"]["kv_reads"]["mean"]
            .as_f64()
            .unwrap()
            >= 1.0
    );
    // The edge cache answers sooner, and leaves a revoked token usable at another location
    // for most of a cacheTtl.
    let kv = option(&d, "kv-edge");
    let p95 = |o: &serde_json::Value| {
        o["benefit"]["p95_client_upgrade_ms"]["value"]
            .as_u64()
            .unwrap()
    };
    assert!(p95(kv) < p95(p), "{kv:#}");
    assert!(
        kv["costs"]["stale_window_ms_max"].as_f64().unwrap() > 30_000.0,
        "{kv:#}"
    );
    assert_eq!(p["costs"]["stale_accepts"], 0.0);
    // Fewer storage operations where the object reads less.
    let ops = |n: &str| {
        option(&d, n)["costs"]["storage_ops"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(ops("memory-cache") < ops("parallel") && ops("kv-edge") < ops("memory-cache"));
}

#[test]
fn ties_with_the_best_are_marked_by_the_interval_of_the_difference() {
    // Every object warm (no restart): every handshake variant reads its cached token, so the
    // object's variants fail alike, tied with each other.
    let d = json(&[
        "decide",
        "sims/next-steps.toml",
        "--seeds",
        "1",
        "--set",
        "object.restart_probability=0.0",
        "--set",
        "decide.sweep=[]",
        "--json",
        "-",
    ]);
    assert!(d["sweep"].is_null(), "no sweep asked for: {d:#}");
    let opts = d["options"].as_array().unwrap();
    assert_eq!(
        opts[0]["tied_with_best"], false,
        "the best is not tied with itself"
    );
    let seq = option(&d, "sequential");
    let par = option(&d, "parallel");
    assert_eq!(
        seq["benefit"]["failure_rate"],
        par["benefit"]["failure_rate"]
    );
    assert_eq!(seq["tied_with_best"], par["tied_with_best"]);
    // Far from the best (deadlines by network): not tied.
    assert_eq!(seq["tied_with_best"], false, "{d:#}");

    // Every object cold: memory-cache reads as parallel does, so it cannot be told from it.
    let d = json(&[
        "decide",
        "sims/next-steps.toml",
        "--seeds",
        "1",
        "--set",
        "object.restart_probability=1.0",
        "--set",
        "decide.sweep=[]",
        "--set",
        "decide.options=[{name=\"a\",variant=\"parallel\"},{name=\"b\",variant=\"memory-cache\"},{name=\"c\",variant=\"sequential\"}]",
        "--json",
        "-",
    ]);
    let names: Vec<&str> = d["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(option(&d, "b")["tied_with_best"], true, "{d:#}");
    assert_eq!(option(&d, "c")["tied_with_best"], false, "{d:#}");
}

#[test]
fn the_sweep_says_where_the_edge_cache_beats_the_objects_reads() {
    let d = json(&[
        "decide",
        "sims/next-steps.toml",
        "--seeds",
        "1",
        "--json",
        "-",
    ]);
    let s = &d["sweep"];
    assert_eq!(s["points"].as_array().unwrap().len(), 9, "{s:#}");
    let at = |moved: &str, cold: &str, name: &str| -> f64 {
        let p = s["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["values"][0][1] == moved && p["values"][1][1] == cold)
            .unwrap();
        p["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f[0] == name)
            .unwrap()[1]
            .as_f64()
            .unwrap()
    };
    // Every object cold and no phone moving: the edge answers from its cache, the object
    // reads storage; warm objects and moving phones: the object's cache wins.
    assert!(at("0.0", "1.0", "kv-edge") < at("0.0", "1.0", "parallel"));
    assert!(at("1.0", "0.0", "kv-edge") > at("1.0", "0.0", "parallel"));
}

#[test]
fn the_text_and_the_page_state_the_ranking_the_costs_and_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("decision.html");
    let (code, out, err) = exec(
        &[
            "decide",
            "sims/next-steps.toml",
            "--seeds",
            "1",
            "--html",
            page.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    for line in [
        "ranked by failure_rate, lowest first",
        "1. parallel, deadlines by network",
        "storage ops/job",
        "stale window max ms",
        "failure rate by network [95% CI]",
        "where the best changes",
        "reproduce: handshake-sim decide sims/next-steps.toml --seed 1 --seeds 1",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h2>Where the best changes</h2>"), "{html}");
    assert!(
        html.contains(
            "handshake-sim sweep sims/next-steps.toml --param kv.move_probability=0..1:0.5"
        ),
        "{html}"
    );
    // Byte-identical again.
    let again = dir.path().join("again.html");
    let (code, _, _) = exec(
        &[
            "decide",
            "sims/next-steps.toml",
            "--seeds",
            "1",
            "--html",
            again.to_str().unwrap(),
            "--quiet",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(html, std::fs::read_to_string(&again).unwrap());
}

#[test]
fn bad_decide_input_exits_2_naming_what_to_fix() {
    for (args, want) in [
        (
            vec!["decide", "sims/issue407.toml"],
            "has no [decide] options",
        ),
        (
            vec![
                "decide",
                "sims/next-steps.toml",
                "--set",
                "decide.rank_by=\"speed\"",
            ],
            "decide.rank_by",
        ),
        (
            vec![
                "decide",
                "sims/next-steps.toml",
                "--set",
                "decide.sweep=[\"kv.move_probability\"]",
            ],
            "decide.sweep",
        ),
        (
            vec![
                "decide",
                "sims/next-steps.toml",
                "--set",
                "decide.options.1.set=[\"client.handshake_timout_ms=3\"]",
            ],
            "handshake_timout_ms",
        ),
        (
            vec![
                "decide",
                "sims/next-steps.toml",
                "--set",
                "decide.options.1.name=\"sequential\"",
            ],
            "is named twice",
        ),
        (
            vec!["decide", "sims/next-steps.toml", "--seeds", "900"],
            "exceed the limit",
        ),
        (
            vec!["decide", "sims/next-steps.toml", "--set", "decide.rank_by=\"ok\""],
            "of which less is better",
        ),
        (
            vec![
                "decide",
                "sims/next-steps.toml",
                "--set",
                "decide.options.1.set=[\"scenario.jobs=10\"]",
            ],
            "may not change [scenario]",
        ),
        (
            // 80,000 values a parameter: the grid is counted, never built.
            vec![
                "decide",
                "sims/next-steps.toml",
                "--set",
                "decide.sweep=[\"kv.move_probability=0..1:0.0000125\",\"object.restart_probability=0..1:0.0000125\"]",
            ],
            "decide.sweep: the grid's points",
        ),
    ] {
        let (code, _, err) = exec(&args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn the_last_seed_wraps_and_a_type_no_job_drew_has_no_rate() {
    let d = json(&[
        "decide",
        "sims/next-steps.toml",
        "--seed",
        "18446744073709551615",
        "--seeds",
        "2",
        "--set",
        "scenario.jobs=20",
        "--set",
        "decide.sweep=[\"kv.move_probability=0,1\"]",
        "--json",
        "-",
    ]);
    assert_eq!(
        d["sweep"]["seeds"],
        serde_json::json!([18446744073709551615u64, 0])
    );
    // One job: too few for an interval (absent, not of zero width), and the types that drew
    // no job show no rate.
    let args = [
        "decide",
        "sims/next-steps.toml",
        "--seeds",
        "1",
        "--set",
        "scenario.jobs=1",
        "--set",
        "decide.sweep=[]",
    ];
    let one = json(&[&args[..], &["--json", "-"]].concat());
    let o = &one["options"][0];
    assert!(o["costs"]["storage_ops"].is_null(), "{o:#}");
    let (code, out, _) = exec(&args, None);
    assert_eq!(code, 0);
    assert!(!out.contains("0.0% [0.0–100.0]"), "{out}");
}
