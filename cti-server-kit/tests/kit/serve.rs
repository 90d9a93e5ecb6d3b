//! The safe server over loopback: slow and stalled clients are closed
//! within the timeouts, health checks answer meanwhile, the connection cap
//! sheds idle connections instead of locking everyone out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use cti_server_kit::serve::{Limits, Server};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn start(limits: Limits) -> SocketAddr {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route("/echo", post(|body: bytes::Bytes| async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(Server::new(listener, app).limits(limits).run());
    addr
}

/// One plain request on a fresh connection; the whole answer.
async fn get_once(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await;
    out
}

/// Waits until the server closes `s` (EOF or reset); how long it took.
async fn closed_within(mut s: TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_closed_and_health_answers_meanwhile() {
    let addr = start(
        Limits::new()
            .header_timeout(Duration::from_millis(800))
            .body_timeout(Duration::from_millis(800)),
    )
    .await;
    let mut held = Vec::new();
    for n in 0..90 {
        let mut s = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        match n % 3 {
            // Sends nothing.
            0 => {}
            // Half a request head, then nothing.
            1 => s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ").await.unwrap_or_else(|e| panic!("{e}")),
            // A whole head, half the body.
            _ => s
                .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nhalf")
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        }
        held.push(s);
    }
    // Health answers while they hang.
    let answer = get_once(addr, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{answer}"
    );
    // Every one of them is closed within the timeout (and some slack).
    let waits = futures_util::future::join_all(
        held.into_iter()
            .map(|s| closed_within(s, Duration::from_secs(10))),
    )
    .await;
    let open = waits.iter().filter(|w| w.is_none()).count();
    assert_eq!(
        open, 0,
        "{open} of 90 slow connections were still open after 10 s"
    );
    // A client trickling its head one byte at a time gains nothing.
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let mut closed = false;
    for b in b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter().cycle().take(400) {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        if start.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    if !closed {
        closed = closed_within(s, Duration::from_secs(2)).await.is_some();
    }
    assert!(closed, "a trickling head was not cut off");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let addr = start(Limits::new().header_timeout(Duration::from_millis(500))).await;
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Kept alive, then idle: closed.
    assert!(closed_within(s, Duration::from_secs(5)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_sheds_idle_connections_so_health_gets_in() {
    let addr = start(
        Limits::new()
            .max_connections(16)
            .header_timeout(Duration::from_secs(60)),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..64 {
        held.push(
            TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..5 {
        let answer = get_once(addr, "/healthz").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // At most the cap stays open: the rest were shed.
    let waits = futures_util::future::join_all(
        held.into_iter()
            .map(|s| closed_within(s, Duration::from_millis(1500))),
    )
    .await;
    let open = waits.iter().filter(|w| w.is_none()).count();
    assert!(open <= 16, "{open} idle connections held past a cap of 16");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_the_peer_address() {
    let addr = start(Limits::new()).await;
    let answer = get_once(addr, "/peer").await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("127.0.0.1"),
        "{answer}"
    );
}
