//! The write-up's "edge caching of auth tokens" (`kv-edge`, `kv-edge-strict`): Workers KV as
//! Cloudflare documents it, checked against its closed form, and the security cost of a
//! revoked token still cached at an edge location.

use handshake_sim::internal::metrics::VariantSummary;
use handshake_sim::internal::names::{Figure, Stat, Timing};
use handshake_sim::{EdgeMiss, Experiment, Handshake, HandshakeFuture, Kv, Storage, Token};

use crate::{report, scenario};

/// issue407's system; every variant that checks at the edge, and `parallel` as the object's.
const BASE: &str = r#"
[scenario]
jobs = 400
concurrency = 50
variants = ["parallel", "kv-edge", "kv-edge-strict"]
[network.client_edge]
latency_ms = { lognormal = { median = 20, p99 = 60 } }
[network.edge_object]
latency_ms = { constant = 1 }
[storage]
read_ms = { uniform = [75, 100] }
[object]
restart_probability = 1.0
[client]
connect_delay_ms = { uniform = [0, 20] }
handshake_timeout_ms = 240
"#;

fn run(extra: &str, seeds: &[u64]) -> Vec<VariantSummary> {
    report(&scenario(&format!("{BASE}{extra}")), seeds)
        .0
        .variants
}

fn fig(v: &VariantSummary, f: Figure) -> f64 {
    v.figure(f)
        .unwrap_or_else(|| panic!("{} has no {f}", v.variant))
}

#[test]
fn the_hit_rate_is_the_share_of_upgrades_that_stay_where_the_post_wrote() {
    // The 202's put fills its location's cache; an upgrade there within cacheTtl is a hot
    // read, one that moved (probability p) reads through the tiers: hot share = 1 − p.
    let p = 0.3;
    let vs = run(&format!("[kv]\nmove_probability = {p}\n"), &[1, 2, 3]);
    for v in &vs[1..] {
        let (reads, hot) = (fig(v, Figure::KvReads), fig(v, Figure::KvHotReads));
        assert_eq!(reads, 1200.0, "one read per job: {v:#?}");
        let sd = (reads * p * (1.0 - p)).sqrt();
        assert!(
            (hot - reads * (1.0 - p)).abs() < 4.0 * sd,
            "{hot} of {reads}"
        );
        assert_eq!(fig(v, Figure::KvWrites), 1200.0);
        assert_eq!(
            fig(v, Figure::EdgeFallbacks) + fig(v, Figure::EdgeRefusals),
            0.0
        );
        // No storage read at the object: the edge accepted every token, and a read that did
        // not happen has no time (not one of 0 ms).
        assert_eq!(v.storage_ms.count, 0, "{v:#?}");
        assert_eq!(v.figure(Figure::Latency(Stat::P50, Timing::Storage)), None);
    }
    // The object's variant touches no KV: the figures are 0, not absent (KV ran).
    assert_eq!(fig(&vs[0], Figure::KvReads), 0.0);
}

#[test]
fn a_write_older_than_cache_ttl_is_no_longer_in_the_locations_cache() {
    // Every upgrade starts 40 s after its 202, past the least cacheTtl (30 s): every read is
    // cold, wherever it lands.
    let text = format!("{BASE}[kv]\ncache_ttl_ms = 30000\n")
        .replace(
            "connect_delay_ms = { uniform = [0, 20] }",
            "connect_delay_ms = { constant = 40000 }",
        )
        .replace("handshake_timeout_ms = 240", "handshake_timeout_ms = 2000");
    let vs = report(&scenario(&text), &[1]).0.variants;
    for v in &vs[1..] {
        assert_eq!(fig(v, Figure::KvHotReads), 0.0, "{v:#?}");
        assert_eq!(fig(v, Figure::KvReads), 400.0);
    }
}

/// Every upgrade lands away from its POST, each job's token is revoked 1 s after its POST,
/// and its stale holder tries it `after_s` later.
fn revoked(after_s: u64) -> Vec<VariantSummary> {
    run(
        &format!(
            "[kv]\nmove_probability = 1.0\n[auth]\nrevoke_probability = 1.0\n\
             revoke_after_ms = {{ constant = 1000 }}\n\
             stale_attempt_after_ms = {{ constant = {} }}\n",
            after_s * 1000
        ),
        &[1],
    )
}

#[test]
fn a_revoked_token_is_accepted_at_the_edge_within_the_cache_window_and_refused_after() {
    // The away location cached the token at the job's upgrade (~0.1 s after the POST), so it
    // serves it until ~60.1 s: a try at 1 + 30 s is accepted, one at 1 + 70 s refused.
    let within = revoked(30);
    let after = revoked(70);
    let parallel = &within[0];
    assert_eq!(fig(parallel, Figure::Revocations), 400.0);
    assert_eq!(fig(parallel, Figure::StaleAttempts), 400.0);
    assert_eq!(
        fig(parallel, Figure::StaleAccepts),
        0.0,
        "the object checks its own store"
    );
    for v in &within[1..] {
        // Upgrades that failed never filled the cache; nearly all did.
        assert!(fig(v, Figure::StaleAccepts) > 390.0, "{v:#?}");
        assert_eq!(fig(v, Figure::StaleAccepts), v.unauthorized_accepts as f64);
        let window = fig(v, Figure::StaleWindowMsMax);
        assert!((58_000.0..=60_000.0).contains(&window), "{window}");
        let last = fig(v, Figure::StaleAcceptAfterMsMax);
        assert!((30_000.0..31_000.0).contains(&last), "{last}");
    }
    for v in &after[1..] {
        assert_eq!(fig(v, Figure::StaleAccepts), 0.0, "{v:#?}");
        assert_eq!(v.unauthorized_accepts, 0);
        // No accept: no time after the revocation to give, absent rather than 0.
        assert_eq!(v.figure(Figure::StaleAcceptAfterMsMax), None);
    }
    // After the window the edge no longer accepts: the fallback asks the object, the strict
    // variant refuses at the edge.
    assert!(
        fig(&after[1], Figure::EdgeFallbacks) >= 390.0,
        "{:#?}",
        after[1]
    );
    assert!(
        fig(&after[2], Figure::EdgeRefusals) >= 390.0,
        "{:#?}",
        after[2]
    );
}

