//! Maps keyed by a name type (`Outcome`, `FaultKind`), written as JSON objects keyed by the
//! names and in the names' alphabetical order, as a map keyed by the name text was: the typed
//! key changes no byte of an output. A name nobody knows is refused when read.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A key that has a name in outputs and is parsed back from it.
pub trait Named: Copy + Ord + 'static {
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
    /// The known names, for an error.
    fn all() -> &'static [Self];
}

pub fn serialize<K: Named, S: Serializer>(map: &BTreeMap<K, u64>, s: S) -> Result<S::Ok, S::Error> {
    let by_name: BTreeMap<&str, u64> = map.iter().map(|(k, n)| (k.name(), *n)).collect();
    by_name.serialize(s)
}

pub fn deserialize<'de, K: Named, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<K, u64>, D::Error> {
    let by_name = BTreeMap::<String, u64>::deserialize(d)?;
    by_name
        .into_iter()
        .map(|(name, n)| match K::from_name(&name) {
            Some(k) => Ok((k, n)),
            None => {
                let known: Vec<&str> = K::all().iter().map(|k| k.name()).collect();
                Err(D::Error::custom(format!(
                    "unknown name {:?} (known: {})",
                    super::escape_control(&name),
                    known.join(", ")
                )))
            }
        })
        .collect()
}
