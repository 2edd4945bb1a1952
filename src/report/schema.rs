//! The JSON Schema of every JSON output, generated from the types that write them, for
//! `docs/schema/` (written and checked by the tests, `tests/it/reference.rs`).

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::Schema;

/// What is written, not what reading accepts: a field always written (null or not) is
/// required, so a renamed or dropped one fails validation.
pub fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
}

/// Each output's schema, by its file name under `docs/schema/`.
pub fn outputs() -> Vec<(&'static str, Schema)> {
    use crate::{compare, decide, pipeline, sweep};
    vec![
        (
            "run.json",
            generator().into_root_schema_for::<pipeline::Report>(),
        ),
        (
            "sweep.json",
            generator().into_root_schema_for::<sweep::SweepResult>(),
        ),
        (
            "compare.json",
            generator().into_root_schema_for::<compare::Comparison>(),
        ),
        (
            "decide.json",
            generator().into_root_schema_for::<decide::Decision>(),
        ),
        (
            "check.json",
            generator().into_root_schema_for::<super::check::CheckJson>(),
        ),
        (
            "bench.json",
            generator().into_root_schema_for::<super::bench::BenchJson>(),
        ),
        (
            "conform.json",
            generator().into_root_schema_for::<super::conform::ConformJson>(),
        ),
        ("probe.json", super::probe::probe_schema(generator())),
    ]
}
