//! `probe` through the real binary (issue 12, items 1–5): its verdict judges what the client
//! saw, each run posts its own job ids, what only the server knows is not shown as 0, a
//! hostile answer fails a job instead of the fleet, and an unreachable target is said.

use std::net::SocketAddr;

use handshake_sim::internal::live::{self, Endpoint, ProbeOptions};
use handshake_sim::internal::record::Outcome;
use handshake_sim::internal::server::variant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::live::{local, Served};

/// Quick jobs: one book, short reads, the 101 long before the book ends.
const QUICK: &str = r#"
[scenario]
jobs = 6
concurrency = 6
[storage]
read_ms = { uniform = [5, 10] }
write_ms = { constant = 1 }
[object]
cold_start_ms = { constant = 1 }
[client]
books_per_job = 1
[enrichment]
book_ms = { constant = 150 }
"#;

fn probe(addr: SocketAddr, extra: &[&str]) -> (i32, String, String) {
    let url = format!("http://{addr}");
    let mut args = vec!["probe", url.as_str(), "--jobs", "6", "--concurrency", "6"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--time-limit-s", "20"]);
    crate::exec(&args, None)
}

/// Every object crashes after its upgrade: 6 of 6 jobs fail with no client timeout, and the
/// probe exits 1 naming the failure rate (it exited 0).
#[test]
fn probe_exits_1_and_prints_the_failing_rows_when_every_job_fails() {
    let s = crate::scenario(&format!(
        "{QUICK}[faults.object_crash]\nprobability = 1.0\nafter_ms = {{ constant = 60 }}\n"
    ));
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    let (code, out, err) = probe(served.addr, &[]);
    served.stop();
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("probe: FAILED"), "{out}");
    let failing = &out[out.find("probe: FAILED").unwrap()..];
    assert!(
        failing.contains("failure_rate") && failing.contains("critical"),
        "{out}"
    );
}

/// A warning is not a breach: with one SLO past its critical threshold and another past its
/// warning only, the critical one is listed under `probe: FAILED, SLOs breached:` and the
/// warning under its own line (both were listed as breached).
#[test]
fn warnings_are_listed_apart_from_breaches() {
    let s = crate::scenario(QUICK);
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    // 20 ms each way on the probe's side: every upgrade takes 40 ms or more, on any machine.
    let sets = [
        "--set",
        "network.client_edge.latency_ms={ constant = 20 }",
        "--emulate-client-edge",
        "--set",
        "slo.avg_upgrade_ms={ warning = 1, critical = 1000000 }",
        "--set",
        "slo.p95_upgrade_ms={ warning = 1, critical = 2 }",
    ];
    let (code, out, err) = probe(served.addr, &sets);
    served.stop();
    assert_eq!(code, 1, "{out}\n{err}");
    let verdict = &out[out.find("probe: FAILED, SLOs breached:").expect(&out)..];
    let (breached, warned) = verdict.split_once("warnings (").expect(&out);
    assert!(
        breached.contains("p95_client_upgrade_ms") && !breached.contains("mean_client_upgrade_ms"),
        "{out}"
    );
    assert!(
        warned.contains("mean_client_upgrade_ms") && !warned.contains("p95_client_upgrade_ms"),
        "{out}"
    );
}

/// The bundled internet client is a probe's scenario: it loads, and the probe runs its
/// client (the 10 s handshake deadline, no retries), not the simulated network's 240 ms.
#[test]
fn the_bundled_internet_client_is_what_the_probe_runs() {
    let s = crate::scenario(QUICK);
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    let (code, out, err) = probe(
        served.addr,
        &["--scenario", "sims/clients/internet.toml", "--json", "-"],
    );
    served.stop();
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let client = &v["scenario"]["client"];
    assert_eq!(
        (
            client["handshake_timeout_ms"].as_u64(),
            client["retries"].as_u64()
        ),
        (Some(10_000), Some(0)),
        "{client}"
    );
    assert_eq!(v["scenario"]["scenario"]["name"], "internet-client");
}

