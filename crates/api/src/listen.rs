//! The HTTP server's own connection handling: what `axum::serve` does, plus the limits
//! a server facing a municipality's network needs. A client that sends its header a byte
//! at a time is closed when the header has not arrived in `header_read_timeout`; a kept
//! connection that sends nothing for `idle_timeout` is closed; and past
//! `max_connections` open at once a new connection is answered `503` and closed at once,
//! so one misbehaving client holds a bounded share of the file descriptors and the rest
//! (and `/healthz`) are still served.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// The limits the server keeps (`[http]` in `hjul.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a request's header may take to arrive, from its first byte.
    pub header_read_timeout: Duration,
    /// How long a connection may wait with nothing coming in: a kept connection
    /// between requests, or one that never sends a byte.
    pub idle_timeout: Duration,
    /// Connections open at once; past it a new one is answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    /// The defaults `docs/operations.md` states.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_connections: 512,
        }
    }
}

/// The answer to a connection past the limit: written without waiting (a client that
/// reads nothing costs nothing), then the connection is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 42\r\n\r\n\
hjul has too many connections; try again.\n";

/// Serves `router` on `listener` within `limits` until `shutdown`, then lets the
/// requests under way finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: hjul_metrics::Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropped when the service stops: every connection then finishes its request and
    // closes.
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors (or another transient failure): wait a
                    // moment instead of spinning; connections close meanwhile.
                    tracing::warn!(error = %e, "accepting a connection failed; trying again shortly");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            let _ = stream.try_write(BUSY);
            metrics.connection_refused();
            tracing::warn!(%peer, max = limits.max_connections, "too many connections: refused one");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = WithPeer {
            router: router.clone(),
            peer,
        };
        let stop = stop_rx.clone();
        tokio::spawn(connection(stream, service, limits, permit, stop));
    }
    drop(stop_rx);
    stop_tx.closed().await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    service: WithPeer,
    limits: Limits,
    permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<()>,
) {
    let io = TokioIo::new(Idle::new(stream, limits.idle_timeout));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(permit);
}

/// The router, told who is on the other end (`ConnectInfo`, as `axum::serve` does):
/// failed sign-ins are slowed down per address.
#[derive(Clone)]
struct WithPeer {
    router: Router,
    peer: SocketAddr,
}

impl hyper::service::Service<hyper::Request<Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let mut router = self.router.clone();
        Box::pin(async move {
            tower_service::Service::call(&mut router, req.map(axum::body::Body::new)).await
        })
    }
}

/// A connection that ends with an error when nothing comes in for `after` while the
/// server waits to read: hyper then closes it. Writing and the handler's own time do
/// not count: only a read that is waiting.
struct Idle {
    stream: TcpStream,
    after: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Idle {
    fn new(stream: TcpStream, after: Duration) -> Self {
        Self {
            stream,
            after,
            timer: None,
        }
    }
}

impl AsyncRead for Idle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.timer = None;
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let after = self.after;
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(after)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "nothing came in for the idle timeout",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Idle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
