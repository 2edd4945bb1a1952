use super::{Handshake, HandshakeFuture, Key, Storage, Token};

/// The code that failed in production: two awaited gets, one after the other.
pub struct Sequential;

impl Handshake for Sequential {
    fn name(&self) -> &str {
        "sequential"
    }
    fn describe(&self) -> &str {
        "await get(authToken), then await get(authTokenExpiration): two round trips back to back"
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            let token = storage.get(&[Key::AuthToken]).await?;
            let expiration = storage.get(&[Key::AuthTokenExpiration]).await?;
            Ok(Token {
                token: token.token,
                expires_at_ms: expiration.expires_at_ms,
            })
        })
    }
}