/// A probe's `--records` leave what only the server knows empty: `canceled`, `cold_start`,
/// `silent_failure` and the server's timings were written as 0 or `false`, which the probe
/// never measured.
#[test]
fn probe_records_leave_the_servers_columns_empty() {
    let s = crate::scenario(QUICK);
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.csv");
    let (code, out, err) = probe(served.addr, &["-q", "--records", records.to_str().unwrap()]);
    served.stop();
    assert_eq!(code, 0, "{out}\n{err}");
    let mut csv = ::csv::Reader::from_path(&records).unwrap();
    let header = csv.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<::csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    for row in &rows {
        for name in [
            "cold_start",
            "canceled",
            "canceled_at_edge",
            "no_socket_warnings",
            "silent_failure",
            "storage_ms",
            "upgrade_ms",
        ] {
            assert_eq!(&row[col(name)], "", "{name} in a probe's records: {row:?}");
        }
        assert_ne!(
            &row[col("client_upgrade_ms")],
            "",
            "the client's own time is measured"
        );
        assert_eq!(&row[col("outcome")], "ok");
    }
}

/// Two probes in a row against one server: each prints its own job-id prefix, both see every
/// job end ok (the second used to meet the first one's finished jobs), and what only the
/// server knows is `null`, while results complete counts the jobs the client finished.
#[test]
fn two_probes_in_a_row_use_disjoint_job_ids_and_agree() {
    let s = crate::scenario(QUICK);
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    let runs: Vec<serde_json::Value> = (0..2)
        .map(|_| {
            let (code, out, err) = probe(served.addr, &["--json", "-"]);
            assert_eq!(code, 0, "{out}\n{err}");
            let v = serde_json::from_str(&out).unwrap();
            crate::reference::assert_meets_schema("probe.json", &v);
            v
        })
        .collect();
    served.stop();
    let prefix = |v: &serde_json::Value| v["job_prefix"].as_str().unwrap().to_string();
    assert!(prefix(&runs[0]).starts_with("probe-"), "{}", runs[0]);
    assert_ne!(prefix(&runs[0]), prefix(&runs[1]));
    for run in &runs {
        let v = &run["variants"][0];
        assert_eq!(v["outcomes"]["ok"], 6, "{v}");
        assert_eq!(v["results_complete"], 6, "{v}");
        assert_eq!(v["jobs_never_completed"], 0, "{v}");
        for field in [
            "canceled",
            "canceled_at_edge",
            "cold_starts",
            "no_socket_warnings",
            "silent_failures",
        ] {
            assert!(v[field].is_null(), "{field}: {v}");
        }
    }
}

/// A probe's table leaves out what only the server knows and names it in one line: no row of
/// `–`, and no 0 for a count nobody measured (`canceled (edge)` was 0).
#[test]
fn the_probe_table_names_what_it_cannot_see_instead_of_showing_it() {
    let s = crate::scenario(QUICK);
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    let (code, out, err) = probe(served.addr, &[]);
    served.stop();
    assert_eq!(code, 0, "{out}\n{err}");
    for row in [
        "canceled (",
        "cold upgrades",
        "storage_ms ",
        "upgrade_ms mean",
    ] {
        assert!(
            !out.lines().any(|l| l.starts_with(row)),
            "{row} shown:\n{out}"
        );
    }
    assert!(out.contains(
        "not measured by a probe, only the server knows them: canceled (server), canceled (edge), \
         no-socket warnings, jobs missing progress, cold upgrades, silent failures, storage_ms, upgrade_ms"
    ), "{out}");
    assert!(out.contains("client_upgrade_ms p95"), "{out}");
}

/// A server that answers every request with `body` (a 202) and closes.
fn hostile_server(body: &'static str) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let thread = std::thread::spawn(move || {
        local(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let serve = async {
                loop {
                    let (mut tcp, _) = listener.accept().await.unwrap();
                    tokio::task::spawn_local(async move {
                        let mut buf = [0u8; 4096];
                        let _ = tcp.read(&mut buf).await;
                        let answer = format!(
                            "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tcp.write_all(answer.as_bytes()).await;
                    });
                }
            };
            // Ends with the test process; bounded so a stray thread cannot outlive it long.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), serve).await;
        })
    });
    (addr, thread)
}

/// A 202 whose token holds a space and a newline: each job fails as `rejected`, no panic.
#[test]
fn a_hostile_202_fails_the_job_not_the_probe() {
    for body in [
        r#"{"jobId":"job-0","token":"a b\n","expiresAtMs":0}"#,
        r#"{"jobId":"job 0\n","token":"abc","expiresAtMs":0}"#,
    ] {
        let (addr, _thread) = hostile_server(body);
        let (code, out, err) = probe(addr, &[]);
        assert_eq!(code, 1, "{out}\n{err}");
        assert!(!err.contains("panicked"), "{err}");
        let rejected = out
            .lines()
            .find(|l| l.trim_start().starts_with("rejected"))
            .unwrap_or_else(|| panic!("{out}\n{err}"));
        assert!(rejected.trim_end().ends_with(" 6"), "{out}");
    }
}

