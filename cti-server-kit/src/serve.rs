//! Serving a router safely: timeouts for slow clients, a cap on
//! connections that never locks out a health check, and bounded memory per
//! connection.
//!
//! `axum::serve` applies no timeouts: a client that opens a connection and
//! sends nothing, half a request line or half a body holds a descriptor
//! and its buffers for as long as it likes, and a few thousand such
//! clients exhaust the process. [`Server`] serves HTTP/1.1 with these
//! defaults:
//!
//! | guard | default | what happens |
//! |---|---|---|
//! | header timeout | 10 s | a connection that has not sent a whole request head this long after it opened, or after its last response (idle keep-alive), is closed |
//! | body timeout | 30 s | a request body not complete this long after its head fails; the handler sees an error and the connection closes |
//! | connection cap | from `ulimit -n` (at most 4096) | at the cap, the oldest connection with no request in flight is closed to make room; only when every connection is busy is the newcomer refused with a 503 |
//! | read buffer | 64 KiB | the most a connection buffers before its request head is complete (431 beyond) |
//!
//! Every request also carries the client's address as axum's
//! [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), so per-address
//! limits (such as the SSO login limits) work, and every response gets
//! `X-Content-Type-Options: nosniff` unless it has one.
//!
//! WebSocket upgrades work as with `axum::serve`; an upgraded connection
//! counts toward the cap until it closes but is never shed.
//!
//! # Examples
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use cti_server_kit::serve::Server;
//!
//! # async fn run() -> std::io::Result<()> {
//! let app: Router = Router::new().route("/healthz", get(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! Server::new(listener, app).run().await
//! # }
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// The serving limits (see the [module docs](self) for the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Limits {
    header_timeout: Duration,
    body_timeout: Duration,
    max_connections: usize,
    max_buffer: usize,
    shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: default_max_connections(),
            max_buffer: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a connection may take to send a whole request head, from
    /// when it opens or its last response ends (at least 1 ms).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a request body may take after its head.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The most connections held at once (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The most a connection buffers while reading a request head (at
    /// least 8 KiB).
    pub fn max_buffer(mut self, bytes: usize) -> Self {
        self.max_buffer = bytes.max(8 * 1024);
        self
    }

    /// How long a graceful shutdown waits for requests in flight.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The connection cap in force.
    #[must_use]
    pub fn connection_cap(&self) -> usize {
        self.max_connections
    }
}

/// The connection cap when none is given: half the process's descriptor
/// limit less some room for files and outgoing connections (a process
/// often serves two origins), between 64 and 4096. Read from
/// `/proc/self/limits` where there is one; 1024 elsewhere.
fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        });
    match soft {
        Some(n) => (n / 2).saturating_sub(64).clamp(64, 4096),
        None => 1024,
    }
}

/// What the server knows of one connection.
#[derive(Default)]
struct Conn {
    /// Requests whose response has not been sent whole yet.
    busy: AtomicUsize,
    /// Upgraded (a WebSocket): never shed.
    pinned: AtomicBool,
    /// Asked to close.
    closing: AtomicBool,
    close: Notify,
}

#[derive(Default)]
struct Registry {
    next: u64,
    conns: BTreeMap<u64, Arc<Conn>>,
}

type Shared = Arc<Mutex<Registry>>;

