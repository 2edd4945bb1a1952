//! An object's life: events delivered through the input gate (closed while a storage read is
//! in flight, as in workerd), activation with a cold start, hibernation and eviction after
//! idle, restarts, and crashes.

use std::rc::Rc;

use tokio::sync::RwLockReadGuard;

use super::{Object, Objects, State};
use crate::clock;
use crate::draw::Purpose;
use crate::names::FaultKind;
use crate::server::Env;
use crate::task;

/// Holds an event "in flight" for the idle clock; dropping it ends the event.
pub(super) struct EventGuard<'a> {
    object: &'a Object,
    env: &'a Env,
}

impl Drop for EventGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.object.state.borrow_mut();
        st.events_in_flight -= 1;
        st.last_event_end_ms = self.env.clock.now_ms();
    }
}

impl Object {
    /// Memory is gone (at `now_ms`); the next event starts the object cold. Storage is kept.
    pub(super) fn go_cold(&self, st: &mut State, why: &str, now_ms: u64) {
        if st.active {
            tracing::debug!(job = self.job, t_ms = now_ms, why, "object cold");
            st.billed_ms += now_ms.saturating_sub(st.activated_ms);
        }
        st.active = false;
        st.store.forget_memory();
        st.memory_token = None;
    }

    /// Delivers an event: waits at the input gate, applies idle hibernation or eviction,
    /// and activates a cold object. Returns the cold start paid, if any.
    pub(super) async fn deliver<'a>(&'a self, env: &'a Env) -> (EventGuard<'a>, Option<u64>) {
        let (event, cold_ms, _) = self.deliver_in_turn(env, false).await;
        (event, cold_ms)
    }

    /// [`Object::deliver`], and with `turn` the object's turn taken before anything else can
    /// be delivered (the `turn` field): the gates are waited for with the activation held, so
    /// an event that came during a cold start cannot slip in between the start and the turn.
    /// (Nothing that holds the turn or a storage read waits for the activation.)
    pub(super) async fn deliver_in_turn<'a>(
        &'a self,
        env: &'a Env,
        turn: bool,
    ) -> (EventGuard<'a>, Option<u64>, Option<RwLockReadGuard<'a, ()>>) {
        let gated = env.scenario.object.input_gate;
        let _activation = self.activation.lock().await;
        if gated {
            drop(self.gate.write().await);
            drop(self.turn.write().await);
        }
        let now_ms = env.clock.now_ms();
        let cold_ms = self.begin_event(env, now_ms);
        let guard = EventGuard { object: self, env };
        if let Some(ms) = cold_ms {
            tracing::debug!(
                job = self.job,
                t_ms = now_ms,
                cold_start_ms = ms,
                "cold start"
            );
            clock::sleep_ms(ms).await;
            self.state.borrow_mut().active = true;
        }
        let held = if turn && gated {
            Some(self.turn.read().await)
        } else {
            None
        };
        (guard, cold_ms, held)
    }

    /// Counts an event in flight, after sending an idle object cold; the cold start the
    /// event pays, if the object is not active.
    fn begin_event(&self, env: &Env, now_ms: u64) -> Option<u64> {
        let mut st = self.state.borrow_mut();
        if st.active && st.events_in_flight == 0 {
            let idle_ms = now_ms - st.last_event_end_ms;
            let o = &env.scenario.object;
            // It went cold when the first of the two idle periods ended, not now.
            let cold_ms =
                st.last_event_end_ms + o.hibernate_after_idle_ms.min(o.evict_after_idle_ms);
            if idle_ms >= o.evict_after_idle_ms {
                self.go_cold(&mut st, "evicted after idle", cold_ms);
            } else if idle_ms >= o.hibernate_after_idle_ms {
                self.go_cold(&mut st, "hibernated after idle", cold_ms);
            }
        }
        st.events_in_flight += 1;
        if st.active {
            None
        } else {
            st.activations += 1;
            st.activated_ms = now_ms;
            Some(env.draws.ms(
                &env.scenario.object.cold_start_ms,
                self.job,
                Purpose::ColdStart,
                st.activations - 1,
            ))
        }
    }

    /// What the object cost up to `now_ms`, the run's end: its storage operations and its
    /// wall time while active, an active object counted until it would hibernate.
    pub(super) fn costs(&self, env: &Env, now_ms: u64) -> (u32, u64) {
        let st = self.state.borrow();
        let o = &env.scenario.object;
        let open_ms = match (st.active, st.events_in_flight) {
            (false, _) => 0,
            (true, 0) => (st.last_event_end_ms
                + o.hibernate_after_idle_ms.min(o.evict_after_idle_ms))
            .saturating_sub(st.activated_ms),
            (true, _) => now_ms.saturating_sub(st.activated_ms),
        };
        let s = &st.store;
        let ops = s.round_trips + s.cached_reads + s.writes;
        (
            u32::try_from(ops).unwrap_or(u32::MAX),
            st.billed_ms + open_ms,
        )
    }

    /// Held by each storage read while the input gate is on (a put's commit does not hold
    /// it, nor does a timer).
    pub(in crate::server) async fn storage_gate(
        &self,
        env: &Env,
    ) -> Option<RwLockReadGuard<'_, ()>> {
        if env.scenario.object.input_gate {
            Some(self.gate.read().await)
        } else {
            None
        }
    }

    /// The object crashes: memory, the open socket and in-flight handshakes are lost;
    /// storage and the job's progress are kept.
    fn crash(&self, env: &Env) {
        let now_ms = env.clock.now_ms();
        {
            let mut st = self.state.borrow_mut();
            st.incarnation += 1;
            self.go_cold(&mut st, "crashed", now_ms);
            // Dropping the sender ends the socket task; the new incarnation makes it abrupt.
            st.socket = None;
        }
        env.recorder.borrow_mut().fault(FaultKind::ObjectCrash);
        tracing::info!(job = self.job, t_ms = now_ms, "object crashed");
    }
}

/// The object-crash fault: with its probability, the job's object crashes once, a drawn
/// time after the POST.
pub(super) fn schedule_crash(objects: &Rc<Objects>, object: &Rc<Object>) {
    let env = &objects.env;
    let f = &env.scenario.faults.object_crash;
    if !env
        .draws
        .chance(f.probability, object.job, Purpose::ObjectCrash, 0)
    {
        return;
    }
    let after_ms = env
        .draws
        .ms(&f.after_ms, object.job, Purpose::ObjectCrash, 1);
    let (objects, object) = (objects.clone(), object.clone());
    task::spawn(async move {
        clock::sleep_ms(after_ms).await;
        object.crash(&objects.env);
    });
}
