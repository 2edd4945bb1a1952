use crate::names::VariantId;
use futures_util::future::LocalBoxFuture;

use super::{parallel::Parallel, TokenRead, Variant};
use crate::server::{Env, Object, StorageFailed};

/// `setAuthToken` keeps the token in a class field; storage is read (in parallel) only when
/// a cold restart lost it, and the read refills memory.
pub struct MemoryCache;

impl Variant for MemoryCache {
    fn id(&self) -> VariantId {
        VariantId::MemoryCache
    }
    fn describe(&self) -> &'static str {
        "token kept in object memory by setAuthToken; parallel gets only after a cold restart"
    }
    fn keeps_token_in_memory(&self) -> bool {
        true
    }
    fn read_token<'a>(
        &'a self,
        object: &'a Object,
        env: &'a Env,
    ) -> LocalBoxFuture<'a, Result<TokenRead, StorageFailed>> {
        Box::pin(async move {
            if let Some((token, expires_at_ms)) = object.memory_token() {
                return Ok(TokenRead {
                    token: Some(token),
                    expires_at_ms: Some(expires_at_ms),
                    reads_ms: Vec::new(),
                });
            }
            let incarnation = object.incarnation();
            let read = Parallel.read_token(object, env).await?;
            if let (Some(t), Some(e)) = (&read.token, read.expires_at_ms) {
                object.remember_token(incarnation, t.clone(), e);
            }
            Ok(read)
        })
    }
}
