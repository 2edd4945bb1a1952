//! The edge cache of `kv_edge`, refusing at the edge what it cannot accept there: the object
//! is woken only for tokens KV holds.

use super::{parallel::Parallel, EdgeMiss, Handshake, HandshakeFuture, Storage};

/// Edge check in KV; a token the edge does not accept is refused there (401).
pub struct KvEdgeStrict;

impl Handshake for KvEdgeStrict {
    fn name(&self) -> &str {
        "kv-edge-strict"
    }
    fn describe(&self) -> &str {
        "token checked at the edge in Workers KV; a miss is refused there (401)"
    }
    fn edge_check(&self) -> Option<EdgeMiss> {
        Some(EdgeMiss::Refuse)
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Parallel.read_token(storage)
    }
}
