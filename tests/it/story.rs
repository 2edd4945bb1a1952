//! The story the HTML report and the plots tell, checked by structure (not pixels): the
//! headline's figures, the verdict rows, the write-up's figures, the worst job's timeline;
//! the deadline line, the legend outside the data, the palette, the sweep plots, stale plots
//! removed from a reused directory, and the same bytes for the same run.

use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hs-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = crate::exec(args, None);
    assert_eq!(code, 0, "{args:?}\n{out}{err}");
    out
}

/// The `<text>` elements of a plotters SVG: x, y and content.
fn texts(svg: &str) -> Vec<(f64, f64, String)> {
    svg.split("<text ")
        .skip(1)
        .map(|t| {
            let attr = |name: &str| -> f64 {
                let at = t.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                t[at..].split('"').next().unwrap().parse().unwrap()
            };
            let body = t.split_once('>').unwrap().1;
            let body = body.split("</text>").next().unwrap().trim().to_string();
            (attr("x"), attr("y"), body)
        })
        .collect()
}

/// A `<polyline>`: stroke, stroke width and points.
type Polyline = (String, String, Vec<(f64, f64)>);

fn polylines(svg: &str) -> Vec<Polyline> {
    svg.split("<polyline ")
        .skip(1)
        .map(|p| {
            let attr = |name: &str| -> String {
                let at = p.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                p[at..].split('"').next().unwrap().to_string()
            };
            let points = attr("points")
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            (attr("stroke"), attr("stroke-width"), points)
        })
        .collect()
}

#[test]
fn the_run_page_tells_the_story_and_the_plots_keep_legend_and_deadline_clear() {
    let dir = tmp("run");
    let (html, json) = (dir.join("run.html"), dir.join("run.json"));
    let plots = dir.join("plots");
    let args = [
        "run",
        "sims/issue407.toml",
        "--jobs",
        "120",
        "--seeds",
        "2",
        "--json",
        json.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ];
    ok(&args);
    let page = read(&html);
    let j: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    let rate = |i: usize| j["variants"][i]["failure_rate"]["value"].as_f64().unwrap() * 100.0;
    let storage = j["variants"][1]["paired_delta"]["storage_ms"]["mean"]
        .as_f64()
        .unwrap();
    // Each rate says how its jobs failed, in the outcomes' order.
    let causes = |i: usize| {
        let c: Vec<String> = [
            "handshake_timeout",
            "ping_timeout",
            "rejected",
            "server_error",
            "network_error",
        ]
        .iter()
        .filter_map(|o| {
            let n = j["variants"][i]["outcomes"][o].as_u64().unwrap();
            (n > 0).then(|| format!("{n} {o}"))
        })
        .collect();
        if c.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.join(", "))
        }
    };
    assert!(!causes(0).is_empty());
    let headline = format!(
        "<p class=\"headline\">sequential {:.1}%{} → parallel {:.1}%{} failed; parallel vs sequential: storage {}",
        rate(0),
        causes(0),
        rate(1),
        causes(1),
        format!("{storage:+.1} ms").replace('-', "−")
    );
    assert!(page.contains(&headline), "{headline}\n{page}");
    // Verdicts: every SLO and expectation, with its bound and measured value.
    assert!(page.contains("<h2 id=\"verdicts\">Verdicts</h2>"));
    assert!(
        page.contains("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">")
    );
    assert!(page.contains("<td>expect sequential.failure_rate &gt;= 0.25</td><td>sequential</td>"));
    assert!(page.contains("<td>slo silent_failure_rate</td><td>parallel</td>"));
    assert!(page.contains("<td>warning &gt; 0, critical &gt; 0.01</td>"));
    // The write-up's figures beside the simulated ones, from [reported].
    let seq = format!("{:.1}%", rate(0));
    assert!(
        page.contains(&format!(
            "<td>sequential.failure_rate</td><td>30.0%–40.0%</td><td>{seq}</td>"
        )),
        "{page}"
    );
    // What each row means, and the worst job's timeline with its deadline.
    assert!(page.contains("title=\"jobs not ok / jobs, with a 95% Wilson score interval\""));
    assert!(page.contains("<h2>Worst job: sequential job "));
    assert!(page.contains("class=\"timeline\"") && page.contains("class=\"deadline\""));
    assert!(page.contains("handshake 240 ms") || page.contains("handshake 24"));
    assert!(!page.contains("src=") && !page.contains("<link") && !page.contains("<script"));

    let cdf = read(&plots.join("upgrade-cdf.svg"));
    let lines = polylines(&cdf);
    // The deadline: a thick black vertical line over the whole plot, labelled.
    let deadline = lines
        .iter()
        .find(|(s, w, p)| s == "#000000" && w == "3" && p.len() == 2 && p[0].0 == p[1].0)
        .expect("a vertical black deadline line");
    assert!(
        (deadline.2[0].1 - deadline.2[1].1).abs() > 300.0,
        "{deadline:?}"
    );
    let t = texts(&cdf);
    assert!(t.iter().any(|(_, _, s)| s == "deadline 240 ms"));
    // The legend lies right of every curve point: outside the data.
    let curve_max_x = lines
        .iter()
        .filter(|(_, _, p)| p.len() > 2)
        .flat_map(|(_, _, p)| p.iter().map(|q| q.0))
        .fold(0.0, f64::max);
    for name in ["sequential", "parallel", "client deadline 240 ms"] {
        let (x, _, _) = t.iter().find(|(_, _, s)| s == name).expect(name);
        assert!(
            *x > curve_max_x,
            "{name} at x {x}, curves reach {curve_max_x}"
        );
    }
    // The Okabe–Ito palette, not red and green.
    for c in ["#0072B2", "#D55E00"] {
        assert!(cdf.contains(&format!("stroke=\"{c}\"")), "{c}");
    }
    assert!(!cdf.contains("#FF0000") && !cdf.contains("#00FF00"));

    // The same run, the same bytes.
    let again = tmp("run-again");
    let html2 = again.join("run.html");
    let mut args2 = args;
    args2[7] = "/dev/null";
    let plots2 = again.join("plots");
    args2[9] = plots2.to_str().unwrap();
    args2[11] = html2.to_str().unwrap();
    ok(&args2);
    assert_eq!(page, read(&html2), "HTML differs between two runs");
    for f in ["upgrade-cdf.svg", "storage-histogram.svg"] {
        assert_eq!(read(&plots.join(f)), read(&plots2.join(f)), "{f} differs");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&again);
}

