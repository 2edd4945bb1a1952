//! A map that keeps only its recently used keys when given a bound: two generations, the
//! current one and the one before; a key found in the older one moves to the current one, and
//! when the current one reaches the bound it becomes the older one (the older one's keys are
//! forgotten). So at most twice the bound is kept, and a key used within the last bound-many
//! new keys is never lost. Without a bound (the simulation) it is a plain ordered map.

use std::collections::BTreeMap;

#[derive(Debug)]
pub(crate) struct Recent<K, V> {
    current: BTreeMap<K, V>,
    older: BTreeMap<K, V>,
    bound: Option<usize>,
}

impl<K: Ord + Copy, V> Recent<K, V> {
    pub(crate) fn new(bound: Option<usize>) -> Self {
        Recent {
            current: BTreeMap::new(),
            older: BTreeMap::new(),
            bound,
        }
    }

    /// The value of `key`, inserted with `make` if it is not kept.
    pub(crate) fn entry(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let Some(bound) = self.bound else {
            // The simulation's: one lookup (the network's counts are looked up per message).
            return self.current.entry(key).or_insert_with(make);
        };
        if !self.current.contains_key(&key) {
            if self.current.len() >= bound {
                self.older = std::mem::take(&mut self.current);
            }
            let v = self.older.remove(&key).unwrap_or_else(make);
            self.current.insert(key, v);
        }
        self.current.get_mut(&key).expect("inserted above")
    }

    /// Keys kept now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.older.len()
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
