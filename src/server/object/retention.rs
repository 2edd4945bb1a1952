//! Which objects a live host forgets, and when. An object is *in use* while anything but the
//! host's registry holds it: a request, a handshake, its socket, its running enrichment, a
//! scheduled crash or token call. One not in use is forgotten — memory and storage, as the host
//! has no disk — once it has been idle for the scenario's `object.evict_after_idle_ms` (when
//! the model evicts it) and either its token has expired (or it has none) or it has been idle
//! for the job retention. A POST that finds the host at its most objects first forgets the
//! least recently used idle ones (a tenth of the limit at once), so new jobs keep working;
//! only when every kept object is in use does it get a 503. The simulation forgets nothing.
//! The reference Worker keeps jobs by the same rule (`worker/src/retention.js`; docs/api.md, "How
//! long a job is kept"), with the defaults of `--job-retention-s` and `--max-jobs`.

use std::rc::Rc;

use super::Objects;

impl Objects {
    /// Forgets the objects whose retention has passed; marks those in use as seen now.
    pub(crate) fn sweep(&self) {
        self.sweep_at(self.env.clock.now_ms());
    }

    pub(super) fn sweep_at(&self, now_ms: u64) {
        let Some(bounds) = self.env.bounds() else {
            return;
        };
        let evict_ms = self.env.scenario.object.evict_after_idle_ms;
        let retention_ms = bounds.job_retention_ms.max(evict_ms);
        self.objects.borrow_mut().retain(|_, o| {
            if Rc::strong_count(o) > 1 {
                o.touched_ms.set(now_ms);
                return true;
            }
            let idle_ms = now_ms.saturating_sub(o.touched_ms.get());
            let token_valid = o.token_expires_ms().is_some_and(|exp| exp > now_ms);
            idle_ms < evict_ms || (token_valid && idle_ms < retention_ms)
        });
    }

    /// At the most objects: forgets what retention allows, then the least recently used idle
    /// objects until a tenth of the limit is free. Whether there is room for one more.
    pub(super) fn make_room(&self) -> bool {
        let max = self.objects_max();
        if self.env.bounds().is_none() {
            return self.objects.borrow().len() < max;
        }
        self.sweep();
        let mut objects = self.objects.borrow_mut();
        let target = max - max.div_ceil(10);
        if objects.len() > target {
            let mut idle: Vec<(u64, String)> = objects
                .iter()
                .filter(|(_, o)| Rc::strong_count(o) == 1)
                .map(|(id, o)| (o.touched_ms.get(), id.clone()))
                .collect();
            idle.sort_unstable();
            let excess = objects.len() - target;
            for (_, id) in idle.into_iter().take(excess) {
                objects.remove(&id);
            }
            tracing::info!(
                kept = objects.len(),
                "job limit reached: idle jobs forgotten"
            );
        }
        objects.len() < max
    }

    /// Objects kept now.
    #[cfg(test)]
    pub(crate) fn kept_count(&self) -> usize {
        self.objects.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use super::Objects;
    use crate::clock::Clock;
    use crate::draw::Draws;
    use crate::record::Recorder;
    use crate::scenario::Scenario;
    use crate::server::{variant, Bounds, Env, Live};

    const EVICT_MS: u64 = 70_000;
    const RETENTION_MS: u64 = 600_000;

    fn live_objects(jobs_max: usize) -> Rc<Objects> {
        let scenario = Scenario::from_toml_str("<test>", "", &[]).unwrap();
        assert_eq!(scenario.object.evict_after_idle_ms, EVICT_MS);
        Objects::new(Env {
            kv: crate::server::kv_namespace(&scenario, None),
            edge_secret: crate::server::SIM_EDGE_SECRET.into(),
            scenario: Rc::new(scenario),
            draws: Draws::new(1, 1),
            clock: Clock::live_from_now(),
            variant: variant::by_name("sequential").unwrap(),
            recorder: Rc::new(RefCell::new(Recorder::discarding_jobs())),
            live: Some(Live {
                token: || "t".repeat(32),
                epoch_start_ms: 0,
                shutdown: tokio::sync::watch::channel(false).1,
                bounds: Bounds {
                    header_timeout: Duration::from_secs(10),
                    idle_timeout: Duration::from_secs(120),
                    jobs_max,
                    job_retention_ms: RETENTION_MS,
                    pool_max: 32,
                },
            }),
        })
    }

    #[test]
    fn requests_for_jobs_never_posted_keep_nothing() {
        let objects = live_objects(100);
        for i in 0..10_000 {
            let o = objects.find(&format!("unknown-{i}"));
            assert_eq!(o.id, format!("unknown-{i}"));
        }
        assert_eq!(objects.kept_count(), 0);
        objects.get("job-1").unwrap();
        let (a, b) = (objects.find("job-1"), objects.find("job-1"));
        assert!(Rc::ptr_eq(&a, &b), "a posted job is found, not made again");
        assert_eq!(objects.kept_count(), 1);
    }

    #[test]
    fn an_idle_job_is_forgotten_after_eviction_once_its_token_expired_or_retention_passed() {
        let objects = live_objects(100);
        // Token valid for a day, and one that expires at 100 s; neither object in use.
        objects.preload("long", "a", 86_400_000);
        objects.preload("short", "b", 100_000);
        objects.get("tokenless").unwrap();
        let held = objects.get("held").unwrap();
        let kept = |ids: &[&str]| {
            ids.iter()
                .all(|id| objects.objects.borrow().contains_key(*id))
                && objects.kept_count() == ids.len()
        };
        objects.sweep_at(EVICT_MS - 1);
        assert!(kept(&["long", "short", "tokenless", "held"]));
        objects.sweep_at(EVICT_MS);
        assert!(
            kept(&["long", "short", "held"]),
            "no token: gone at eviction"
        );
        objects.sweep_at(100_000);
        assert!(kept(&["long", "held"]), "token expired: gone");
        objects.sweep_at(RETENTION_MS);
        assert!(
            kept(&["held"]),
            "retention over: gone though the token is valid"
        );
        objects.sweep_at(10 * RETENTION_MS);
        assert!(kept(&["held"]), "an object in use stays");
        drop(held);
        objects.sweep_at(10 * RETENTION_MS + EVICT_MS);
        assert_eq!(objects.kept_count(), 0);
    }

    #[test]
    fn at_the_job_limit_a_new_job_forgets_the_least_recently_used_idle_ones() {
        let objects = live_objects(10);
        let held: Vec<_> = (0..5)
            .map(|i| objects.get(&format!("held-{i}")).unwrap())
            .collect();
        for i in 0..5 {
            objects.preload(&format!("idle-{i}"), "t", u64::MAX);
        }
        // The limit is reached; the next job makes room (a tenth of the limit at once) from
        // the idle ones, and keeps working for as long as idle ones remain.
        for i in 0..5 {
            assert!(objects.get(&format!("new-{i}")).is_some(), "new job {i}");
            assert!(objects.kept_count() <= 10);
        }
        assert!(held
            .iter()
            .all(|o| objects.objects.borrow().contains_key(&o.id)));
        // Every kept object in use: the next job is refused, not kept.
        let more: Vec<_> = (0..5).map(|i| objects.find(&format!("new-{i}"))).collect();
        assert!(objects.get("one-too-many").is_none());
        assert_eq!(objects.kept_count(), 10);
        drop(more);
        assert!(objects.get("one-too-many").is_some());
    }
}
