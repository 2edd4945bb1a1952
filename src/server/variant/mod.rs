//! Handshake variants: how the object reads `authToken` and `authTokenExpiration` before it
//! accepts the upgrade. One small type per file, each implementing the public [`Handshake`]
//! trait that another crate implements too, to run its own variant next to these
//! (`Experiment::with_variant`). A built-in one is its file here and its line in
//! `names::builtin_variants!`, which declares the modules and [`ALL`] below
//! (CONTRIBUTING.md, "Add a built-in handshake variant").

mod kv;
mod storage;

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

pub use kv::Kv;
pub(crate) use storage::Backing;
pub use storage::{Key, Storage, Values};

use super::{Env, StorageFailed};
use crate::names::VariantId;

/// The token and its expiration as a handshake read them (`None`: not stored, or not read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Token {
    pub token: Option<String>,
    pub expires_at_ms: Option<u64>,
}

/// What [`Handshake::read_token`] returns: a future on the simulation's own thread.
pub type HandshakeFuture<'a> = Pin<Box<dyn Future<Output = Result<Token, StorageFailed>> + 'a>>;

/// How the durable object reads the job's token before it accepts a progress upgrade: the
/// one step the variants differ in. The object then checks the presented token against what
/// was read (missing, wrong or expired: 401; a failed read: 503).
///
/// Implement it in your own crate and run it with `Experiment::with_variant`. It sees the
/// object only through [`Storage`], whose reads take the scenario's simulated latency, hold
/// the input gate and meet its faults. Keep no state of your own between calls (every job,
/// seed and run shares the one value): per-object state belongs in [`Storage`]'s memory,
/// which a cold restart loses, as a real object's class fields are.
pub trait Handshake: Send + Sync {
    /// The name in reports, JSON and expectations (`NAME.failure_rate`): ASCII letters,
    /// digits, `-`, `_`; not a built-in variant's name.
    fn name(&self) -> &str;
    /// One line for `variants` and docs/variants.md.
    fn describe(&self) -> &str;
    /// Reads the token and its expiration; a failed storage operation fails the read.
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a>;
    /// Whether `setAuthToken` also keeps the token in object memory
    /// ([`Storage::memory_token`]).
    fn keeps_token_in_memory(&self) -> bool {
        false
    }
    /// Whether the Worker checks the presented token at the edge first, in Workers KV (which
    /// it then fills on every 202), and what a token the edge cannot accept gets; `None`
    /// (the default): only the object checks it, as the write-up's Worker does.
    fn edge_check(&self) -> Option<EdgeMiss> {
        None
    }
    /// The edge's read of the job's token through [`Kv`] (only with [`Handshake::edge_check`]):
    /// by default one get of the job's entry.
    fn read_token_at_edge<'a>(&'a self, kv: &'a Kv<'a>) -> HandshakeFuture<'a> {
        Box::pin(async move {
            let v = kv.get().await?;
            Ok(Token {
                token: v.token,
                expires_at_ms: v.expires_at_ms,
            })
        })
    }
}

/// What the edge does with an upgrade whose token its KV read does not accept (missing from
/// KV, another token, expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeMiss {
    /// Forward it to the object, which reads storage as `parallel` does.
    Forward,
    /// Refuse it at the edge with a 401; the object is never woken.
    Refuse,
}

/// A boxed handshake is one too (`Experiment::with_variant(Box<dyn Handshake>)`).
impl<H: Handshake + ?Sized> Handshake for Box<H> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn describe(&self) -> &str {
        (**self).describe()
    }
    fn read_token<'a>(&'a self, storage: &'a Storage<'a>) -> HandshakeFuture<'a> {
        (**self).read_token(storage)
    }
    fn keeps_token_in_memory(&self) -> bool {
        (**self).keeps_token_in_memory()
    }
    fn edge_check(&self) -> Option<EdgeMiss> {
        (**self).edge_check()
    }
    fn read_token_at_edge<'a>(&'a self, kv: &'a Kv<'a>) -> HandshakeFuture<'a> {
        (**self).read_token_at_edge(kv)
    }
}

/// The token as read, and how long each storage operation took (issue order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenRead {
    pub token: Option<String>,
    pub expires_at_ms: Option<u64>,
    pub reads_ms: Vec<u64>,
}

/// Runs `handshake`'s read on `object`, timing each storage operation.
pub(crate) async fn read(
    handshake: &dyn Handshake,
    object: &dyn Backing,
    env: &Env,
) -> Result<TokenRead, StorageFailed> {
    let storage = Storage::new(object, env);
    let token = handshake.read_token(&storage).await?;
    Ok(TokenRead {
        token: token.token,
        expires_at_ms: token.expires_at_ms,
        reads_ms: storage.reads_ms(),
    })
}

/// A variant's implementation: a built-in one, or a user's behind an `Arc`. Cheap to clone;
/// dereferences to the [`Handshake`].
#[derive(Clone)]
pub struct Variant {
    id: VariantId,
    imp: Imp,
}

#[derive(Clone)]
enum Imp {
    Builtin(&'static dyn Handshake),
    Own(Arc<dyn Handshake>),
}

impl Variant {
    /// A user's handshake; its name checked by [`VariantId::own`].
    pub fn own(handshake: Arc<dyn Handshake>) -> Result<Variant, String> {
        Ok(Variant {
            id: VariantId::own(handshake.name())?,
            imp: Imp::Own(handshake),
        })
    }

    /// Which variant this is.
    pub fn id(&self) -> VariantId {
        self.id
    }
}

impl Deref for Variant {
    type Target = dyn Handshake;
    fn deref(&self) -> &(dyn Handshake + 'static) {
        match &self.imp {
            Imp::Builtin(h) => *h,
            Imp::Own(h) => h.as_ref(),
        }
    }
}

impl std::fmt::Debug for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Variant({})", self.id)
    }
}

/// Each built-in variant's module and [`ALL`], from `names::builtin_variants!`.
macro_rules! implementations {
    ($($(#[doc = $doc:literal])* $case:ident => $name:literal, $module:ident::$imp:ident;)*) => {
        $(mod $module;)*

        /// The built-in variants, in `VariantId::ALL`'s order.
        pub static ALL: [&dyn Handshake; VariantId::ALL.len()] = [$(&$module::$imp),*];
    };
}

crate::names::builtin_variants!(implementations);

/// The implementation of a built-in variant; `None` for a user's (`VariantId::Own`), which
/// comes with its implementation.
pub fn builtin(id: VariantId) -> Option<Variant> {
    let imp = ALL.iter().copied().find(|v| v.name() == id.name())?;
    Some(Variant {
        id,
        imp: Imp::Builtin(imp),
    })
}

/// The implementation of a built-in variant (as parsed from a scenario file or the command
/// line). Panics on a user's `VariantId::Own`, which only `Experiment` runs.
pub fn of(id: VariantId) -> Variant {
    builtin(id).unwrap_or_else(|| panic!("variant {id} is a user's: run it with Experiment"))
}

/// The implementation of a built-in variant by name; `None` for an unknown name.
pub fn by_name(name: &str) -> Option<Variant> {
    VariantId::parse(name).ok().map(of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_variant_has_an_implementation_of_its_name() {
        for id in VariantId::ALL {
            assert_eq!(of(id).name(), id.name());
            assert_eq!(of(id).id(), id);
        }
        let mine = VariantId::own("not-built-in").unwrap();
        assert!(builtin(mine).is_none());
    }
}