/// A check that fails is unmistakable: the page says how many fail at its top, lists the
/// failing rows first, marks each with a symbol and a word (not only a colour), and `run`
/// says so on stderr while it still exits 0.
#[test]
fn a_failing_check_is_said_at_the_top_listed_first_and_on_stderr() {
    let dir = tmp("failing");
    let html = dir.join("run.html");
    let args = [
        "run",
        "sims/issue407.toml",
        "--jobs",
        "120",
        "--set",
        "client.handshake_timeout_ms=150",
        "--html",
        html.to_str().unwrap(),
    ];
    let (code, _, err) = crate::exec(&args, None);
    assert_eq!(code, 0, "run is not the gate: {err}");
    assert!(
        err.contains(
            "warning: 3 of 13 checks fail on the pooled seeds: slo canceled_rate (parallel: "
        ),
        "{err}"
    );
    assert!(
        err.contains("the gate is `handshake-sim check sims/issue407.toml --seed 1 --seeds 1 --set client.handshake_timeout_ms=150 --jobs 120`"),
        "{err}"
    );
    // The gate it names does fail.
    let gate = [
        "check",
        "sims/issue407.toml",
        "--seed",
        "1",
        "--seeds",
        "1",
        "--set",
        "client.handshake_timeout_ms=150",
        "--jobs",
        "120",
    ];
    assert_eq!(crate::exec(&gate, None).0, 1);
    let page = read(&html);
    let summary = "<p class=\"summary\" data-verdict=\"fail\"><a href=\"#verdicts\">✗ 3 of 13 checks fail</a> on the pooled seeds.";
    let at = page.find(summary).unwrap_or_else(|| panic!("{page}"));
    assert!(
        at < page.find("class=\"headline\"").unwrap(),
        "the summary comes first"
    );
    // The verdict rows: the three failures, then the passes.
    let rows: Vec<&str> = page
        .split("<tr class=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(rows.len(), 13, "{rows:?}");
    assert_eq!(&rows[..4], ["fail", "fail", "fail", "pass"], "{rows:?}");
    assert!(page.contains("<td data-verdict=\"fail\">✗ critical</td>"));
    assert!(page.contains("<td data-verdict=\"fail\">✗ FAILED</td>"));
    assert!(page.contains("<td data-verdict=\"pass\">✓ holds</td>"));
    // Quiet is quiet.
    let mut quiet = args.to_vec();
    quiet.push("-q");
    let (code, _, err) = crate::exec(&quiet, None);
    assert_eq!((code, err.as_str()), (0, ""));
    // Passing checks: no line on stderr.
    let (code, _, err) = crate::exec(&args[..4], None);
    assert_eq!(code, 0);
    assert!(!err.contains("checks fail"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_far_deadline_leaves_the_linear_axis_to_the_data_and_fits_on_a_log_axis() {
    let dir = tmp("scale");
    let base = [
        "run",
        "sims/issue407-reported.toml",
        "--jobs",
        "60",
        "--plots",
    ];
    let (lin, log) = (dir.join("lin"), dir.join("log"));
    let mut a = base.to_vec();
    a.push(lin.to_str().unwrap());
    ok(&a);
    a.pop();
    a.extend([log.to_str().unwrap(), "--plot-scale", "log"]);
    ok(&a);
    let lin_svg = read(&lin.join("upgrade-cdf.svg"));
    let ticks = |svg: &str| -> Vec<f64> {
        texts(svg)
            .into_iter()
            .filter_map(|(_, _, s)| s.parse::<f64>().ok())
            .collect()
    };
    // Linear: the axis ends near the data (upgrades of a few hundred ms), not at 10 s, and
    // the legend says where the deadline went.
    let top = ticks(&lin_svg).into_iter().fold(0.0, f64::max);
    assert!(top < 1000.0, "linear axis reaches {top}");
    assert!(lin_svg.contains("far beyond the data: off the axis"));
    // Log: the deadline line is drawn.
    let log_svg = read(&log.join("upgrade-cdf.svg"));
    assert!(texts(&log_svg)
        .iter()
        .any(|(_, _, s)| s == "deadline 10000 ms"));
    assert!(ticks(&log_svg).contains(&10000.0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweeps_plot_every_shape_and_a_reused_directory_keeps_no_stale_plot() {
    let dir = tmp("sweep");
    let out = dir.to_str().unwrap();
    let sweep = |params: &[&str]| {
        let mut a = vec![
            "sweep",
            "sims/issue407.toml",
            "--seeds",
            "1",
            "--set",
            "scenario.jobs=20",
            "--out",
            out,
        ];
        a.extend_from_slice(params);
        ok(&a);
    };
    std::fs::write(dir.join("notes.svg"), "mine").unwrap();
    // 1-D: the scenario's own value and the write-up's band.
    sweep(&["--param", "client.handshake_timeout_ms=220,260"]);
    let line = read(&dir.join("failure-rate.svg"));
    let t = texts(&line);
    assert!(t.iter().any(|(_, _, s)| s == "scenario: 240"));
    assert!(t.iter().any(|(_, _, s)| s == "sequential write-up"));
    assert!(t.iter().any(|(_, _, s)| s == "30–40%"));
    // 2-D: a heatmap per variant with its colour bar, and the difference map; the 1-D
    // plot of the earlier sweep is gone, the user's own file is not.
    sweep(&[
        "--param",
        "client.handshake_timeout_ms=220,260",
        "--param",
        "object.cold_start_ms.uniform.1=15,35",
    ]);
    assert!(
        !dir.join("failure-rate.svg").exists(),
        "stale 1-D plot kept"
    );
    assert_eq!(read(&dir.join("notes.svg")), "mine");
    for f in ["heatmap-sequential.svg", "heatmap-parallel.svg"] {
        assert!(
            read(&dir.join(f)).contains("failure rate"),
            "{f}: colour bar label"
        );
    }
    let diff = read(&dir.join("heatmap-diff-parallel.svg"));
    assert!(texts(&diff)
        .iter()
        .any(|(_, _, s)| s == "parallel − sequential"));
    // A swarm and a 3-parameter grid get one panel per parameter.
    sweep(&[
        "--swarm",
        "5",
        "--param",
        "storage.read_ms.uniform.1=75..200",
        "--param",
        "client.handshake_timeout_ms=150..400",
    ]);
    let panels = read(&dir.join("failure-rate-by-param.svg"));
    assert!(
        panels.contains("storage.read_ms.uniform.1")
            && panels.contains("client.handshake_timeout_ms")
    );
    assert!(
        !dir.join("heatmap-sequential.svg").exists(),
        "stale heatmap kept"
    );
    sweep(&[
        "--param",
        "client.handshake_timeout_ms=220,260",
        "--param",
        "object.cold_start_ms.uniform.1=15,35",
        "--param",
        "client.connect_delay_ms.uniform.1=10,20",
    ]);
    assert!(
        read(&dir.join("failure-rate-by-param.svg")).contains("client.connect_delay_ms.uniform.1")
    );
    assert_eq!(read(&dir.join("notes.svg")), "mine");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The headline fits the scenario: race-378's refusals are named and its paired deltas (the
/// same reads in both variants: zero, with an interval of zero width) are left out; a faults
/// scenario where nothing failed says what the app did about the faults, and its worst job is
/// one that had trouble; a storage histogram of 0 ms reads has an axis of round numbers.
#[test]
fn the_headline_and_worst_job_fit_races_and_faults() {
    let dir = tmp("fit");
    let page = |scenario: &str, name: &str| {
        let html = dir.join(format!("{name}.html"));
        let plots = dir.join(name);
        ok(&[
            "run",
            scenario,
            "--html",
            html.to_str().unwrap(),
            "--plots",
            plots.to_str().unwrap(),
        ]);
        (read(&html), read(&plots.join("storage-histogram.svg")))
    };
    let headline = |p: &str| {
        let at = p.find("<p class=\"headline\">").unwrap();
        p[at..].split("</p>").next().unwrap().to_string()
    };
    let (race, race_hist) = page("sims/race-378.toml", "race");
    let h = headline(&race);
    assert!(h.contains(" rejected) → parallel "), "{h}");
    assert!(!h.contains("+0.0 ms [+0.0, +0.0]"), "{h}");
    let ticks: Vec<String> = texts(&race_hist).into_iter().map(|t| t.2).collect();
    assert!(ticks.iter().any(|t| t == "10"), "{ticks:?}");
    let (faults, _) = page("sims/faults.toml", "faults");
    let h = headline(&faults);
    assert!(
        h.contains("failed; with faults injected: sequential "),
        "{h}"
    );
    assert!(
        h.contains(" retries, ") && h.contains(" reconnects, "),
        "{h}"
    );
    // The worst job's step table shows a retry or a reconnect.
    let worst = &faults[faults.find("<h2>Worst job").unwrap()..];
    assert!(
        worst.contains("retry") || worst.contains("reconnect"),
        "{}",
        &worst[..worst.len().min(3000)]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pages a researcher works from: `compare --html` says what changed first and marks it
/// in words; a sweep page gives the command that runs it again and each point's own `run`;
/// a run of several seeds shows each seed's failure rate with the command for that seed.
#[test]
fn compare_sweep_and_per_seed_pages_say_how_to_reproduce_them() {
    let dir = tmp("research");
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    ok(&[
        "run",
        "sims/issue407.toml",
        "--jobs",
        "100",
        "--seeds",
        "2",
        "--json",
        &p("a.json"),
        "--html",
        &p("run.html"),
    ]);
    let run = read(&dir.join("run.html"));
    assert!(run.contains("<h2>By seed</h2>"), "{run}");
    assert!(run.contains(
        "<code>handshake-sim run sims/issue407.toml --seed 2 --variant sequential --variant parallel --jobs 100</code>"
    ), "{run}");
    ok(&[
        "run",
        "sims/issue407.toml",
        "--jobs",
        "100",
        "--seeds",
        "2",
        "--set",
        "client.handshake_timeout_ms=400",
        "--json",
        &p("b.json"),
    ]);
    ok(&[
        "compare",
        &p("a.json"),
        &p("b.json"),
        "--html",
        &p("compare.html"),
    ]);
    let cmp = read(&dir.join("compare.html"));
    assert!(
        cmp.contains("<p class=\"summary\" data-verdict=\"warning\">▲ "),
        "{cmp}"
    );
    assert!(
        cmp.contains("<td data-verdict=\"warning\">▲ CHANGED</td>"),
        "{cmp}"
    );
    assert!(
        cmp.contains("client.handshake_timeout_ms"),
        "the setting that differs"
    );
    let (code, _, err) = crate::exec(
        &[
            "compare",
            &p("a.json"),
            &p("b.json"),
            "--html",
            "-",
            "--json",
            "-",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    ok(&[
        "sweep",
        "sims/issue407.toml",
        "-q",
        "--jobs",
        "50",
        "--seeds",
        "1",
        "--param",
        "client.handshake_timeout_ms=200,300",
        "--out",
        &p("sw"),
        "--html",
        &p("sweep.html"),
    ]);
    let sweep = read(&dir.join("sweep.html"));
    assert!(sweep.contains("Reproduce: <code>handshake-sim sweep sims/issue407.toml --param client.handshake_timeout_ms=200,300 --seed 1 --seeds 1 --variant sequential --variant parallel --set scenario.jobs=50</code>"), "{sweep}");
    assert!(sweep.contains("<td><code>handshake-sim run sims/issue407.toml --seed 1 --set scenario.jobs=50 --set client.handshake_timeout_ms=300 --variant sequential --variant parallel</code></td>"), "{sweep}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every point of a sweep's plots says its values on hover, without script: an SVG `<title>`
/// in each point's mark (the legend's dots take none).
#[test]
fn sweep_points_say_their_values_on_hover() {
    let dir = tmp("hover");
    let out = dir.join("s");
    ok(&[
        "sweep",
        "sims/issue407.toml",
        "-q",
        "--jobs",
        "30",
        "--seeds",
        "1",
        "--swarm",
        "4",
        "--param",
        "client.handshake_timeout_ms=150..400",
        "--param",
        "storage.read_ms.uniform.1=75..200",
        "--out",
        out.to_str().unwrap(),
    ]);
    let svg = read(&out.join("failure-rate-by-param.svg"));
    let titled = svg.matches("</title></circle>").count();
    // Two panels × two variants × four points.
    assert_eq!(titled, 16, "{svg}");
    assert!(
        svg.contains("><title>point 0: client.handshake_timeout_ms="),
        "{svg}"
    );
    assert!(
        svg.contains(" — parallel ") && svg.contains("% failed ["),
        "{svg}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The worst job's timeline fits the job: race-378's 10 s deadline no longer stretches the
/// axis (its 100 ms job was drawn in the first 91 px of 900); the deadline is said in words.
#[test]
fn the_timeline_axis_fits_the_job_not_a_far_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("race.html");
    let (code, _, err) = crate::exec(
        &[
            "run",
            "sims/race-378.toml",
            "-q",
            "--html",
            page.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    let svg = &html[html.find("class=\"timeline\"").expect(&html)..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    let right_edge = svg
        .split("<rect class=\"phase\" x=\"")
        .skip(1)
        .map(|r| {
            let x: f64 = r.split('"').next().unwrap().parse().unwrap();
            let w = r.split("width=\"").nth(1).unwrap();
            x + w.split('"').next().unwrap().parse::<f64>().unwrap()
        })
        .fold(0.0, f64::max);
    assert!(
        right_edge > 450.0,
        "the job's phases end at x = {right_edge} of 900"
    );
    assert!(svg.contains("past this axis"), "{svg}");
    assert!(!svg.contains("class=\"deadline\""), "{svg}");
}

/// A new user's trial: with a 1 ms deadline and no upgrade, the upgrade CDF's axis was 1 ms
/// wide and labelled its ticks "0 0 0 1 1 1", and the histogram's empty panels counted jobs
/// "0 0 1". Every tick label of an axis is its own number.
#[test]
fn a_narrow_axis_labels_each_tick_once() {
    let dir = tmp("narrow");
    let plots = dir.join("plots");
    ok(&[
        "run",
        "sims/issue407.toml",
        "-q",
        "--jobs",
        "40",
        "--set",
        "client.handshake_timeout_ms=1",
        "--plots",
        plots.to_str().unwrap(),
    ]);
    for name in ["upgrade-cdf.svg", "storage-histogram.svg"] {
        let svg = read(&plots.join(name));
        // Tick labels are the bare numbers; an axis's labels share an x (y axis) or a y (x axis).
        let numbers: Vec<(f64, f64, String)> = texts(&svg)
            .into_iter()
            .filter(|(_, _, t)| t.parse::<f64>().is_ok())
            .collect();
        let mut by_axis: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (x, y, t) in &numbers {
            let same_x = numbers.iter().filter(|(x2, _, _)| x2 == x).count() > 1;
            let key = if same_x {
                format!("x={x}")
            } else {
                format!("y={y}")
            };
            by_axis.entry(key).or_default().push(t.clone());
        }
        for (axis, labels) in by_axis {
            let mut distinct = labels.clone();
            distinct.dedup();
            assert_eq!(distinct, labels, "{name}, axis at {axis}: {labels:?}");
        }
    }
}
