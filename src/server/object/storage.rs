//! An object's storage operations: `get` and `put` on its [`Store`] with the scenario's
//! latency (kv round trips, cached reads, sqlite local reads, commits), spikes and errors, the
//! input gate while a read is in flight and the output gate until commits are durable.

use futures_util::future::LocalBoxFuture;

use super::Object;
use crate::clock;
use crate::draw::Purpose;
use crate::names::FaultKind;
use crate::scenario::Backend;
use crate::server::storage::{
    Commit, Read, StorageFailed, Stored, AUTH_TOKEN, AUTH_TOKEN_EXPIRATION,
};
use crate::server::variant::Backing;
use crate::server::Env;

impl Backing for Object {
    fn incarnation(&self) -> u64 {
        Object::incarnation(self)
    }
    fn get<'a>(
        &'a self,
        env: &'a Env,
        keys: &'a [&'static str],
    ) -> LocalBoxFuture<'a, Result<Read, StorageFailed>> {
        Box::pin(self.storage_get(env, keys))
    }
    fn memory_token(&self) -> Option<(String, u64)> {
        Object::memory_token(self)
    }
    fn remember_token(&self, incarnation: u64, token: String, expires_at_ms: u64) {
        Object::remember_token(self, incarnation, token, expires_at_ms)
    }
}

