//! Running a run as one turmoil tick changes no output: every bundled scenario, every variant,
//! two seeds, gives the same records, faults and simulated time as plain turmoil ticking one
//! scenario tick at a time.

use super::{run_ticking, Ticks};
use crate::scenario::{parse_overrides, Scenario, BUNDLED};
use crate::server::variant;

#[test]
fn one_tick_per_run_gives_the_records_ticking_gives() {
    // Fewer jobs keep it quick; the scenarios' lifecycles (hibernation, eviction, timeouts,
    // faults, an object crash after its job ended) are what one tick could get wrong, and
    // each still runs.
    let overrides = parse_overrides(&["scenario.jobs=40".into()]).unwrap();
    for bundled in &BUNDLED {
        let scenario = Scenario::from_toml_str(bundled.path, bundled.text, &overrides).unwrap();
        for &id in &scenario.scenario.variants {
            for seed in [1, 2] {
                let v = variant::of(id);
                let every = run_ticking(&scenario, v.clone(), seed, Ticks::Every).unwrap();
                let whole = run_ticking(&scenario, v, seed, Ticks::Whole).unwrap();
                let what = format!("{} {} seed {seed}", bundled.name, id.name());
                assert_eq!(every.sim_ms, whole.sim_ms, "{what}");
                assert_eq!(every.faults, whole.faults, "{what}");
                assert_eq!(every.records, whole.records, "{what}");
            }
        }
    }
}

/// One job whose object crashes `after_ms` after its POST, at 10 ms ticks.
fn crashing(after_ms: u64) -> Scenario {
    let text = format!(
        "[scenario]\njobs = 1\ntick_ms = 10\n\
         [faults.object_crash]\nprobability = 1.0\nafter_ms = {{ constant = {after_ms} }}\n"
    );
    Scenario::from_toml_str("<test>", &text, &[]).unwrap()
}

#[test]
fn a_task_woken_after_the_fleet_ends_runs_only_within_that_tick() {
    // The object's crash timer is a task that outlives its job: it runs, and counts its
    // fault, if it fires before the end of the tick in which the fleet finished, and never
    // after. With the run as one turmoil tick, only the stop at the fleet's end keeps it from
    // running until the duration limit.
    let v = variant::of(crate::names::VariantId::ALL[0]);
    let ended_ms = run_ticking(&crashing(3_600_000), v.clone(), 1, Ticks::Every)
        .unwrap()
        .sim_ms;
    let (mut counted, mut not_counted) = (0, 0);
    for after_ms in (ended_ms.saturating_sub(40)..ended_ms + 40).step_by(10) {
        let scenario = crashing(after_ms);
        let every = run_ticking(&scenario, v.clone(), 1, Ticks::Every).unwrap();
        let whole = run_ticking(&scenario, v.clone(), 1, Ticks::Whole).unwrap();
        let what = format!("crash after {after_ms} ms, the run ended at {ended_ms} ms");
        assert_eq!(every.sim_ms, whole.sim_ms, "{what}");
        assert_eq!(every.faults, whole.faults, "{what}");
        assert_eq!(every.records, whole.records, "{what}");
        match every
            .faults
            .get(&crate::names::FaultKind::ObjectCrash)
            .copied()
            .unwrap_or(0)
        {
            0 => not_counted += 1,
            _ => counted += 1,
        }
    }
    assert!(
        counted > 0 && not_counted > 0,
        "{counted} crashes counted, {not_counted} not"
    );
}

#[test]
fn a_run_past_its_duration_limit_fails_where_ticking_fails() {
    // One job at 10 ms ticks under a 1 s limit, its object's cold start 0 to 100 ms: its
    // fleet ends at 960 ms + the cold start, crossing 1,010 ms, the first tick boundary past
    // the limit, where turmoil, ticking, reports the duration exceeded. A fleet that would end
    // on that boundary is already too late (the tick ends before a task woken then runs).
    let v = variant::of(crate::names::VariantId::ALL[0]);
    let (mut ok, mut failed) = (0, 0);
    for cold_start_ms in (0..=100).step_by(10) {
        let text = format!(
            "[scenario]\njobs = 1\ntick_ms = 10\nduration_s_max = 1\n\
             [enrichment]\nbook_ms = {{ constant = 180 }}\n\
             [object]\ncold_start_ms = {{ constant = {cold_start_ms} }}\n"
        );
        let scenario = Scenario::from_toml_str("<test>", &text, &[]).unwrap();
        let every = run_ticking(&scenario, v.clone(), 1, Ticks::Every);
        let whole = run_ticking(&scenario, v.clone(), 1, Ticks::Whole);
        let what = format!("a cold start of {cold_start_ms} ms");
        match (every, whole) {
            (Ok(every), Ok(whole)) => {
                assert_eq!(every.sim_ms, whole.sim_ms, "{what}");
                assert_eq!(every.records, whole.records, "{what}");
                ok += 1;
            }
            (Err(every), Err(whole)) => {
                assert_eq!(every.to_string(), whole.to_string(), "{what}");
                failed += 1;
            }
            (every, whole) => panic!("{what}: ticking {every:?}, one tick {whole:?}"),
        }
    }
    // 960 to 1,000 ms finish; 1,010 ms and later do not.
    assert_eq!((ok, failed), (5, 6));
}

/// The `upgrade` benchmark preloads every job's token and skips the POSTs, so there is no
/// session to join: with `[session]` it runs one socket per job. It ran sessions before and
/// waited for progress nobody relayed, until `duration_s_max`.
#[test]
fn preloaded_upgrades_ignore_sessions() {
    let overrides = parse_overrides(&["scenario.jobs=40".into(), "session.jobs=4".into()]).unwrap();
    let b = crate::scenario::bundled("issue407").unwrap();
    let scenario = Scenario::from_toml_str(b.path, b.text, &overrides).unwrap();
    let out =
        super::run_upgrades(&scenario, variant::of(crate::names::VariantId::Parallel), 1).unwrap();
    assert_eq!(out.records.len(), 40);
    assert!(out
        .records
        .iter()
        .all(|r| r.session.is_none() && r.attempts == 1));
}
