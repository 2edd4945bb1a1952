//! The kinds of fault a run can inject (see `[faults]`), as counted in every output. Each kind
//! is declared once, in the list below: its name in outputs, `FaultKind::ALL` and the
//! `fault_NAME` figures all follow from it.

use std::fmt;

/// Declares the fault kinds: `Variant => "name"`, each with its doc line.
macro_rules! fault_kinds {
    ($($(#[doc = $doc:literal])* $kind:ident => $name:literal,)*) => {
        /// A kind of injected fault.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FaultKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl FaultKind {
            /// Every kind, in the order outputs list them.
            pub const ALL: [FaultKind; [$(FaultKind::$kind),*].len()] = [$(FaultKind::$kind),*];

            /// The name in outputs (`fault: NAME` rows, JSON `faults` keys, `fault_NAME`
            /// figures).
            pub fn name(self) -> &'static str {
                match self {
                    $(FaultKind::$kind => $name,)*
                }
            }
        }
    };
}

fault_kinds! {
    /// A message between client and edge lost (the connection resets).
    ClientEdgeLoss => "client_edge_loss",
    /// A message between edge and object lost.
    EdgeObjectLoss => "edge_object_loss",
    /// A message dropped by a partition window.
    PartitionDrop => "partition_drop",
    /// An object crash.
    ObjectCrash => "object_crash",
    /// A storage read that failed.
    StorageReadError => "storage_read_error",
    /// A storage write that failed.
    StorageWriteError => "storage_write_error",
    /// A storage operation slowed by a latency spike.
    StorageSpike => "storage_spike",
    /// A token issued with a short lifetime.
    TokenExpiry => "token_expiry",
    /// A 202 sent before `setAuthToken` was confirmed (#378).
    AckBeforeTokenWrite => "ack_before_token_write",
}

impl FaultKind {
    /// The kind named `name` in outputs.
    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl super::by_name::Named for FaultKind {
    fn name(self) -> &'static str {
        FaultKind::name(self)
    }
    fn from_name(name: &str) -> Option<Self> {
        FaultKind::parse(name)
    }
    fn all() -> &'static [Self] {
        &FaultKind::ALL
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
