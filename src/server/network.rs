//! The network model: the Worker is the network between a client and the objects, so every
//! HTTP message and relayed chunk of socket bytes takes one hop through it: client–edge plus
//! edge–object latency, drawn per job, direction and message, and a drop by a partition (a
//! window, or the job's own) or a loss draw on either link. A drop is a reset (the modelled
//! TCP does not retransmit).

use std::cell::RefCell;

use super::recent::Recent;
use super::Env;
use crate::draw::Purpose;
use crate::names::FaultKind;
use crate::scenario::LinkName;

/// Jobs whose message counts a live worker keeps, per generation, for each job the object
/// host keeps (a client may name jobs the host never heard of).
const COUNTED_JOBS_PER_JOB: usize = 2;

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Direction {
    /// Object → client.
    Down,
    /// Client → object.
    Up,
}

/// One message through the edge.
pub(super) struct Hop {
    pub(super) latency_ms: u64,
    pub(super) dropped_by: Option<LinkName>,
}

/// What the network remembers of the messages it carried.
pub(super) struct Network {
    /// Messages so far per (job, direction): the index of their latency draws. Live, only
    /// recently used jobs are kept (any client can name any job id).
    messages: RefCell<Recent<(u64, Direction), u64>>,
    /// When each job's first request reached the edge (the origin of its partitions).
    first_seen_ms: RefCell<Recent<u64, u64>>,
}

impl Network {
    pub(super) fn new(env: &Env) -> Network {
        let bound = env
            .bounds()
            .map(|b| COUNTED_JOBS_PER_JOB * b.jobs_max.max(1));
        Network {
            messages: RefCell::new(Recent::new(bound.map(|b| 2 * b))),
            first_seen_ms: RefCell::new(Recent::new(bound)),
        }
    }

    /// The next message of `job` going `direction`: its one-way latency over both links, and
    /// the link that drops it, if one does.
    pub(super) fn hop(&self, env: &Env, job: u64, direction: Direction) -> Hop {
        let index = {
            let mut m = self.messages.borrow_mut();
            let n = m.entry((job, direction), || 0);
            *n += 1;
            *n - 1
        };
        let net = &env.scenario.network;
        let (ce, eo) = match direction {
            Direction::Up => (Purpose::ClientEdgeUp, Purpose::EdgeObjectUp),
            Direction::Down => (Purpose::ClientEdgeDown, Purpose::EdgeObjectDown),
        };
        let draws = &env.draws;
        // A session's jobs are one phone's: they share the session's network type.
        let network_type = draws.network_type(&net.types, env.scenario.session_first(job));
        let client_edge_ms = env.scenario.client_edge_latency_ms(network_type);
        let latency_ms = draws.ms(client_edge_ms, job, ce, index)
            + draws.ms(&net.edge_object.latency_ms, job, eo, index);
        // Loss draws interleave the two directions: message i down is 2i, up 2i + 1.
        let loss_index = 2 * index + u64::from(direction == Direction::Up);
        let dropped_by = [LinkName::ClientEdge, LinkName::EdgeObject]
            .into_iter()
            .find(|&link| self.drops(env, job, network_type, link, loss_index));
        Hop {
            latency_ms,
            dropped_by,
        }
    }

    /// Whether `link` drops the message `index` of `job` now: a partition window, the
    /// job's own partition, or a loss draw.
    fn drops(
        &self,
        env: &Env,
        job: u64,
        network_type: Option<u8>,
        link: LinkName,
        index: u64,
    ) -> bool {
        let f = &env.scenario.faults;
        let now_ms = env.clock.now_ms();
        // Only job partitions need the job's start; skip the map otherwise (hot path).
        let first_ms = if f.job_partitions.is_empty() {
            now_ms
        } else {
            *self.first_seen_ms.borrow_mut().entry(job, || now_ms)
        };
        let in_window = f
            .partition_windows
            .iter()
            .any(|w| w.link == link && now_ms >= w.start_ms && now_ms - w.start_ms < w.duration_ms);
        let in_job_partition = f.job_partitions.iter().enumerate().any(|(i, p)| {
            let k = 3 * i as u64;
            p.link == link
                && env
                    .draws
                    .chance(p.probability, job, Purpose::JobPartition, k)
                && {
                    let start_ms =
                        first_ms + env.draws.ms(&p.after_ms, job, Purpose::JobPartition, k + 1);
                    let duration_ms =
                        env.draws
                            .ms(&p.duration_ms, job, Purpose::JobPartition, k + 2);
                    now_ms >= start_ms && now_ms - start_ms < duration_ms
                }
        });
        if in_window || in_job_partition {
            env.recorder.borrow_mut().fault(FaultKind::PartitionDrop);
            return true;
        }
        let (p, purpose, kind) = match link {
            LinkName::ClientEdge => (
                env.scenario.client_edge_loss(network_type),
                Purpose::ClientEdgeLoss,
                FaultKind::ClientEdgeLoss,
            ),
            LinkName::EdgeObject => (
                f.edge_object_loss,
                Purpose::EdgeObjectLoss,
                FaultKind::EdgeObjectLoss,
            ),
        };
        if env.draws.chance(p, job, purpose, index) {
            env.recorder.borrow_mut().fault(kind);
            return true;
        }
        false
    }
}
