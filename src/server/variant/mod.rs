//! Handshake variants: how the object reads `authToken` and `authTokenExpiration` before it
//! accepts the upgrade. One small type per file; add a new one to [`ALL`].

mod batched;
mod memory_cache;
mod parallel;
mod sequential;

use futures_util::future::LocalBoxFuture;

use super::storage::Stored;
use super::{Env, Object, StorageFailed};
use crate::names::VariantId;

/// The token as read, and how long each storage operation took (issue order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenRead {
    pub token: Option<String>,
    pub expires_at_ms: Option<u64>,
    pub reads_ms: Vec<u64>,
}

impl TokenRead {
    fn from_stored(token: Option<Stored>, expiration: Option<Stored>, reads_ms: Vec<u64>) -> Self {
        TokenRead {
            token: match token {
                Some(Stored::Text(t)) => Some(t),
                _ => None,
            },
            expires_at_ms: match expiration {
                Some(Stored::Ms(ms)) => Some(ms),
                _ => None,
            },
            reads_ms,
        }
    }
}

/// One handshake variant's implementation; [`of`] maps a [`VariantId`] to it.
pub trait Variant: Sync {
    /// Which variant this is.
    fn id(&self) -> VariantId;
    /// The name used in scenario files and on the command line.
    fn name(&self) -> &'static str {
        self.id().name()
    }
    /// One line for `--help` and the README.
    fn describe(&self) -> &'static str;
    /// Reads the token and its expiration; a failed storage operation fails the read.
    fn read_token<'a>(
        &'a self,
        object: &'a Object,
        env: &'a Env,
    ) -> LocalBoxFuture<'a, Result<TokenRead, StorageFailed>>;
    /// Whether `setAuthToken` also keeps the token in object memory.
    fn keeps_token_in_memory(&self) -> bool {
        false
    }
}

pub static ALL: [&dyn Variant; 4] = [
    &sequential::Sequential,
    &parallel::Parallel,
    &batched::Batched,
    &memory_cache::MemoryCache,
];

/// The implementation of a variant.
pub fn of(id: VariantId) -> &'static dyn Variant {
    ALL.iter()
        .copied()
        .find(|v| v.id() == id)
        .expect("every VariantId has an implementation in ALL")
}

/// The implementation of a variant by name; `None` for an unknown name.
pub fn by_name(name: &str) -> Option<&'static dyn Variant> {
    VariantId::parse(name).ok().map(of)
}
