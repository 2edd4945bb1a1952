use futures_util::future::LocalBoxFuture;

use super::{TokenRead, Variant};
use crate::names::VariantId;
use crate::server::storage::{AUTH_TOKEN, AUTH_TOKEN_EXPIRATION};
use crate::server::{Env, Object, StorageFailed};

/// One get of both keys: a single round trip.
pub struct Batched;

impl Variant for Batched {
    fn id(&self) -> VariantId {
        VariantId::Batched
    }
    fn describe(&self) -> &'static str {
        "get([authToken, authTokenExpiration]): one round trip for both keys"
    }
    fn read_token<'a>(
        &'a self,
        object: &'a Object,
        env: &'a Env,
    ) -> LocalBoxFuture<'a, Result<TokenRead, StorageFailed>> {
        Box::pin(async move {
            let read = object
                .storage_get(env, &[AUTH_TOKEN, AUTH_TOKEN_EXPIRATION])
                .await?;
            let mut values = read.values.into_iter();
            let token = values.next().flatten();
            let expiration = values.next().flatten();
            Ok(TokenRead::from_stored(
                token,
                expiration,
                vec![read.took_ms],
            ))
        })
    }
}