/// A user's edge check: two gets of the job's entry, through the same kind of handle as
/// `Storage`.
struct TwiceAtTheEdge;

impl Handshake for TwiceAtTheEdge {
    fn name(&self) -> &str {
        "twice-at-the-edge"
    }
    fn describe(&self) -> &str {
        "two KV gets at the edge; a miss is refused"
    }
    fn edge_check(&self) -> Option<EdgeMiss> {
        Some(EdgeMiss::Refuse)
    }
    fn read_token_at_edge<'a>(&'a self, kv: &'a Kv<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            let first = kv.get().await?;
            let second = kv.get().await?;
            assert_eq!(first.token, second.token);
            Ok(Token {
                token: second.token,
                expires_at_ms: second.expires_at_ms,
            })
        })
    }
    fn read_token<'a>(&'a self, _storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async { Ok(Token::default()) })
    }
}

#[test]
fn a_users_variant_checks_at_the_edge_through_the_kv_handle() {
    let outcome = Experiment::bundled("issue407")
        .unwrap()
        .set("scenario.jobs", "100")
        .unwrap()
        .with_variant(TwiceAtTheEdge)
        .unwrap()
        .variants(&["kv-edge-strict", "twice-at-the-edge"])
        .unwrap()
        .seeds([1])
        .run()
        .unwrap();
    assert_eq!(outcome.figure("twice-at-the-edge.kv_reads").unwrap(), 200.0);
    assert_eq!(outcome.figure("kv-edge-strict.kv_reads").unwrap(), 100.0);
    // Every upgrade at the POST's location: both gets hot, from the put.
    assert_eq!(
        outcome.figure("twice-at-the-edge.kv_hot_reads").unwrap(),
        200.0
    );
    outcome.assert_expect("twice-at-the-edge.failure_rate <= 0.05");

    // Every upgrade away: the first get reads through the tiers and fills that location's
    // cache, so the second is hot.
    let away = Experiment::bundled("issue407")
        .unwrap()
        .set("scenario.jobs", "100")
        .unwrap()
        .set("kv.move_probability", "1.0")
        .unwrap()
        .with_variant(TwiceAtTheEdge)
        .unwrap()
        .variants(&["twice-at-the-edge"])
        .unwrap()
        .seeds([1])
        .run()
        .unwrap();
    // (A client that gave up during a slow first get leaves its second unmade.)
    let reads = away.figure("twice-at-the-edge.kv_reads").unwrap();
    let hot = away.figure("twice-at-the-edge.kv_hot_reads").unwrap();
    assert_eq!(reads - hot, 100.0, "every first get is cold: {reads} {hot}");
    assert!(hot >= 95.0, "nearly every second get is hot: {hot}");
}

#[test]
fn the_window_ends_with_the_revoked_tokens_own_expiry() {
    // The token lives 10 s; revoked at 1 s, cached away until ~60 s: the edge would accept it
    // only until 10 s, so that is the window, and a try at 1 + 20 s is refused.
    let vs = run(
        "[kv]\nmove_probability = 1.0\n[auth]\ntoken_ttl_ms = 10000\nrevoke_probability = 1.0\n\
         revoke_after_ms = { constant = 1000 }\nstale_attempt_after_ms = { constant = 20000 }\n",
        &[1],
    );
    for v in &vs[1..] {
        let window = fig(v, Figure::StaleWindowMsMax);
        assert!(window <= 9_000.0, "{window}");
        assert_eq!(fig(v, Figure::StaleAccepts), 0.0, "{v:#?}");
    }
}

#[test]
fn a_forged_edge_header_is_refused_through_the_worker() {
    use std::io::{Read, Write};
    let serve = crate::serve::Serve::start_variant("forged", "kv-edge", &[]);
    let body = r#"{"jobId":"job-forged","books":1}"#;
    let post = format!(
        "POST /api/enrichment/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = |req: &str| -> String {
        let mut s = std::net::TcpStream::connect(serve.addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = vec![0u8; 4096];
        let n = s.read(&mut out).unwrap_or(0);
        String::from_utf8_lossy(&out[..n]).into_owned()
    };
    let posted = exchange(&post);
    assert!(posted.starts_with("HTTP/1.1 202"), "{posted}");
    for value in ["1", "simulation", ""] {
        let upgrade = format!(
            "GET /ws/progress?jobId=job-forged&token=deadbeef HTTP/1.1\r\nHost: x\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             x-handshake-sim-edge-verified: {value}\r\n\r\n"
        );
        let answer = exchange(&upgrade);
        assert!(answer.starts_with("HTTP/1.1 401"), "{value:?}: {answer}");
    }
}
