//! `docs/reference/commands.md` is generated from clap: the binary's `--help` and each command's
//! `--help`, as clap renders them. The test fails when the page is stale; with
//! `HANDSHAKE_SIM_BLESS=1` it rewrites the page instead (and still fails, so a CI run never
//! passes by rewriting).

/// The page the binary's help makes now.
fn generated() -> String {
    let help = |args: &[&str]| {
        let (code, out, err) = crate::exec(args, None);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let top = help(&["--help"]);
    let mut page = String::from(
        "# Command reference\n\n\
         Generated from the binary's `--help` (clap renders it from the commands' definitions in\n\
         `src/cli/`) by `tests/it/reference.rs`, which fails when this page is stale. Do not\n\
         edit it: after changing a command, run\n\
         `HANDSHAKE_SIM_BLESS=1 cargo test --release --test it reference`. Examples with their\n\
         output are in [Commands, with examples](../commands.md).\n\n\
         ## `handshake-sim`\n\n```text\n",
    );
    page.push_str(&top);
    page.push_str("```\n");
    for name in commands(&top) {
        page.push_str(&format!("\n## `handshake-sim {name}`\n\n```text\n"));
        page.push_str(&help(&[&name, "--help"]));
        page.push_str("```\n");
    }
    page
}

/// The commands the top-level help lists, in its order (`help` left out).
fn commands(top: &str) -> Vec<String> {
    top.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(String::from)
        .collect()
}

#[test]
fn the_command_reference_is_the_binarys_help() {
    let path = crate::root().join("docs/reference/commands.md");
    let page = generated();
    let stale = std::fs::read_to_string(&path).ok().as_deref() != Some(page.as_str());
    if stale && std::env::var_os("HANDSHAKE_SIM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &page).unwrap();
        panic!("{} rewritten; run the test again", path.display());
    }
    assert!(
        !stale,
        "{} is stale: run HANDSHAKE_SIM_BLESS=1 cargo test --release --test it reference",
        path.display()
    );
    assert!(commands(&page).len() >= 15, "commands went missing");
}

use serde_json::Value;

/// The scenario file's JSON Schema, as `docs/schema/scenario.json` holds it.
fn scenario_schema() -> String {
    let schema = handshake_sim::internal::scenario::json_schema();
    serde_json::to_string_pretty(&schema).unwrap() + "\n"
}

/// Each struct's field names in the order `src/scenario/mod.rs` declares them (and so the
/// file's examples and the serialised scenario write them): the schema's maps are sorted.
fn field_order() -> Order {
    let src = std::fs::read_to_string(crate::root().join("src/scenario/mod.rs")).unwrap();
    let file = syn::parse_file(&src).unwrap();
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some((
                s.ident.to_string(),
                s.fields
                    .iter()
                    .filter_map(|f| f.ident.as_ref().map(|i| i.to_string()))
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

/// Each struct's field names in declaration order, by struct name.
type Order = std::collections::BTreeMap<String, Vec<String>>;

/// The properties of the struct `name` (its schema `def`), in declaration order.
fn properties<'a>(name: &str, def: &'a Value, order: &Order) -> Vec<(&'a String, &'a Value)> {
    let rank = |k: &String| {
        order
            .get(name)
            .and_then(|fields| fields.iter().position(|f| f == k))
            .unwrap_or(usize::MAX)
    };
    let mut v: Vec<_> = def["properties"].as_object().unwrap().iter().collect();
    v.sort_by_key(|(k, _)| (rank(k), (*k).clone()));
    v
}

/// `docs/reference/scenario.md`: one table per section of the file, from the schema.
fn scenario_page() -> String {
    let schema = handshake_sim::internal::scenario::json_schema();
    let order = field_order();
    let mut page = String::from(
        "# Scenario reference\n\n\
         Generated from the scenario's types in `src/scenario/` (each key's doc comment, type,\n\
         limits and default) by `tests/it/reference.rs`, which fails when this page is stale;\n\
         after changing a key, run `HANDSHAKE_SIM_BLESS=1 cargo test --release --test it\n\
         reference`. The same schema for an editor or a validator is\n\
         [`docs/schema/scenario.json`](../schema/scenario.json) (JSON Schema 2020-12; TOML\n\
         editors such as Taplo read it). How to write distributions, `[expect]` and\n\
         `[reported]`, with examples: [Scenario files](../scenario.md).\n\n\
         Unknown keys are errors. Every key is optional unless it says `required`. Durations\n\
         are milliseconds unless the name says otherwise; `604,800,000` ms is one week.\n",
    );
    let mut tables = Vec::new();
    for (section, prop) in properties("Scenario", &schema, &order) {
        let Some((name, def)) = struct_def(&schema, prop) else {
            let (ty, default) = (type_text(&schema, prop), default_text(prop, false));
            tables.push([section.clone(), ty, default, meaning(prop)]);
            continue;
        };
        page.push_str(&format!("\n## `[{section}]`\n\n"));
        push_description(&mut page, def);
        let mut rows = Vec::new();
        let mut items = Vec::new();
        key_rows(
            &schema,
            &order,
            section,
            (&name, def),
            &mut rows,
            &mut items,
        );
        page.push_str(&table(&rows));
        for (key, name, def) in items {
            page.push_str(&format!("\n### `[[{key}]]`: each item\n\n"));
            push_description(&mut page, def);
            let mut rows = Vec::new();
            key_rows(
                &schema,
                &order,
                "",
                (&name, def),
                &mut rows,
                &mut Vec::new(),
            );
            page.push_str(&table(&rows));
        }
    }
    page.push_str("\n## Other tables\n\n");
    page.push_str(&table(&tables));
    page
}

/// A struct's own doc comment, as a paragraph.
fn push_description(page: &mut String, def: &Value) {
    if let Some(d) = def["description"].as_str() {
        page.push_str(d);
        page.push_str("\n\n");
    }
}

/// A key's doc comment on one line.
fn meaning(prop: &Value) -> String {
    prop["description"]
        .as_str()
        .unwrap_or("")
        .replace('\n', " ")
}

/// `required`, the default as TOML, or `none` (an optional key without a default).
fn default_text(prop: &Value, required: bool) -> String {
    if required {
        return "required".into();
    }
    match prop.get("default") {
        // An optional key whose default is another key's value says so in its doc comment.
        None | Some(Value::Null) => match meaning(prop).split_once("Default: ") {
            Some((_, rest)) => rest.trim_end_matches('.').to_string(),
            None => "none".into(),
        },
        Some(v) => format!("`{}`", toml_inline(v)),
    }
}

/// A Markdown table of (key, type, default, meaning) rows.
fn table(rows: &[[String; 4]]) -> String {
    let mut t = String::from("| key | type | default | meaning |\n|---|---|---|---|\n");
    for r in rows {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            r[0], r[1], r[2], r[3]
        ));
    }
    t
}

/// `schema` at `$ref` (a `#/$defs/NAME`), else itself.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &root["$defs"][r.trim_start_matches("#/$defs/")],
        None => schema,
    }
}

