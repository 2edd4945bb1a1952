//! The storage model of one durable object, as workerd has it: durable values, the in-memory
//! cache and the commits in flight. The operations on it, with their latency (kv round trips,
//! cached reads, sqlite local reads, commits), gates and faults, are the object's
//! (`object/storage.rs`).
//!
//! A `put` goes into the cache at once, so the object's own later reads see it
//! (read-your-writes), and returns without waiting; its commit becomes durable `write_ms`
//! later, in issue order. The commit holds the object's *outgoing* messages (the output gate,
//! [`Object::output_gate`]), not its incoming events; only a read in flight holds those (the
//! input gate, in `object::lifecycle`). Checked in workerd 2026-11-17 with a Durable Object
//! speaking this project's API.

use std::collections::{BTreeSet, VecDeque};

pub(crate) const AUTH_TOKEN: &str = "authToken";
pub(crate) const AUTH_TOKEN_EXPIRATION: &str = "authTokenExpiration";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    Text(String),
    Ms(u64),
}

/// Durable values, the in-memory cache and the commits in flight of one object.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(in crate::server) durable: Entries,
    /// Committed values read or written earlier, and the values of puts not yet durable.
    pub(in crate::server) cache: Entries,
    /// Operations issued so far, the index of their draws.
    pub(in crate::server) round_trips: u64,
    pub(in crate::server) cached_reads: u64,
    pub(in crate::server) writes: u64,
    /// Puts issued and not yet durable, in issue order (their end times never decrease).
    pub(in crate::server) commits: VecDeque<Commit>,
    /// Writes that failed, by index: a message the output gate held for one is not sent.
    pub(in crate::server) failed: BTreeSet<u64>,
}

/// Values by key, in key order. An object holds two or three keys, and every job of a run
/// keeps its object: a vector of them is about a third of an ordered map's first node (160 B
/// reserved by the first insert, against a leaf of ~456 B: issue 27).
#[derive(Debug, Default)]
pub(crate) struct Entries(Vec<(&'static str, Stored)>);

impl Entries {
    fn find(&self, k: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(key, _)| (*key).cmp(k))
    }

    pub(in crate::server) fn get(&self, k: &str) -> Option<&Stored> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    pub(in crate::server) fn contains_key(&self, k: &str) -> bool {
        self.find(k).is_ok()
    }

    pub(in crate::server) fn insert(&mut self, k: &'static str, v: Stored) {
        match self.find(k) {
            Ok(i) => self.0[i].1 = v,
            Err(i) => self.0.insert(i, (k, v)),
        }
    }

    /// Inserts `v` unless `k` holds a value already.
    pub(in crate::server) fn insert_if_absent(
        &mut self,
        k: &'static str,
        v: impl FnOnce() -> Stored,
    ) {
        if let Err(i) = self.find(k) {
            self.0.insert(i, (k, v()));
        }
    }

    pub(in crate::server) fn remove(&mut self, k: &str) {
        if let Ok(i) = self.find(k) {
            self.0.remove(i);
        }
    }

    /// Every value, its memory freed.
    pub(in crate::server) fn clear(&mut self) {
        self.0 = Vec::new();
    }

    pub(in crate::server) fn iter(&self) -> impl Iterator<Item = (&'static str, &Stored)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// One put on its way to durable storage.
#[derive(Debug)]
pub(in crate::server) struct Commit {
    pub(in crate::server) index: u64,
    pub(in crate::server) end_ms: u64,
    pub(in crate::server) entries: Vec<(&'static str, Stored)>,
    pub(in crate::server) failed: bool,
    /// The object's incarnation when the put was issued: a later one keeps no cache entry
    /// of it.
    pub(in crate::server) incarnation: u64,
}

impl Store {
    /// Writes values durably and into the cache, without latency (benchmark set-up).
    pub(crate) fn preload(&mut self, entries: &[(&'static str, Stored)]) {
        for (k, v) in entries {
            self.durable.insert(k, v.clone());
            self.cache.insert(k, v.clone());
        }
    }

    /// Memory is lost (restart, hibernation, eviction); durable values stay, and commits in
    /// flight still land.
    pub(crate) fn forget_memory(&mut self) {
        self.cache.clear();
    }

    /// Applies every commit that is due by `now_ms`: a success is durable (and leaves the
    /// cache unless `put_populates_cache`); a failure drops its values from the cache.
    pub(in crate::server) fn settle(
        &mut self,
        now_ms: u64,
        populates_cache: bool,
        incarnation: u64,
        job: u64,
    ) {
        while self.commits.front().is_some_and(|c| c.end_ms <= now_ms) {
            let c = self.commits.pop_front().expect("front checked");
            let same_life = c.incarnation == incarnation;
            for (k, v) in c.entries {
                let cached_here = same_life && self.cache.get(k) == Some(&v);
                if c.failed {
                    if cached_here {
                        self.cache.remove(k);
                    }
                    continue;
                }
                if cached_here && !populates_cache {
                    self.cache.remove(k);
                }
                self.durable.insert(k, v);
            }
            if c.failed {
                self.failed.insert(c.index);
                tracing::info!(job, t_ms = c.end_ms, "token write failed");
            } else {
                tracing::debug!(job, t_ms = c.end_ms, "token write durable");
            }
        }
        if self.commits.is_empty() {
            // Every job keeps its object until its run ends: no room kept for puts to come.
            self.commits = VecDeque::new();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the store asked of the ordered map it replaced: key order, one value a key, an
    /// insert that replaces and one that does not, removal.
    #[test]
    fn entries_keep_one_value_a_key_in_key_order() {
        let mut e = Entries::default();
        e.insert(AUTH_TOKEN_EXPIRATION, Stored::Ms(1));
        e.insert(AUTH_TOKEN, Stored::Text("a".into()));
        e.insert(AUTH_TOKEN_EXPIRATION, Stored::Ms(2));
        e.insert_if_absent(AUTH_TOKEN, || Stored::Text("b".into()));
        let all: Vec<_> = e.iter().collect();
        assert_eq!(
            all,
            [
                (AUTH_TOKEN, &Stored::Text("a".into())),
                (AUTH_TOKEN_EXPIRATION, &Stored::Ms(2)),
            ]
        );
        e.remove(AUTH_TOKEN);
        assert!(!e.contains_key(AUTH_TOKEN));
        assert_eq!(e.get(AUTH_TOKEN_EXPIRATION), Some(&Stored::Ms(2)));
        e.insert_if_absent(AUTH_TOKEN, || Stored::Text("c".into()));
        assert_eq!(e.get(AUTH_TOKEN), Some(&Stored::Text("c".into())));
        e.clear();
        assert_eq!(e.iter().count(), 0);
    }
}
