use super::{parallel::Parallel, Handshake, HandshakeFuture, Storage, Token};

/// `setAuthToken` keeps the token in a class field; storage is read (in parallel) only when
/// a cold restart lost it, and the read refills memory.
pub struct MemoryCache;

impl Handshake for MemoryCache {
    fn name(&self) -> &str {
        "memory-cache"
    }
    fn describe(&self) -> &str {
        "token kept in object memory by setAuthToken; parallel gets only after a cold restart"
    }
    fn keeps_token_in_memory(&self) -> bool {
        true
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            if let Some((token, expires_at_ms)) = storage.memory_token() {
                return Ok(Token {
                    token: Some(token),
                    expires_at_ms: Some(expires_at_ms),
                });
            }
            let read = Parallel.read_token(storage).await?;
            if let (Some(t), Some(e)) = (&read.token, read.expires_at_ms) {
                storage.remember_token(t, e);
            }
            Ok(read)
        })
    }
}
