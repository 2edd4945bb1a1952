//! Object lifecycle: idle objects hibernate (memory lost, next event cold), active ones keep
//! the token cached by the POST's put.

use crate::{report, scenario};

fn upgrades_after_idle(connect_delay_ms: u64, input_gate: bool) -> (u64, u64, u64) {
    let s = scenario(&format!(
        r#"
[scenario]
jobs = 40
variants = ["sequential"]
[storage]
read_ms = {{ uniform = [50, 100] }}
[object]
hibernate_after_idle_ms = 10000
evict_after_idle_ms = 70000
input_gate = {input_gate}
[client]
connect_delay_ms = {{ constant = {connect_delay_ms} }}
books_per_job = 1
[enrichment]
book_ms = {{ constant = 100000 }}
"#
    ));
    let (r, _) = report(&s, &[4]);
    let v = &r.variants[0];
    (
        v.cold_starts,
        v.storage_ms.max,
        v.jobs - v.outcome(handshake_sim::internal::record::Outcome::Ok),
    )
}

#[test]
fn an_object_idle_past_hibernation_starts_cold_and_reads_storage() {
    for gate in [true, false] {
        let (cold, storage_max, failures) = upgrades_after_idle(5_000, gate);
        assert_eq!(
            (cold, storage_max, failures),
            (0, 0, 0),
            "5 s idle: warm, token cached"
        );
        let (cold, storage_max, failures) = upgrades_after_idle(12_000, gate);
        assert_eq!(cold, 40, "12 s idle: every object hibernated");
        assert!(
            storage_max >= 100,
            "reads went to storage: max {storage_max}"
        );
        assert_eq!(failures, 0);
    }
}
