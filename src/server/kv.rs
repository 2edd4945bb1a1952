//! Workers KV as Cloudflare documents it (developers.cloudflare.com/kv/concepts/how-kv-works/),
//! one entry per job (`token:{jobId}`: the token and its expiry): a put goes to the central
//! stores and is visible at once at the location that made it; a get at a location with no
//! cached result reads the central stores (a cold read) and caches what it found there —
//! the value, or that there is none — for `cacheTtl`; a get within that is served from the
//! cache (a hot read), however the central value changed meanwhile. Two locations matter to
//! a job: where its POST landed (home) and where a moved phone's upgrade lands (away).
//! Pure state: the latency is the edge's (`edge.rs`).

use std::cell::RefCell;

use super::recent::Recent;

/// Where a request reaches the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    /// The location of the job's POST.
    Home = 0,
    /// Another location (a phone that moved between networks).
    Away = 1,
}

/// A job's entry: its token and when the token expires, on the run's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) token: String,
    pub(crate) expires_at_ms: u64,
}

/// What the central stores hold for a job: the entry, until its `expirationTtl` ends.
#[derive(Debug, Clone)]
struct Stored {
    entry: Entry,
    gone_at_ms: u64,
}

/// What one location cached, the entry or its absence, until `until_ms`.
#[derive(Debug, Clone)]
struct Cached {
    entry: Option<Entry>,
    until_ms: u64,
}

#[derive(Debug, Default)]
struct JobKv {
    central: Option<Stored>,
    local: [Option<Cached>; 2],
    /// The job's edge checks and puts so far (the indices of their draws).
    checks: u64,
    puts: u64,
}

/// One get's result: what it found, and whether the location's cache served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Got {
    pub(crate) entry: Option<Entry>,
    pub(crate) hot: bool,
}

/// The namespace of one run (live: of recently used jobs only).
pub(crate) struct Kv {
    jobs: RefCell<Recent<u64, JobKv>>,
    cache_ttl_ms: u64,
    expiration_ttl_ms: u64,
}

impl Kv {
    pub(crate) fn new(cache_ttl_ms: u64, expiration_ttl_ms: u64, jobs_max: Option<usize>) -> Kv {
        Kv {
            jobs: RefCell::new(Recent::new(jobs_max)),
            cache_ttl_ms,
            expiration_ttl_ms,
        }
    }

    /// `put` (an entry) or `delete` (none) at `at`: central at once, and `at`'s cache.
    pub(crate) fn put(&self, job: u64, at: Location, entry: Option<Entry>, now_ms: u64) {
        let mut jobs = self.jobs.borrow_mut();
        let kv = jobs.entry(job, JobKv::default);
        kv.central = entry.clone().map(|entry| Stored {
            entry,
            gone_at_ms: now_ms + self.expiration_ttl_ms,
        });
        kv.local[at as usize] = Some(Cached {
            entry,
            until_ms: now_ms + self.cache_ttl_ms,
        });
    }

    /// `get` at `at`: the location's cached result while it lasts, else the central one,
    /// which the location then caches (an absence too).
    pub(crate) fn get(&self, job: u64, at: Location, now_ms: u64) -> Got {
        let mut jobs = self.jobs.borrow_mut();
        let kv = jobs.entry(job, JobKv::default);
        if let Some(c) = kv.local[at as usize]
            .as_ref()
            .filter(|c| now_ms < c.until_ms)
        {
            return Got {
                entry: c.entry.clone(),
                hot: true,
            };
        }
        let entry = kv
            .central
            .as_ref()
            .filter(|s| now_ms < s.gone_at_ms)
            .map(|s| s.entry.clone());
        kv.local[at as usize] = Some(Cached {
            entry: entry.clone(),
            until_ms: now_ms + self.cache_ttl_ms,
        });
        Got { entry, hot: false }
    }

    /// The index of the job's next edge check, and of its next put (the keys of their draws).
    pub(crate) fn next_check(&self, job: u64) -> u64 {
        let mut jobs = self.jobs.borrow_mut();
        let kv = jobs.entry(job, JobKv::default);
        kv.checks += 1;
        kv.checks - 1
    }

