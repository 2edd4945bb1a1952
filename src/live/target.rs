//! Where a live client connects: an `http://`, `ws://`, `https://` or `wss://` endpoint,
//! resolved once and held to the loopback range unless the user allowed more. `probe` and
//! `conform` both connect through it (TLS via rustls with the webpki roots).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

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
pub struct Target {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<SocketAddr>,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Target {
    /// Parses and resolves `url`. Only loopback addresses unless `allow_remote`.
    pub async fn parse(url: &str, allow_remote: bool) -> Result<Target, LiveError> {
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
        Ok(Target {
            host,
            port,
            addrs,
            tls,
        })
    }
}

impl Connect for Target {
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

impl Target {
    /// Why a plain TCP connection to the target fails, if it does: a target that cannot be
    /// reached at all is said once, with the reason, instead of once per job or case.
    pub async fn unreachable(&self) -> Option<String> {
        TcpStream::connect(&self.addrs[..])
            .await
            .err()
            .map(|e| e.to_string())
    }
}
