//! `probe`: the simulated client, unchanged, against a real endpoint in real time.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::LiveError;
use crate::client::{Connect, Session};
use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::{Outcome, Recorder};
use crate::scenario::Scenario;
use crate::sim::RunOutput;
use crate::wire::IoObject;

/// Most jobs one probe runs, and most in flight.
pub const PROBE_JOBS_MAX: u32 = 100_000;
pub const PROBE_CONCURRENCY_MAX: u32 = 1_000;

/// Where to probe: `http://`, `ws://`, `https://` or `wss://` `HOST[:PORT]`.
#[derive(Clone)]
pub struct ProbeTarget {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<SocketAddr>,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl ProbeTarget {
    /// Parses and resolves `url`. Only loopback addresses unless `allow_remote`.
    pub async fn parse(url: &str, allow_remote: bool) -> Result<ProbeTarget, LiveError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| LiveError::Usage(format!("{url:?} is not a URL: {e}")))?;
        let tls = match uri.scheme_str() {
            Some("http") | Some("ws") => false,
            Some("https") | Some("wss") => true,
            _ => {
                return Err(LiveError::Usage(format!(
                    "{url:?}: the scheme must be http, ws, https or wss"
                )))
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| LiveError::Usage(format!("{url:?} has no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        // An explicit port that does not fit a u16 must not fall back to the default port.
        let auth = uri.authority().map_or("", |a| a.as_str());
        let explicit_port = auth
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if explicit_port && uri.port_u16().is_none() {
            return Err(LiveError::Usage(format!(
                "{url:?}: the port is not in 1..=65535"
            )));
        }
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|source| LiveError::Io {
                context: format!("resolving {host}"),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(LiveError::Usage(format!("{host} resolves to no address")));
        }
        super::ensure_loopback(&addrs, allow_remote, "probe target")?;
        let tls = if tls {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| LiveError::Usage(format!("TLS set-up: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
            let name = ServerName::try_from(host.clone())
                .map_err(|e| LiveError::Usage(format!("{host:?} is not a TLS server name: {e}")))?;
            Some((TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        Ok(ProbeTarget {
            host,
            port,
            addrs,
            tls,
        })
    }
}

impl Connect for ProbeTarget {
    fn connect(&self) -> LocalBoxFuture<'static, io::Result<Box<dyn IoObject>>> {
        let addrs = self.addrs.clone();
        let tls = self.tls.clone();
        Box::pin(async move {
            let tcp = TcpStream::connect(&addrs[..]).await?;
            tcp.set_nodelay(true)?;
            match tls {
                None => Ok(Box::new(tcp) as Box<dyn IoObject>),
                Some((connector, name)) => {
                    Ok(Box::new(connector.connect(name, tcp).await?) as Box<dyn IoObject>)
                }
            }
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn ws_scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "wss"
        } else {
            "ws"
        }
    }
}

pub struct ProbeOptions {
    pub jobs: u32,
    pub concurrency: u32,
    pub seed: u64,
    /// Stop waiting after this long; unfinished jobs count as network errors.
    pub time_limit_s: u64,
    /// The name the records carry in place of a variant (the endpoint's code is unknown).
    pub label: String,
    /// Job `n` posts the id `{job_prefix}{n}`. The CLI's default is a fresh run id
    /// (`probe-XXXXXXXX-`, from OS randomness) so no two runs share a job; `job-` gives the
    /// simulation's ids, whose draws the server keys by `n` (the sim–live agreement tests).
    pub job_prefix: String,
}

/// What a probe saw, besides its records.
pub struct ProbeRun {
    pub run: RunOutput,
    /// The time limit ended the run: jobs still going count as network errors (with what
    /// they had learned by then: the 202, the first upgrade time).
    pub time_limit_reached: bool,
    /// Why a first TCP connection to the target failed, when it did: the target cannot be
    /// reached at all, and no job was run.
    pub unreachable: Option<String>,
    /// Jobs that got an HTTP answer of any kind (a 202, a 4xx, a 5xx): 0 means the probe
    /// reached nothing it could judge.
    pub answered: u64,
}

/// A random run prefix, `probe-XXXXXXXX-`, from OS randomness (live code only).
pub fn random_job_prefix() -> String {
    format!("probe-{:08x}-", rand::random::<u32>())
}

/// Whether `{prefix}{n}` is a well-formed job id for every job a probe may run.
pub fn valid_job_prefix(prefix: &str) -> bool {
    crate::wire::api::valid_job_id(&format!("{prefix}{PROBE_JOBS_MAX}"))
}

/// Runs `options.jobs` client sessions against `target`. Must run inside a `LocalSet`.
pub async fn probe(
    scenario: &Scenario,
    target: ProbeTarget,
    options: &ProbeOptions,
) -> Result<ProbeRun, LiveError> {
    if options.jobs == 0 || options.jobs > PROBE_JOBS_MAX {
        return Err(LiveError::Usage(format!(
            "--jobs must be within 1..={PROBE_JOBS_MAX}"
        )));
    }
    if options.concurrency == 0 || options.concurrency > PROBE_CONCURRENCY_MAX {
        return Err(LiveError::Usage(format!(
            "--concurrency must be within 1..={PROBE_CONCURRENCY_MAX}"
        )));
    }
    if !valid_job_prefix(&options.job_prefix) {
        return Err(LiveError::Usage(format!(
            "--job-prefix {:?}: job ids are 1..=64 of [A-Za-z0-9_-], with the job's number after the prefix",
            options.job_prefix
        )));
    }
    // One plain TCP connect first: a target that cannot be reached at all is said once, with
    // the reason, instead of as N network errors.
    if let Err(e) = TcpStream::connect(&target.addrs[..]).await {
        return Ok(ProbeRun {
            run: RunOutput {
                variant: options.label.clone(),
                seed: options.seed,
                records: Vec::new(),
                sim_ms: 0,
                faults: Default::default(),
            },
            time_limit_reached: false,
            unreachable: Some(e.to_string()),
            answered: 0,
        });
    }
    let recorder = Rc::new(RefCell::new(Recorder::default()));
    let session = Rc::new(Session {
        scenario: Rc::new(scenario.clone()),
        draws: Draws::new(options.seed, scenario.scenario.tick_ms),
        clock: Clock::Live(tokio::time::Instant::now()),
        recorder: recorder.clone(),
        connect: Rc::new(target),
        token_preloaded: false,
        job_prefix: options.job_prefix.clone(),
    });
    let all = crate::client::run_fleet(session, options.jobs as u64, options.concurrency as usize);
    let finished = tokio::time::timeout(Duration::from_secs(options.time_limit_s), all).await;
    let deadline_ms = scenario.client.result_deadline_ms;
    let mut rec = recorder.borrow_mut();
    for n in 0..options.jobs as u64 {
        let r = rec.job(n);
        if r.outcome.is_none() {
            r.outcome = Some(Outcome::NetworkError);
        }
        // What the client can know of the end-to-end result: everything by the deadline.
        r.results_in_time = r.results_complete_ms.is_some_and(|ms| ms <= deadline_ms);
    }
    let time_limit_reached = finished.is_err();
    if time_limit_reached {
        tracing::warn!(
            limit_s = options.time_limit_s,
            "time limit reached; unfinished jobs count as network errors"
        );
    }
    drop(rec);
    let records = Rc::try_unwrap(recorder)
        .map(|r| r.into_inner().into_records())
        .unwrap_or_else(|rc| rc.borrow().clone_records());
    let answered = records
        .iter()
        .filter(|r| r.post_accepted || r.outcome != Some(Outcome::NetworkError))
        .count() as u64;
    Ok(ProbeRun {
        run: RunOutput {
            variant: options.label.clone(),
            seed: options.seed,
            records,
            sim_ms: 0,
            faults: Default::default(),
        },
        time_limit_reached,
        unreachable: None,
        answered,
    })
}