/// The value of an `Option<T>` (`anyOf: [T, null]` or `type: [T, "null"]`), else itself.
fn unoptional(schema: &Value) -> Value {
    if let Some(any) = schema["anyOf"].as_array() {
        if let Some(t) = any.iter().find(|s| s["type"] != "null") {
            return t.clone();
        }
    }
    let mut s = schema.clone();
    if let Some(types) = schema["type"].as_array() {
        s["type"] = types.iter().find(|t| *t != "null").cloned().unwrap();
    }
    s
}

/// The struct a property names, with its name (an object with its own properties, not a
/// distribution).
fn struct_def<'a>(root: &'a Value, prop: &Value) -> Option<(String, &'a Value)> {
    let name = unoptional(prop)["$ref"]
        .as_str()?
        .trim_start_matches("#/$defs/")
        .to_string();
    let def = &root["$defs"][name.as_str()];
    def["properties"].is_object().then_some((name, def))
}

/// The rows of a struct's keys under `prefix`. A nested struct is flattened into dotted keys
/// unless its field has a doc comment of its own (a threshold's `{ warning, critical }`); a
/// one-key struct with a doc comment is one row under that comment
/// (`network.client_edge.latency_ms`). Lists of structs are named in `items` for a table of
/// their own.
fn key_rows<'a>(
    root: &'a Value,
    order: &Order,
    prefix: &str,
    (name, def): (&str, &'a Value),
    rows: &mut Vec<[String; 4]>,
    items: &mut Vec<(String, String, &'a Value)>,
) {
    let required: Vec<&str> = def["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for (field, prop) in properties(name, def, order) {
        let key = if prefix.is_empty() {
            field.clone()
        } else {
            format!("{prefix}.{field}")
        };
        let said = meaning(prop);
        if let Some((sub_name, sub)) = struct_def(root, prop) {
            let subs = properties(&sub_name, sub, order);
            if said.is_empty() {
                key_rows(root, order, &key, (&sub_name, sub), rows, items);
                continue;
            }
            if let [(leaf, leaf_prop)] = subs[..] {
                let mut leaf_prop = leaf_prop.clone();
                if let Some(d) = prop.get("default").and_then(|d| d.get(leaf)) {
                    leaf_prop["default"] = d.clone();
                }
                let (ty, default) = (type_text(root, &leaf_prop), default_text(&leaf_prop, false));
                rows.push([format!("{key}.{leaf}"), ty, default, said]);
                continue;
            }
        }
        if let Some(r) = prop["items"]["$ref"].as_str() {
            let item_name = r.trim_start_matches("#/$defs/").to_string();
            let item = &root["$defs"][item_name.as_str()];
            if item["properties"].is_object() {
                items.push((key.clone(), item_name, item));
            }
        }
        let required = required.contains(&field.as_str());
        rows.push([
            key,
            type_text(root, prop),
            default_text(prop, required),
            said,
        ]);
    }
}

/// What a value must be, in words: `bool`, `1..=20,000`, `distribution`, `list of …`.
fn type_text(root: &Value, prop: &Value) -> String {
    let s = unoptional(prop);
    if s["$ref"].as_str() == Some("#/$defs/Dist") {
        return "distribution".into();
    }
    let s = resolve(root, &s);
    if let Some(names) = s["enum"].as_array() {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        return names.join(" \\| ");
    }
    if let Some(one_of) = s["oneOf"].as_array() {
        let names: Vec<String> = one_of
            .iter()
            .filter_map(|v| v.get("const").or(v.get("enum").and_then(|e| e.get(0))))
            .map(|n| format!("`{n}`"))
            .collect();
        if !names.is_empty() {
            return names.join(" \\| ");
        }
    }
    let bounds = |t: &str| match (
        s.get("minimum"),
        s.get("exclusiveMinimum"),
        s.get("maximum"),
    ) {
        (Some(lo), _, Some(hi)) => format!("{}..={}", grouped(lo), grouped(hi)),
        (None, Some(lo), Some(hi)) => format!("({}, {}]", grouped(lo), grouped(hi)),
        (None, None, Some(hi)) => format!("{t} ≤ {}", grouped(hi)),
        (Some(lo), _, None) => format!("{t} ≥ {}", grouped(lo)),
        _ => t.to_string(),
    };
    match s["type"].as_str() {
        Some("boolean") => "bool".into(),
        Some("integer") => bounds("integer"),
        Some("number") => bounds("number"),
        Some("string") => "string".into(),
        Some("array") => {
            let item = resolve(root, &s["items"]);
            let what = match item["properties"].is_object() {
                true => "tables (below)".to_string(),
                false => type_text(root, &s["items"]),
            };
            match s.get("maxItems") {
                Some(n) => format!("list of {what}, at most {}", grouped(n)),
                None => format!("list of {what}"),
            }
        }
        Some("object") => match s["properties"].as_object() {
            Some(p) => format!(
                "`{{ {} }}`",
                p.keys().rev().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => "table".into(),
        },
        _ => "see meaning".into(),
    }
}

/// A number with thousands separators (`20,000`), as the docs write them.
fn grouped(v: &Value) -> String {
    let Some(n) = v.as_f64().filter(|n| n.fract() == 0.0) else {
        return v.to_string();
    };
    let digits = format!("{}", n.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && digits.len() >= 5 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A JSON value as a TOML inline value: `{ uniform = [50, 100] }`.
fn toml_inline(v: &Value) -> String {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k} = {}", toml_inline(v)))
                .collect();
            if parts.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A generated file: stale fails; with `HANDSHAKE_SIM_BLESS=1` it is rewritten (and fails).
fn check_generated(rel: &str, text: &str) {
    let path = crate::root().join(rel);
    let stale = std::fs::read_to_string(&path).ok().as_deref() != Some(text);
    if stale && std::env::var_os("HANDSHAKE_SIM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        panic!("{} rewritten; run the test again", path.display());
    }
    assert!(
        !stale,
        "{} is stale: run HANDSHAKE_SIM_BLESS=1 cargo test --release --test it reference",
        path.display()
    );
}

#[test]
fn the_scenario_reference_is_the_schemas() {
    let page = scenario_page();
    check_generated("docs/schema/scenario.json", &scenario_schema());
    check_generated("docs/reference/scenario.md", &page);
    for key in [
        "`scenario.concurrency`",
        "`storage.read_ms`",
        "`faults.object_crash.probability`",
        "`slo.apply_to`",
    ] {
        assert!(
            page.contains(key),
            "{key} went missing from the scenario reference"
        );
    }
}

/// The schema says what the loader accepts: every bundled scenario validates against
/// `docs/schema/scenario.json`, and a value past a limit or an unknown key does not.
#[test]
fn the_bundled_scenarios_meet_the_schema_and_bad_ones_do_not() {
    let schema: Value = serde_json::from_str(&scenario_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut files: Vec<_> = ["sims", "sims/clients"]
        .iter()
        .flat_map(|d| std::fs::read_dir(crate::root().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: Value = toml::from_str(&text).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    for bad in [
        "[scenario]\nconcurrency = 100001",
        "[storage]\nread_ms = { uniform = [1] }",
        "[client]\nhandshake_timout_ms = 240",
        "[faults]\nclient_edge_loss = 1.5",
        "[scenario]\nvariants = [\"fast\"]",
    ] {
        let doc: Value = toml::from_str(bad).unwrap();
        assert!(!validator.is_valid(&doc), "the schema let through: {bad}");
    }
}

/// Each output's schema as `docs/schema/` holds it.
fn output_schemas() -> Vec<(&'static str, String)> {
    handshake_sim::internal::report::schema::outputs()
        .into_iter()
        .map(|(name, s)| (name, serde_json::to_string_pretty(&s).unwrap() + "\n"))
        .collect()
}

/// `docs/schema/` holds each output's schema, current, and real outputs meet them: a run of
/// faults and sessions (every optional block), a sweep, a comparison and a decision.
#[test]
fn the_json_outputs_meet_their_schemas() {
    for (name, text) in output_schemas() {
        check_generated(&format!("docs/schema/{name}"), &text);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let runs: [&[&str]; 5] = [
        &[
            "run",
            "sims/issue407.toml",
            "--seeds",
            "2",
            "--json",
            &path("a.json"),
        ],
        &["run", "sims/faults.toml", "--json", &path("faults.json")],
        &[
            "run",
            "sims/next-steps.toml",
            "--jobs",
            "40",
            "--set",
            "session.jobs=4",
            "--json",
            &path("session.json"),
        ],
        &[
            "sweep",
            "sims/issue407.toml",
            "--param",
            "client.handshake_timeout_ms=200,300",
            "--jobs",
            "40",
            "--out",
            &path("sweep"),
        ],
        &[
            "compare",
            &path("a.json"),
            &path("faults.json"),
            "--json",
            &path("compare.json"),
        ],
    ];
    for args in runs {
        let (code, _, err) = crate::exec(args, None);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    let (code, _, err) = crate::exec(
        &[
            "decide",
            "sims/next-steps.toml",
            "--seeds",
            "1",
            "--jobs",
            "40",
            "--json",
            &path("decide.json"),
        ],
        None,
    );
    assert_eq!(code, 0, "decide: {err}");
    for (schema, output) in [
        ("run.json", "a.json"),
        ("run.json", "faults.json"),
        ("run.json", "session.json"),
        ("sweep.json", "sweep/sweep.json"),
        ("compare.json", "compare.json"),
        ("decide.json", "decide.json"),
    ] {
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(crate::root().join("docs/schema").join(schema)).unwrap(),
        )
        .unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(output)).unwrap())
                .unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .take(5)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{output} against docs/schema/{schema}: {errors:?}"
        );
        // The schema can fail: a rate written as text, or a missing figure, is caught.
        if output == "a.json" {
            let mut bad = doc.clone();
            bad["variants"][0]["failure_rate"] = "33%".into();
            assert!(!validator.is_valid(&bad));
            bad["variants"][0]
                .as_object_mut()
                .unwrap()
                .remove("failure_rate");
            assert!(!validator.is_valid(&bad));
        }
    }
}

/// Fails unless `doc` meets `docs/schema/{name}`: the tests that write an output check it here.
pub(crate) fn assert_meets_schema(name: &str, doc: &Value) {
    let path = crate::root().join("docs/schema").join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .take(5)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "an output against docs/schema/{name}: {errors:?}\n{doc}"
    );
}

/// The schema's limits are the loader's: each key's value just past a bound the schema states
/// is refused when the file is read (the limits are written twice, as `#[schemars(range)]`
/// and in `validate.rs`, from the same constants; this keeps the two from drifting apart).
#[test]
fn every_bound_the_schema_states_is_one_the_loader_enforces() {
    use handshake_sim::internal::scenario::{parse_overrides, Scenario};
    let schema = handshake_sim::internal::scenario::json_schema();
    let order = field_order();
    let mut keys = Vec::new();
    numeric_keys(&schema, &order, "", ("Scenario", &schema), &mut keys);
    let mut tried = 0;
    for (key, p) in keys {
        let p = unoptional(p);
        let integer = p["type"] == "integer";
        let step = if integer { 1.0 } else { 0.5 };
        let past = [
            p["maximum"].as_f64().map(|m| m + step),
            p["minimum"].as_f64().filter(|m| *m > 0.0).map(|m| m - step),
        ];
        for v in past.into_iter().flatten() {
            let value = if integer {
                format!("{}", v as i64)
            } else {
                format!("{v}")
            };
            let set = format!("{key}={value}");
            let overrides = parse_overrides(std::slice::from_ref(&set)).unwrap();
            let loaded = Scenario::from_toml_str("bounds.toml", "", &overrides);
            assert!(
                loaded.is_err(),
                "the schema refuses {set}, the loader took it"
            );
            tried += 1;
        }
    }
    assert!(tried >= 40, "only {tried} bounds tried");
}

/// Every key of the struct `def` under `prefix`, nested structs' keys dotted, with its schema.
fn numeric_keys<'a>(
    root: &'a Value,
    order: &Order,
    prefix: &str,
    (name, def): (&str, &'a Value),
    out: &mut Vec<(String, &'a Value)>,
) {
    for (field, prop) in properties(name, def, order) {
        let key = if prefix.is_empty() {
            field.clone()
        } else {
            format!("{prefix}.{field}")
        };
        match struct_def(root, prop) {
            Some((sub, sub_def)) => numeric_keys(root, order, &key, (&sub, sub_def), out),
            None => out.push((key, prop)),
        }
    }
}
