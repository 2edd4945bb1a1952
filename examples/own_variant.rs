//! Bring your own handshake: implement `Handshake` in your crate and run it next to the
//! built-in variants, on the same scenario, seeds and random draws.
//!
//!     cargo run --release --example own_variant
//!
//! The variant here reads the expiration before the token; it meets the same latencies as
//! `sequential` (the same two round trips, in the other order), so it fails as often.

use handshake_sim::{Experiment, Handshake, HandshakeFuture, Key, Storage, Token};

pub struct ExpirationFirst;

impl Handshake for ExpirationFirst {
    fn name(&self) -> &str {
        "expiration-first"
    }
    fn describe(&self) -> &str {
        "await get(authTokenExpiration), then await get(authToken)"
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            let expiration = storage.get(&[Key::AuthTokenExpiration]).await?;
            let token = storage.get(&[Key::AuthToken]).await?;
            Ok(Token {
                token: token.token,
                expires_at_ms: expiration.expires_at_ms,
            })
        })
    }
}

fn main() -> Result<(), handshake_sim::Error> {
    let outcome = Experiment::bundled("issue407")?
        .with_variant(ExpirationFirst)?
        .variants(&["sequential", "parallel", "expiration-first"])?
        .seeds(1..=3)
        .run()?;
    for v in ["sequential", "parallel", "expiration-first"] {
        println!(
            "{v:<17} failure rate {:.3}  p95 upgrade {:.0} ms",
            outcome.figure(&format!("{v}.failure_rate"))?,
            outcome.figure(&format!("{v}.p95_upgrade_ms"))?,
        );
    }
    outcome.assert_expect("expiration-first.failure_rate == sequential.failure_rate");
    Ok(())
}
