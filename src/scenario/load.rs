//! Loading: TOML text → `toml::Table` → `--set` overrides → serde → checks. Errors carry the
//! file, line and column (from the document's spans) and the dotted key.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Location, Scenario, ScenarioError};

/// Most `--set` overrides on one command line.
const OVERRIDES_MAX: usize = 256;
/// Largest scenario file read, in bytes (1 MiB): checked before the file is read, so a huge
/// file costs neither the memory nor the time of parsing it. The largest real scenario is a
/// few KB; an `empirical` list of 100,000 samples fits.
pub const FILE_BYTES_MAX: u64 = 1024 * 1024;
/// Most dotted segments in a `--set` (or `--param`) key. The deepest real key has 6
/// (`faults.job_partitions.0.after_ms.uniform.1`); applying a key recurses once per segment,
/// so a key of tens of thousands of segments would overflow the stack.
pub const KEY_SEGMENTS_MAX: usize = 32;
/// Longest `--set` (or `--param`) key, in bytes.
pub const KEY_BYTES_MAX: usize = 1024;

/// One `--set key.path=VALUE` override, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: Vec<String>,
    pub value: toml::Value,
    pub arg: String,
    /// What the user wrote that made it, for errors: `--set`, `--param`, `--jobs`,
    /// `Experiment::set`.
    pub origin: &'static str,
}

/// Parses `key.path=VALUE` given as `--set`. VALUE is a TOML value; a bare word that is not
/// one is a string.
pub fn parse_override(arg: &str) -> Result<Override, ScenarioError> {
    parse_override_from("--set", arg)
}

/// The TOML parser's message, said plainly where its own words are about its internals: an
/// integer past TOML's range is reported as a failed conversion to `i128` or `u64`.
fn toml_message(message: &str) -> String {
    let message = message.trim();
    if message.contains("as i128") || message.contains("u64 value was too large") {
        return format!(
            "an integer outside TOML's range ({} to {})",
            i64::MIN,
            i64::MAX
        );
    }
    message.to_string()
}

/// Why `--param` cannot vary the key at `path` from one point of a sweep or fit to the next,
/// when it cannot: the key is set by each run, not by the point, so a point's value of it would
/// be taken and never used. Its table (`scenario={seed=…}`) and its parts
/// (`scenario.variants.1`) are refused with it.
pub fn not_a_parameter(path: &[String]) -> Option<&'static str> {
    let key = |name: &str| path.len() >= 2 && path[0] == "scenario" && path[1] == name;
    if path.len() == 1 && path[0] == "scenario" {
        Some(
            "a point sets keys of [scenario] one at a time (scenario.jobs, …), not the table: \
             its seed and variants are each run's own",
        )
    } else if key("seed") {
        Some(
            "each run's seed comes from --seed and --seeds, not from a point; give --seeds N \
             for more seeds",
        )
    } else if key("variants") {
        Some(
            "every point runs the scenario's variants; pick them with --variant, or run one \
             sweep per variant",
        )
    } else {
        None
    }
}

/// Parses `key.path=VALUE` that came from `origin` (`--param`, `--jobs`, …), which errors
/// about it name.
pub fn parse_override_from(origin: &'static str, arg: &str) -> Result<Override, ScenarioError> {
    let bad = |message: &str| ScenarioError::Override {
        origin,
        arg: arg.to_string(),
        message: message.to_string(),
    };
    let (key, raw) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected KEY=VALUE"))?;
    let key = key.trim();
    if key.len() > KEY_BYTES_MAX {
        return Err(bad(&format!(
            "the key is {} bytes long; the limit is {KEY_BYTES_MAX}",
            key.len()
        )));
    }
    let path = split_key(key);
    if path.len() > KEY_SEGMENTS_MAX {
        return Err(bad(&format!(
            "the key has {} segments; the limit is {KEY_SEGMENTS_MAX}",
            path.len()
        )));
    }
    if path.iter().any(|p| p.is_empty()) {
        return Err(bad("the key has an empty segment"));
    }
    let raw = raw.trim();
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").ok_or_else(|| bad("no value"))?,
        Err(_) if is_bare_word(raw) => toml::Value::String(raw.to_string()),
        Err(e) => return Err(bad(&format!("not a TOML value: {}", e.message()))),
    };
    Ok(Override {
        path,
        value,
        arg: arg.to_string(),
        origin,
    })
}

/// Parses every `--set` argument.
pub fn parse_overrides(args: &[String]) -> Result<Vec<Override>, ScenarioError> {
    args.iter().map(|a| parse_override(a)).collect()
}

