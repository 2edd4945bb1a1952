use futures_util::future::LocalBoxFuture;

use super::{TokenRead, Variant};
use crate::names::VariantId;
use crate::server::storage::{AUTH_TOKEN, AUTH_TOKEN_EXPIRATION};
use crate::server::{Env, Object, StorageFailed};

/// The fix: both gets in flight together (`Promise.all`).
pub struct Parallel;

impl Variant for Parallel {
    fn id(&self) -> VariantId {
        VariantId::Parallel
    }
    fn describe(&self) -> &'static str {
        "Promise.all([get(authToken), get(authTokenExpiration)]): two round trips in flight together"
    }
    fn read_token<'a>(
        &'a self,
        object: &'a Object,
        env: &'a Env,
    ) -> LocalBoxFuture<'a, Result<TokenRead, StorageFailed>> {
        Box::pin(async move {
            // try_join: the first failure rejects the whole read, as Promise.all does.
            let (token, expiration) = tokio::try_join!(
                object.storage_get(env, &[AUTH_TOKEN]),
                object.storage_get(env, &[AUTH_TOKEN_EXPIRATION]),
            )?;
            Ok(TokenRead::from_stored(
                token.values.into_iter().next().flatten(),
                expiration.values.into_iter().next().flatten(),
                vec![token.took_ms, expiration.took_ms],
            ))
        })
    }
}
