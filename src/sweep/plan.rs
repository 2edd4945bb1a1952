//! A sweep checked before it runs: every point's scenario loaded once, its runs counted and
//! their cost estimated against the limits; the shard's points cut into batches.

use super::error::SweepError;
use super::spec::{SweepDef, POINTS_MAX, RUNS_MAX};
use crate::scenario::{parse_override_from, Override, Scenario};

/// Which points a shard runs: every n-th from k-1 (k is 1-based).
pub fn in_shard(point: usize, shard: Option<(u32, u32)>) -> bool {
    shard.is_none_or(|(k, n)| point % n as usize == (k - 1) as usize)
}

/// A sweep checked and ready to run: every point's scenario loaded once (and dropped), its
/// runs counted and their cost estimated. Scenarios are built again batch by batch as the
/// sweep runs, so memory does not grow with the number of points.
pub struct Plan {
    pub def: SweepDef,
    text: String,
    overrides: Vec<Override>,
    points: Vec<Vec<(String, String)>>,
    pub shard: Option<(u32, u32)>,
    /// `scenario.jobs` of each point (0 outside the shard).
    jobs: Vec<u32>,
    /// Runs in the shard: points × variants × seeds.
    pub runs: u64,
    /// Simulated jobs in the shard, over every run.
    pub sim_jobs: u64,
    /// Estimated wall time on one core, s (see the `cost` module).
    pub cpu_s: f64,
}

/// The estimated single-core wall time past which a sweep is refused unless the user
/// confirms it (`sweep --allow-large`): 24 hours.
pub const CPU_S_MAX: f64 = 24.0 * 3600.0;
/// A batch of runs closes once it holds this many job records (it always holds at least one
/// point's runs, whose figures are pooled).
pub const BATCH_JOBS_MAX: u64 = 1_000_000;
/// Most job records one point may hold (`scenario.jobs` × seeds × variants): its pooled
/// percentiles and paired deltas need every record at once. With [`BATCH_JOBS_MAX`] this
/// bounds a batch below 3,000,000 records.
pub const POINT_JOBS_MAX: u64 = 2_000_000;

/// Refuses a point whose runs would hold more than [`POINT_JOBS_MAX`] job records at once.
fn check_point_jobs(jobs: u64, def: &SweepDef) -> Result<(), SweepError> {
    let (seeds, variants) = (def.seeds.len() as u64, def.variants.len() as u64);
    let records = jobs * seeds * variants;
    if records > POINT_JOBS_MAX {
        return Err(SweepError::Usage(format!(
            "a point would hold {records} job records at once (scenario.jobs {jobs} × {seeds} \
             seed(s) × {variants} variant(s)), past the limit of {POINT_JOBS_MAX}: its pooled \
             figures need them all; lower scenario.jobs, --seeds or the variants"
        )));
    }
    Ok(())
}

impl Plan {
    /// Checks every point (before anything runs) and estimates the runs in `shard`.
    pub fn new(
        def: &SweepDef,
        base_overrides: &[Override],
        text: &str,
        shard: Option<(u32, u32)>,
    ) -> Result<Plan, SweepError> {
        match def.point_count() {
            Some(n) if n <= POINTS_MAX => {}
            _ => {
                return Err(SweepError::Usage(format!(
                    "the grid has more than {POINTS_MAX} points"
                )))
            }
        }
        let mut plan = Plan {
            def: def.clone(),
            text: text.to_string(),
            overrides: base_overrides.to_vec(),
            points: def.points(),
            shard,
            jobs: Vec::new(),
            runs: 0,
            sim_jobs: 0,
            cpu_s: 0.0,
        };
        let per_point = (def.variants.len() * def.seeds.len()) as u64;
        let shard_points = (0..plan.points.len())
            .filter(|&p| in_shard(p, shard))
            .count();
        let runs = shard_points as u64 * per_point;
        if runs > RUNS_MAX as u64 {
            return Err(SweepError::Usage(format!(
                "{runs} runs exceed the limit of {RUNS_MAX}"
            )));
        }
        for p in 0..plan.points.len() {
            let s = plan.scenario(p)?;
            let jobs = if in_shard(p, shard) {
                s.scenario.jobs
            } else {
                0
            };
            check_point_jobs(u64::from(s.scenario.jobs), def)?;
            plan.jobs.push(jobs);
            if in_shard(p, shard) {
                plan.runs += per_point;
                plan.sim_jobs += u64::from(jobs) * per_point;
                plan.cpu_s += crate::cost::RunCost::of(&s).wall_s() * per_point as f64;
            }
        }
        Ok(plan)
    }

