//! `serve`: the simulated Worker and Durable Objects on a real socket, in real time.

use std::path::PathBuf;
use std::time::Duration;

use handshake_sim::internal::live::{self, LiveError};
use handshake_sim::internal::names::VariantId;
use handshake_sim::internal::server::variant;

use super::args::Sets;
use super::output::init_tracing_or;
use super::Status;
use super::{CliError, CliResult, Context as _};

pub(crate) const EXAMPLES: &str =
    "The server speaks the API in docs/api.md: POST /api/enrichment/batch with
{\"jobId\":\"job-1\",\"books\":5}, then GET ws://HOST/ws/progress?jobId=job-1&token=TOKEN.
It logs one timing line per upgrade in the write-up's format. Ctrl-C or SIGTERM stops it
(open sockets close with 1001).

Limits (docs/commands.md, \"Resource limits of `serve`\"): connections past --max-connections get
a 503; heads, bodies and idle keep-alive connections time out after --header-timeout-s,
silent sockets after --idle-timeout-s; idle jobs are forgotten past --max-jobs or their
retention.

Examples:
  handshake-sim serve sims/issue407.toml --variant sequential
  handshake-sim serve sims/issue407.toml --variant parallel --listen 127.0.0.1:9000
  handshake-sim serve sims/issue407.toml --max-connections 200 --header-timeout-s 5";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scenario file: its latencies, storage model and lifecycle are served in real time.
    scenario: PathBuf,
    /// Variant to serve (default: the first of `scenario.variants`).
    #[arg(long)]
    variant: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: std::net::SocketAddr,
    /// Seed of the latency draws (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    sets: Sets,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    allow_remote: bool,
    /// Log filter (default: the timing lines and warnings).
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The resource limits (docs/commands.md, "Resource limits of `serve`").
#[derive(clap::Args)]
struct LimitArgs {
    /// Client connections open at once; one more gets a 503 and is closed [default: as many as
    /// fit the descriptor limit at 3 each, at most 1024]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_connections: Option<u32>,
    /// Seconds a request's head (and then its body) may take to arrive; also how long an idle
    /// keep-alive connection stays open
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = up_to_a_day_s())]
    header_timeout_s: u64,
    /// Seconds a progress socket may go without a frame either way before it is closed (1001),
    /// and a write may make no progress
    #[arg(long, value_name = "S", default_value_t = 120, value_parser = up_to_a_day_s())]
    idle_timeout_s: u64,
    /// Jobs kept at most; past it, idle ones are forgotten, least recently used first
    #[arg(long, value_name = "N", default_value_t = 20_000,
          value_parser = clap::value_parser!(u32).range(1..=2_000_000))]
    max_jobs: u32,
    /// Seconds an idle finished job whose token is still valid is kept (at least the
    /// scenario's object.evict_after_idle_ms)
    #[arg(long, value_name = "S", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(0..=604_800))]
    job_retention_s: u64,
}

/// A timeout in whole seconds, from 1 to a day.
fn up_to_a_day_s() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=86_400)
}

impl LimitArgs {
    /// The limits asked for, the defaults under this process's descriptor limit otherwise;
    /// a warning when the connections asked for need more descriptors than the limit allows.
    fn limits(&self) -> live::Limits {
        let fd_limit = live::fd_limit();
        let defaults = live::Limits::defaults(fd_limit);
        let limits = live::Limits {
            connections_max: self
                .max_connections
                .map_or(defaults.connections_max, |n| n as usize),
            header_timeout: Duration::from_secs(self.header_timeout_s),
            idle_timeout: Duration::from_secs(self.idle_timeout_s),
            jobs_max: self.max_jobs as usize,
            job_retention: Duration::from_secs(self.job_retention_s),
        };
        if let Some(fd_limit) = fd_limit.filter(|&f| limits.fds_needed() > f) {
            tracing::warn!(
                "--max-connections {} may need {} descriptors, over the limit of {fd_limit}: \
                 accepts will fail (and pause) when they run out; {} would fit",
                limits.connections_max,
                limits.fds_needed(),
                live::connections_fitting(fd_limit)
            );
        }
        limits
    }
}

pub(crate) fn serve(args: Args) -> CliResult<Status> {
    init_tracing_or(args.log.as_deref(), Some("warn,handshake_sim::timing=info"))?;
    let scenario = args.sets.load(Some(&args.scenario))?;
    if !scenario.network.types.is_empty() {
        // The server would draw a job's type from its id, the probe from its index: the two
        // would disagree on every job.
        return Err(CliError::usage(
            "SCENARIO",
            "[[network.types]] is for the simulation: a live server cannot know a client's \
             network (drop the types, or set network.client_edge.latency_ms to one type's law)",
        ));
    }
    let id = match &args.variant {
        Some(name) => VariantId::parse(name).map_err(LiveError::Usage)?,
        None => scenario.scenario.variants[0],
    };
    let (v, name) = (variant::of(id), id.name());
    live::ensure_loopback(&[args.listen], args.allow_remote, "listen address")?;
    let seed = args.seed.unwrap_or(scenario.scenario.seed);
    let limits = args.limits.limits();
    block_on_local(async move {
        let server = live::Server::bind(&scenario, v, seed, args.listen)
            .await?
            .with_limits(limits);
        let addr = server.local_addr().context("listen address")?;
        outln!(
            "{}",
            serve_banner(&scenario.scenario.name, name, seed, addr)
        );
        server.run(stop_signal()).await?;
        outln!("{SERVE_STOPPED}");
        Ok::<_, CliError>(Status::Success)
    })?
}

/// SIGINT (Ctrl-C) or SIGTERM, whichever comes first.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A current-thread runtime with a `LocalSet`: the server and client are single-threaded.
pub(crate) fn block_on_local<F: std::future::Future>(f: F) -> CliResult<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    Ok(tokio::task::LocalSet::new().block_on(&rt, f))
}

/// `serve`'s first lines, once it listens on `addr`.
fn serve_banner(scenario: &str, variant: &str, seed: u64, addr: std::net::SocketAddr) -> String {
    format!(
        "handshake-sim serve: {scenario} with variant {variant}, seed {seed}, on http://{addr}\n  POST http://{addr}/api/enrichment/batch  {{\"jobId\":\"job-1\",\"books\":5}}\n  GET  ws://{addr}/ws/progress?jobId=job-1&token=TOKEN\nCtrl-C or SIGTERM stops it (open sockets close with 1001)."
    )
}

/// `serve`'s last line.
const SERVE_STOPPED: &str = "handshake-sim serve: stopped";
