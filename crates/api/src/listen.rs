//! The HTTP server's own connection handling: what `axum::serve` does, plus the limits
//! a server facing a municipality's network needs. A client that sends its header a byte
//! at a time is closed when the header has not arrived in `header_read_timeout`; a kept
//! connection that sends nothing for `idle_timeout` is closed; and past
//! `max_connections` open at once a new connection is answered `503` and closed, so one
//! misbehaving client holds a bounded share of the file descriptors and the rest are
//! still served. A monitor's `GET /healthz` is answered `200` even then, because a monitor
//! that sees 503 restarts a service that is only being held busy: past the cap a
//! connection gets a look of at most `TRIAGE_WAIT` at its first line before it is told
//! 503 (a line already there is answered at once, without a look). At most
//! `TRIAGE_AT_ONCE` are looked at; a newer one ends the oldest look once it
//! has lasted `TRIAGE_LEAST` (that one is told 503 at once), so a flood of connections
//! that send nothing cannot keep a monitor, which sends its line as soon as it connects,
//! from being looked at, unless it comes faster than `TRIAGE_AT_ONCE` a `TRIAGE_LEAST`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};

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

/// The answer to a connection past the limit, then the connection is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 42\r\n\r\n\
hjul has too many connections; try again.\n";

/// `/healthz`'s answer to a monitor that came past the cap: what the router answers. A
/// `HEAD` gets the head alone (`HEALTHY_HEAD` bytes).
const HEALTHY: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\
Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}";
const HEALTHY_HEAD: usize = HEALTHY.len() - 15;

/// How long a connection past the cap may take to show its request line, how much of it
/// is read, and how many are looked at at once (a newer one ends the oldest look).
/// Bounded so that a flood past the cap holds at most this many more descriptors, each
/// for at most this long (and as long again to take the answer).
const TRIAGE_WAIT: Duration = Duration::from_millis(200);
const TRIAGE_BYTES: usize = 256;
const TRIAGE_AT_ONCE: usize = 64;
/// The least a look lasts before a newer connection may end it: a monitor's line arrives
/// within it. Past `TRIAGE_AT_ONCE` looks this young, a new connection is told 503 at once.
const TRIAGE_LEAST: Duration = Duration::from_millis(20);

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
    // The looks under way, oldest first, with when each began; each ends early when its
    // sender is dropped.
    let mut looks: std::collections::VecDeque<(Instant, oneshot::Sender<()>)> =
        std::collections::VecDeque::new();
    let mut refusals = Refusals::default();
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
            refusals.note(peer, limits.max_connections);
            // What has arrived already is read at once: a monitor sends its line as it
            // connects, and when the loop takes connections that waited in the queue (a
            // burst, a busy machine) the line is there and is answered without a look.
            let mut head = [0_u8; TRIAGE_BYTES];
            let got = stream.try_read(&mut head).unwrap_or(0);
            if head[..got].contains(&b'\n') {
                let answer = answer_to(&head[..got]);
                let _ = stream.try_write(answer);
                if answer == BUSY {
                    metrics.connection_refused();
                }
                continue;
            }
            looks.retain(|(_, l)| !l.is_closed());
            let now = Instant::now();
            if looks.len() >= TRIAGE_AT_ONCE {
                if looks
                    .front()
                    .is_some_and(|(began, _)| now - *began >= TRIAGE_LEAST)
                {
                    drop(looks.pop_front()); // the oldest look ends: that one is told 503
                } else {
                    // A flood faster than the looks can be given: no look.
                    let _ = stream.try_write(BUSY);
                    metrics.connection_refused();
                    continue;
                }
            }
            let (end, ended) = oneshot::channel();
            looks.push_back((now, end));
            let metrics = metrics.clone();
            tokio::spawn(async move {
                if !past_the_cap(stream, (head, got), ended).await {
                    metrics.connection_refused();
                }
            });
            // The look reads the line before the loop takes the next connections.
            tokio::task::yield_now().await;
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

/// A connection past the cap: `/healthz` is answered, anything else is told 503; either
/// way it is closed. The look ends at `TRIAGE_WAIT`, or when `ended` says a newer
/// connection needs the room. Returns whether it was a monitor's (answered 200).
async fn past_the_cap(
    mut stream: TcpStream,
    (mut head, mut got): ([u8; TRIAGE_BYTES], usize),
    ended: oneshot::Receiver<()>,
) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let read = async {
        while got < head.len() && !head[..got].contains(&b'\n') {
            match stream.read(&mut head[got..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    };
    tokio::select! {
        _ = tokio::time::timeout(TRIAGE_WAIT, read) => {}
        _ = ended => {}
    }
    let answer = answer_to(&head[..got]);
    // Bounded like the look: a client that reads nothing does not hold the descriptor.
    let _ = tokio::time::timeout(TRIAGE_WAIT, stream.write_all(answer)).await;
    answer != BUSY
}

/// The answer past the cap to what a connection sent: `/healthz` answered, anything
/// else (or nothing yet) told 503.
fn answer_to(sent: &[u8]) -> &'static [u8] {
    let line = sent.split(|b| *b == b'\n').next().unwrap_or_default();
    if line.starts_with(b"GET /healthz ") {
        HEALTHY
    } else if line.starts_with(b"HEAD /healthz ") {
        &HEALTHY[..HEALTHY_HEAD]
    } else {
        BUSY
    }
}

/// The warning about refused connections, at most once a second: a flood past the cap
/// must not become a flood in the log. Each warning gives the refusals since the one
/// before; the exact count is `hjul_http_connections_refused_total`.
#[derive(Default)]
struct Refusals {
    since: Option<Instant>,
    count: u64,
}

impl Refusals {
    fn note(&mut self, peer: SocketAddr, max: usize) {
        self.count += 1;
        let now = Instant::now();
        if self
            .since
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            tracing::warn!(
                %peer,
                max,
                since_last_warning = self.count,
                "too many connections: refused (a /healthz past the cap is still answered)"
            );
            self.since = Some(now);
            self.count = 0;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer past the cap is the router's `/healthz`, byte for byte in its body, and
    /// its Content-Length counts that body.
    #[tokio::test]
    async fn the_answer_past_the_cap_is_the_routers_healthz() {
        let axum::Json(body) = crate::api::healthz().await;
        let body = serde_json::to_vec(&body).unwrap();
        let text = std::str::from_utf8(HEALTHY).unwrap();
        let (head, tail) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(tail.as_bytes(), body.as_slice());
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert_eq!(
            &HEALTHY[..HEALTHY_HEAD],
            format!("{head}\r\n\r\n").as_bytes()
        );
        let (head, tail) = std::str::from_utf8(BUSY)
            .unwrap()
            .split_once("\r\n\r\n")
            .unwrap();
        assert!(head.contains(&format!("Content-Length: {}", tail.len())));
    }
}
