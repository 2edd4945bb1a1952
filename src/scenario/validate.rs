//! Validation: every value of a parsed scenario checked against its documented limits, in
//! file order, and `[expect]` parsed; `check`'s test that the variants an SLO or an
//! expectation names are ones that run.

use super::{reported, Dist, Expectation, Scenario};
use super::{
    BOOKS_PER_JOB_MAX, CONCURRENCY_MAX, DECIDE_OPTIONS_MAX, DECIDE_SWEEP_SEEDS_MAX,
    DURATION_S_MAX_LIMIT, EXPECTATIONS_MAX, JOBS_MAX, KV_CACHE_TTL_MS_MIN,
    KV_EXPIRATION_TTL_MS_MIN, NETWORK_TYPES_MAX, PARTITIONS_MAX, PERIOD_MS_MAX, REPORTED_MAX,
    RETRIES_MAX, SESSION_JOBS_MAX, TICK_MS_MAX,
};
use crate::names::VariantId;

impl Scenario {
    /// For `check`: every variant an SLO or expectation names must be one that runs.
    pub fn check_judged_variants_run(&self) -> Result<(), (String, String)> {
        let runs = &self.scenario.variants;
        let missing = |v: &VariantId| !runs.contains(v);
        let listed = || runs.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
        for (i, v) in self.slo.apply_to.iter().enumerate() {
            if missing(v) {
                return Err((
                    format!("slo.apply_to.{i}"),
                    format!(
                        "{:?} is not one of scenario.variants ({})",
                        v.name(),
                        listed()
                    ),
                ));
            }
        }
        for (key, e) in self.expect.keys().zip(&self.expectations) {
            if let Some(v) = e.variants().into_iter().find(missing) {
                return Err((
                    format!("expect.\"{key}\""),
                    format!(
                        "names variant {:?}, which is not one of scenario.variants ({})",
                        v.name(),
                        listed()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A validation failure: the dotted key and what is wrong with it.
pub(crate) type Invalid = (String, String);

impl Scenario {
    /// Checks every value against its limits, in file order, and parses `[expect]`; the error
    /// names the dotted key of the first value that is wrong.
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        self.validate_meta()?;
        self.validate_dists()?;
        self.validate_network_types()?;
        self.validate_periods()?;
        self.validate_probabilities()?;
        self.validate_partitions()?;
        self.validate_retries()?;
        self.validate_slo()?;
        self.expectations = self.validate_expect()?;
        self.validate_reported()?;
        self.validate_decide()?;
        self.validate_books()?;
        self.validate_session()
    }

    /// `[scenario]`: sizes, variants, tick and duration.
    fn validate_meta(&self) -> Result<(), Invalid> {
        let m = &self.scenario;
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        // The name and description reach titles, plots (XML) and the terminal: text only.
        if m.name.chars().any(char::is_control) {
            return err(
                "scenario.name",
                "holds a control character; a name is one line of text".into(),
            );
        }
        if m.description
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return err(
                "scenario.description",
                "holds a control character other than a newline or a tab".into(),
            );
        }
        if m.jobs == 0 {
            return err("scenario.jobs", "must be at least 1".into());
        }
        if m.jobs > JOBS_MAX {
            return err(
                "scenario.jobs",
                format!("{} exceeds the limit of {JOBS_MAX}", m.jobs),
            );
        }
        if m.concurrency == 0 || m.concurrency > CONCURRENCY_MAX {
            return err(
                "scenario.concurrency",
                format!("{} is outside 1..={CONCURRENCY_MAX}", m.concurrency),
            );
        }
        if m.variants.is_empty() {
            return err("scenario.variants", "needs at least one variant".into());
        }
        // The least any command runs: one variant, one seed. What runs them checks again with
        // their number (`sim::run_variants`, `run`).
        if let Err(why) = super::memory::check(self, 1) {
            return err("scenario.concurrency", why);
        }
        for (i, v) in m.variants.iter().enumerate() {
            if m.variants[..i].contains(v) {
                return err(
                    &format!("scenario.variants.{i}"),
                    format!("variant {:?} is listed twice", v.name()),
                );
            }
        }
        if m.tick_ms == 0 || m.tick_ms > TICK_MS_MAX {
            return err(
                "scenario.tick_ms",
                format!("{} is outside 1..={TICK_MS_MAX}", m.tick_ms),
            );
        }
        if m.duration_s_max == 0 || m.duration_s_max > DURATION_S_MAX_LIMIT {
            return err(
                "scenario.duration_s_max",
                format!("{} is outside 1..={DURATION_S_MAX_LIMIT}", m.duration_s_max),
            );
        }
        Ok(())
    }

    /// Every latency distribution.
    fn validate_dists(&self) -> Result<(), Invalid> {
        let dists: [(&str, &Dist); 15] = [
            (
                "network.client_edge.latency_ms",
                &self.network.client_edge.latency_ms,
            ),
            (
                "network.edge_object.latency_ms",
                &self.network.edge_object.latency_ms,
            ),
            ("storage.read_ms", &self.storage.read_ms),
            ("storage.cached_read_ms", &self.storage.cached_read_ms),
            ("storage.write_ms", &self.storage.write_ms),
            ("object.cold_start_ms", &self.object.cold_start_ms),
            ("object.pair_ms", &self.object.pair_ms),
            ("object.accept_ms", &self.object.accept_ms),
            ("client.connect_delay_ms", &self.client.connect_delay_ms),
            ("enrichment.book_ms", &self.enrichment.book_ms),
            ("auth.revoke_after_ms", &self.auth.revoke_after_ms),
            (
                "auth.stale_attempt_after_ms",
                &self.auth.stale_attempt_after_ms,
            ),
            ("kv.hot_read_ms", &self.kv.hot_read_ms),
            ("kv.cold_read_ms", &self.kv.cold_read_ms),
            ("kv.write_ms", &self.kv.write_ms),
        ];
        let session = self
            .session
            .as_ref()
            .map(|s| ("session.job_interval_ms", &s.job_interval_ms));
        for (key, d) in dists.into_iter().chain(self.faults.dists()).chain(session) {
            d.validate()
                .map_err(|(sub, msg)| (format!("{key}.{sub}"), msg))?;
        }
        Ok(())
    }

    /// `[[network.types]]`: named once each, shares that sum to 1, each value in its range.
    fn validate_network_types(&self) -> Result<(), Invalid> {
        let types = &self.network.types;
        let err = |k: String, msg: String| Err((k, msg));
        if types.len() > NETWORK_TYPES_MAX {
            return err(
                "network.types".into(),
                format!("{} types; at most {NETWORK_TYPES_MAX}", types.len()),
            );
        }
        for (i, t) in types.iter().enumerate() {
            let key = |k: &str| format!("network.types.{i}.{k}");
            let name_ok = !t.name.is_empty()
                && t.name.len() <= 32
                && t.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !name_ok {
                return err(
                    key("name"),
                    format!(
                        "{:?} is not a name: 1 to 32 lower-case letters, digits, '-' or '_'",
                        t.name
                    ),
                );
            }
            if types[..i].iter().any(|o| o.name == t.name) {
                return err(key("name"), format!("{:?} is named twice", t.name));
            }
            if !(t.share > 0.0 && t.share <= 1.0) {
                return err(key("share"), format!("{} is outside (0, 1]", t.share));
            }
            t.client_edge_latency_ms
                .validate()
                .map_err(|(sub, msg)| (format!("{}.{sub}", key("client_edge_latency_ms")), msg))?;
            if let Some(p) = t.client_edge_loss.filter(|p| !(0.0..=1.0).contains(p)) {
                return err(
                    key("client_edge_loss"),
                    format!("{p} is not a probability in 0..=1"),
                );
            }
            if let Some(d) = t
                .handshake_timeout_ms
                .filter(|d| *d == 0 || *d > PERIOD_MS_MAX)
            {
                return err(
                    key("handshake_timeout_ms"),
                    format!("{d} is outside 1..={PERIOD_MS_MAX}"),
                );
            }
        }
        let sum: f64 = types.iter().map(|t| t.share).sum();
        if !types.is_empty() && (sum - 1.0).abs() > 1e-9 {
            return err(
                "network.types".into(),
                format!(
                    "the shares sum to {}; they must sum to 1 (each type's share is its \
                     part of the jobs)",
                    (sum * 1e9).round() / 1e9
                ),
            );
        }
        Ok(())
    }

    /// Timeouts, idle periods and intervals.
    fn validate_periods(&self) -> Result<(), Invalid> {
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        let periods: [(&str, u64); 9] = [
            (
                "object.hibernate_after_idle_ms",
                self.object.hibernate_after_idle_ms,
            ),
            (
                "object.evict_after_idle_ms",
                self.object.evict_after_idle_ms,
            ),
            ("auth.token_ttl_ms", self.auth.token_ttl_ms),
            ("client.ping_after_ms", self.client.ping_after_ms),
            ("client.ping_timeout_ms", self.client.ping_timeout_ms),
            ("client.backoff_base_ms", self.client.backoff_base_ms),
            ("client.backoff_max_ms", self.client.backoff_max_ms),
            ("client.retry_budget_ms", self.client.retry_budget_ms),
            ("client.result_deadline_ms", self.client.result_deadline_ms),
        ];
        for (key, v) in periods {
            if v > PERIOD_MS_MAX {
                return err(key, format!("{v} exceeds the limit of {PERIOD_MS_MAX} ms"));
            }
        }
        if self.client.handshake_timeout_ms == 0 || self.client.handshake_timeout_ms > PERIOD_MS_MAX
        {
            return err(
                "client.handshake_timeout_ms",
                format!(
                    "{} is outside 1..={PERIOD_MS_MAX}",
                    self.client.handshake_timeout_ms
                ),
            );
        }
        for (key, v, min, doc) in [
            (
                "kv.cache_ttl_ms",
                self.kv.cache_ttl_ms,
                KV_CACHE_TTL_MS_MIN,
                "get()'s cacheTtl",
            ),
            (
                "kv.expiration_ttl_ms",
                self.kv.expiration_ttl_ms,
                KV_EXPIRATION_TTL_MS_MIN,
                "put()'s expirationTtl",
            ),
        ] {
            if v < min || v > PERIOD_MS_MAX {
                return err(
                    key,
                    format!(
                        "{v} is outside {min}..={PERIOD_MS_MAX}: Workers KV takes no {doc} \
                         under {} s; raise it to {min} or more",
                        min / 1000
                    ),
                );
            }
        }
        for (key, v) in [
            ("client.poll_interval_ms", self.client.poll_interval_ms),
            ("client.request_timeout_ms", self.client.request_timeout_ms),
        ] {
            if v == 0 || v > PERIOD_MS_MAX {
                return err(key, format!("{v} is outside 1..={PERIOD_MS_MAX}"));
            }
        }
        Ok(())
    }

    /// Every probability is in 0..=1.
    fn validate_probabilities(&self) -> Result<(), Invalid> {
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        let probabilities: [(&str, f64); 4] = [
            (
                "object.restart_probability",
                self.object.restart_probability,
            ),
            ("client.backoff_jitter", self.client.backoff_jitter),
            ("auth.revoke_probability", self.auth.revoke_probability),
            ("kv.move_probability", self.kv.move_probability),
        ];
        for (key, p) in probabilities.into_iter().chain(self.faults.probabilities()) {
            if !(0.0..=1.0).contains(&p) {
                return err(key, format!("{p} is not a probability in 0..=1"));
            }
        }
        Ok(())
    }

    /// Partition windows and per-job partitions of `[faults]`.
    fn validate_partitions(&self) -> Result<(), Invalid> {
        let f = &self.faults;
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        if f.partition_windows.len() > PARTITIONS_MAX {
            return err(
                "faults.partition_windows",
                format!("more than {PARTITIONS_MAX} windows"),
            );
        }
        for (i, w) in f.partition_windows.iter().enumerate() {
            for (k, v) in [("start_ms", w.start_ms), ("duration_ms", w.duration_ms)] {
                if v > PERIOD_MS_MAX {
                    return err(
                        &format!("faults.partition_windows.{i}.{k}"),
                        format!("{v} exceeds the limit of {PERIOD_MS_MAX} ms"),
                    );
                }
            }
        }
        if f.job_partitions.len() > PARTITIONS_MAX {
            return err(
                "faults.job_partitions",
                format!("more than {PARTITIONS_MAX} partitions"),
            );
        }
        for (i, j) in f.job_partitions.iter().enumerate() {
            let key = format!("faults.job_partitions.{i}");
            if !(0.0..=1.0).contains(&j.probability) {
                return err(
                    &format!("{key}.probability"),
                    format!("{} is not a probability in 0..=1", j.probability),
                );
            }
            for (k, d) in [("after_ms", &j.after_ms), ("duration_ms", &j.duration_ms)] {
                d.validate()
                    .map_err(|(sub, msg)| (format!("{key}.{k}.{sub}"), msg))?;
            }
        }
        Ok(())
    }

    /// The client's retry limit.
    fn validate_retries(&self) -> Result<(), Invalid> {
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        if self.client.retries > RETRIES_MAX {
            return err(
                "client.retries",
                format!("{} exceeds the limit of {RETRIES_MAX}", self.client.retries),
            );
        }
        Ok(())
    }

    /// `[slo]`: known variants, finite thresholds, warning <= critical.
    fn validate_slo(&self) -> Result<(), Invalid> {
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        for (name, _, t) in self.slo.checks() {
            for (which, v) in [("warning", t.warning), ("critical", t.critical)] {
                if !v.is_finite() || v < 0.0 {
                    return err(
                        &format!("slo.{name}.{which}"),
                        format!("{v} is not a finite number >= 0"),
                    );
                }
            }
            if t.warning > t.critical {
                return err(
                    &format!("slo.{name}"),
                    format!("warning {} > critical {}", t.warning, t.critical),
                );
            }
        }
        Ok(())
    }

    /// `[expect]`: at most `EXPECTATIONS_MAX` lines, each parsed.
    fn validate_expect(&self) -> Result<Vec<Expectation>, Invalid> {
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        if self.expect.len() > EXPECTATIONS_MAX {
            return err(
                "expect",
                format!("more than {EXPECTATIONS_MAX} expectations"),
            );
        }
        let names = self.network_type_names();
        self.expect
            .iter()
            .map(|(key, expr)| {
                Expectation::parse(key, expr)
                    .and_then(|e| e.check_network_types(&names).map(|()| e))
                    .map_err(|msg| (format!("expect.\"{key}\""), msg))
            })
            .collect()
    }

    /// `[decide]`: named options, each override well-formed, a figure to rank by. Whether an
    /// override's key exists, and the sweep's specs, are checked by `decide` itself.
    fn validate_decide(&self) -> Result<(), Invalid> {
        let d = &self.decide;
        let err = |k: String, msg: String| Err((k, msg));
        if d.options.len() > DECIDE_OPTIONS_MAX {
            return err(
                "decide.options".into(),
                format!("{} options; at most {DECIDE_OPTIONS_MAX}", d.options.len()),
            );
        }
        for (i, o) in d.options.iter().enumerate() {
            let key = |k: &str| format!("decide.options.{i}.{k}");
            if o.name.trim().is_empty() || o.name.chars().any(char::is_control) || o.name.len() > 64
            {
                return err(key("name"), "must be 1 to 64 characters of one line".into());
            }
            if d.options[..i].iter().any(|p| p.name == o.name) {
                return err(key("name"), format!("{:?} is named twice", o.name));
            }
            for (j, s) in o.set.iter().enumerate() {
                let ov = super::parse_override_from("[decide]", s)
                    .map_err(|e| (format!("{}.{j}", key("set")), e.to_string()))?;
                if ov
                    .path
                    .first()
                    .is_some_and(|p| p == "scenario" || p == "decide")
                {
                    return err(
                        format!("{}.{j}", key("set")),
                        format!(
                            "{s:?}: an option may not change [scenario] or [decide] (the jobs, \
                             seeds and tick every option shares, so that they meet the same draws)"
                        ),
                    );
                }
            }
        }
        let rank = crate::names::Figure::parse(&d.rank_by)
            .map_err(|msg| ("decide.rank_by".to_string(), msg))?;
        if !rank.lower_is_better() {
            return err(
                "decide.rank_by".into(),
                format!(
                    "{rank}: options are ranked lowest first, by a figure of which less is \
                     better (failure_rate, p95_client_upgrade_ms, storage or KV counts, …); not \
                     jobs, ok, results_complete, kv_hot_reads, an interval's end or a paired delta"
                ),
            );
        }
        if d.sweep_seeds == 0 || d.sweep_seeds > DECIDE_SWEEP_SEEDS_MAX {
            return err(
                "decide.sweep_seeds".into(),
                format!("{} is outside 1..={DECIDE_SWEEP_SEEDS_MAX}", d.sweep_seeds),
            );
        }
        Ok(())
    }

    /// `[reported]`: at most `REPORTED_MAX` lines, each a figure with a finite value or range.
    fn validate_reported(&self) -> Result<(), Invalid> {
        if self.reported.len() > REPORTED_MAX {
            return Err((
                "reported".into(),
                format!("more than {REPORTED_MAX} reported figures"),
            ));
        }
        self.reported.iter().try_for_each(|(key, v)| {
            reported::parse(key, *v)
                .map(drop)
                .map_err(|msg| (format!("reported.\"{key}\""), msg))
        })
    }

    /// Books per job.
    fn validate_books(&self) -> Result<(), Invalid> {
        let err = |k: &str, msg: String| Err((k.to_string(), msg));
        if self.client.books_per_job > BOOKS_PER_JOB_MAX {
            return err(
                "client.books_per_job",
                format!(
                    "{} exceeds the limit of {BOOKS_PER_JOB_MAX}",
                    self.client.books_per_job
                ),
            );
        }
        Ok(())
    }

    /// `[session]`: at least one job per session, and a whole session in flight at once.
    fn validate_session(&self) -> Result<(), Invalid> {
        let Some(s) = &self.session else {
            return Ok(());
        };
        let err = |msg: String| Err(("session.jobs".to_string(), msg));
        if s.jobs == 0 {
            return err(
                "0: a session with zero jobs runs nothing; give it at least 1, or remove \
                 [session] for one socket per job"
                    .into(),
            );
        }
        if s.jobs > SESSION_JOBS_MAX {
            return err(format!(
                "{} exceeds the limit of {SESSION_JOBS_MAX}",
                s.jobs
            ));
        }
        if s.jobs > self.scenario.concurrency {
            return err(format!(
                "{} exceeds scenario.concurrency ({}): a session's jobs are in flight together; \
                 lower session.jobs or raise scenario.concurrency",
                s.jobs, self.scenario.concurrency
            ));
        }
        Ok(())
    }
}
