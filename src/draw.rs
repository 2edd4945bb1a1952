//! Common random numbers: every random draw is keyed by (seed, job, purpose, index) in a
//! counter-based ChaCha8 stream, so job 17's `authToken` read takes the same time in every
//! variant whatever else happened before it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Dist, NetworkType};

/// What a draw is for; part of the key, so purposes never share numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Purpose {
    ClientEdgeUp = 1,
    ClientEdgeDown,
    EdgeObjectUp,
    EdgeObjectDown,
    StorageRead,
    CachedRead,
    StorageWrite,
    ColdStart,
    Restart,
    ConnectDelay,
    RetryBackoff,
    BookEnrich,
    Token,
    Pair,
    Accept,
    Swarm,
    // Faults (appended: the word positions of the purposes above must not move).
    ClientEdgeLoss,
    EdgeObjectLoss,
    JobPartition,
    ObjectCrash,
    StorageReadError,
    StorageWriteError,
    StorageSpike,
    TokenExpiry,
    /// The Worker's un-awaited `setAuthToken` call on its way to the object (#378 fault).
    TokenCall,
    // Features after the faults (appended, for the same reason).
    /// A job's network type, among `network.types`.
    NetworkType,
    /// Whether an upgrade lands at another location than the job's POST.
    KvLocation,
    /// A Workers KV read at the edge (hot or cold).
    KvRead,
    /// The Worker's KV put.
    KvWrite,
    /// Whether and when a job's token is revoked, and when its stale holder tries it.
    Revoke,
    /// The wait before a job of an app session starts (`session.job_interval_ms`).
    SessionJobStart,
    /// A job object's call carrying one progress message to its session's object.
    SessionRelay,
}

/// Draws of a run. Cheap to clone; holds only the key.
#[derive(Debug, Clone)]
pub struct Draws {
    key: [u8; 32],
    tick_ms: u64,
}

/// Bits of the ChaCha word position that index one draw's words (2^20 words per draw).
const WORDS_PER_DRAW_BITS: u32 = 20;
/// Bits of the word position above the draw index, for the purpose (68-bit positions).
const PURPOSE_SHIFT: u32 = 60;

/// A draw's index must fit its bits of the word position.
fn check_index(index: u64) {
    assert!(
        index < 1 << (PURPOSE_SHIFT - WORDS_PER_DRAW_BITS),
        "draw index {index} out of range"
    );
}

impl Draws {
    pub fn new(seed: u64, tick_ms: u64) -> Self {
        assert!(tick_ms > 0, "tick_ms is checked to be >= 1");
        Draws {
            key: ChaCha8Rng::seed_from_u64(seed).get_seed(),
            tick_ms,
        }
    }

    /// The generator of one keyed draw.
    pub fn rng(&self, job: u64, purpose: Purpose, index: u64) -> ChaCha8Rng {
        check_index(index);
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(job);
        rng.set_word_pos(
            ((purpose as u128) << PURPOSE_SHIFT) | ((index as u128) << WORDS_PER_DRAW_BITS),
        );
        rng
    }

    /// A latency in whole ms, rounded to the nearest tick: every timer fires on a tick.
    /// A distribution that takes one value needs no generator (building one is most of a
    /// draw's cost); the value is what drawing would give, so no figure moves.
    pub fn ms(&self, dist: &Dist, job: u64, purpose: Purpose, index: u64) -> u64 {
        let raw = match dist.fixed_ms() {
            Some(v) => {
                check_index(index);
                v
            }
            None => dist.sample_ms(&mut self.rng(job, purpose, index)),
        };
        self.round_to_tick(raw)
    }

    pub fn round_to_tick(&self, ms: f64) -> u64 {
        let ticks = (ms / self.tick_ms as f64).round();
        ticks as u64 * self.tick_ms
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64, job: u64, purpose: Purpose, index: u64) -> bool {
        p > 0.0 && self.unit(job, purpose, index) < p
    }

    /// A uniform number in [0, 1).
    pub fn unit(&self, job: u64, purpose: Purpose, index: u64) -> f64 {
        self.rng(job, purpose, index).random::<f64>()
    }

    /// The index of job `job`'s network type in `types`, by share; none when the scenario has
    /// no types (nothing is drawn, so a scenario without them keeps its figures).
    pub fn network_type(&self, types: &[NetworkType], job: u64) -> Option<u8> {
        let last = types.len().checked_sub(1)?;
        let u = self.unit(job, Purpose::NetworkType, 0);
        let mut below = 0.0;
        let i = types
            .iter()
            .position(|t| {
                below += t.share;
                u < below
            })
            .unwrap_or(last); // shares summing to 1 less rounding: the last type
        Some(u8::try_from(i).expect("network.types is checked to hold at most 16"))
    }

    /// 128 random bits as 32 hex digits (auth tokens).
    pub fn hex128(&self, job: u64, purpose: Purpose, index: u64) -> String {
        let v: u128 = self.rng(job, purpose, index).random();
        format!("{v:032x}")
    }
}

#[cfg(test)]
mod tests {
    use super::{Draws, Purpose};
    use crate::scenario::Dist;

    #[test]
    fn a_distribution_of_one_value_gives_it_without_a_generator() {
        let draws = Draws::new(7, 2);
        for (dist, want) in [
            (Dist::Constant(37.4), 38),
            (Dist::Uniform([5.0, 5.0]), 6),
            (Dist::Empirical(vec![12.9]), 12),
        ] {
            assert_eq!(dist.fixed_ms().map(|v| draws.round_to_tick(v)), Some(want));
            for job in 0..50 {
                assert_eq!(draws.ms(&dist, job, Purpose::StorageRead, job % 3), want);
            }
        }
        // Anything that can take two values is drawn.
        for dist in [
            Dist::Uniform([5.0, 6.0]),
            Dist::Empirical(vec![1.0, 2.0]),
            Dist::Normal { mean: 5.0, sd: 0.0 },
        ] {
            assert_eq!(dist.fixed_ms(), None);
        }
    }
}
