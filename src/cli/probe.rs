//! `probe`: the simulated client against a real endpoint, with the SLOs judged.

use std::fmt::Write as _;
use std::path::PathBuf;

use handshake_sim::internal::live;
use handshake_sim::internal::report::probe::{probe_json, Probed};
use handshake_sim::internal::report::{self, Report};
use handshake_sim::internal::sim::RunOutput;
use handshake_sim::internal::verdict::{slo, SloJudged, Verdict};

use super::args::Sets;
use super::output::{any_stdout, check_outputs, init_tracing, write_output};
use super::serve::block_on_local;
use super::Status;
use super::{CliError, CliResult, Context as _};

pub(crate) const EXAMPLES: &str =
    "Exit codes: 0 no critical breach of a client-side SLO (failure_rate, canceled_rate,
avg/p95_upgrade_ms, safety_violations, violations: jobs failed on what the server did wrong,
each named); 1 a critical breach (the failing rows are printed), or the target could not be
reached, or no job got an answer; 2 bad input.

Examples:
  handshake-sim probe http://127.0.0.1:8787 --scenario sims/issue407.toml --jobs 50
  handshake-sim probe http://127.0.0.1:8787 --scenario sims/issue407.toml --emulate-client-edge
    (a Worker under the scenario's latency in workerd or wrangler dev: docs/runtime.md, \"Catch it in dev\")
  handshake-sim probe wss://staging.example.com --allow-remote --jobs 20 --concurrency 2";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Endpoint: http://, ws://, https:// or wss:// HOST[:PORT].
    #[arg(default_value = "http://127.0.0.1:8787")]
    url: String,
    /// Client sessions to run.
    #[arg(long, default_value_t = 20)]
    jobs: u32,
    /// Sessions in flight at once.
    #[arg(long, default_value_t = 5)]
    concurrency: u32,
    /// Scenario whose [client] model and [slo] thresholds to use (default: the defaults).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    #[command(flatten)]
    sets: Sets,
    /// Seed of the client's own draws (connect delay, backoff).
    #[arg(long)]
    seed: Option<u64>,
    /// Give up waiting after this many seconds; unfinished jobs count as network errors.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    time_limit_s: u64,
    /// Write the figures as JSON ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one CSV row per job ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Allow a target outside the loopback range.
    #[arg(long)]
    allow_remote: bool,
    /// Job n posts the id PREFIXn, e.g. PREFIX0 (default: a fresh run id, probe-XXXXXXXX-, printed, so
    /// no two runs share a job and the run can be found in the server's logs). `job-` gives
    /// the simulation's ids.
    #[arg(long, value_name = "PREFIX")]
    job_prefix: Option<String>,
    /// Delay every chunk the probe sends and receives by the scenario's
    /// network.client_edge.latency_ms (drawn per connection, direction and chunk), as the
    /// simulation's phone network: for a target on loopback (workerd, wrangler dev), whose own
    /// network adds nothing. Latency only: no loss. Not for `serve`, which applies the
    /// scenario's network itself (the latency would count twice).
    #[arg(long)]
    emulate_client_edge: bool,
    /// Print the client's trace events at LEVEL to stderr.
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
    /// Print no report: only errors and problems (unreachable, time limit), and the files
    /// asked for.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn probe(args: Args) -> CliResult<Status> {
    init_tracing(args.log.as_deref())?;
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--records", args.records.as_deref()),
    ];
    let inputs: Vec<(&str, &std::path::Path)> = args
        .scenario
        .iter()
        .map(|p| ("--scenario", p.as_path()))
        .collect();
    check_outputs(&outputs, &inputs)?;
    let scenario = args.sets.load(args.scenario.as_deref())?;
    if args.emulate_client_edge && !scenario.network.types.is_empty() {
        return Err(CliError::usage(
            "--emulate-client-edge",
            "the scenario has [[network.types]], and the emulation draws one law for every \
             connection (network.client_edge.latency_ms); drop the flag, or probe each type \
             with --set 'network.client_edge.latency_ms=…' and no types",
        ));
    }
    let options = live::ProbeOptions {
        jobs: args.jobs,
        concurrency: args.concurrency,
        seed: args.seed.unwrap_or(scenario.scenario.seed),
        time_limit_s: args.time_limit_s,
        label: "live".into(),
        job_prefix: args
            .job_prefix
            .clone()
            .unwrap_or_else(live::random_job_prefix),
        emulate_client_edge: args.emulate_client_edge,
    };
    let probed = block_on_local(async {
        let target = live::Endpoint::parse(&args.url, args.allow_remote).await?;
        live::probe(&scenario, target, &options).await
    })??;
    if let Some(why) = &probed.unreachable {
        eprintln!(
            "handshake-sim probe: cannot reach {}: {why}; no job was run",
            args.url
        );
        return Ok(Status::Failed);
    }
    if probed.time_limit_reached {
        eprintln!(
            "handshake-sim probe: time limit of {} s reached; unfinished jobs count as network errors",
            args.time_limit_s
        );
    }
    for (v, n) in &probed.violations {
        eprintln!(
            "handshake-sim probe: {n} job(s) failed: {}: {}",
            v.name(),
            v.what()
        );
    }
    let reached_nothing = probed.answered == 0;
    if reached_nothing {
        eprintln!(
            "handshake-sim probe: no job got an answer from {} (every connection or TLS handshake failed, or nothing answered in time)",
            args.url
        );
    }
    let runs = [probed.run];
    let label = std::slice::from_ref(&options.label);
    let report = Report::new(&scenario, label, &[options.seed], &runs);
    let violations = probed.violations.values().sum();
    let verdicts = slo::judge_client_side(&scenario.slo, &report.variants[0], violations);
    let probed = Probed {
        url: &args.url,
        jobs: args.jobs,
        concurrency: args.concurrency,
        job_prefix: &options.job_prefix,
        client_edge_emulated: options
            .emulate_client_edge
            .then_some(&scenario.network.client_edge.latency_ms),
    };
    if let Some(path) = &args.json {
        let text = probe_json(&report, &probed, &runs[0], &verdicts).context("report as JSON")?;
        write_output(path, text.as_bytes())?;
    }
    if let Some(path) = &args.records {
        let names = scenario.network_type_names();
        super::output::write_records(path, &runs, &names, report::Seen::Client)?;
    }
    if !args.quiet && !any_stdout(&outputs.map(|(_, p)| p)) {
        out!("{}", probe_text(&probed, &report, &runs[0], &verdicts));
    }
    Ok(
        if reached_nothing || verdicts.iter().any(|v| v.verdict == Verdict::Critical) {
            Status::Failed
        } else {
            Status::Success
        },
    )
}

