//! `probe`'s formats: its `--json` file and its run table (the figures only the server knows
//! shown as not measured). Its SLO lines are `probe`'s own text, in the binary.

use super::table::TableRow;
use super::Report;
use crate::record::Violation;
use crate::sim::RunOutput;
use crate::verdict::{SloJudged, Verdict};

/// Which endpoint a probe ran against, and how.
pub struct Probed<'a> {
    pub url: &'a str,
    pub jobs: u32,
    pub concurrency: u32,
    /// Job `n` posted the id `{job_prefix}{n}`.
    pub job_prefix: &'a str,
    /// The client–edge latency the probe added to its connections (`--emulate-client-edge`).
    pub client_edge_emulated: Option<&'a crate::scenario::Dist>,
}

/// Table rows only the server knows: a probe leaves them out and names them in one line.
const SERVER_ONLY_ROWS: [&str; 6] = [
    "canceled (server)",
    "canceled (edge)",
    "no-socket warnings",
    "jobs missing progress",
    "cold upgrades",
    "silent failures [95% CI]",
];

/// The server's own timings: every statistic of each is left out of a probe's table.
const SERVER_ONLY_TIMINGS: [&str; 2] = ["storage_ms ", "upgrade_ms "];

/// The same figures in the JSON summary (`null` there).
const SERVER_ONLY_FIELDS: [&str; 7] = [
    "canceled",
    "canceled_at_edge",
    "no_socket_warnings",
    "jobs_missing_progress",
    "cold_starts",
    "silent_failures",
    "silent_failure_rate",
];

/// What only the client knows, per job at its end.
struct ClientCounts {
    /// A result below the highest one it had never came (or the completion came early).
    gaps: u64,
    /// It never heard the job's completion.
    never_completed: u64,
    /// Jobs failed on what the server did wrong, by what (every name, 0 included).
    violations: serde_json::Map<String, serde_json::Value>,
}

fn client_counts(run: &RunOutput) -> ClientCounts {
    let count = |f: fn(&crate::record::JobRecord) -> bool| {
        run.records.iter().filter(|r| f(r)).count() as u64
    };
    ClientCounts {
        gaps: count(|r| r.progress_gap),
        never_completed: count(|r| !r.complete_heard),
        violations: Violation::ALL
            .iter()
            .map(|&v| {
                let n = run
                    .records
                    .iter()
                    .filter(|r| r.violation == Some(v))
                    .count();
                (v.name().to_string(), n.into())
            })
            .collect(),
    }
}

/// Whether only the server can know a row's figure.
fn server_only(label: &str) -> bool {
    SERVER_ONLY_ROWS.contains(&label) || SERVER_ONLY_TIMINGS.iter().any(|t| label.starts_with(t))
}

/// The run table as a probe shows it: rows only the server knows left out (one line under the
/// table names them), and the client's own counts (progress gaps, never completed) below
/// results complete.
pub fn probe_table(report: &Report, run: &RunOutput) -> String {
    let counts = client_counts(run);
    let mut rows = super::table::rows(report);
    rows.retain(|r| !server_only(&r.label));
    if let Some(i) = rows.iter().position(|r| r.label == "results complete") {
        rows[i].label = "results complete (by deadline)".to_string();
        let client_row = |label: &str, n: u64| TableRow {
            label: label.into(),
            figure: None,
            cells: vec![n.to_string()],
        };
        rows.insert(i + 1, client_row("jobs with progress gaps", counts.gaps));
        rows.insert(
            i + 2,
            client_row("jobs never completed", counts.never_completed),
        );
    }
    let names: Vec<&str> = report.variants.iter().map(|v| v.variant.as_str()).collect();
    let mut table = super::table::layout(&rows, &names);
    let left_out: Vec<&str> = SERVER_ONLY_ROWS
        .iter()
        .map(|r| r.trim_end_matches(" [95% CI]"))
        .chain(SERVER_ONLY_TIMINGS.iter().map(|t| t.trim_end()))
        .collect();
    table.push_str(&format!(
        "not measured by a probe, only the server knows them: {}\n",
        left_out.join(", ")
    ));
    table
}