    /// The grid points.
    pub fn points(&self) -> &[Vec<(String, String)>] {
        &self.points
    }

    /// The scenario of point `p`.
    pub(super) fn scenario(&self, p: usize) -> Result<Scenario, SweepError> {
        let mut overrides = self.overrides.clone();
        for (k, v) in &self.points[p] {
            overrides.push(parse_override_from("--param", &format!("{k}={v}"))?);
        }
        Ok(Scenario::from_toml_str(
            &self.def.scenario_file,
            &self.text,
            &overrides,
        )?)
    }

    /// Refuses a sweep estimated past [`CPU_S_MAX`] unless `allowed`.
    pub fn check_size(&self, allowed: bool) -> Result<(), SweepError> {
        if self.cpu_s > CPU_S_MAX && !allowed {
            return Err(SweepError::Usage(format!(
                "{} runs of {} simulated jobs in all would take an estimated {} on one core, past \
                 the limit of {}; shrink the grid, --seeds or scenario.jobs, or pass --allow-large",
                self.runs,
                self.sim_jobs,
                crate::cost::human_s(self.cpu_s),
                crate::cost::human_s(CPU_S_MAX)
            )));
        }
        Ok(())
    }

    /// The points of the shard in batches: each at least one point, closed once it holds
    /// `runs_target` runs or [`BATCH_JOBS_MAX`] job records.
    pub(super) fn batches(&self, runs_target: u64) -> Vec<Vec<usize>> {
        let per_point = (self.def.variants.len() * self.def.seeds.len()) as u64;
        let mut batches = vec![Vec::new()];
        let (mut runs, mut jobs) = (0u64, 0u64);
        for p in (0..self.points.len()).filter(|&p| in_shard(p, self.shard)) {
            if runs >= runs_target || jobs >= BATCH_JOBS_MAX {
                batches.push(Vec::new());
                (runs, jobs) = (0, 0);
            }
            batches.last_mut().expect("one batch at least").push(p);
            runs += per_point;
            jobs += u64::from(self.jobs[p]) * per_point;
        }
        batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_override;
    use crate::sweep::spec::tests::def;
    use crate::sweep::ParamSpec;

    #[test]
    fn shards_split_the_points_without_overlap() {
        let shards: Vec<Vec<usize>> = (1..=2)
            .map(|k| (0..6).filter(|&p| in_shard(p, Some((k, 2)))).collect())
            .collect();
        assert_eq!(shards, [vec![0, 2, 4], vec![1, 3, 5]]);
        assert!((0..6).all(|p| in_shard(p, None)));
    }

    #[test]
    fn batches_hold_enough_runs_for_the_threads_and_at_most_a_million_records() {
        let mut d = def(vec![ParamSpec::grid("client.retries=0..9:1").unwrap()]);
        let plan = Plan::new(&d, &[], "", None).unwrap();
        assert_eq!(plan.runs, 10);
        let sizes = |b: Vec<Vec<usize>>| b.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(plan.batches(4)), [4, 4, 2]);
        assert_eq!(plan.batches(4).concat(), (0..10).collect::<Vec<_>>());
        // 600,000 jobs a point: a batch closes at the records cap, whatever the thread count.
        let big = [crate::scenario::parse_override("scenario.jobs=600000").unwrap()];
        assert_eq!(
            sizes(Plan::new(&d, &big, "", None).unwrap().batches(64)),
            [2; 5]
        );
        // A point of more than POINT_JOBS_MAX records is refused, one at the cap is not.
        let at_cap = [parse_override("scenario.jobs=1000000").unwrap()];
        d.seeds = vec![1, 2, 3];
        let err = Plan::new(&d, &at_cap, "", None)
            .err()
            .expect("past the cap");
        assert!(err.to_string().contains("3000000 job records"), "{err}");
        d.seeds = vec![1, 2];
        assert!(Plan::new(&d, &at_cap, "", None).is_ok());
        // A shard's batches hold only its points.
        d.seeds = vec![1, 2];
        let shard = Plan::new(&d, &[], "", Some((2, 3))).unwrap();
        assert_eq!(shard.runs, 6);
        assert_eq!(shard.batches(4), [vec![1, 4], vec![7]]);
    }
}