/// The probe's table and its client-side SLO verdicts, the failing ones repeated at the end.
fn probe_text(probed: &Probed, report: &Report, run: &RunOutput, verdicts: &[SloJudged]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "probe {} — {} job(s), concurrency {}, job ids {}0 … {}{}",
        probed.url,
        probed.jobs,
        probed.concurrency,
        probed.job_prefix,
        probed.job_prefix,
        probed.jobs.saturating_sub(1)
    );
    if let Some(latency_ms) = probed.client_edge_emulated {
        let law = serde_json::to_string(latency_ms).unwrap_or_default();
        let _ = writeln!(
            s,
            "emulated client–edge latency, one way per chunk (network.client_edge.latency_ms): {law}"
        );
    }
    s.push_str(&report::probe::probe_table(report, run));
    let _ = writeln!(
        s,
        "\nSLOs (client side: upgrade = request sent → 101, judged by [slo] avg_upgrade_ms and \
         p95_upgrade_ms; canceled = gave up; failure = not ok):"
    );
    for v in verdicts {
        let _ = writeln!(s, "  {}", slo_line(v));
    }
    let of = |verdict: Verdict| -> Vec<&SloJudged> {
        verdicts.iter().filter(|v| v.verdict == verdict).collect()
    };
    let (critical, warned) = (of(Verdict::Critical), of(Verdict::Warning));
    let _ = match (critical.is_empty(), warned.is_empty()) {
        (true, true) => writeln!(s, "probe: ok, no SLO breached"),
        (true, false) => writeln!(s, "probe: ok with warnings"),
        (false, _) => writeln!(s, "probe: FAILED, SLOs breached:"),
    };
    // A breach and a warning are not the same news: each under its own line.
    for v in &critical {
        let _ = writeln!(s, "  {}", slo_line(v));
    }
    if !warned.is_empty() {
        let _ = writeln!(s, "warnings (above the warning threshold only):");
        for v in &warned {
            let _ = writeln!(s, "  {}", slo_line(v));
        }
    }
    s
}

/// One SLO in columns: its name, value, thresholds and verdict.
fn slo_line(v: &SloJudged) -> String {
    let thresholds = format!("warn > {}, crit > {}", v.warning, v.critical);
    format!(
        "{:<22} {:>10.3}   {thresholds:<28} {}",
        v.slo,
        v.value,
        v.verdict.name()
    )
}