impl Object {
    /// `storage.get(keys)`: one round trip for all keys unless all are cached (or local).
    /// The values are those of the cache (the object's own puts included, durable or not) or
    /// else those durable when the read is issued. Holds the input gate while in flight.
    /// Round trips may meet the scenario's injected errors and latency spikes.
    pub(crate) async fn storage_get(
        &self,
        env: &Env,
        keys: &[&'static str],
    ) -> Result<Read, StorageFailed> {
        let _gate = self.storage_gate(env).await;
        let start_ms = env.clock.now_ms();
        let faults = &env.scenario.faults.storage;
        let incarnation = self.settle(env);
        let (ms, failed, values) = {
            let mut st = self.state.borrow_mut();
            let store = &mut st.store;
            let local = env.scenario.storage.backend == Backend::Sqlite
                || keys.iter().all(|k| store.cache.contains_key(k));
            let values: Vec<Option<Stored>> = keys
                .iter()
                .map(|k| store.cache.get(k).or(store.durable.get(k)).cloned())
                .collect();
            if local {
                store.cached_reads += 1;
                let ms = env.draws.ms(
                    &env.scenario.storage.cached_read_ms,
                    self.job,
                    Purpose::CachedRead,
                    store.cached_reads - 1,
                );
                (ms, false, values)
            } else {
                store.round_trips += 1;
                let i = store.round_trips - 1;
                let ms = env.draws.ms(
                    &env.scenario.storage.read_ms,
                    self.job,
                    Purpose::StorageRead,
                    i,
                ) + self.spike_ms(env, 2 * i);
                let failed =
                    env.draws
                        .chance(faults.read_error, self.job, Purpose::StorageReadError, i);
                (ms, failed, values)
            }
        };
        tracing::debug!(job = self.job, t_ms = start_ms, ?keys, "storage read start");
        clock::sleep_ms(ms).await;
        let end_ms = env.clock.now_ms();
        if failed {
            env.recorder.borrow_mut().fault(FaultKind::StorageReadError);
            tracing::info!(job = self.job, t_ms = end_ms, ?keys, "storage read failed");
            return Err(StorageFailed);
        }
        let mut st = self.state.borrow_mut();
        // A crash since the read was issued took the memory it would have filled; a put
        // issued since is newer than what the read found.
        if st.incarnation == incarnation {
            for (k, v) in keys.iter().zip(&values) {
                if let Some(v) = v {
                    st.store.cache.insert_if_absent(k, || v.clone());
                }
            }
        }
        tracing::debug!(
            job = self.job,
            t_ms = end_ms,
            ?keys,
            took_ms = end_ms - start_ms,
            "storage read end"
        );
        Ok(Read {
            values,
            took_ms: end_ms - start_ms,
        })
    }

    /// The extra latency of round trip `index` (reads even, writes odd) if it meets a spike.
    fn spike_ms(&self, env: &Env, index: u64) -> u64 {
        let f = &env.scenario.faults.storage;
        if !env.draws.chance(
            f.spike_probability,
            self.job,
            Purpose::StorageSpike,
            2 * index,
        ) {
            return 0;
        }
        env.recorder.borrow_mut().fault(FaultKind::StorageSpike);
        env.draws
            .ms(&f.spike_ms, self.job, Purpose::StorageSpike, 2 * index + 1)
    }

    /// `storage.put(entries)`: the values are in the cache (visible to the object's own reads)
    /// at once and the put returns; the commit is durable `write_ms` later, after every commit
    /// issued before it. It does not hold the input gate; it holds the output gate.
    pub(crate) fn storage_put(&self, env: &Env, entries: Vec<(&'static str, Stored)>) {
        let now_ms = env.clock.now_ms();
        let incarnation = self.settle(env);
        let mut st = self.state.borrow_mut();
        st.store.writes += 1;
        let i = st.store.writes - 1;
        let ms = env.draws.ms(
            &env.scenario.storage.write_ms,
            self.job,
            Purpose::StorageWrite,
            i,
        ) + self.spike_ms(env, 2 * i + 1);
        let failed = env.draws.chance(
            env.scenario.faults.storage.write_error,
            self.job,
            Purpose::StorageWriteError,
            i,
        );
        if failed {
            env.recorder
                .borrow_mut()
                .fault(FaultKind::StorageWriteError);
        }
        let store = &mut st.store;
        let end_ms = store
            .commits
            .back()
            .map_or(now_ms + ms, |c| c.end_ms.max(now_ms + ms));
        for (k, v) in &entries {
            store.cache.insert(k, v.clone());
        }
        store.commits.push_back(Commit {
            index: i,
            end_ms,
            entries,
            failed,
            incarnation,
        });
        tracing::debug!(
            job = self.job,
            t_ms = now_ms,
            durable_at_ms = end_ms,
            "token write issued"
        );
    }

    /// Applies the commits due by now; the object's incarnation.
    fn settle(&self, env: &Env) -> u64 {
        let mut st = self.state.borrow_mut();
        let incarnation = st.incarnation;
        let populates = env.scenario.storage.put_populates_cache;
        st.store
            .settle(env.clock.now_ms(), populates, incarnation, self.job);
        incarnation
    }

    /// The output gate: an outgoing message (a response) leaves only when every put issued
    /// before it is durable. `Err` when one of them failed: the message is not sent.
    pub(crate) async fn output_gate(&self, env: &Env) -> Result<(), StorageFailed> {
        self.settle(env);
        let (waited, end_ms) = {
            let st = self.state.borrow();
            let waited: Vec<u64> = st.store.commits.iter().map(|c| c.index).collect();
            (waited, st.store.commits.back().map(|c| c.end_ms))
        };
        if let Some(end_ms) = end_ms {
            clock::sleep_ms(end_ms.saturating_sub(env.clock.now_ms())).await;
            self.settle(env);
        }
        let st = self.state.borrow();
        if waited.iter().any(|i| st.store.failed.contains(i)) {
            return Err(StorageFailed);
        }
        Ok(())
    }

    /// The latest token expiration the object holds anywhere: durable, cached, or in a
    /// commit still in flight (`None`: it holds no token).
    pub(crate) fn token_expires_ms(&self) -> Option<u64> {
        let st = self.state.borrow();
        let store = &st.store;
        let pending = store.commits.iter().flat_map(|c| c.entries.iter());
        store
            .durable
            .iter()
            .chain(store.cache.iter())
            .chain(pending.map(|(k, v)| (*k, v)))
            .filter_map(|(k, v)| match v {
                Stored::Ms(ms) if k == AUTH_TOKEN_EXPIRATION => Some(*ms),
                _ => None,
            })
            .max()
    }

    /// The token and expiration the durable store holds now (the safety check's reference).
    pub(crate) fn durable_token(&self, env: &Env) -> (Option<String>, Option<u64>) {
        self.settle(env);
        let st = self.state.borrow();
        let token = match st.store.durable.get(AUTH_TOKEN) {
            Some(Stored::Text(t)) => Some(t.clone()),
            _ => None,
        };
        let exp = match st.store.durable.get(AUTH_TOKEN_EXPIRATION) {
            Some(Stored::Ms(ms)) => Some(*ms),
            _ => None,
        };
        (token, exp)
    }
}
