//! The connection loop: HTTP/1.1 over TCP, or over TLS when `tls_cert` and `tls_key` are
//! configured (rustls with ring). Each connection runs on its own task, with time limits on the
//! TLS handshake and on reading each request's headers, so a slow or silent client holds up
//! nobody and cannot keep a connection forever. (`axum::serve` has no header-read timeout.)
//! One client address may hold at most `max_connections_per_address` connections; more are
//! closed as soon as they are accepted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// A TLS problem at start-up, naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

/// The rustls server configuration from PEM files: the certificate chain and its key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let bad = |p: &Path, m: String| TlsError::File { file: p.display().to_string(), message: m };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(cert, "no PEM certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad(cert, format!("the certificate and key do not go together: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The client's address, as the request extensions carry it (`ConnectInfo<Peer>`).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// The connections open per client address.
#[derive(Clone, Debug, Default)]
struct OpenPerAddress(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection of an address, counted until dropped.
struct Counted {
    open: OpenPerAddress,
    ip: IpAddr,
}

impl OpenPerAddress {
    /// Counts a connection from `ip`, or `None` if it already holds `max`.
    fn admit(&self, ip: IpAddr, max: usize) -> Option<Counted> {
        let mut open = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Counted { open: self.clone(), ip })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the connections in flight
/// finish: over TLS when `tls` is given. Each connection is HTTP/1.1 with a time limit on its
/// TLS handshake and on reading each request's headers (`header_limit`; the body falls under
/// the pace of `limits::admit`), at most `per_address` connections per client address, and
/// every request carries its client's address.
pub async fn serve_connections(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<Arc<ServerConfig>>,
    header_limit: Duration,
    per_address: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_limit);
    let open = OpenPerAddress::default();
    tokio::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                // Out of descriptors and the like: wait and go on, as axum does.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(counted) = open.admit(addr.ip(), per_address) else {
            drop(tcp);
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(Peer(addr)));
            let mut app = app.clone();
            async move { tower::Service::call(&mut app, req.map(axum::body::Body::new)).await }
        });
        let http = http.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _counted = counted;
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
                }
                None => {
                    let _ = watcher.watch(http.serve_connection(TokioIo::new(tcp), service)).await;
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
