//! The storage model of one durable object: durable values, the in-memory cache, and the
//! latency of each operation (kv round trips, cached reads, sqlite local reads, writes).

use std::collections::BTreeMap;

use super::object::Object;
use super::Env;
use crate::draw::Purpose;
use crate::scenario::Backend;

pub const AUTH_TOKEN: &str = "authToken";
pub const AUTH_TOKEN_EXPIRATION: &str = "authTokenExpiration";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Text(String),
    Ms(u64),
}

/// Durable values and the in-memory cache of one object.
#[derive(Debug, Default)]
pub struct Store {
    durable: BTreeMap<&'static str, Stored>,
    cache: BTreeMap<&'static str, Stored>,
    /// Operations issued so far, the index of their draws.
    round_trips: u64,
    cached_reads: u64,
    writes: u64,
}

impl Store {
    /// Writes values durably and into the cache, without latency (benchmark set-up).
    pub fn preload(&mut self, entries: &[(&'static str, Stored)]) {
        for (k, v) in entries {
            self.durable.insert(k, v.clone());
            self.cache.insert(k, v.clone());
        }
    }

    /// Memory is lost (restart, hibernation, eviction); durable values stay.
    pub fn forget_memory(&mut self) {
        self.cache.clear();
    }
}

/// One finished read: values in key order and how long it took.
pub struct Read {
    pub values: Vec<Option<Stored>>,
    pub took_ms: u64,
}

impl Object {
    /// `storage.get(keys)`: one round trip for all keys unless all are cached (or local).
    pub async fn storage_get(&self, env: &Env, keys: &[&'static str]) -> Read {
        let _gate = self.storage_gate(env).await;
        let start_ms = env.clock.now_ms();
        let ms = {
            let mut st = self.state.borrow_mut();
            let store = &mut st.store;
            let local = env.scenario.storage.backend == Backend::Sqlite
                || keys.iter().all(|k| store.cache.contains_key(k));
            if local {
                store.cached_reads += 1;
                env.draws.ms(
                    &env.scenario.storage.cached_read_ms,
                    self.job,
                    Purpose::CachedRead,
                    store.cached_reads - 1,
                )
            } else {
                store.round_trips += 1;
                env.draws.ms(
                    &env.scenario.storage.read_ms,
                    self.job,
                    Purpose::StorageRead,
                    store.round_trips - 1,
                )
            }
        };
        tracing::debug!(job = self.job, t_ms = start_ms, ?keys, "storage read start");
        Env::sleep_ms(ms).await;
        let mut st = self.state.borrow_mut();
        let store = &mut st.store;
        let values = keys
            .iter()
            .map(|k| {
                let v = store.durable.get(k).cloned();
                if let Some(v) = &v {
                    store.cache.insert(k, v.clone());
                }
                v
            })
            .collect();
        let end_ms = env.clock.now_ms();
        tracing::debug!(
            job = self.job,
            t_ms = end_ms,
            ?keys,
            took_ms = end_ms - start_ms,
            "storage read end"
        );
        Read {
            values,
            took_ms: end_ms - start_ms,
        }
    }

    /// `storage.put(entries)`: one write round trip, confirmed before returning.
    pub async fn storage_put(&self, env: &Env, entries: Vec<(&'static str, Stored)>) {
        let _gate = self.storage_gate(env).await;
        let ms = {
            let mut st = self.state.borrow_mut();
            st.store.writes += 1;
            env.draws.ms(
                &env.scenario.storage.write_ms,
                self.job,
                Purpose::StorageWrite,
                st.store.writes - 1,
            )
        };
        Env::sleep_ms(ms).await;
        let mut st = self.state.borrow_mut();
        for (k, v) in entries {
            if env.scenario.storage.put_populates_cache {
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
    }
}
