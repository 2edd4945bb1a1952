//! Revocation (`auth.revoke_probability`): at a drawn time after the job's first POST the
//! object forgets the job's token (storage and memory) and the Worker deletes it from KV. The
//! object's own check refuses the token at once; an edge location that cached it in KV
//! accepts it until its `cacheTtl` ends: the window each revocation records.

use std::rc::Rc;

use super::{Object, Objects};
use crate::clock;
use crate::draw::Purpose;
use crate::server::storage::{Stored, AUTH_TOKEN};
use crate::task;

/// Whether job `job`'s token is revoked (keyed so the client's stale holder draws the same).
pub(crate) fn revoked(env: &crate::server::Env, job: u64) -> bool {
    let p = env.scenario.auth.revoke_probability;
    env.draws.chance(p, job, Purpose::Revoke, 0)
}

/// Schedules the job's revocation, if it has one.
pub(super) fn schedule(objects: &Rc<Objects>, object: &Rc<Object>) {
    let env = &objects.env;
    if !revoked(env, object.job) {
        return;
    }
    let after_ms = env.draws.ms(
        &env.scenario.auth.revoke_after_ms,
        object.job,
        Purpose::Revoke,
        1,
    );
    let (objects, object) = (objects.clone(), object.clone());
    task::spawn(async move {
        clock::sleep_ms(after_ms).await;
        let env = &objects.env;
        let (_event, _cold) = object.deliver(env).await;
        let now_ms = env.clock.now_ms();
        // An empty token matches no presented one (`auth::check`).
        object.storage_put(env, vec![(AUTH_TOKEN, Stored::Text(String::new()))]);
        {
            let mut st = object.state.borrow_mut();
            st.memory_token = None;
            st.revoked_at_ms = Some(now_ms);
        }
        crate::server::edge::delete_revoked(env, object.job);
        let window_ms = env.kv.stale_window_ms(object.job, now_ms);
        tracing::info!(job = object.job, t_ms = now_ms, window_ms, "token revoked");
        let mut rec = env.recorder.borrow_mut();
        let r = rec.job(object.job);
        r.revoked = true;
        r.stale_window_ms = Some(window_ms);
    });
}
