//! The kinds of fault a run can inject (see `[faults]`), as counted in every output.

use std::fmt;

/// A kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// A message between client and edge lost (the connection resets).
    ClientEdgeLoss,
    /// A message between edge and object lost.
    EdgeObjectLoss,
    /// A message dropped by a partition window.
    PartitionDrop,
    /// An object crash.
    ObjectCrash,
    /// A storage read that failed.
    StorageReadError,
    /// A storage write that failed.
    StorageWriteError,
    /// A storage operation slowed by a latency spike.
    StorageSpike,
    /// A token issued with a short lifetime.
    TokenExpiry,
    /// A 202 sent before `setAuthToken` was confirmed (#378).
    AckBeforeTokenWrite,
}

impl FaultKind {
    /// Every kind, in the order outputs list them.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::ClientEdgeLoss,
        FaultKind::EdgeObjectLoss,
        FaultKind::PartitionDrop,
        FaultKind::ObjectCrash,
        FaultKind::StorageReadError,
        FaultKind::StorageWriteError,
        FaultKind::StorageSpike,
        FaultKind::TokenExpiry,
        FaultKind::AckBeforeTokenWrite,
    ];

    /// The name in outputs (`fault: NAME` rows, JSON `faults` keys, `fault_NAME` figures).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ClientEdgeLoss => "client_edge_loss",
            FaultKind::EdgeObjectLoss => "edge_object_loss",
            FaultKind::PartitionDrop => "partition_drop",
            FaultKind::ObjectCrash => "object_crash",
            FaultKind::StorageReadError => "storage_read_error",
            FaultKind::StorageWriteError => "storage_write_error",
            FaultKind::StorageSpike => "storage_spike",
            FaultKind::TokenExpiry => "token_expiry",
            FaultKind::AckBeforeTokenWrite => "ack_before_token_write",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
