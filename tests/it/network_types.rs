//! Networks by type (`[[network.types]]`): each job draws its type once, by share; its
//! client–edge latency, loss and handshake deadline are its type's; every figure breaks down
//! by type, and `[expect]` can name one.

use handshake_sim::internal::metrics::VariantSummary;
use handshake_sim::internal::names::{Figure, Stat, Timing};

use crate::{report, scenario};

/// issue407's system with a client population of three network types.
const MIXTURE: &str = r#"
[scenario]
jobs = 400
concurrency = 50
variants = ["sequential", "parallel"]
[network.edge_object]
latency_ms = { constant = 1 }
[[network.types]]
name = "wifi"
share = 0.6
client_edge_latency_ms = { lognormal = { median = 10, p99 = 40 } }
[[network.types]]
name = "lte"
share = 0.3
client_edge_latency_ms = { lognormal = { median = 30, p99 = 120 } }
[[network.types]]
name = "poor"
share = 0.1
client_edge_latency_ms = { lognormal = { median = 150, p99 = 600 } }
client_edge_loss = 0.001
[storage]
read_ms = { uniform = [75, 100] }
[object]
restart_probability = 1.0
[client]
connect_delay_ms = { uniform = [0, 20] }
handshake_timeout_ms = 240
"#;

fn summaries(text: &str, seeds: &[u64]) -> Vec<VariantSummary> {
    report(&scenario(text), seeds).0.variants
}

#[test]
fn the_breakdown_by_type_sums_to_the_pooled_figures() {
    for v in summaries(MIXTURE, &[1, 2]) {
        assert_eq!(v.by_network.len(), 3, "{}", v.variant);
        let sum = |f: Figure| -> f64 { v.by_network.values().map(|t| t.figure(f).unwrap()).sum() };
        for f in [
            Figure::Jobs,
            Figure::Ok,
            Figure::HandshakeTimeout,
            Figure::NetworkError,
            Figure::Failures,
            Figure::Canceled,
            Figure::ColdStarts,
            Figure::SilentFailures,
            Figure::ResultsComplete,
            Figure::NoSocketWarnings,
        ] {
            assert_eq!(sum(f), v.figure(f).unwrap(), "{} {f}", v.variant);
        }
        // Faults are counted per run, not per job: absent by type, never a silent 0.
        assert_eq!(v.figure_of(Some("poor"), Figure::Faults), None);
        // The shares, drawn per job: 800 jobs at 0.6/0.3/0.1 (binomial sd ≈ 14, 13, 8.5).
        let jobs = |n: &str| v.by_network[n].jobs as f64;
        for (name, share) in [("wifi", 0.6_f64), ("lte", 0.3), ("poor", 0.1)] {
            let sd = (800.0 * share * (1.0 - share)).sqrt();
            assert!(
                (jobs(name) - 800.0 * share).abs() < 4.0 * sd,
                "{name}: {}",
                jobs(name)
            );
        }
    }
}

#[test]
fn a_job_keeps_its_type_in_every_variant_and_a_slower_type_fails_more() {
    let vs = summaries(MIXTURE, &[1, 2]);
    let (seq, par) = (&vs[0], &vs[1]);
    for t in ["wifi", "lte", "poor"] {
        assert_eq!(seq.by_network[t].jobs, par.by_network[t].jobs, "{t}");
        // Paired by type: the baseline's jobs of the same type.
        let d = par.by_network[t].paired_delta.as_ref().unwrap();
        assert!(d.storage_ms.unwrap().mean < -50.0, "{t}: {d:?}");
    }
    let rate = |t: &str| seq.figure_of(Some(t), Figure::FailureRate).unwrap();
    assert!(
        rate("wifi") < rate("lte") && rate("lte") < rate("poor"),
        "{seq:#?}"
    );
    // The server's own time does not depend on the client's network.
    let p50 = Figure::Latency(Stat::P50, Timing::Storage);
    let (w, l) = (
        seq.figure_of(Some("wifi"), p50).unwrap(),
        seq.figure_of(Some("lte"), p50).unwrap(),
    );
    assert!((w - l).abs() <= 5.0, "{w} {l}");
}

