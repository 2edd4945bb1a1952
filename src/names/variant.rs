//! The handshake variants by name. Their implementations live in `server::variant`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A handshake variant: how the durable object reads `authToken` and `authTokenExpiration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VariantId {
    /// Two awaited gets, one after the other (the bug).
    Sequential,
    /// Both gets issued together, awaited together (the fix).
    Parallel,
    /// One get of both keys.
    Batched,
    /// The token kept in object memory by `setAuthToken`.
    MemoryCache,
    /// A variant another crate implements (`server::variant::Handshake`), by its name; made
    /// only by [`VariantId::own`], never parsed from a scenario file or the command line.
    Own(&'static str),
}

/// Longest name of a user's variant, in bytes.
pub const OWN_NAME_BYTES_MAX: usize = 64;
/// Most distinct user variant names one process may use (each is kept for the process's
/// life, so that a `VariantId` stays `Copy`).
pub const OWN_NAMES_MAX: usize = 1024;

static OWN_NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl VariantId {
    /// Every built-in variant, in the order `variants` lists them.
    pub const ALL: [VariantId; 4] = [
        VariantId::Sequential,
        VariantId::Parallel,
        VariantId::Batched,
        VariantId::MemoryCache,
    ];

    /// The name used in scenario files, on the command line and in every output.
    pub fn name(self) -> &'static str {
        match self {
            VariantId::Sequential => "sequential",
            VariantId::Parallel => "parallel",
            VariantId::Batched => "batched",
            VariantId::MemoryCache => "memory-cache",
            VariantId::Own(name) => name,
        }
    }

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
        assert_eq!(
            VariantId::parse("fast").unwrap_err(),
            "unknown variant \"fast\"; known: sequential, parallel, batched, memory-cache"
        );
        assert_eq!(
            VariantId::parse("paralel").unwrap_err(),
            "unknown variant \"paralel\"; did you mean \"parallel\"? known: sequential, \
             parallel, batched, memory-cache"
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
            .ends_with("memory-cache, expiration-first"));
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