/// Nothing listens: a message that says so and exit 1, not a table of NaNs.
#[test]
fn connection_refused_is_said_and_fails() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (code, out, err) = probe(addr, &[]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert!(!out.contains("NaN"), "{out}");
}

/// A server that takes the connection and never answers: the time limit's warning is printed
/// without `--log`.
#[test]
fn the_time_limit_is_said() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (code, out, err) = crate::exec(
        &[
            "probe",
            &format!("http://{addr}"),
            "--jobs",
            "1",
            "--time-limit-s",
            "1",
        ],
        None,
    );
    drop(listener);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("time limit of 1 s reached"), "{err}");
}

/// A job still reading progress when the time limit ends the run keeps its upgrade time.
#[test]
fn jobs_cut_by_the_time_limit_keep_their_upgrade_times() {
    let s = crate::scenario(&QUICK.replace("constant = 150", "constant = 5000"));
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    let addr = served.addr;
    let probed = local(async move {
        let target = Endpoint::parse(&format!("http://{addr}"), false)
            .await
            .unwrap();
        let options = ProbeOptions {
            jobs: 2,
            concurrency: 2,
            seed: 1,
            time_limit_s: 1,
            label: "live".into(),
            job_prefix: "cut-".into(),
            emulate_client_edge: false,
        };
        live::probe(&s, target, &options).await.unwrap()
    });
    served.stop();
    assert!(probed.time_limit_reached);
    for r in &probed.run.records {
        assert_eq!(r.outcome, Some(Outcome::NetworkError), "{r:#?}");
        assert!(r.post_accepted && r.client_upgrade_ms.is_some(), "{r:#?}");
    }
}

/// clap reads `{n}` in a doc comment as a line break: the help said "PREFIX" and broke the line.
#[test]
fn the_job_prefix_help_names_the_ids_on_one_line() {
    for command in ["probe", "conform"] {
        let (code, out, _) = crate::exec(&[command, "--help"], None);
        assert_eq!(code, 0);
        assert!(out.contains("PREFIX0"), "{command}: {out}");
        assert!(!out.contains("PREFIX\n"), "{command}: {out}");
    }
}

/// `--emulate-client-edge` puts the scenario's client–edge latency on the probe's connections
/// (60 ms one way: every upgrade takes ≥ 120 ms more than the server's own time), says so in
/// the table and the JSON; without it the same server answers in well under 120 ms.
#[test]
fn the_emulated_client_edge_delays_every_message_each_way() {
    let s = crate::scenario(QUICK);
    let served = Served::start(&s, variant::by_name("parallel").unwrap(), 1);
    let set = "network.client_edge.latency_ms={ constant = 60 }";
    let p50 = |v: &serde_json::Value| v["variants"][0]["client_upgrade_ms"]["p50"].as_f64();
    let (code, out, err) = probe(served.addr, &["--set", set, "--json", "-"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let plain: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (code, out, err) = probe(
        served.addr,
        &["--set", set, "--emulate-client-edge", "--json", "-"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let emulated: serde_json::Value = serde_json::from_str(&out).unwrap();
    crate::reference::assert_meets_schema("probe.json", &emulated);
    let (code, table, err) = probe(served.addr, &["--set", set, "--emulate-client-edge"]);
    served.stop();
    assert_eq!(code, 0, "{table}\n{err}");
    assert!(plain["client_edge_emulated_ms"].is_null(), "{plain}");
    assert_eq!(
        emulated["client_edge_emulated_ms"],
        serde_json::json!({"constant": 60.0}),
        "{emulated}"
    );
    let (before, after) = (p50(&plain).unwrap(), p50(&emulated).unwrap());
    assert!(before < 120.0, "without emulation: p50 {before}\n{plain}");
    assert!(
        after >= before + 120.0,
        "p50 {before} → {after}\n{emulated}"
    );
    assert!(
        table.contains("emulated client–edge latency, one way per chunk"),
        "{table}"
    );
}
