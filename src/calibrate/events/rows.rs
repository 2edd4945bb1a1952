//! Analytics Engine SQL rows, one per upgrade. Analytics Engine has no column names of its own
//! (`blob1…20`, `double1…20`), so a query names them with `AS`; the defaults are the write-up's
//! (`storageDuration`, `totalUpgradeDuration`, `outcome`) and `colo`, `cold`, `network`, and
//! `--column ROLE=NAME` maps another schema. Values are numbers or strings (integers may come
//! back as JSON strings; `"75ms"` is read as 75). TabSeparated has no header: `--columns`
//! names its columns in order; a CSV's header names them.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde_json::Value;

use super::timing::{flag, ms_of, Timing};
use super::Seen;
use crate::calibrate::input::{InputError, Lines};

/// The roles a column can play, and their default names.
pub const COLUMN_ROLES: [(&str, &str); 6] = [
    ("storage_ms", "storageDuration"),
    ("total_ms", "totalUpgradeDuration"),
    ("outcome", "outcome"),
    ("colo", "colo"),
    ("cold", "cold"),
    ("network", "network"),
];

/// Column names by role, and the TabSeparated columns in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    names: BTreeMap<&'static str, String>,
    /// `--columns`: the TabSeparated columns, in order.
    pub order: Vec<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            names: COLUMN_ROLES
                .iter()
                .map(|&(role, name)| (role, name.to_string()))
                .collect(),
            order: Vec::new(),
        }
    }
}

impl Columns {
    /// `ROLE=NAME` (`--column`).
    pub fn map(&mut self, arg: &str) -> Result<(), String> {
        let (role, name) = arg.split_once('=').ok_or_else(|| {
            format!("--column {arg:?}: expected ROLE=NAME, e.g. storage_ms=double1")
        })?;
        let Some(&(role, _)) = COLUMN_ROLES.iter().find(|(r, _)| *r == role.trim()) else {
            let roles: Vec<&str> = COLUMN_ROLES.iter().map(|(r, _)| *r).collect();
            return Err(format!(
                "--column {arg:?}: unknown role {role:?}; expected one of {}",
                roles.join(", ")
            ));
        };
        if name.trim().is_empty() {
            return Err(format!("--column {arg:?}: the column name is empty"));
        }
        self.names.insert(role, name.trim().to_string());
        Ok(())
    }

    fn name(&self, role: &str) -> &str {
        &self.names[role]
    }
}

/// One row (a JSON object) as an upgrade.
pub fn seen_json(v: &Value, columns: &Columns) -> Result<Seen, String> {
    let Some(row) = v.as_object() else {
        return Err("expected a row (a JSON object)".into());
    };
    if row.contains_key("eventTimestamp") || row.contains_key("EventTimestampMs") {
        return Err("a trace event in a file of Analytics Engine rows: one format per file".into());
    }
    let get = |role: &str| row.get(columns.name(role));
    Ok(upgrade(
        get("storage_ms"),
        get("total_ms"),
        get("outcome"),
        get("colo"),
        get("cold"),
        get("network"),
    ))
}

fn upgrade(
    storage: Option<&Value>,
    total: Option<&Value>,
    outcome: Option<&Value>,
    colo: Option<&Value>,
    cold: Option<&Value>,
    network: Option<&Value>,
) -> Seen {
    let text = |v: Option<&Value>| {
        v.and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Null | Value::String(_) => None,
            other => Some(other.to_string()),
        })
    };
    let timing = storage.filter(|v| !v.is_null()).map(|s| Timing {
        storage_ms: ms_of(s),
        total_ms: total.and_then(|t| ms_of(t).ok()),
        cold: cold.and_then(flag),
    });
    // Only a row that says how the upgrade ended counts as one: a rate over rows without an
    // outcome would be a rate of nothing.
    match (text(outcome), timing) {
        (Some(outcome), timing) => Seen::Upgrade {
            outcome: Some(outcome),
            colo: text(colo),
            network: text(network),
            timing,
        },
        (None, Some(t)) => Seen::ObjectTiming(t),
        (None, None) => Seen::Skipped("a row with neither the outcome nor the storage column"),
    }
}

/// CSV rows under a header that names the columns; `on` gets each row's line.
pub fn csv(
    input: impl BufRead,
    columns: &Columns,
    mut on: impl FnMut(usize, Seen),
) -> Result<(), InputError> {
    let mut lines = Lines::new(input);
    let mut header: Option<Vec<String>> = None;
    while let Some((n, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let fields = fields_of(line).ok_or_else(|| InputError::Event {
            line: n,
            why: "not a CSV row".into(),
        })?;
        let Some(names) = &header else {
            header = Some(fields);
            continue;
        };
        if fields.len() != names.len() {
            return Err(InputError::Event {
                line: n,
                why: format!(
                    "{} field(s) under a header of {}",
                    fields.len(),
                    names.len()
                ),
            });
        }
        let value = |role: &str| {
            names
                .iter()
                .position(|c| c == columns.name(role))
                .map(|i| Value::String(fields[i].clone()))
        };
        on(n, upgrade_of(&value));
    }
    Ok(())
}

/// The fields of one CSV line.
fn fields_of(line: &str) -> Option<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes())
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(|f| f.trim().to_string()).collect())
}

/// The upgrade of a row whose values by role `value` gives.
fn upgrade_of(value: &dyn Fn(&str) -> Option<Value>) -> Seen {
    upgrade(
        value("storage_ms").as_ref(),
        value("total_ms").as_ref(),
        value("outcome").as_ref(),
        value("colo").as_ref(),
        value("cold").as_ref(),
        value("network").as_ref(),
    )
}

/// TabSeparated rows, the columns named by `columns.order`; `on` gets each row's line.
pub fn tsv(
    input: impl BufRead,
    columns: &Columns,
    mut on: impl FnMut(usize, Seen),
) -> Result<(), InputError> {
    if columns.order.is_empty() {
        return Err(InputError::Event {
            line: 1,
            why: "TabSeparated has no header: name its columns with --columns A,B,…".into(),
        });
    }
    let mut lines = Lines::new(input);
    while let Some((n, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != columns.order.len() {
            return Err(InputError::Event {
                line: n,
                why: format!(
                    "{} tab-separated field(s), --columns names {}",
                    fields.len(),
                    columns.order.len()
                ),
            });
        }
        let value = |role: &str| {
            columns
                .order
                .iter()
                .position(|c| c == columns.name(role))
                .map(|i| Value::String(fields[i].to_string()))
        };
        on(n, upgrade_of(&value));
    }
    Ok(())
}
