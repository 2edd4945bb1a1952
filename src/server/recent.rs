//! A map that keeps only its recently used keys when given a bound: two generations, the
//! current one and the one before; a key found in the older one moves to the current one, and
//! when the current one reaches the bound it becomes the older one (the older one's keys are
//! forgotten). So at most twice the bound is kept, and a key used within the last bound-many
//! new keys is never lost. Without a bound (the simulation: the network's message counts and
//! first sightings, the KV namespace's jobs) it is a plain hash map: a herd looks a key up per
//! message among hundreds of thousands, where an ordered map's lookups missed the cache at
//! every level. Its hasher is FNV-1a, the same on every run, and it is never iterated, so
//! nothing output depends on its order. The bounded map (live) stays ordered: its keys come
//! from clients, which must not be able to choose colliding ones.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash};

use crate::fnv::Fnv1a;

#[derive(Debug)]
pub(crate) enum Recent<K, V> {
    Unbounded(HashMap<K, V, BuildHasherDefault<Fnv1a>>),
    Bounded {
        current: BTreeMap<K, V>,
        older: BTreeMap<K, V>,
        bound: usize,
    },
}

impl<K: Ord + Hash + Copy, V> Recent<K, V> {
    pub(crate) fn new(bound: Option<usize>) -> Self {
        match bound {
            None => Recent::Unbounded(HashMap::default()),
            Some(bound) => Recent::Bounded {
                current: BTreeMap::new(),
                older: BTreeMap::new(),
                bound,
            },
        }
    }

    /// The value of `key`, inserted with `make` if it is not kept.
    pub(crate) fn entry(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let (current, older, bound) = match self {
            Recent::Unbounded(map) => return map.entry(key).or_insert_with(make),
            Recent::Bounded {
                current,
                older,
                bound,
            } => (current, older, *bound),
        };
        if !current.contains_key(&key) {
            if current.len() >= bound {
                *older = std::mem::take(current);
            }
            let v = older.remove(&key).unwrap_or_else(make);
            current.insert(key, v);
        }
        current.get_mut(&key).expect("inserted above")
    }

    /// Keys kept now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match self {
            Recent::Unbounded(map) => map.len(),
            Recent::Bounded { current, older, .. } => current.len() + older.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_map_keeps_at_most_twice_its_bound_and_its_recent_keys() {
        let mut m = Recent::new(Some(100));
        for k in 0..10_000u64 {
            *m.entry(k, || 0) += 1;
            // Key 7 is used every 50 new keys: never forgotten.
            if k % 50 == 0 {
                *m.entry(7, || 0) += 1;
            }
            assert!(m.len() <= 200);
        }
        assert_eq!(*m.entry(7, || 0), 1 + 200);
        // An old key starts again.
        assert_eq!(*m.entry(3, || 0), 0);
    }

    #[test]
    fn an_unbounded_map_keeps_every_key() {
        let mut m = Recent::new(None);
        for k in 0..10_000u64 {
            m.entry(k, || k);
        }
        assert_eq!(m.len(), 10_000);
    }
}
