//! The handshake variants by name. Their implementations live in `server::variant`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The built-in variants, each declared once: its [`VariantId`] case (with its doc line), its
/// name, and its implementation in `server::variant` (the module, one file, and the type
/// implementing `Handshake`). A callback macro: `builtin_variants!(then)` hands the list to
/// the macro `then`. Here it makes `VariantId`'s cases, `ALL` and `name`; in `server::variant`
/// it declares the modules and that module's `ALL` (the implementation paths are only tokens
/// here, resolved there, so this module still imports nothing). Listed in `variants`' order.
macro_rules! builtin_variants {
    ($then:ident) => {
        $then! {
            /// Two awaited gets, one after the other (the bug).
            Sequential => "sequential", sequential::Sequential;
            /// Both gets issued together, awaited together (the fix).
            Parallel => "parallel", parallel::Parallel;
            /// One get of both keys.
            Batched => "batched", batched::Batched;
            /// The token kept in object memory by `setAuthToken`.
            MemoryCache => "memory-cache", memory_cache::MemoryCache;
            /// Checked at the edge in Workers KV; a miss goes on to the object.
            KvEdge => "kv-edge", kv_edge::KvEdge;
            /// Checked at the edge in Workers KV; a miss is refused there.
            KvEdgeStrict => "kv-edge-strict", kv_edge_strict::KvEdgeStrict;
        }
    };
}
pub(crate) use builtin_variants;

/// `VariantId`'s built-in cases, `ALL` and `name`, from [`builtin_variants`].
macro_rules! variant_id {
    ($($(#[doc = $doc:literal])* $case:ident => $name:literal, $module:ident::$imp:ident;)*) => {
        /// A handshake variant: how the durable object reads `authToken` and
        /// `authTokenExpiration`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum VariantId {
            $($(#[doc = $doc])* $case,)*
            /// A variant another crate implements (`server::variant::Handshake`), by its name;
            /// made only by [`VariantId::own`], never parsed from a scenario file or the
            /// command line.
            Own(&'static str),
        }

        impl VariantId {
            /// Every built-in variant, in the order `variants` lists them.
            pub const ALL: [VariantId; [$(VariantId::$case),*].len()] = [$(VariantId::$case),*];

            /// The name used in scenario files, on the command line and in every output.
            pub fn name(self) -> &'static str {
                match self {
                    $(VariantId::$case => $name,)*
                    VariantId::Own(name) => name,
                }
            }
        }
    };
}

builtin_variants!(variant_id);

/// Longest name of a user's variant, in bytes.
pub const OWN_NAME_BYTES_MAX: usize = 64;
/// Most distinct user variant names one process may use (each is kept for the process's
/// life, so that a `VariantId` stays `Copy`).
pub const OWN_NAMES_MAX: usize = 1024;

static OWN_NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl VariantId {
    /// Parses the name of a built-in variant; the error lists the known ones.
    pub fn parse(name: &str) -> Result<VariantId, String> {
        VariantId::parse_among(name, &[])
    }

    /// Parses a name among the built-in variants and `own` (users' variants of a run); the
    /// error lists them all.
    pub fn parse_among(name: &str, own: &[VariantId]) -> Result<VariantId, String> {
        let known = || VariantId::ALL.iter().chain(own);
        known().copied().find(|v| v.name() == name).ok_or_else(|| {
            format!(
                "unknown variant {name:?}; {}known: {}",
                super::did_you_mean(name, known().map(|v| v.name())),
                super::known(known().map(|v| v.name()))
            )
        })
    }

    /// The id of a user's variant named `name`: 1 to 64 ASCII letters, digits, `-` or `_`,
    /// not a built-in variant's name.
    pub fn own(name: &str) -> Result<VariantId, String> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if name.is_empty() || name.len() > OWN_NAME_BYTES_MAX || !name.chars().all(ok_char) {
            return Err(format!(
                "variant name {name:?}: use 1 to {OWN_NAME_BYTES_MAX} ASCII letters, digits, \
                 '-' or '_' (it is written as NAME.metric in expectations)"
            ));
        }
        if VariantId::parse(name).is_ok() {
            return Err(format!(
                "variant name {name:?} is a built-in variant's name; built-in: {}",
                super::known(VariantId::ALL.iter().map(|v| v.name()))
            ));
        }
        let mut names = OWN_NAMES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&kept) = names.get(name) {
            return Ok(VariantId::Own(kept));
        }
        if names.len() >= OWN_NAMES_MAX {
            return Err(format!(
                "variant name {name:?}: this process already used {OWN_NAMES_MAX} distinct \
                 variant names, the most it keeps"
            ));
        }
        let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
        names.insert(kept);
        Ok(VariantId::Own(kept))
    }

    /// Whether this is a user's variant.
    pub fn is_own(self) -> bool {
        matches!(self, VariantId::Own(_))
    }
}

impl FromStr for VariantId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VariantId::parse(s)
    }
}

/// From its name, with [`VariantId::parse`]'s message for an unknown one (a scenario file's
/// error then reads the same as the command line's).
impl<'de> Deserialize<'de> for VariantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        VariantId::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl Serialize for VariantId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A built-in variant's name (a library user's own variant never reaches a file).
impl schemars::JsonSchema for VariantId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VariantId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = VariantId::ALL.iter().map(|v| v.name()).collect();
        schemars::json_schema!({
            "description": "A handshake variant (`handshake-sim variants` lists them).",
            "type": "string",
            "enum": names
        })
    }
}

impl fmt::Display for VariantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for v in VariantId::ALL {
            assert_eq!(VariantId::parse(v.name()), Ok(v));
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.name()));
        }
        // The lists follow `VariantId::ALL`, so a new built-in variant changes no test here.
        let known = VariantId::ALL.map(VariantId::name).join(", ");
        assert!(known.starts_with("sequential, parallel, batched, memory-cache"));
        assert_eq!(
            VariantId::parse("fast").unwrap_err(),
            format!("unknown variant \"fast\"; known: {known}")
        );
        assert_eq!(
            VariantId::parse("paralel").unwrap_err(),
            format!("unknown variant \"paralel\"; did you mean \"parallel\"? known: {known}")
        );
    }

    #[test]
    fn a_users_variant_has_a_checked_name_kept_once() {
        let mine = VariantId::own("expiration-first").unwrap();
        assert_eq!(mine.name(), "expiration-first");
        assert!(mine.is_own() && !VariantId::Parallel.is_own());
        assert_eq!(VariantId::own("expiration-first"), Ok(mine));
        assert_eq!(
            serde_json::to_string(&mine).unwrap(),
            "\"expiration-first\""
        );
        assert!(
            VariantId::parse("expiration-first").is_err(),
            "not from a file"
        );
        assert_eq!(
            VariantId::parse_among("expiration-first", &[mine]),
            Ok(mine)
        );
        assert!(VariantId::parse_among("nope", &[mine])
            .unwrap_err()
            .ends_with(&format!(
                "{}, expiration-first",
                VariantId::ALL.last().unwrap()
            )));
        assert!(VariantId::own("parallel")
            .unwrap_err()
            .contains("is a built-in variant's name"));
        for bad in ["", "a.b", "a b", &"x".repeat(65)] {
            assert!(
                VariantId::own(bad).unwrap_err().contains("ASCII letters"),
                "{bad}"
            );
        }
    }
}
