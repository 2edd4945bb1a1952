//! Same scenario + seed ⇒ identical bytes; another seed ⇒ other records.

use handshake_sim::internal::names::VariantId;
use handshake_sim::internal::report;

use crate::{load, report};

fn outputs(seed: u64) -> (String, Vec<u8>) {
    let every_variant = format!(
        "scenario.variants={:?}",
        VariantId::ALL.map(VariantId::name)
    );
    let s = load(
        "issue407.toml",
        &[
            "scenario.jobs=150",
            &every_variant,
            "object.restart_probability=0.5",
        ],
    );
    let (r, runs) = report(&s, &[seed]);
    let mut csv = Vec::new();
    report::write_records(&mut csv, &runs, &[], report::Seen::Simulation).unwrap();
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

/// Through the CLI, one process per scenario: a scoped tracing subscriber is then alone in
/// its process, as it is for users (in a multi-threaded test binary tracing's global
/// callsite-interest rebuilds could drop an event of another thread's trace).
#[test]
fn every_bundled_scenario_runs_twice_with_the_same_trace() {
    let mut files: Vec<_> = std::fs::read_dir(crate::root().join("sims"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for f in files {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let s = crate::load(&name, &[]);
        let path = format!("sims/{name}");
        let (code, out, err) =
            crate::exec(&["run", &path, "--jobs", "40", "--check-determinism"], None);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let identical = out
            .lines()
            .filter(|l| l.starts_with("determinism ") && l.ends_with("both times"))
            .count();
        assert_eq!(identical, s.scenario.variants.len(), "{name}: {out}");
        assert!(!out.contains(" 0 events"), "{name}: empty trace: {out}");
    }
}

#[test]
fn a_divergence_names_the_first_differing_event() {
    use handshake_sim::internal::replay::{diverge, Step};
    let step = |t_ms: u64, message: &str| Step {
        t_ms,
        host: "objects".into(),
        level: "DEBUG".into(),
        message: message.into(),
        fields: vec![],
    };
    let a = vec![step(0, "POST"), step(5, "read start"), step(90, "read end")];
    let mut b = a.clone();
    assert_eq!(diverge(&a, &b), None);
    b[2] = step(91, "read end");
    let d = diverge(&a, &b).unwrap();
    assert_eq!(
        (d.index, d.first.unwrap().t_ms, d.second.unwrap().t_ms),
        (2, 90, 91)
    );
    let d = diverge(&a, &a[..2]).unwrap();
    assert_eq!((d.index, d.second), (2, None));
}
