//! Where a live client connects: an `http://`, `ws://`, `https://` or `wss://` endpoint,
//! resolved once and held to the loopback range unless the user allowed more. `probe` and
//! `conform` both connect through it (TLS via rustls with the webpki roots).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::LiveError;
use crate::client::Connect;
use crate::wire::IoObject;

/// A live endpoint: `http://`, `ws://`, `https://` or `wss://` `HOST[:PORT]`.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<SocketAddr>,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

/// Longest a name lookup of [`Endpoint::parse`] may take (`parse_within` sets its own).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

impl Endpoint {
    /// Parses and resolves `url` within [`RESOLVE_TIMEOUT`]. Only loopback addresses unless
    /// `allow_remote`.
    pub async fn parse(url: &str, allow_remote: bool) -> Result<Endpoint, LiveError> {
        Endpoint::parse_within(url, allow_remote, RESOLVE_TIMEOUT).await
    }

    /// Parses `url` and resolves its host within `resolve_within`: a lookup that takes longer
    /// is an I/O error (`TimedOut`), as one that fails.
    pub async fn parse_within(
        url: &str,
        allow_remote: bool,
        resolve_within: Duration,
    ) -> Result<Endpoint, LiveError> {
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
        let addrs = resolve(&host, port, resolve_within)
            .await
            .map_err(|source| LiveError::Io {
                context: format!("resolving {host}"),
                source,
            })?;
        if addrs.is_empty() {
            return Err(LiveError::Usage(format!("{host} resolves to no address")));
        }
        super::ensure_loopback(&addrs, allow_remote, "target")?;
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
        Ok(Endpoint {
            host,
            port,
            addrs,
            tls,
        })
    }
}

impl Connect for Endpoint {
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

/// `host`'s addresses by the system resolver, within `within`. On a detached thread, not
/// `spawn_blocking`: a lookup that never returns must not hold up the runtime's shutdown
/// (dropping a runtime waits for its blocking tasks), so it is left behind when the wait ends.
async fn resolve(host: &str, port: u16, within: Duration) -> io::Result<Vec<SocketAddr>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(found);
        })?;
    match tokio::time::timeout(within, rx).await {
        Ok(Ok(found)) => found,
        Ok(Err(_)) => Err(io::Error::other(
            "the resolver thread ended without an answer",
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {} ms", within.as_millis()),
        )),
    }
}

impl Endpoint {
    /// Why a plain TCP connection to the target fails within `within`, if it does: a target
    /// that cannot be reached at all is said once, with the reason, instead of once per job or
    /// case. Bounded: a listener whose backlog is full drops the SYN, and the kernel's own
    /// retries would take minutes.
    pub async fn unreachable(&self, within: Duration) -> Option<String> {
        match tokio::time::timeout(within, TcpStream::connect(&self.addrs[..])).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!(
                "no TCP connection within {} ms",
                within.as_millis()
            )),
        }
    }
}
