//! The researcher workflow: grid expansion, sweeps (thread-count independent), shards and
//! merge, plots and HTML, replay, fit, calibrate, swarm.

use std::path::{Path, PathBuf};

use handshake_sim::internal::calibrate::calibrate;
use handshake_sim::internal::sweep::{ParamSpec, SweepDef};

fn bin(args: &[&str], threads: Option<&str>) -> (i32, String, String) {
    crate::exec(args, threads)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn grid_specs_expand_in_order() {
    let check = |arg: &str, want: &[&str]| {
        let p = ParamSpec::grid(arg).unwrap();
        assert_eq!(p.values, want, "{arg}");
    };
    check("client.retries=1,2,5", &["1", "2", "5"]);
    check(
        "client.handshake_timeout_ms=50..300:125",
        &["50", "175", "300"],
    );
    check(
        "client.handshake_timeout_ms=50..301:125",
        &["50", "175", "300"],
    );
    check(
        "object.restart_probability=0..1:0.25",
        &["0.0", "0.25", "0.5", "0.75", "1.0"],
    );
    check(
        "storage.read_ms=[{ uniform = [50, 100] }, { constant = 5 }]",
        &["{ uniform = [50, 100] }", "{ constant = 5 }"],
    );
    check("storage.backend=kv,sqlite", &["kv", "sqlite"]);
    for bad in [
        "nokey",
        "a.b=",
        "a.b=10..5:1",
        "a.b=1..5:0",
        "a.b=[1, 2",
        "a.b=1..x:1",
    ] {
        assert!(ParamSpec::grid(bad).is_err(), "{bad} should not parse");
    }
    let def = SweepDef {
        scenario_file: "x".into(),
        sets: vec![],
        params: vec![
            ParamSpec::grid("a.x=1,2").unwrap(),
            ParamSpec::grid("a.y=7,8,9").unwrap(),
        ],
        variants: vec![handshake_sim::internal::names::VariantId::Parallel],
        seeds: vec![1],
        swarm: None,
        swarm_seed: 1,
    };
    let pts = def.points();
    assert_eq!(pts.len(), 6);
    assert_eq!(
        pts[0],
        vec![("a.x".into(), "1".into()), ("a.y".into(), "7".into())]
    );
    assert_eq!(
        pts[5],
        vec![("a.x".into(), "2".into()), ("a.y".into(), "9".into())]
    );
}

const GRID: [&str; 10] = [
    "sweep",
    "sims/issue407.toml",
    "--seeds",
    "3",
    "--set",
    "scenario.jobs=40",
    "--param",
    "storage.read_ms.uniform.1=90,130",
    "--param",
    "client.handshake_timeout_ms=200..300:50",
];

#[test]
fn a_2d_sweep_writes_every_row_and_is_thread_count_independent() {
    let (one, many) = (tmp("sweep-1"), tmp("sweep-n"));
    let run = |dir: &Path, threads: Option<&str>| {
        let mut args = GRID.to_vec();
        let d = dir.to_str().unwrap();
        args.extend(["--out", d]);
        let (code, out, err) = bin(&args, threads);
        assert_eq!(code, 0, "{out}{err}");
        out
    };
    let out = run(&one, Some("1"));
    run(&many, None);
    assert!(out.contains("worst points for sequential"), "{out}");
    let csv = read(&one.join("points.csv"));
    assert_eq!(
        csv,
        read(&many.join("points.csv")),
        "CSV differs between 1 and N threads"
    );
    assert_eq!(
        read(&one.join("sweep.json")),
        read(&many.join("sweep.json"))
    );
    // 2 × 3 grid points × 2 variants, plus the header.
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        2 * 3 * 2 + 1
    );
    for f in ["heatmap-sequential.svg", "heatmap-parallel.svg"] {
        let svg = String::from_utf8(read(&one.join(f))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("client.handshake_timeout_ms"),
            "{f}"
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&read(&one.join("sweep.json"))).unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), 6);
    assert_eq!(json["base"]["scenario"]["jobs"], 40);
    let _ = std::fs::remove_dir_all(&one);
    let _ = std::fs::remove_dir_all(&many);
}

