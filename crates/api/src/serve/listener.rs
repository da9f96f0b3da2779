//! The server's listening socket: a cap on open connections (`--web.max-connections`, as
//! Prometheus' `netutil.LimitListener`: at the cap, accepting waits until a connection
//! closes, so idle or hostile clients cannot take every descriptor and starve `/-/healthy`,
//! compaction and the WAL) and, when the web configuration asks for it, TLS. Handshakes run
//! in their own tasks, bounded in time, so a slow client holds up no one else. Owns nothing
//! else of serving (routes, authentication, shutdown).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;

use super::watch::WebConfigWatcher;

/// Prometheus' default for `--web.max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Longest TLS handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections accepted (and through their handshake) but not yet taken by the server.
const READY_QUEUE: usize = 64;

/// The server's listener: connections come from a task that accepts them within the cap and
/// completes their TLS handshakes.
pub struct ServerListener {
    ready: mpsc::Receiver<(ServerStream, SocketAddr)>,
    local: SocketAddr,
}

impl ServerListener {
    /// Starts accepting on `inner`, at most `max` connections open at once (0: no cap), with
    /// TLS whenever `web`'s configuration in force has it.
    pub fn new(
        inner: TcpListener,
        max: usize,
        web: Option<Arc<WebConfigWatcher>>,
    ) -> io::Result<ServerListener> {
        let local = inner.local_addr()?;
        let slots = (max > 0).then(|| Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))));
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(accept_loop(inner, slots, web, tx));
        Ok(ServerListener { ready, local })
    }
}

async fn accept_loop(
    inner: TcpListener,
    slots: Option<Arc<Semaphore>>,
    web: Option<Arc<WebConfigWatcher>>,
    tx: mpsc::Sender<(ServerStream, SocketAddr)>,
) {
    while !tx.is_closed() {
        let slot = match &slots {
            // The semaphore is never closed, so acquiring cannot fail.
            Some(s) => Arc::clone(s).acquire_owned().await.ok(),
            None => None,
        };
        let (tcp, addr) = match inner.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors or a connection reset before accept: wait a little instead
            // of spinning, then go on.
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let tls = web.as_ref().and_then(|w| w.current().tls.clone());
        let Some(tls) = tls else {
            let stream = ServerStream {
                conn: Conn::Plain(tcp),
                _slot: slot,
            };
            if tx.send((stream, addr)).await.is_err() {
                return;
            }
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let stream = ServerStream {
                        conn: Conn::Tls(Box::new(tls)),
                        _slot: slot,
                    };
                    let _ = tx.send((stream, addr)).await;
                }
                Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for ServerListener {
    type Io = ServerStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (ServerStream, SocketAddr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept task only ends once this receiver is gone; never reached while
            // the server awaits connections.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// An accepted connection; its slot frees when it is dropped (closed).
pub struct ServerStream {
    conn: Conn,
    _slot: Option<OwnedSemaphorePermit>,
}

impl AsyncRead for ServerStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.conn {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.conn {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.conn {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.conn {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.conn {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.conn {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}
