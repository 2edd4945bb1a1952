//! The gates as workerd has them (checked in workerd 2026-11-17 with a Durable Object speaking
//! this project's API), end to end: a put is visible to the object's own later reads at once
//! and does not hold incoming events; its commit holds the object's outgoing messages (the
//! 202, the 101) until it is durable.

use handshake_sim::internal::record::Outcome;
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim;

use crate::{exec, scenario};

/// No network latency, no cold start, a slow write (500 ms) and reads of 100 ms; the object
/// stays warm after the POST. `ack_before_token_write`: the #378 fault.
fn slow_write_toml(input_gate: bool, ack_before_token_write: bool) -> String {
    format!(
        r#"
[scenario]
jobs = 10
concurrency = 10
variants = ["sequential"]
[storage]
read_ms = {{ constant = 100 }}
write_ms = {{ constant = 500 }}
[client]
books_per_job = 1
[enrichment]
book_ms = {{ constant = 2000 }}
[object]
cold_start_ms = {{ constant = 0 }}
input_gate = {input_gate}
[faults]
ack_before_token_write = {ack_before_token_write}
"#
    )
}

fn slow_write(
    input_gate: bool,
    ack_before_token_write: bool,
) -> handshake_sim::internal::scenario::Scenario {
    scenario(&slow_write_toml(input_gate, ack_before_token_write))
}

/// Under the #378 fault the Worker does not await `setAuthToken`; with no latency its call
/// reaches the object before the client's upgrade does. The upgrade then reads the token
/// from the cache at once (read-your-writes, nothing waits for the commit at the input gate,
/// with or without it), and only its 101 waits until the write is durable.
#[test]
fn an_upgrade_right_after_the_put_sees_the_token_and_its_101_waits_for_the_commit() {
    for gate in [true, false] {
        let s = slow_write(gate, true);
        let run = sim::run(&s, variant::by_name("sequential").unwrap(), 1).unwrap();
        for r in &run.records {
            assert_eq!(r.outcome, Some(Outcome::Ok), "input_gate {gate}: {r:#?}");
            assert_eq!(r.storage_ms, Some(0), "read from the cache: {r:#?}");
            assert!(
                r.upgrade_ms.unwrap() < 100,
                "not held by the commit: {r:#?}"
            );
            assert!(
                r.client_upgrade_ms.unwrap() >= 490,
                "the 101 left when the write was durable: {r:#?}"
            );
            assert_eq!(r.unauthorized_accepts, 0);
        }
    }
}

/// The client's POST time: from sending the POST to its 202, in job 0's timeline (the
/// `replay` command's, run in its own process so no other test's tracing interferes).
fn post_ms(ack_before_token_write: bool) -> u64 {
    let path = std::env::temp_dir().join(format!(
        "hs-gates-{}-{ack_before_token_write}.toml",
        std::process::id()
    ));
    std::fs::write(&path, slow_write_toml(true, ack_before_token_write)).unwrap();
    let path_arg = path.to_str().unwrap();
    let args = [
        "replay",
        path_arg,
        "--seed",
        "1",
        "--job",
        "0",
        "--variant",
        "sequential",
    ];
    let (code, out, err) = exec(&args, None);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 0, "{err}");
    let at = |event: &str| -> u64 {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ") == event)
            .unwrap_or_else(|| panic!("no {event:?} in\n{out}"));
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    at("fleet 202 accepted") - at("fleet POST /api/enrichment/batch")
}

/// When the Worker awaits `setAuthToken`, the 202 leaves only once the write is durable (the
/// output gate holds the call's return): the POST takes the 500 ms write. Without the await
/// (the #378 fault) it does not.
#[test]
fn the_202_waits_for_the_write_when_the_worker_awaits_set_auth_token() {
    let awaited = post_ms(false);
    assert!((500..510).contains(&awaited), "POST took {awaited} ms");
    let not_awaited = post_ms(true);
    assert!(not_awaited < 10, "POST took {not_awaited} ms");
}

/// A book finished while the upgrade's token reads are in flight waits at the input gate; in
/// workerd the handshake's code after the reads (the check, the pair, the accept, the socket
/// made the job's) then runs before any other event of the object — JavaScript runs it with
/// no turn of the event loop in between, and messages sent on the accepted socket wait for
/// the 101 — so the book's progress goes on the new socket. The simulation let the waiting
/// progress event in between the two reads and during the pair's time, found no socket, and
/// lost it (a silent failure on an upgrade that succeeded): the example Worker in workerd
/// (`examples/worker-407`, tests/timing/workerd.rs) never lost one.
#[test]
fn a_book_done_during_the_token_reads_reaches_the_socket_the_upgrade_opens() {
    for (variant, book_ms) in [("sequential", 50), ("sequential", 150), ("parallel", 50)] {
        let s = scenario(&format!(
            r#"
[scenario]
jobs = 4
concurrency = 4
variants = ["{variant}"]
[storage]
read_ms = {{ constant = 100 }}
write_ms = {{ constant = 0 }}
put_populates_cache = false
[object]
cold_start_ms = {{ constant = 0 }}
pair_ms = {{ constant = 2 }}
[client]
books_per_job = 2
handshake_timeout_ms = 10000
[enrichment]
book_ms = {{ constant = {book_ms} }}
"#
        ));
        let run = sim::run(&s, variant::by_name(variant).unwrap(), 1).unwrap();
        for r in &run.records {
            assert_eq!(r.outcome, Some(Outcome::Ok), "{variant} {book_ms}: {r:#?}");
            assert_eq!(r.no_socket_warnings, 0, "{variant} {book_ms}: {r:#?}");
            assert_eq!(r.results, 2, "{variant} {book_ms}: {r:#?}");
            assert!(!r.silent_failure, "{variant} {book_ms}: {r:#?}");
        }
    }
}

/// The same when the book finishes during the upgrade's cold start: the book's event waits for
/// the object's activation, and must then still wait for the handshake's stretch (it did not:
/// it went in after the cold start, ahead of the token reads, and found no socket).
#[test]
fn a_book_done_during_the_upgrades_cold_start_reaches_the_socket() {
    let s = scenario(
        r#"
[scenario]
jobs = 4
concurrency = 4
variants = ["sequential"]
[storage]
read_ms = { constant = 100 }
write_ms = { constant = 0 }
put_populates_cache = false
[object]
cold_start_ms = { constant = 50 }
restart_probability = 1.0
[client]
books_per_job = 2
handshake_timeout_ms = 10000
[enrichment]
book_ms = { constant = 30 }
"#,
    );
    let run = sim::run(&s, variant::by_name("sequential").unwrap(), 1).unwrap();
    for r in &run.records {
        assert_eq!(r.outcome, Some(Outcome::Ok), "{r:#?}");
        assert_eq!(r.no_socket_warnings, 0, "{r:#?}");
        assert!(!r.silent_failure, "{r:#?}");
    }
}
