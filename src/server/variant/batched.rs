use super::{Handshake, HandshakeFuture, Key, Storage, Token};

/// One get of both keys: a single round trip.
pub struct Batched;

impl Handshake for Batched {
    fn name(&self) -> &str {
        "batched"
    }
    fn describe(&self) -> &str {
        "get([authToken, authTokenExpiration]): one round trip for both keys"
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            let read = storage
                .get(&[Key::AuthToken, Key::AuthTokenExpiration])
                .await?;
            Ok(Token {
                token: read.token,
                expires_at_ms: read.expires_at_ms,
            })
        })
    }
}