fn is_bare_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Sets `path` in `table` to `value`. A part of the path the file leaves out is filled from
/// `defaults` first, so `--set storage.read_ms.uniform.1=140` works on a file that never names
/// `storage.read_ms`; array items are addressed by index.
pub fn apply_override(
    table: &mut toml::Table,
    defaults: &toml::Table,
    ov: &Override,
) -> Result<(), ScenarioError> {
    let mut root = toml::Value::Table(std::mem::take(table));
    let defaults = toml::Value::Table(defaults.clone());
    let result = set_path(&mut root, Some(&defaults), &ov.path, &ov.value);
    if let toml::Value::Table(t) = root {
        *table = t;
    }
    result.map_err(|message| ScenarioError::Override {
        origin: ov.origin,
        arg: ov.arg.clone(),
        message,
    })
}

fn set_path(
    cur: &mut toml::Value,
    default: Option<&toml::Value>,
    path: &[String],
    value: &toml::Value,
) -> Result<(), String> {
    let (seg, rest) = path
        .split_first()
        .expect("parse_override rejects empty keys");
    match cur {
        toml::Value::Table(t) => {
            let d = default.and_then(|d| d.get(seg.as_str()));
            if rest.is_empty() {
                t.insert(seg.clone(), value.clone());
                return Ok(());
            }
            let child = t.entry(seg.clone()).or_insert_with(|| {
                d.cloned()
                    .unwrap_or_else(|| toml::Value::Table(toml::Table::new()))
            });
            set_path(child, d, rest, value)
        }
        toml::Value::Array(a) => {
            let i: usize = seg
                .parse()
                .map_err(|_| format!("{seg:?} is not an array index"))?;
            let len = a.len();
            let d = default.and_then(|d| d.get(i));
            let slot = a
                .get_mut(i)
                .ok_or_else(|| format!("index {i} is past the array's {len} items"))?;
            if rest.is_empty() {
                *slot = value.clone();
                return Ok(());
            }
            set_path(slot, d, rest, value)
        }
        _ => Err(format!(
            "{seg:?} is inside a plain value; nothing can be set there"
        )),
    }
}