fn registry(shared: &Shared) -> std::sync::MutexGuard<'_, Registry> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// Makes room for one more connection under `cap`: `true` when there
    /// is room (possibly after asking the oldest idle connection to
    /// close).
    fn make_room(&mut self, cap: usize) -> bool {
        let live = self
            .conns
            .values()
            .filter(|c| !c.closing.load(Ordering::Relaxed))
            .count();
        if live < cap {
            return true;
        }
        let idle = self.conns.values().find(|c| {
            !c.closing.load(Ordering::Relaxed)
                && !c.pinned.load(Ordering::Relaxed)
                && c.busy.load(Ordering::Relaxed) == 0
        });
        match idle {
            Some(c) => {
                c.closing.store(true, Ordering::Relaxed);
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Removes its connection from the registry when the socket is dropped
/// (for an upgraded connection, when the WebSocket closes).
struct Registered {
    shared: Shared,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        registry(&self.shared).conns.remove(&self.id);
    }
}

pin_project_lite::pin_project! {
    /// A TCP stream that stays in the registry while it is open.
    struct Counted {
        #[pin]
        stream: TcpStream,
        registered: Registered,
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.project().stream.poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.project().stream.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().stream.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().stream.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.project().stream.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Marks its connection busy while alive.
struct Busy(Arc<Conn>);

impl Busy {
    fn new(conn: &Arc<Conn>) -> Self {
        conn.busy.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(conn))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The request body failed to arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimeout(Duration);

pin_project_lite::pin_project! {
    /// A request body with a deadline for the whole of it (unlike a
    /// per-frame timeout, a client trickling one byte at a time gains
    /// nothing).
    struct DeadlineBody {
        #[pin]
        inner: Incoming,
        #[pin]
        deadline: tokio::time::Sleep,
        limit: Duration,
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(*this.limit))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its connection busy until sent whole.
    struct Tracked {
        #[pin]
        inner: Body,
        busy: Option<Busy>,
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let out = this.inner.poll_frame(cx);
        if matches!(out, Poll::Ready(None | Some(Err(_)))) {
            this.busy.take();
        }
        out
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The per-connection service: the router, with the peer's address, the
/// body deadline and the busy mark.
#[derive(Clone)]
struct ConnService {
    router: Router,
    conn: Arc<Conn>,
    peer: SocketAddr,
    body_timeout: Duration,
}

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

impl tower::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let busy = Busy::new(&self.conn);
        let conn = Arc::clone(&self.conn);
        let limit = self.body_timeout;
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        let body = DeadlineBody {
            inner: body,
            deadline: tokio::time::sleep(limit),
            limit,
        };
        let request = Request::from_parts(parts, Body::new(body));
        let mut router = self.router.clone();
        Box::pin(async move {
            let response = match tower::Service::call(&mut router, request).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                conn.pinned.store(true, Ordering::Relaxed);
            }
            let (mut parts, body) = response.into_parts();
            parts
                .headers
                .entry(http::header::X_CONTENT_TYPE_OPTIONS)
                .or_insert(NOSNIFF);
            let body = Tracked {
                inner: body,
                busy: Some(busy),
            };
            Ok(Response::from_parts(parts, Body::new(body)))
        })
    }
}

type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A safe HTTP/1.1 server for an axum [`Router`] (see the
/// [module docs](self)).
#[must_use = "a server does nothing until `run` is awaited"]
pub struct Server {
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: Option<ShutdownSignal>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener.local_addr().ok())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Serves `router` on `listener` with the default [`Limits`].
    pub fn new(listener: TcpListener, router: Router) -> Self {
        Self {
            listener,
            router,
            limits: Limits::default(),
            shutdown: None,
        }
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Stops accepting when `signal` completes, lets requests in flight
    /// finish (up to the shutdown grace), then returns.
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Serves until the shutdown signal (forever without one).
    ///
    /// # Errors
    ///
    /// None today: failures to accept (out of descriptors, a connection
    /// reset before it was accepted) are logged and retried. The `Result`
    /// leaves room for start-up errors.
    pub async fn run(self) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            limits,
            shutdown,
        } = self;
        let shared: Shared = Arc::default();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut shutdown = shutdown.unwrap_or_else(|| Box::pin(std::future::pending()));
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, or a peer that left before we
                    // accepted it: wait a moment and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let (id, conn) = {
                let mut reg = registry(&shared);
                if !reg.make_room(limits.max_connections) {
                    drop(reg);
                    tracing::warn!(
                        "connection cap reached with every connection busy; refused one"
                    );
                    refuse(stream);
                    continue;
                }
                reg.next += 1;
                let id = reg.next;
                let conn = Arc::new(Conn::default());
                reg.conns.insert(id, Arc::clone(&conn));
                (id, conn)
            };
            let _ = stream.set_nodelay(true);
            let io = Counted {
                stream,
                registered: Registered {
                    shared: Arc::clone(&shared),
                    id,
                },
            };
            let service = ConnService {
                router: router.clone(),
                conn: Arc::clone(&conn),
                peer,
                body_timeout: limits.body_timeout,
            };
            tasks.spawn(serve_connection(io, service, conn, limits, stop_rx.clone()));
        }
        let _ = stop_tx.send(true);
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(limits.shutdown_grace, drain)
            .await
            .is_err()
        {
            tasks.abort_all();
        }
        Ok(())
    }
}

/// Answers a connection over the cap with a 503 and closes it, without
/// waiting on the client.
fn refuse(stream: TcpStream) {
    const BODY: &str = r#"{"error":"busy","message":"too many connections; try again"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

async fn serve_connection(
    io: Counted,
    service: ConnService,
    conn: Arc<Conn>,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_buffer)
        .keep_alive(true);
    let connection = builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = conn.close.notified() => {
            tracing::debug!("idle connection shed at the connection cap");
        }
        () = stopped(stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Completes once the server is told to stop.
async fn stopped(mut stop: watch::Receiver<bool>) {
    loop {
        let now = *stop.borrow_and_update();
        if now {
            return;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_follows_the_descriptor_limit() {
        let cap = default_max_connections();
        assert!((64..=4096).contains(&cap), "{cap}");
    }

    #[test]
    fn room_is_made_by_shedding_the_oldest_idle_connection() {
        let mut reg = Registry::default();
        let busy = Arc::new(Conn::default());
        busy.busy.store(1, Ordering::Relaxed);
        let pinned = Arc::new(Conn::default());
        pinned.pinned.store(true, Ordering::Relaxed);
        let idle = Arc::new(Conn::default());
        reg.conns.insert(1, Arc::clone(&busy));
        reg.conns.insert(2, Arc::clone(&pinned));
        reg.conns.insert(3, Arc::clone(&idle));
        assert!(reg.make_room(3));
        assert!(idle.closing.load(Ordering::Relaxed));
        assert!(!busy.closing.load(Ordering::Relaxed));
        assert!(!pinned.closing.load(Ordering::Relaxed));
        // The shed connection no longer counts; with no idle one left,
        // a newcomer is refused.
        assert!(reg.make_room(3));
        let late = Arc::new(Conn::default());
        late.busy.store(1, Ordering::Relaxed);
        reg.conns.insert(4, late);
        assert!(!reg.make_room(3));
    }
}
