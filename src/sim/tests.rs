//! Skipping idle ticks changes no output: every bundled scenario, every variant, two seeds,
//! gives the same records, faults and simulated time as ticking one tick at a time.

use super::{run_ticking, Ticks};
use crate::scenario::{parse_overrides, Scenario, BUNDLED};
use crate::server::variant;

#[test]
fn skipping_idle_ticks_gives_the_records_ticking_gives() {
    // Fewer jobs keep it quick; the scenarios' lifecycles (hibernation, eviction, timeouts,
    // faults) are what skipping could get wrong, and each still runs.
    let overrides = parse_overrides(&["scenario.jobs=40".into()]).unwrap();
    for bundled in &BUNDLED {
        let scenario = Scenario::from_toml_str(bundled.path, bundled.text, &overrides).unwrap();
        for &id in &scenario.scenario.variants {
            for seed in [1, 2] {
                let v = variant::of(id);
                let every = run_ticking(&scenario, v.clone(), seed, Ticks::Every).unwrap();
                let skip = run_ticking(&scenario, v, seed, Ticks::SkipIdle).unwrap();
                let what = format!("{} {} seed {seed}", bundled.name, id.name());
                assert_eq!(every.sim_ms, skip.sim_ms, "{what}");
                assert_eq!(every.faults, skip.faults, "{what}");
                assert_eq!(every.records, skip.records, "{what}");
            }
        }
    }
}
