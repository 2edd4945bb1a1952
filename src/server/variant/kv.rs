//! What a handshake sees of Workers KV at the edge: the job's entry, read at the location the
//! upgrade landed, with the scenario's hot or cold read latency.

use std::cell::Cell;

use super::Values;
use crate::draw::Purpose;
use crate::server::kv::{Got, Location};
use crate::server::{Env, StorageFailed};

/// A handshake's handle on Workers KV for one upgrade at the edge.
pub struct Kv<'a> {
    env: &'a Env,
    job: u64,
    at: Location,
    /// The upgrade's index among the job's edge checks (the key of its draws).
    index: u64,
    /// Gets so far.
    gets: Cell<u64>,
}

impl<'a> Kv<'a> {
    pub(crate) fn new(env: &'a Env, job: u64, at: Location, index: u64) -> Kv<'a> {
        Kv {
            env,
            job,
            at,
            index,
            gets: Cell::new(0),
        }
    }

    /// `KV.get("token:" + jobId, { cacheTtl })`: the token and its expiry, from the
    /// location's cache (`kv.hot_read_ms`) or through the tiers (`kv.cold_read_ms`). Each of
    /// an upgrade's first eight gets draws its own latency; later ones reuse the eighth's.
    pub async fn get(&self) -> Result<Values, StorageFailed> {
        let k = self.gets.get();
        let Got { entry, hot } = self.env.kv.get(self.job, self.at, self.env.clock.now_ms());
        // Counted when issued: a read whose client left meanwhile was made (and billed).
        {
            let mut rec = self.env.recorder.borrow_mut();
            let r = rec.job(self.job);
            r.kv_reads += 1;
            r.kv_hot_reads += u32::from(hot);
        }
        self.gets.set(self.gets.get() + 1);
        let kv = &self.env.scenario.kv;
        let (dist, slot) = if hot {
            (&kv.hot_read_ms, 0)
        } else {
            (&kv.cold_read_ms, 1)
        };
        let index = 2 * (8 * self.index + k.min(7)) + slot;
        let took_ms = self.env.draws.ms(dist, self.job, Purpose::KvRead, index);
        crate::clock::sleep_ms(took_ms).await;
        Ok(Values {
            token: entry.as_ref().map(|e| e.token.clone()),
            expires_at_ms: entry.map(|e| e.expires_at_ms),
            took_ms,
        })
    }

    /// The run's clock, ms since its start.
    pub fn now_ms(&self) -> u64 {
        self.env.clock.now_ms()
    }
}
