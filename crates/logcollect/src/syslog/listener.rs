//! The sockets of a syslog target: TCP (optionally TLS, mutual when a CA is named) with one
//! task per connection, or UDP with each datagram framed on its own. Connections are bounded
//! by [`MAX_CONNECTIONS`] (the accept loop waits for a free slot), each by the idle timeout.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bongsu_model::Labels;
use bongsu_relabel::RelabelConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::config::{Protocol, SyslogConfig, SyslogTlsConfig};
use super::framing::{Frame, FrameReader, FramingError};
use super::labels::{connection_labels, Labeler};
use super::metrics::SyslogMetrics;
use super::SyslogError;
use crate::Entry;

/// At most this many TCP connections per target are served at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long the reverse lookup of a sender's address may take before its hostname is left empty.
const HOSTNAME_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// UDP senders whose hostname is remembered; the cache starts over when full.
const UDP_HOSTNAME_CACHE: usize = 1024;
/// The largest UDP datagram.
const MAX_DATAGRAM: usize = 65_535;
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

enum Socket {
    Tcp(TcpListener, Option<TlsAcceptor>),
    Udp(UdpSocket),
}

/// A bound syslog listener; [`SyslogTarget::run`] serves it.
pub struct SyslogTarget {
    socket: Socket,
    labeler: Arc<Labeler>,
}

impl SyslogTarget {
    /// Checks `config`, loads its TLS files and binds its address. `relabel` are the scrape
    /// config's `relabel_configs` (validated); `job_name` names the target in logs.
    pub async fn bind(
        config: SyslogConfig,
        job_name: &str,
        relabel: Vec<RelabelConfig>,
        metrics: Arc<SyslogMetrics>,
    ) -> Result<SyslogTarget, SyslogError> {
        config.validate()?;
        let ignored = config.tls_config.ignored_keys();
        if !ignored.is_empty() {
            tracing::warn!(job = job_name, keys = ?ignored, "syslog tls_config keys have no effect on a syslog listener (as in Promtail)");
        }
        let socket = match config.listen_protocol {
            Protocol::Tcp => {
                let tls = if config.tls_config.enabled() {
                    Some(tls_acceptor(&config.tls_config)?)
                } else {
                    None
                };
                let l = TcpListener::bind(&config.listen_address)
                    .await
                    .map_err(SyslogError::Listen)?;
                Socket::Tcp(l, tls)
            }
            Protocol::Udp => Socket::Udp(
                UdpSocket::bind(&config.listen_address)
                    .await
                    .map_err(SyslogError::Listen)?,
            ),
        };
        let target = SyslogTarget {
            socket,
            labeler: Arc::new(Labeler {
                config,
                relabel,
                metrics,
                job: job_name.to_string(),
            }),
        };
        tracing::info!(
            job = job_name,
            address = %target.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            protocol = ?target.labeler.config.listen_protocol,
            tls = target.labeler.config.tls_config.enabled(),
            "syslog listening on address"
        );
        Ok(target)
    }

    /// The bound address (with the port chosen when the config asked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.socket {
            Socket::Tcp(l, _) => l.local_addr(),
            Socket::Udp(s) => s.local_addr(),
        }
    }

    /// Serves until `shutdown` completes, then closes every connection and returns. Entries
    /// go to `out` in arrival order per connection; when `out` is full, reading waits. When
    /// `out` is closed the target stops.
    pub async fn run(self, out: mpsc::Sender<Entry>, shutdown: impl Future<Output = ()>) {
        let serve = async {
            match self.socket {
                Socket::Tcp(l, tls) => accept_loop(l, tls, self.labeler, out).await,
                Socket::Udp(s) => udp_loop(s, self.labeler, out).await,
            }
        };
        // Dropping `serve` drops the set of connection tasks, which aborts them.
        tokio::select! {
            _ = shutdown => {}
            _ = serve => {}
        }
    }
}

fn now_nanos() -> i64 {
    jiff::Timestamp::now().as_nanosecond() as i64
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    labeler: Arc<Labeler>,
    out: mpsc::Sender<Entry>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut conns = JoinSet::new();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(job = %labeler.job, err = %e, "failed to accept syslog connection");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            _ = out.closed() => return,
        };
        while conns.try_join_next().is_some() {}
        let (labeler, out, tls) = (labeler.clone(), out.clone(), tls.clone());
        conns.spawn(async move {
            let _permit = permit;
            serve_tcp(stream, peer, tls, &labeler, &out).await;
        });
    }
}

async fn serve_tcp(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    labeler: &Labeler,
    out: &mpsc::Sender<Entry>,
) {
    let conn = connection_labels(
        &labeler.config,
        &peer.ip().to_string(),
        &hostname(peer.ip()).await,
    );
    match tls {
        None => serve_stream(stream, &conn, labeler, out).await,
        Some(acceptor) => {
            let idle = labeler.config.idle_timeout();
            match tokio::time::timeout(idle, acceptor.accept(stream)).await {
                Ok(Ok(s)) => serve_stream(s, &conn, labeler, out).await,
                Ok(Err(e)) => {
                    tracing::warn!(job = %labeler.job, %peer, err = %e, "syslog TLS handshake failed")
                }
                Err(_) => {
                    tracing::debug!(job = %labeler.job, %peer, "syslog TLS handshake timed out")
                }
            }
        }
    }
}

