//! The handshake variants by name. Their implementations live in `server::variant`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// A handshake variant: how the durable object reads `authToken` and `authTokenExpiration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum VariantId {
    /// Two awaited gets, one after the other (the bug).
    Sequential,
    /// Both gets issued together, awaited together (the fix).
    Parallel,
    /// One get of both keys.
    Batched,
    /// The token kept in object memory by `setAuthToken`.
    MemoryCache,
}

impl VariantId {
    /// Every variant, in the order `variants` lists them.
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
        }
    }

    /// Parses a name; the error lists the known ones.
    pub fn parse(name: &str) -> Result<VariantId, String> {
        VariantId::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| {
                let names = || VariantId::ALL.iter().map(|v| v.name());
                format!(
                    "unknown variant {name:?}; {}known: {}",
                    super::did_you_mean(name, names()),
                    super::known(names())
                )
            })
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
}
