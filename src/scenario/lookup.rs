//! A dotted key's number in a resolved scenario (`client.handshake_timeout_ms`; array items
//! by index, `storage.read_ms.uniform.1`): the one walk by which `fit` reads the parameter it
//! solves for and the sweep plots mark the scenario's own value.

use super::Scenario;

/// A number at a key, as TOML keeps it: a key holding an integer takes integers only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Integer(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Integer(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// Why a key has no number.
#[derive(Debug)]
pub enum NoNumber {
    /// The scenario did not convert to TOML.
    Toml(toml::ser::Error),
    /// Nothing at the key, or something other than a number. `did_you_mean` is the whole key
    /// with its first missing segment replaced by the closest sibling, when one is close
    /// (`client.handshake_timout_ms` → `client.handshake_timeout_ms`).
    NotANumber { did_you_mean: Option<String> },
}

impl Scenario {
    /// The number at `key` (segments split at every `.`, none quoted).
    pub fn number_at(&self, key: &str) -> Result<Number, NoNumber> {
        let table = toml::Value::try_from(self).map_err(NoNumber::Toml)?;
        match walk(&table, key) {
            Ok(toml::Value::Integer(i)) => Ok(Number::Integer(*i)),
            Ok(toml::Value::Float(f)) => Ok(Number::Float(*f)),
            Ok(_) => Err(NoNumber::NotANumber { did_you_mean: None }),
            Err(did_you_mean) => Err(NoNumber::NotANumber { did_you_mean }),
        }
    }
}

/// The value at `key`, or, when a table lacks a segment, the key as it would read with that
/// segment's closest sibling (`None` when none is close, or an array or a scalar stops it).
fn walk<'a>(table: &'a toml::Value, key: &'a str) -> Result<&'a toml::Value, Option<String>> {
    let mut cur = table;
    let mut path: Vec<&str> = Vec::new();
    for seg in key.split('.') {
        cur = match cur {
            toml::Value::Table(t) => match t.get(seg) {
                Some(v) => v,
                None => {
                    let closest = crate::names::closest(seg, t.keys().map(String::as_str));
                    return Err(closest.map(|c| {
                        path.push(c);
                        path.join(".")
                    }));
                }
            },
            toml::Value::Array(a) => {
                let item = seg.parse::<usize>().ok().and_then(|i| a.get(i));
                item.ok_or(None)?
            }
            _ => return Err(None),
        };
        path.push(seg);
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_floats_array_items_and_near_misses() {
        let s = Scenario::from_toml_str(
            "<test>",
            "[storage]\nread_ms = { uniform = [50, 100] }",
            &[],
        )
        .unwrap();
        let timeout = s.client.handshake_timeout_ms as i64;
        assert_eq!(
            s.number_at("client.handshake_timeout_ms").unwrap(),
            Number::Integer(timeout)
        );
        assert_eq!(
            s.number_at("storage.read_ms.uniform.1").unwrap().as_f64(),
            100.0
        );
        assert!(matches!(
            s.number_at("object.restart_probability"),
            Ok(Number::Float(_))
        ));
        let suggestion = |key| match s.number_at(key) {
            Err(NoNumber::NotANumber { did_you_mean }) => did_you_mean,
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(
            suggestion("client.handshake_timout_ms").as_deref(),
            Some("client.handshake_timeout_ms")
        );
        for no_hint in [
            "scenario.name",
            "storage.read_ms.uniform.9",
            "client.zzzzzzzz",
        ] {
            assert_eq!(suggestion(no_hint), None, "{no_hint}");
        }
    }
}
