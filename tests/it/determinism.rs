//! Same scenario + seed ⇒ identical bytes; another seed ⇒ other records.

use handshake_sim::report;

use crate::{load, report};

fn outputs(seed: u64) -> (String, Vec<u8>) {
    let s = load(
        "issue407.toml",
        &[
            "scenario.jobs=150",
            r#"scenario.variants=["sequential", "parallel", "batched", "memory-cache"]"#,
            "object.restart_probability=0.5",
        ],
    );
    let (r, runs) = report(&s, &[seed]);
    let mut csv = Vec::new();
    report::write_records(&mut csv, &runs).unwrap();
    (r.to_json(), csv)
}

#[test]
fn same_seed_same_bytes_other_seed_other_records() {
    let (json_a, csv_a) = outputs(42);
    let (json_b, csv_b) = outputs(42);
    assert_eq!(json_a, json_b);
    assert_eq!(csv_a, csv_b);
    let (json_c, csv_c) = outputs(43);
    assert_ne!(csv_a, csv_c);
    assert_ne!(json_a, json_c);
}
