use super::{Handshake, HandshakeFuture, Key, Storage, Token};

/// The fix: both gets in flight together (`Promise.all`).
pub struct Parallel;

impl Handshake for Parallel {
    fn name(&self) -> &str {
        "parallel"
    }
    fn describe(&self) -> &str {
        "Promise.all([get(authToken), get(authTokenExpiration)]): two round trips in flight together"
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            // try_join: the first failure rejects the whole read, as Promise.all does.
            let (token, expiration) = tokio::try_join!(
                storage.get(&[Key::AuthToken]),
                storage.get(&[Key::AuthTokenExpiration]),
            )?;
            Ok(Token {
                token: token.token,
                expires_at_ms: expiration.expires_at_ms,
            })
        })
    }
}
