use futures_util::future::LocalBoxFuture;

use super::{TokenRead, Variant};
use crate::names::VariantId;
use crate::server::storage::{AUTH_TOKEN, AUTH_TOKEN_EXPIRATION};
use crate::server::{Env, Object, StorageFailed};

/// The code that failed in production: two awaited gets, one after the other.
pub struct Sequential;

impl Variant for Sequential {
    fn id(&self) -> VariantId {
        VariantId::Sequential
    }
    fn describe(&self) -> &'static str {
        "await get(authToken), then await get(authTokenExpiration): two round trips back to back"
    }
    fn read_token<'a>(
        &'a self,
        object: &'a Object,
        env: &'a Env,
    ) -> LocalBoxFuture<'a, Result<TokenRead, StorageFailed>> {
        Box::pin(async move {
            let token = object.storage_get(env, &[AUTH_TOKEN]).await?;
            let expiration = object.storage_get(env, &[AUTH_TOKEN_EXPIRATION]).await?;
            Ok(TokenRead::from_stored(
                token.values.into_iter().next().flatten(),
                expiration.values.into_iter().next().flatten(),
                vec![token.took_ms, expiration.took_ms],
            ))
        })
    }
}
