//! The Worker's own check of a token, at the edge, for the variants that have one
//! (`Handshake::edge_check`): the upgrade's token read from Workers KV where the upgrade
//! landed, and the 202's token put into KV before the 202 leaves.

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::http::request::Parts;

use super::kv::{Entry, Location};
use super::variant::{EdgeMiss, Kv};
use super::{auth, Env};
use crate::draw::Purpose;
use crate::wire::api::{self, BatchAccepted};

/// The header by which the Worker tells the object the edge accepted the token, its value the
/// run's `Env::edge_secret`. The worker removes it from every request it forwards before it
/// may set it, and the object honours it only with that value and an edge variant, so no
/// client can claim it.
pub(crate) const EDGE_VERIFIED: &str = "x-handshake-sim-edge-verified";

/// Whether a request at the object carries the worker's word that the edge accepted its
/// token.
pub(crate) fn verified(env: &Env, headers: &hyper::HeaderMap) -> bool {
    env.variant.edge_check().is_some()
        && headers
            .get(EDGE_VERIFIED)
            .is_some_and(|v| v.as_bytes() == env.edge_secret.as_bytes())
}

/// What the edge does with an upgrade.
pub(super) enum Verdict {
    /// Forward it (checked at the edge or not, as the request now says).
    Forward,
    /// Answer 401 at the edge.
    Refuse,
}

/// Checks an upgrade's token at the edge when the variant says so, marking the request when
/// the edge accepts it.
pub(super) async fn check_upgrade(env: &Env, job: u64, parts: &mut Parts) -> Verdict {
    let Some(miss) = env.variant.edge_check() else {
        return Verdict::Forward;
    };
    let Ok((_, token)) = api::job_and_token(parts.uri.query()) else {
        return Verdict::Forward; // the object refuses a malformed request itself
    };
    let index = env.kv.next_check(job);
    let moved = env.draws.chance(
        env.scenario.kv.move_probability,
        job,
        Purpose::KvLocation,
        index,
    );
    let at = if moved {
        Location::Away
    } else {
        Location::Home
    };
    let kv = Kv::new(env, job, at, index);
    let read = env.variant.read_token_at_edge(&kv).await;
    let now_ms = env.clock.now_ms();
    let accepted = read
        .is_ok_and(|t| auth::check(&token, t.token.as_deref(), t.expires_at_ms, now_ms).is_ok());
    let mut rec = env.recorder.borrow_mut();
    let r = rec.job(job);
    match (accepted, miss) {
        (true, _) => {
            let secret = HeaderValue::from_str(&env.edge_secret).expect("hex or a word");
            parts.headers.insert(EDGE_VERIFIED, secret);
            Verdict::Forward
        }
        (false, EdgeMiss::Forward) => {
            r.edge_fallbacks += 1;
            Verdict::Forward
        }
        (false, EdgeMiss::Refuse) => {
            r.edge_refusals += 1;
            Verdict::Refuse
        }
    }
}

/// The Worker's `KV.put("token:" + jobId, …, { expirationTtl })` of a 202's token, awaited
/// before the 202 leaves, at the POST's location; nothing for a variant without an edge
/// check, or a body that is not a 202's.
pub(super) async fn put_accepted(env: &Env, job: u64, body: &Bytes) {
    if env.variant.edge_check().is_none() {
        return;
    }
    let Ok(accepted) = serde_json::from_slice::<BatchAccepted>(body) else {
        return;
    };
    let index = env.kv.next_put(job);
    let took_ms = env
        .draws
        .ms(&env.scenario.kv.write_ms, job, Purpose::KvWrite, index);
    crate::clock::sleep_ms(took_ms).await;
    let entry = Entry {
        token: accepted.token,
        expires_at_ms: env.sim_ms(accepted.expires_at_ms),
    };
    env.kv
        .put(job, Location::Home, Some(entry), env.clock.now_ms());
    env.recorder.borrow_mut().job(job).kv_writes += 1;
}

/// The Worker's `KV.delete` of a revoked token, at the POST's location (the object told it).
pub(crate) fn delete_revoked(env: &Env, job: u64) {
    if env.variant.edge_check().is_none() {
        return;
    }
    env.kv.put(job, Location::Home, None, env.clock.now_ms());
    env.recorder.borrow_mut().job(job).kv_writes += 1;
}