#[test]
fn two_shards_merged_equal_the_unsharded_sweep() {
    let (whole, s1, s2, merged) = (tmp("whole"), tmp("s1"), tmp("s2"), tmp("merged"));
    for (dir, shard) in [(&whole, None), (&s1, Some("1/2")), (&s2, Some("2/2"))] {
        let mut args = GRID.to_vec();
        args.extend(["--out", dir.to_str().unwrap()]);
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let (code, out, err) = bin(&args, None);
        assert_eq!(code, 0, "{out}{err}");
    }
    let (code, out, err) = bin(
        &[
            "merge",
            s1.to_str().unwrap(),
            s2.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    for f in [
        "points.csv",
        "sweep.json",
        "heatmap-sequential.svg",
        "heatmap-parallel.svg",
    ] {
        assert_eq!(read(&whole.join(f)), read(&merged.join(f)), "{f} differs");
    }
    // A missing shard is refused.
    let (code, _, err) = bin(
        &[
            "merge",
            s1.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("shard 2/2 is missing"), "{err}");
    for d in [whole, s1, s2, merged] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_1d_sweep_plots_lines_and_a_swarm_reports_worst_points() {
    let dir = tmp("line");
    let html = dir.join("sweep.html");
    let (code, out, err) = bin(
        &[
            "sweep",
            "sims/issue407.toml",
            "--seeds",
            "2",
            "--set",
            "scenario.jobs=30",
            "--param",
            "client.handshake_timeout_ms=220,260",
            "--out",
            dir.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    let svg = String::from_utf8(read(&dir.join("failure-rate.svg"))).unwrap();
    assert!(
        svg.contains("sequential") && svg.contains("failure rate"),
        "legend and axis label"
    );
    let page = String::from_utf8(read(&html)).unwrap();
    assert!(page.contains("<svg") && page.contains("<table"));
    assert!(
        !page.contains("src=") && !page.contains("<link"),
        "the page loads nothing"
    );

    let swarm = tmp("swarm");
    let args = [
        "sweep",
        "sims/issue407.toml",
        "--seeds",
        "1",
        "--set",
        "scenario.jobs=30",
        "--swarm",
        "6",
        "--param",
        "storage.read_ms.uniform.1=75..200",
        "--param",
        "client.handshake_timeout_ms=150..400",
        "--out",
        swarm.to_str().unwrap(),
    ];
    let (code, out, err) = bin(&args, None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("worst points for parallel"), "{out}");
    let csv = String::from_utf8(read(&swarm.join("points.csv"))).unwrap();
    assert_eq!(csv.lines().count(), 6 * 2 + 1);
    let (_, again, _) = bin(&args, None);
    assert_eq!(out, again, "a swarm is drawn from the seed");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&swarm);
}

#[test]
fn run_writes_plots_and_a_self_contained_page() {
    let dir = tmp("runplots");
    let html = dir.join("run.html");
    let (code, out, err) = bin(
        &[
            "run",
            "sims/issue407.toml",
            "--jobs",
            "50",
            "--plots",
            dir.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("worst job: handshake-sim replay sims/issue407.toml --seed 1 --job "),
        "{out}"
    );
    let cdf = String::from_utf8(read(&dir.join("upgrade-cdf.svg"))).unwrap();
    let deadline_ms = crate::load("issue407.toml", &[])
        .client
        .handshake_timeout_ms;
    assert!(
        cdf.contains(&format!("client deadline {deadline_ms} ms")) && cdf.contains("issue407"),
        "deadline and title"
    );
    assert!(dir.join("storage-histogram.svg").exists());
    let page = String::from_utf8(read(&html)).unwrap();
    // Two plots and the worst job's timeline.
    assert!(page.contains("failure rate") && page.matches("<svg").count() == 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_shows_the_reads_back_to_back_and_the_deadline_passing() {
    let s = crate::load("issue407.toml", &["scenario.jobs=40"]);
    let v = handshake_sim::internal::server::variant::by_name("sequential").unwrap();
    let run = handshake_sim::internal::sim::run(&s, v, 1).unwrap();
    let failed = run
        .records
        .iter()
        .find(|r| r.outcome == Some(handshake_sim::internal::record::Outcome::HandshakeTimeout))
        .expect("issue407 has failed sequential jobs");
    // Through the CLI: a scoped tracing subscriber alone in its process (see determinism.rs).
    let job = failed.job.to_string();
    let (code, out, err) = bin(
        &[
            "replay",
            "sims/issue407.toml",
            "--jobs",
            "40",
            "--seed",
            "1",
            "--job",
            &job,
            "--variant",
            "sequential",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines()
            .next()
            .unwrap()
            .ends_with("handshake_timeout after 1 attempt(s)"),
        "{out}"
    );
    let t_of = |needle: &str| -> u64 {
        let line = out
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{out}"));
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    let token_end = t_of("storage read end keys=[\"authToken\"]");
    let exp_start = t_of("storage read start keys=[\"authTokenExpiration\"]");
    assert_eq!(
        token_end, exp_start,
        "the second read starts when the first ends:\n{out}"
    );
    let deadline = out
        .lines()
        .find(|l| l.contains("deadline passed before the 101"))
        .unwrap();
    let after = format!("after_ms={}", s.client.handshake_timeout_ms);
    assert!(
        deadline.contains(" fleet ") && deadline.contains(&after),
        "{deadline}"
    );
    assert!(t_of("POST /api/enrichment/batch") <= t_of("deadline passed"));
    let times: Vec<u64> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
}

#[test]
fn fit_finds_a_known_answer() {
    // Batched reads one uniform [0, hi] draw: the mean storage time is hi / 2.
    let (code, out, err) = bin(
        &[
            "fit",
            "sims/issue407.toml",
            "--set",
            "scenario.jobs=200",
            "--set",
            "storage.read_ms={ uniform = [0, 200] }",
            "--param",
            "storage.read_ms.uniform.1",
            "--target",
            "batched.mean_storage_ms=60",
            "--range",
            "20..400",
            "--seeds",
            "2",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("storage.read_ms.uniform.1 = "))
        .unwrap();
    let v: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!((v - 120.0).abs() <= 4.0, "{out}");

    // A failure rate gets an interval from its confidence bounds.
    let (code, out, err) = bin(
        &[
            "fit",
            "sims/issue407.toml",
            "--set",
            "scenario.jobs=200",
            "--param",
            "client.handshake_timeout_ms",
            "--target",
            "sequential.failure_rate=0.35",
            "--range",
            "200..300",
            "--seeds",
            "2",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("values whose 95% interval contains the target"),
        "{out}"
    );
    let (code, _, err) = bin(
        &[
            "fit",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms",
            "--target",
            "sequential.failure_rate=0.35",
            "--range",
            "280..300",
        ],
        None,
    );
    assert_eq!(code, 1, "not bracketed is a failed fit: {err}");
    assert!(err.contains("widen --range"), "{err}");
}

/// `fit` of the mean storage time on seeds `first..first+4`, as JSON.
fn fit_mean_storage(first: u64) -> serde_json::Value {
    let first = first.to_string();
    let (code, out, err) = bin(
        &[
            "fit",
            "sims/issue407.toml",
            "--set",
            "scenario.jobs=30",
            "--param",
            "storage.read_ms.uniform.1",
            "--target",
            "sequential.mean_storage_ms=170",
            "--range",
            "80..150",
            "--seed",
            &first,
            "--seeds",
            "5",
            "--json",
            "-",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn fit_interval_of_a_mean_covers_fits_on_fresh_seeds() {
    // A mean has no interval of its own; the fit's comes from fits on blocks of its seeds,
    // and must hold what fits on disjoint seed blocks find (the bisection bracket alone is
    // ~0.007 ms wide, hundreds of times narrower than their spread).
    let repeats: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = [6, 11, 16]
            .map(|first| s.spawn(move || fit_mean_storage(first)["value"].as_f64().unwrap()))
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = fit_mean_storage(1);
    let (lo, hi) = (
        first["interval"][0].as_f64().unwrap(),
        first["interval"][1].as_f64().unwrap(),
    );
    assert!(hi - lo > 0.5, "an honest width: {first:#}");
    let inside = repeats.iter().filter(|&&v| lo <= v && v <= hi).count();
    assert!(inside >= 2, "{repeats:?} vs [{lo}, {hi}]: {first:#}");
    // The new fields, and the old keys kept.
    let spread = &first["spread"];
    assert_eq!(spread["blocks"].as_array().unwrap().len(), 5, "{first:#}");
    assert_eq!(spread["blocks"][0]["seeds"], serde_json::json!([1]));
    assert!(spread["sd"].as_f64().unwrap() > 0.0);
    for key in [
        "value",
        "achieved",
        "from_confidence",
        "evaluations",
        "bracket",
        "runs",
    ] {
        assert!(first.get(key).is_some(), "{key}: {first:#}");
    }
    assert!(
        first["achieved"]["ci95_low"].is_null(),
        "a mean has no CI of its own"
    );
}

#[test]
fn fit_of_a_flat_figure_is_not_monotone_not_widen_range() {
    // The number of jobs does not move with the timeout at all.
    let (code, out, err) = bin(
        &[
            "fit",
            "sims/issue407.toml",
            "--set",
            "scenario.jobs=10",
            "--param",
            "client.handshake_timeout_ms",
            "--target",
            "sequential.jobs=5",
            "--range",
            "200..300",
            "--seeds",
            "1",
        ],
        None,
    );
    assert_eq!(code, 1, "a failed fit: {out}{err}");
    assert!(err.contains("not monotone in this range"), "{err}");
    assert!(err.contains("10 at 250"), "what was seen: {err}");
    assert!(!err.contains("widen --range"), "{err}");
}

#[test]
fn calibrate_reads_logs_and_counts_malformed_lines() {
    let log = r#"2025-11-12 [job-a] 📊 WebSocket upgrade timing: { storageDuration: "150ms", pairCreation: "1ms", accept: "0ms", totalUpgrade: "160ms" }
some other line
[job-b] 📊 WebSocket upgrade timing: { storageDuration: "181ms", totalUpgrade: "190ms" }
[job-c] 📊 WebSocket upgrade timing: { storageDuration: "abcms" }
[job-d] 📊 WebSocket upgrade timing: { totalUpgrade: "190ms" }
[job-e] 📊 WebSocket upgrade timing: { storageDuration: 175ms }
"#;
    let c = calibrate(log.as_bytes(), true).unwrap();
    // Sequential: three totals deconvolved into three per-read quantiles, ascending.
    assert_eq!(c.samples_ms.len(), 3, "{:?}", c.samples_ms);
    assert!(
        c.samples_ms.windows(2).all(|w| w[0] <= w[1]),
        "{:?}",
        c.samples_ms
    );
    assert!(c.deconvolution.is_some());
    assert_eq!(c.candidates, 5);
    assert_eq!(
        c.malformed.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![4, 5]
    );
    let snippet = handshake_sim::internal::report::snippet::calibration(&c, "x.log");
    assert!(snippet.contains("by maximum likelihood"), "{snippet}");
    // The snippet is a valid scenario with that distribution.
    let s = crate::scenario(&snippet);
    assert_eq!(
        s.storage.read_ms,
        handshake_sim::internal::scenario::Dist::Empirical(c.samples_ms.clone())
    );
    let unhalved = calibrate(log.as_bytes(), false).unwrap();
    assert_eq!(unhalved.samples_ms, vec![150.0, 181.0, 175.0]);

    let csv = calibrate("job,storage_ms\n1,80\n2,x\n3,\n4,90.5\n".as_bytes(), false).unwrap();
    assert_eq!(csv.format, "csv");
    assert_eq!(csv.samples_ms, vec![80.0, 90.5]);
    assert_eq!(csv.malformed.len(), 2);
}

/// A sequential log of `jobs` upgrades whose two reads are drawn from `law` (continuous, ms);
/// each line's storageDuration is their sum in whole ms, as `Date.now()` differences are.
fn sequential_log(law: &impl rand_distr::Distribution<f64>, jobs: usize, seed: u64) -> String {
    use rand::SeedableRng as _;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut log = String::new();
    for job in 0..jobs {
        let storage = (law.sample(&mut rng) + law.sample(&mut rng)).round();
        log.push_str(&format!(
            "[job-{job}] 📊 WebSocket upgrade timing: {{ storageDuration: \"{storage}ms\", pairCreation: \"1ms\", accept: \"0ms\", totalUpgrade: \"{}ms\" }}\n",
            storage + 8.0
        ));
    }
    log
}

/// (mean, population sd, p95) of samples, ms.
fn mean_sd_p95(samples: &[f64]) -> [f64; 3] {
    use statrs::statistics::{Data, OrderStatistics as _, Statistics as _};
    [
        samples.iter().mean(),
        samples.iter().population_std_dev(),
        Data::new(samples.to_vec()).quantile(0.95),
    ]
}

#[test]
fn calibrate_sequential_recovers_per_read_mean_sd_and_p95_within_5_percent() {
    use statrs::distribution::{ContinuousCDF as _, LogNormal, Uniform};
    use statrs::statistics::Distribution as _;
    let truth = |mean: Option<f64>, sd: Option<f64>, p95: f64| [mean.unwrap(), sd.unwrap(), p95];
    let uniform = Uniform::new(50.0, 100.0).unwrap();
    let lognormal = LogNormal::new(40f64.ln(), 0.5).unwrap();
    let laws = [
        (
            "uniform [50, 100]",
            sequential_log(&rand_distr::Uniform::new(50.0, 100.0).unwrap(), 8000, 11),
            truth(uniform.mean(), uniform.std_dev(), uniform.inverse_cdf(0.95)),
        ),
        (
            "lognormal median 40, sigma 0.5",
            sequential_log(
                &rand_distr::LogNormal::new(40f64.ln(), 0.5).unwrap(),
                8000,
                12,
            ),
            truth(
                lognormal.mean(),
                lognormal.std_dev(),
                lognormal.inverse_cdf(0.95),
            ),
        ),
    ];
    let names = ["mean", "sd", "p95"];
    for (law, log, want) in &laws {
        let c = calibrate(log.as_bytes(), true).unwrap();
        assert_eq!(c.samples_ms.len(), 8000, "{law}");
        // Through the scenario loader, as a researcher would use it.
        let s = crate::scenario(&handshake_sim::internal::report::snippet::calibration(
            &c,
            "synthetic.log",
        ));
        let handshake_sim::internal::scenario::Dist::Empirical(per_read) = &s.storage.read_ms
        else {
            panic!("{law}: not empirical: {:?}", s.storage.read_ms);
        };
        let got = mean_sd_p95(per_read);
        let halved: Vec<f64> = calibrate(log.as_bytes(), false)
            .unwrap()
            .samples_ms
            .iter()
            .map(|v| v / 2.0)
            .collect();
        let old = mean_sd_p95(&halved);
        for i in 0..3 {
            let err = got[i] / want[i] - 1.0;
            eprintln!(
                "{law}: {}: truth {:.2}, deconvolved {:.2} ({:+.1}%), halved {:.2} ({:+.1}%)",
                names[i],
                want[i],
                got[i],
                100.0 * err,
                old[i],
                100.0 * (old[i] / want[i] - 1.0)
            );
            assert!(
                err.abs() <= 0.05,
                "{law}: per-read {} {:.2} vs true {:.2}",
                names[i],
                got[i],
                want[i]
            );
        }
        // Halving, the old method, misses the sd by far more than 5%.
        assert!(old[1] / want[1] < 0.8, "{law}: halved sd {:.2}", old[1]);
    }
}