    pub(crate) fn next_put(&self, job: u64) -> u64 {
        let mut jobs = self.jobs.borrow_mut();
        let kv = jobs.entry(job, JobKv::default);
        kv.puts += 1;
        kv.puts - 1
    }

    /// How much longer some location would still serve a token other than the central one
    /// (the revoked or replaced one) from its cache, and the edge still accept it (not past
    /// its own expiry): the stale-accept window, ms from now. At most: KV may refresh a
    /// cached value in the background before its `cacheTtl` ends.
    pub(crate) fn stale_window_ms(&self, job: u64, now_ms: u64) -> u64 {
        let mut jobs = self.jobs.borrow_mut();
        let kv = jobs.entry(job, JobKv::default);
        let current = kv.central.as_ref().map(|s| &s.entry.token);
        kv.local
            .iter()
            .flatten()
            .filter_map(|c| {
                let e = c.entry.as_ref().filter(|e| Some(&e.token) != current)?;
                Some(c.until_ms.min(e.expires_at_ms).saturating_sub(now_ms))
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: &str) -> Option<Entry> {
        Some(Entry {
            token: t.into(),
            expires_at_ms: 1_000_000,
        })
    }

    #[test]
    fn a_write_is_seen_at_once_where_made_and_elsewhere_after_the_cache_expires() {
        let kv = Kv::new(60_000, 600_000, None);
        kv.put(1, Location::Home, entry("a"), 0);
        assert_eq!(
            kv.get(1, Location::Home, 10),
            Got {
                entry: entry("a"),
                hot: true
            }
        );
        // Away reads the central stores once, then serves its cache.
        assert_eq!(
            kv.get(1, Location::Away, 20),
            Got {
                entry: entry("a"),
                hot: false
            }
        );
        kv.put(1, Location::Home, entry("b"), 30);
        assert_eq!(kv.get(1, Location::Home, 40).entry, entry("b"));
        assert_eq!(
            kv.get(1, Location::Away, 40),
            Got {
                entry: entry("a"),
                hot: true
            }
        );
        assert_eq!(kv.stale_window_ms(1, 40), 60_020 - 40);
        // Away's cache (filled at 20) lasts until 60,020: the new value after it.
        assert_eq!(kv.get(1, Location::Away, 60_019).entry, entry("a"));
        assert_eq!(
            kv.get(1, Location::Away, 60_020),
            Got {
                entry: entry("b"),
                hot: false
            }
        );
        assert_eq!(kv.stale_window_ms(1, 60_020), 0);
    }

    #[test]
    fn an_absence_is_cached_too_and_an_entry_expires_centrally() {
        let kv = Kv::new(30_000, 60_000, None);
        assert_eq!(
            kv.get(2, Location::Away, 0),
            Got {
                entry: None,
                hot: false
            }
        );
        kv.put(2, Location::Home, entry("a"), 5);
        // The negative lookup hides the write at Away until its cacheTtl ends.
        assert_eq!(
            kv.get(2, Location::Away, 29_999),
            Got {
                entry: None,
                hot: true
            }
        );
        assert_eq!(kv.get(2, Location::Away, 30_000).entry, entry("a"));
        // expirationTtl: 60 s after the put the central stores hold nothing.
        assert_eq!(kv.get(2, Location::Home, 70_000).entry, None);
    }

    #[test]
    fn the_window_ends_with_the_token_if_it_expires_first() {
        let kv = Kv::new(60_000, 600_000, None);
        let short = Some(Entry {
            token: "a".into(),
            expires_at_ms: 10_000,
        });
        kv.put(4, Location::Home, short, 0);
        kv.get(4, Location::Away, 500);
        kv.put(4, Location::Home, None, 1_000);
        assert_eq!(kv.stale_window_ms(4, 1_000), 9_000);
    }

    #[test]
    fn a_delete_leaves_the_old_token_where_it_was_cached() {
        let kv = Kv::new(60_000, 600_000, None);
        kv.put(3, Location::Home, entry("a"), 0);
        kv.get(3, Location::Away, 1_000);
        kv.put(3, Location::Home, None, 2_000);
        assert_eq!(kv.get(3, Location::Home, 2_001).entry, None);
        assert_eq!(kv.get(3, Location::Away, 2_001).entry, entry("a"));
        assert_eq!(kv.stale_window_ms(3, 2_000), 59_000);
    }
}