/// The text of a scenario file (a regular file, a device or a pipe with a writer:
/// [`crate::files::open_named_input`]), refused unread when it is larger than
/// [`FILE_BYTES_MAX`] (checked again while reading, for a pipe, a device such as `/dev/zero`,
/// or a file that grows), or when it is not UTF-8.
pub fn read_text(path: &Path) -> Result<String, ScenarioError> {
    use std::io::Read;
    let read_err = |source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    };
    let invalid = |message: String| ScenarioError::Invalid {
        location: Location {
            file: path.display().to_string(),
            line_col: None,
            key: None,
        },
        message,
    };
    let too_big = |len: u64| {
        invalid(format!(
            "file is {len} bytes; the limit is {FILE_BYTES_MAX}"
        ))
    };
    let file = crate::files::open_named_input(path).map_err(|e| match e {
        crate::files::FileError::Read { source, .. } => read_err(source),
        crate::files::FileError::Refused { reason, .. } => invalid(reason),
        other => invalid(other.to_string()),
    })?;
    let len = file.regular_len().unwrap_or(0);
    if len > FILE_BYTES_MAX {
        return Err(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > FILE_BYTES_MAX {
        return Err(invalid(format!(
            "more than {FILE_BYTES_MAX} bytes; the limit is {FILE_BYTES_MAX}"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

impl Scenario {
    /// Loads and checks a scenario file with overrides applied.
    pub fn load(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let text = read_text(path)?;
        Scenario::from_toml_str(&path.display().to_string(), &text, overrides)
    }

    /// Parses and checks scenario text; `origin` names it in errors (a path or `<string>`).
    pub fn from_toml_str(
        origin: &str,
        text: &str,
        overrides: &[Override],
    ) -> Result<Scenario, ScenarioError> {
        let at = |span: Option<std::ops::Range<usize>>, key: Option<String>, message: String| {
            ScenarioError::Invalid {
                location: Location {
                    file: origin.to_string(),
                    line_col: span.map(|s| line_col(text, s.start)),
                    key,
                },
                message,
            }
        };
        if overrides.len() > OVERRIDES_MAX {
            return Err(at(
                None,
                None,
                format!("more than {OVERRIDES_MAX} --set overrides"),
            ));
        }
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| at(e.span(), None, toml_message(e.message())))?;
        // Each overridden key, with the origin of its last override.
        let mut overridden = BTreeMap::new();
        let defaults = match toml::Value::try_from(Scenario::default()) {
            Ok(toml::Value::Table(t)) => t,
            _ => unreachable!("the default scenario serialises to a table"),
        };
        for ov in overrides {
            apply_override(&mut table, &defaults, ov)?;
            overridden.insert(ov.path.join("."), ov.origin);
        }
        let doc = toml_edit::Document::parse(text).ok();
        // Where a key is: the override's origin (`--set`, …) when overridden (it or a parent),
        // else its span in the file.
        let locate = |key: &str| -> (String, Option<(usize, usize)>) {
            let mut prefix = String::new();
            for seg in split_key(key) {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(&seg);
                if let Some(origin) = overridden.get(&prefix) {
                    return (origin.to_string(), None);
                }
            }
            // An override below the key (`--set clinet.retries=2` for the unknown `clinet`).
            let below = format!("{key}.");
            if let Some((_, origin)) = overridden.iter().find(|(k, _)| k.starts_with(&below)) {
                return (origin.to_string(), None);
            }
            let span = doc.as_ref().and_then(|d| span_of(d, key));
            (origin.to_string(), span.map(|s| line_col(text, s.start)))
        };
        let invalid = |key: String, message: String| {
            let (file, line_col) = locate(&key);
            let message = example_for(&message, &key, &file);
            ScenarioError::Invalid {
                location: Location {
                    file,
                    line_col,
                    key: Some(key),
                },
                message,
            }
        };
        let mut scenario: Scenario = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = dotted(e.path());
                let message = did_you_mean(&key, e.inner().message().trim());
                invalid(key, message)
            })?;
        scenario
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        Ok(scenario)
    }
}

/// serde's `unknown field `x`, expected one of `a`, `b`` (or `unknown variant …`), with the
/// closest known name inserted after the unknown one, as the full dotted key for a field:
/// `… `handshake_timout_ms` (did you mean `client.handshake_timeout_ms`?), expected …`.
fn did_you_mean(key: &str, message: &str) -> String {
    let field = message.starts_with("unknown field `");
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message.to_string();
    };
    let Some((name, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    // The known names are every other backtick-quoted piece of the rest.
    let known = expected.split('`').skip(1).step_by(2);
    let Some(closest) = crate::names::closest(name, known) else {
        return message.to_string();
    };
    let suggestion = match key.rsplit_once('.') {
        Some((parent, _)) if field => format!("{parent}.{closest}"),
        _ => closest.to_string(),
    };
    let head = message.len() - expected.len();
    format!(
        "{} (did you mean `{suggestion}`?){expected}",
        &message[..head]
    )
}

/// A distribution's example (`--set 'KEY={ constant = 100 }'`, from `Dist`) with the key
/// filled in, and as the values of a `--param` when the error came from one.
fn example_for(message: &str, key: &str, origin: &str) -> String {
    let message = message.replace("--set 'KEY=", &format!("--set '{key}="));
    if origin != "--param" {
        return message;
    }
    message
        .replace("--set '", "--param '")
        .replace(&format!("'{key}={{"), &format!("'{key}=[{{"))
        .replace("}')", "}, …]')")
}

fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let segs: Vec<String> = path
        .iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect();
    if segs.is_empty() {
        "(top level)".to_string()
    } else {
        segs.join(".")
    }
}

/// The span of the deepest part of `key` found in the document.
fn span_of(doc: &toml_edit::Document<&str>, key: &str) -> Option<std::ops::Range<usize>> {
    use toml_edit::{Item, Value};
    let mut item: Option<&Item> = None;
    let mut value: Option<&Value> = None;
    let mut best = None;
    for (i, seg) in split_key(key).iter().map(String::as_str).enumerate() {
        let next_item = if i == 0 {
            doc.as_table().get(seg)
        } else if let Some(it) = item {
            match it {
                Item::Table(t) => t.get(seg),
                Item::ArrayOfTables(a) => {
                    seg.parse().ok().and_then(|n: usize| a.get(n)).map(|_| it)
                }
                Item::Value(_) => None,
                Item::None => None,
            }
        } else {
            None
        };
        if let Some(it) = next_item {
            best = it.span().or(best);
            value = it.as_value();
            item = Some(it);
            continue;
        }
        let Some(v) = value.or_else(|| item.and_then(Item::as_value)) else {
            break;
        };
        let next = match v {
            Value::InlineTable(t) => t.get(seg),
            Value::Array(a) => seg.parse().ok().and_then(|n: usize| a.get(n)),
            _ => None,
        };
        match next {
            Some(nv) => {
                best = nv.span().or(best);
                value = Some(nv);
                item = None;
            }
            None => break,
        }
    }
    best
}

/// Splits a dotted key; a segment in double quotes may hold dots (`expect."a.b"`).
fn split_key(key: &str) -> Vec<String> {
    let mut segs = vec![String::new()];
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => segs.push(String::new()),
            c => segs.last_mut().expect("starts with one").push(c),
        }
    }
    segs
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}
impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}
