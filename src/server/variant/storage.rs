//! What a handshake sees of its durable object: the token's two storage keys, read with the
//! scenario's latency, gates and faults, and the object's memory.

use std::cell::RefCell;

use futures_util::future::LocalBoxFuture;

use crate::server::storage::{Read, Stored, AUTH_TOKEN, AUTH_TOKEN_EXPIRATION};
use crate::server::{Env, StorageFailed};

/// What a handshake's reads need of their durable object. The object implements it
/// (`object/storage.rs`): the object calls the variant, and the variant reaches the object's
/// storage only through this, so `variant` never names `object`.
pub(crate) trait Backing {
    /// The object's incarnation now (a restart makes a new one).
    fn incarnation(&self) -> u64;
    /// `storage.get(keys)` with the scenario's latency, gates and faults.
    fn get<'a>(
        &'a self,
        env: &'a Env,
        keys: &'a [&'static str],
    ) -> LocalBoxFuture<'a, Result<Read, StorageFailed>>;
    /// The token kept in object memory, if any.
    fn memory_token(&self) -> Option<(String, u64)>;
    /// Keeps the token in object memory unless the object is no longer `incarnation`.
    fn remember_token(&self, incarnation: u64, token: String, expires_at_ms: u64);
}

/// A storage key the object's `setAuthToken` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `authToken`: the token's text.
    AuthToken,
    /// `authTokenExpiration`: when it expires, ms on the run's clock.
    AuthTokenExpiration,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::AuthToken => AUTH_TOKEN,
            Key::AuthTokenExpiration => AUTH_TOKEN_EXPIRATION,
        }
    }
}

/// What one [`Storage::get`] found: the values of the keys it asked for (`None` for a key not
/// stored or not asked for) and how long it took, in ms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub token: Option<String>,
    pub expires_at_ms: Option<u64>,
    pub took_ms: u64,
}

/// A handshake's handle on its object for one token read.
pub struct Storage<'a> {
    object: &'a dyn Backing,
    env: &'a Env,
    /// The object's incarnation when the read began: memory is refilled only in the same one.
    incarnation: u64,
    /// Each get's duration, in issue order (`None` while in flight).
    reads_ms: RefCell<Vec<Option<u64>>>,
}

impl<'a> Storage<'a> {
    pub(super) fn new(object: &'a dyn Backing, env: &'a Env) -> Storage<'a> {
        Storage {
            object,
            env,
            incarnation: object.incarnation(),
            reads_ms: RefCell::new(Vec::new()),
        }
    }

    /// `storage.get(keys)`: one round trip for all keys (the scenario's `storage.read_ms`,
    /// spikes and read errors), unless all are in the object's cache or storage is sqlite
    /// (`storage.cached_read_ms`). Holds the object's input gate while in flight. Two gets
    /// awaited together (`tokio::try_join!`) are two round trips in flight together.
    pub async fn get(&self, keys: &[Key]) -> Result<Values, StorageFailed> {
        let slot = {
            let mut reads = self.reads_ms.borrow_mut();
            reads.push(None);
            reads.len() - 1
        };
        let names: Vec<&'static str> = keys.iter().map(|k| k.name()).collect();
        let read = self.object.get(self.env, &names).await?;
        self.reads_ms.borrow_mut()[slot] = Some(read.took_ms);
        let mut values = Values {
            took_ms: read.took_ms,
            ..Values::default()
        };
        for value in read.values.into_iter().flatten() {
            match value {
                Stored::Text(t) => values.token = Some(t),
                Stored::Ms(ms) => values.expires_at_ms = Some(ms),
            }
        }
        Ok(values)
    }

    /// The token and expiration `setAuthToken` kept in object memory, if the variant keeps
    /// it there ([`super::Handshake::keeps_token_in_memory`]) or [`Storage::remember_token`]
    /// put it there, and no restart, hibernation or eviction lost it since.
    pub fn memory_token(&self) -> Option<(String, u64)> {
        self.object.memory_token()
    }

    /// Keeps the token in object memory (a class field), unless the object crashed since
    /// this read began.
    pub fn remember_token(&self, token: &str, expires_at_ms: u64) {
        self.object
            .remember_token(self.incarnation, token.to_string(), expires_at_ms);
    }

    /// The run's clock, ms since its start.
    pub fn now_ms(&self) -> u64 {
        self.env.clock.now_ms()
    }

    /// The finished gets' durations in issue order.
    pub(super) fn reads_ms(&self) -> Vec<u64> {
        self.reads_ms.borrow().iter().flatten().copied().collect()
    }
}