#[test]
fn one_type_with_the_pooled_law_is_the_scenario_without_types() {
    // The types draw the client–edge latency under the same keys, so a single type of share 1
    // and the scenario's own law changes no job.
    let plain = MIXTURE
        .split("[[network.types]]")
        .next()
        .unwrap()
        .to_string()
        + "[network.client_edge]\nlatency_ms = { lognormal = { median = 30, p99 = 120 } }\n"
        + &MIXTURE[MIXTURE.find("[storage]").unwrap()..];
    let one = MIXTURE
        .split("[[network.types]]")
        .next()
        .unwrap()
        .to_string()
        + "[[network.types]]\nname = \"lte\"\nshare = 1.0\n\
           client_edge_latency_ms = { lognormal = { median = 30, p99 = 120 } }\n"
        + &MIXTURE[MIXTURE.find("[storage]").unwrap()..];
    let (a, ra) = report(&scenario(&plain), &[3]);
    let (b, rb) = report(&scenario(&one), &[3]);
    for (x, y) in ra.iter().zip(&rb) {
        for (p, q) in x.records.iter().zip(&y.records) {
            assert_eq!(q.network_type, Some(0));
            let mut q = q.clone();
            q.network_type = None;
            assert_eq!(*p, q);
        }
    }
    for (x, y) in a.variants.iter().zip(&b.variants) {
        assert_eq!(x.failure_rate, y.failure_rate);
        assert_eq!(y.by_network["lte"].failure_rate, y.failure_rate);
    }
}

#[test]
fn a_types_own_deadline_is_the_one_its_jobs_meet() {
    // Two types on the same network; only "patient" waits 600 ms.
    let head = MIXTURE.split("[[network.types]]").next().unwrap();
    let tail = &MIXTURE[MIXTURE.find("[storage]").unwrap()..];
    let text = format!(
        "{head}[[network.types]]\nname = \"hasty\"\nshare = 0.5\n\
         client_edge_latency_ms = {{ lognormal = {{ median = 30, p99 = 120 }} }}\n\
         [[network.types]]\nname = \"patient\"\nshare = 0.5\n\
         client_edge_latency_ms = {{ lognormal = {{ median = 30, p99 = 120 }} }}\n\
         handshake_timeout_ms = 600\n{tail}"
    );
    let seq = summaries(&text, &[1]).remove(0);
    let timeouts = |t: &str| seq.by_network[t].figure(Figure::HandshakeTimeout).unwrap();
    assert!(timeouts("hasty") > 20.0, "{seq:#?}");
    assert_eq!(timeouts("patient"), 0.0, "{seq:#?}");
}

#[test]
fn an_expectation_can_name_a_type_and_check_judges_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixture.toml");
    let text = format!(
        "{MIXTURE}[expect]\n\"sequential.failure_rate[wifi]\" = \"< 0.10\"\n\
         \"sequential.failure_rate[lte]\" = \"> 2 * sequential.failure_rate[wifi]\"\n\
         \"parallel.failure_rate[lte]\" = \"< 0.01\"\n"
    );
    std::fs::write(&path, text).unwrap();
    let (code, out, err) = crate::exec(&["check", path.to_str().unwrap(), "--seeds", "1"], None);
    assert_eq!(code, 1, "{out}{err}");
    let failed = out.split("failed:").nth(1).unwrap_or_default();
    assert!(
        failed.contains("expect parallel.failure_rate[lte] < 0.01"),
        "the breached line names its type: {out}"
    );
    for holds in [
        "sequential.failure_rate[wifi]",
        "sequential.failure_rate[lte]",
    ] {
        assert!(out.contains(holds) && !failed.contains(holds), "{out}");
    }
}

#[test]
fn records_json_and_the_table_carry_the_type_and_a_scenario_without_types_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixture.toml");
    std::fs::write(&path, MIXTURE).unwrap();
    let (csv, json) = (dir.path().join("jobs.csv"), dir.path().join("run.json"));
    let html = dir.path().join("run.html");
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (code, out, err) = crate::exec(
        &[
            "run",
            &p(&path),
            "--records",
            &p(&csv),
            "--json",
            &p(&json),
            "--html",
            &p(&html),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("network lte: 30% of jobs, handshake deadline 240 ms"),
        "{out}"
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",network"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let by = &json["variants"][0]["by_network"];
    assert!(by["wifi"]["failure_rate"]["value"].is_number(), "{by}");
    // One row per job and variant, each naming the job's type as the JSON counts it.
    let poor_rows = csv.lines().filter(|l| l.ends_with(",poor")).count() as u64;
    assert_eq!(poor_rows, 2 * by["poor"]["jobs"].as_u64().unwrap(), "{csv}");
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("<h2>By network type</h2>"), "{html}");
    assert!(html.contains("network poor: 10% of jobs, handshake deadline 240 ms"));
    // The probe's emulation draws one law per connection: it refuses types, before any
    // connection.
    let (code, _, err) = crate::exec(
        &[
            "probe",
            "http://127.0.0.1:9",
            "--scenario",
            &p(&path),
            "--emulate-client-edge",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--emulate-client-edge") && err.contains("[[network.types]]"),
        "{err}"
    );
    // Nor can a live server know a client's network.
    let (code, _, err) = crate::exec(&["serve", &p(&path), "--variant", "parallel"], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("[[network.types]] is for the simulation"),
        "{err}"
    );

    let (code, out, _) = crate::exec(&["run", "sims/issue407.toml", "--records", "-"], None);
    assert_eq!(code, 0);
    assert!(!out.contains("network"), "no column without types");
}