/// Reads frames from one connection until it ends, fails or goes idle.
async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    conn: &Labels,
    labeler: &Labeler,
    out: &mpsc::Sender<Entry>,
) {
    let config = &labeler.config;
    let mut frames = FrameReader::new(stream, config.max_message_length(), config.idle_timeout());
    loop {
        match frames.next().await {
            Ok(Some(frame)) => {
                if !deliver(frame, conn, labeler, out).await {
                    return;
                }
            }
            Ok(None) => return,
            Err(FramingError::Idle(_)) => {
                tracing::debug!(job = %labeler.job, "syslog connection timed out");
                return;
            }
            Err(e @ FramingError::BadCount(_)) => {
                labeler.metrics.parsing_errors.inc();
                tracing::warn!(job = %labeler.job, err = %e, "error parsing syslog stream");
                return;
            }
            Err(e) => {
                tracing::warn!(job = %labeler.job, err = %e, "error initializing syslog stream");
                return;
            }
        }
    }
}

/// Turns one frame into an entry and sends it; false once `out` is closed.
async fn deliver(
    frame: Frame<'_>,
    conn: &Labels,
    labeler: &Labeler,
    out: &mpsc::Sender<Entry>,
) -> bool {
    let max = labeler.config.max_message_length();
    let entry = match frame {
        Frame::Message(m) => labeler.entry(conn, m, now_nanos()),
        Frame::TooLong(len) => {
            labeler.metrics.parsing_errors.inc();
            let len = len.map_or_else(|| "more".to_string(), |n| n.to_string());
            tracing::warn!(job = %labeler.job, "error parsing syslog stream: message length ({len}) exceeds maximum length ({max})");
            None
        }
    };
    match entry {
        Some(e) => {
            if out.send(e).await.is_err() {
                return false;
            }
            labeler.metrics.entries.inc();
            true
        }
        None => true,
    }
}

async fn udp_loop(socket: UdpSocket, labeler: Arc<Labeler>, out: mpsc::Sender<Entry>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut names: std::collections::HashMap<IpAddr, Labels> = Default::default();
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(job = %labeler.job, err = %e, "failed to read packets");
                    continue;
                }
            },
            _ = out.closed() => return,
        };
        if names.len() >= UDP_HOSTNAME_CACHE && !names.contains_key(&peer.ip()) {
            names.clear();
        }
        let conn = match names.get(&peer.ip()) {
            Some(c) => c.clone(),
            None => {
                let c = connection_labels(
                    &labeler.config,
                    &peer.ip().to_string(),
                    &hostname(peer.ip()).await,
                );
                names.insert(peer.ip(), c.clone());
                c
            }
        };
        // Promtail frames a sender's datagrams as one stream; each datagram here is one
        // stream of its own, so a message never waits for the next datagram.
        let config = &labeler.config;
        let mut frames = FrameReader::new(
            &buf[..n],
            config.max_message_length(),
            config.idle_timeout(),
        );
        loop {
            match frames.next().await {
                Ok(Some(frame)) => {
                    if !deliver(frame, &conn, &labeler, &out).await {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    labeler.metrics.parsing_errors.inc();
                    tracing::warn!(job = %labeler.job, %peer, err = %e, "error parsing syslog datagram");
                    break;
                }
            }
        }
    }
}

/// The sender's name by reverse lookup (`__syslog_connection_hostname`), rooted with a trailing
/// dot as Go's `LookupAddr` returns it; empty when it has none or the lookup is slow.
async fn hostname(ip: IpAddr) -> String {
    let lookup = tokio::task::spawn_blocking(move || dns_lookup::lookup_addr(&ip));
    match tokio::time::timeout(HOSTNAME_LOOKUP_TIMEOUT, lookup).await {
        Ok(Ok(Ok(name))) if !name.is_empty() && name != ip.to_string() => {
            if name.ends_with('.') {
                name
            } else {
                name + "."
            }
        }
        _ => String::new(),
    }
}

/// The server side of the listener's TLS, as Promtail sets it up: the certificate and key,
/// and when a CA is named, client certificates required and verified against it.
fn tls_acceptor(t: &SyslogTlsConfig) -> Result<TlsAcceptor, SyslogError> {
    let err = |m: String| SyslogError::Tls(m);
    let (Some(cert_file), Some(key_file)) = (&t.cert_file, &t.key_file) else {
        return Err(err("certificate and key files are required".into()));
    };
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| {
            err(format!(
                "unable to load server certificate or key: {}: {e}",
                p.display()
            ))
        })
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(cert_file)?)
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("unable to load server certificate or key: {e}")))?;
    if certs.is_empty() {
        return Err(err(
            "unable to load server certificate or key: no certificate found".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_file)?)
        .map_err(|e| err(format!("unable to load server certificate or key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?;
    let builder = match &t.ca_file {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let pem = std::fs::read(ca)
                .map_err(|e| err(format!("unable to load client CA certificate: {e}")))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|_| err("unable to parse client CA certificate".into()))?;
                roots
                    .add(cert)
                    .map_err(|_| err("unable to parse client CA certificate".into()))?;
            }
            if roots.is_empty() {
                return Err(err("unable to parse client CA certificate".into()));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| err(format!("unable to load client CA certificate: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| err(format!("unable to load server certificate or key: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
