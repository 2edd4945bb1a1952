//! The write-up's "Edge caching of auth tokens": the Worker keeps each job's token in Workers
//! KV, checks an upgrade's token there before the object, and the object accepts what the
//! edge accepted without reading storage (`kv_edge_strict` is the other policy for a token
//! the edge cannot accept).

use super::{parallel::Parallel, EdgeMiss, Handshake, HandshakeFuture, Storage};

/// Edge check in KV; a token the edge does not accept goes on to the object, which reads
/// storage in parallel.
pub struct KvEdge;

impl Handshake for KvEdge {
    fn name(&self) -> &str {
        "kv-edge"
    }
    fn describe(&self) -> &str {
        "token checked at the edge in Workers KV; a miss falls back to the object's parallel gets"
    }
    fn edge_check(&self) -> Option<EdgeMiss> {
        Some(EdgeMiss::Forward)
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Parallel.read_token(storage)
    }
}
