//! The storage model of one durable object: durable values, the in-memory cache, and the
//! latency of each operation (kv round trips, cached reads, sqlite local reads, writes).

use std::collections::BTreeMap;

use super::object::Object;
use super::Env;
use crate::clock;
use crate::draw::Purpose;
use crate::record::fault;
use crate::scenario::Backend;

pub(crate) const AUTH_TOKEN: &str = "authToken";
pub(crate) const AUTH_TOKEN_EXPIRATION: &str = "authTokenExpiration";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    Text(String),
    Ms(u64),
}

/// Durable values and the in-memory cache of one object.
#[derive(Debug, Default)]
pub(crate) struct Store {
    durable: BTreeMap<&'static str, Stored>,
    cache: BTreeMap<&'static str, Stored>,
    /// Operations issued so far, the index of their draws.
    round_trips: u64,
    cached_reads: u64,
    writes: u64,
}

impl Store {
    /// Writes values durably and into the cache, without latency (benchmark set-up).
    pub(crate) fn preload(&mut self, entries: &[(&'static str, Stored)]) {
        for (k, v) in entries {
            self.durable.insert(k, v.clone());
            self.cache.insert(k, v.clone());
        }
    }

    /// Memory is lost (restart, hibernation, eviction); durable values stay.
    pub(crate) fn forget_memory(&mut self) {
        self.cache.clear();
    }
}

/// A storage operation that failed (an injected fault); nothing was read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageFailed;

/// One finished read: values in key order and how long it took.
pub(crate) struct Read {
    pub(crate) values: Vec<Option<Stored>>,
    pub(crate) took_ms: u64,
}

impl Object {
    /// `storage.get(keys)`: one round trip for all keys unless all are cached (or local).
    /// The values are those committed when the read is issued. Round trips may meet the
    /// scenario's injected errors and latency spikes.
    pub(crate) async fn storage_get(
        &self,
        env: &Env,
        keys: &[&'static str],
    ) -> Result<Read, StorageFailed> {
        let _gate = self.storage_gate(env).await;
        let start_ms = env.clock.now_ms();
        let faults = &env.scenario.faults.storage;
        let incarnation = self.incarnation();
        let (ms, failed, values) = {
            let mut st = self.state.borrow_mut();
            let store = &mut st.store;
            let local = env.scenario.storage.backend == Backend::Sqlite
                || keys.iter().all(|k| store.cache.contains_key(k));
            let values: Vec<Option<Stored>> =
                keys.iter().map(|k| store.durable.get(k).cloned()).collect();
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
            env.recorder.borrow_mut().fault(fault::STORAGE_READ_ERROR);
            tracing::info!(job = self.job, t_ms = end_ms, ?keys, "storage read failed");
            return Err(StorageFailed);
        }
        let mut st = self.state.borrow_mut();
        // A crash since the read was issued took the memory it would have filled.
        if st.incarnation == incarnation {
            for (k, v) in keys.iter().zip(&values) {
                if let Some(v) = v {
                    st.store.cache.insert(k, v.clone());
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
        env.recorder.borrow_mut().fault(fault::STORAGE_SPIKE);
        env.draws
            .ms(&f.spike_ms, self.job, Purpose::StorageSpike, 2 * index + 1)
    }

    /// `storage.put(entries)`: one write round trip, confirmed before returning.
    pub(crate) async fn storage_put(
        &self,
        env: &Env,
        entries: Vec<(&'static str, Stored)>,
    ) -> Result<(), StorageFailed> {
        let _gate = self.storage_gate(env).await;
        let incarnation = self.incarnation();
        let (ms, failed) = {
            let mut st = self.state.borrow_mut();
            st.store.writes += 1;
            let i = st.store.writes - 1;
            let ms = env.draws.ms(
                &env.scenario.storage.write_ms,
                self.job,
                Purpose::StorageWrite,
                i,
            );
            let failed = env.draws.chance(
                env.scenario.faults.storage.write_error,
                self.job,
                Purpose::StorageWriteError,
                i,
            );
            (ms + self.spike_ms(env, 2 * i + 1), failed)
        };
        clock::sleep_ms(ms).await;
        if failed {
            env.recorder.borrow_mut().fault(fault::STORAGE_WRITE_ERROR);
            tracing::info!(
                job = self.job,
                t_ms = env.clock.now_ms(),
                "token write failed"
            );
            return Err(StorageFailed);
        }
        let mut st = self.state.borrow_mut();
        let fills_cache = env.scenario.storage.put_populates_cache && st.incarnation == incarnation;
        for (k, v) in entries {
            if fills_cache {
                st.store.cache.insert(k, v.clone());
            }
            st.store.durable.insert(k, v);
        }
        tracing::debug!(
            job = self.job,
            t_ms = env.clock.now_ms(),
            took_ms = ms,
            "token write"
        );
        Ok(())
    }

    /// The token and expiration the durable store holds now (the safety check's reference).
    pub(crate) fn durable_token(&self) -> (Option<String>, Option<u64>) {
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