/// The schema of [`probe_json`]: the run's ([`Report`]'s), with what the probe changes made
/// in the same terms: the server-only figures nullable (`SERVER_ONLY_FIELDS`), the client's
/// own counts in each variant, and the target, the emulated latency, the SLO verdicts and
/// where and when it ran.
pub fn probe_schema(mut generator: schemars::SchemaGenerator) -> schemars::Schema {
    use serde_json::json;
    let slo = generator.subschema_for::<Vec<SloJudged>>();
    let dist = generator.subschema_for::<Option<crate::scenario::Dist>>();
    // `Live`'s `Host` lands in `$defs`, for `host` below.
    generator.subschema_for::<crate::names::stamp::Live>();
    let mut root = serde_json::to_value(generator.into_root_schema_for::<Report>())
        .expect("schemas serialise");
    let summary = &mut root["$defs"]["VariantSummary"]["properties"];
    for field in SERVER_ONLY_FIELDS {
        let was = summary[field].take();
        summary[field] = json!({ "anyOf": [was, { "type": "null" }], "description": "Only the server knows it: always null in a probe." });
    }
    let count = json!({ "type": "integer", "minimum": 0 });
    summary["jobs_with_progress_gaps"] = count.clone();
    summary["jobs_never_completed"] = count.clone();
    summary["violations"] = json!({ "type": "object", "additionalProperties": count });
    let props = &mut root["properties"];
    props["url"] = json!({ "type": "string" });
    props["job_prefix"] = json!({ "type": "string" });
    props["client_edge_emulated_ms"] = serde_json::to_value(dist).expect("schemas serialise");
    props["slo"] = serde_json::to_value(slo).expect("schemas serialise");
    props["verdict"] = json!({ "enum": ["ok", "warning", "critical"] });
    props["host"] = json!({ "$ref": "#/$defs/Host" });
    props["finished_at"] = json!({ "type": "string" });
    let required = root["required"]
        .as_array_mut()
        .expect("a struct has required keys");
    for key in [
        "url",
        "job_prefix",
        "client_edge_emulated_ms",
        "slo",
        "verdict",
        "host",
        "finished_at",
    ] {
        required.push(key.into());
    }
    root["title"] = "ProbeJson".into();
    schemars::Schema::try_from(root).expect("an object is a schema")
}

/// The probe's `--json` file: the report with the URL, the job prefix, the client's own
/// counts and the SLO verdicts, figures only the server knows as `null`; pretty, with a
/// trailing newline.
pub fn probe_json(
    report: &Report,
    probed: &Probed,
    run: &RunOutput,
    verdicts: &[SloJudged],
) -> Result<String, serde_json::Error> {
    let mut v = serde_json::to_value(report)?;
    v["url"] = serde_json::Value::from(probed.url);
    v["job_prefix"] = serde_json::Value::from(probed.job_prefix);
    v["client_edge_emulated_ms"] = match probed.client_edge_emulated {
        Some(d) => serde_json::to_value(d)?,
        None => serde_json::Value::Null,
    };
    let counts = client_counts(run);
    if let Some(vs) = v["variants"].as_array_mut() {
        for summary in vs {
            for field in SERVER_ONLY_FIELDS {
                summary[field] = serde_json::Value::Null;
            }
            summary["jobs_with_progress_gaps"] = counts.gaps.into();
            summary["jobs_never_completed"] = counts.never_completed.into();
            summary["violations"] = counts.violations.clone().into();
        }
    }
    v["slo"] = serde_json::to_value(verdicts)?;
    v["verdict"] = serde_json::Value::from(
        verdicts
            .iter()
            .map(|j| j.verdict)
            .max()
            .unwrap_or(Verdict::Ok)
            .name(),
    );
    crate::names::stamp::stamp_live(&mut v);
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}
