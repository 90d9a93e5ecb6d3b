//! Voice-log downloads: the seed's request, every failure body, breaks
//! and resumes on a real socket, the all-or-nothing file mode, and a
//! 200 MB download in flat memory (measured in a child process).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use cti_client::ErrorKind;
use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_client::policy::RetryPolicy;
use cti_protocol::ameyo::api::VoiceLogFormat;
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn byte_at(i: u64) -> u8 {
    ((i * 31 + 7) % 251) as u8
}

fn expected(len: u64) -> Vec<u8> {
    (0..len).map(byte_at).collect()
}

#[tokio::test]
async fn downloads_the_seed_request_with_progress() {
    let server = MockServer::start().await;
    let audio = expected(300_000);
    Mock::given(method("GET"))
        .and(path("/ameyowebaccess/command"))
        .and(query_param("command", "downloadVoiceLog"))
        .and(query_param(
            "data",
            r#"{"crtObjectId":"d865-68dbb572-vce-22","targetFormat":"mp3"}"#,
        ))
        .and(header("hash-key", "k"))
        .and(header("requesting-host", "crm"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(audio.clone(), "audio/mpeg"))
        .expect(1)
        .mount(&server)
        .await;
    let c = AmeyoClient::new(&server.uri(), AmeyoAuth::new().token_policy("k", "crm")).unwrap();
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let summary = c
        .download_voice_log("d865-68dbb572-vce-22", VoiceLogFormat::Mp3)
        .on_progress(|p| seen.push((p.bytes, p.total)))
        .to_writer(&mut out)
        .await
        .unwrap();
    assert_eq!(out, audio);
    assert_eq!(summary.bytes, 300_000);
    assert_eq!(summary.content_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(seen.last(), Some(&(300_000, Some(300_000))));
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
}

/// The seed passes the command's parameters "via GET or POST".
#[tokio::test]
async fn downloads_by_post_with_the_form_data() {
    let server = MockServer::start().await;
    let audio = expected(4_000);
    Mock::given(method("POST"))
        .and(path("/ameyowebaccess/command"))
        .and(query_param("command", "downloadVoiceLog"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(wiremock::matchers::body_string(
            "data=%7B%22crtObjectId%22%3A%22d865-68dbb572-vce-22%22%2C%22targetFormat%22%3A%22wav%22%7D",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(audio.clone(), "audio/wav"))
        .expect(1)
        .mount(&server)
        .await;
    let c = AmeyoClient::new(&server.uri(), AmeyoAuth::new())
        .unwrap()
        .voice_log_method(cti_client::ameyo::VoiceLogMethod::Post);
    let mut out = Vec::new();
    c.download_voice_log("d865-68dbb572-vce-22", VoiceLogFormat::Wav)
        .to_writer(&mut out)
        .await
        .unwrap();
    assert_eq!(out, audio);
}

#[tokio::test]
async fn failure_bodies_are_typed_and_never_saved() {
    let cases: Vec<(ResponseTemplate, ErrorKind)> = vec![
        (
            ResponseTemplate::new(200).set_body_raw(
                r#"{"status":"failed","message":"Voice log could not be found for crtObjectId"}"#,
                "application/json",
            ),
            ErrorKind::NotFound,
        ),
        (
            ResponseTemplate::new(200).set_body_raw("null", "application/json"),
            ErrorKind::NotFound,
        ),
        (
            ResponseTemplate::new(200).set_body_raw(" null", "application/octet-stream"),
            ErrorKind::NotFound,
        ),
        (ResponseTemplate::new(200), ErrorKind::NotFound),
        (
            ResponseTemplate::new(200)
                .set_body_raw("<!DOCTYPE html><html>Login</html>", "text/html"),
            ErrorKind::Decode,
        ),
        (
            ResponseTemplate::new(200)
                .set_body_raw("<html>proxy</html>", "application/octet-stream"),
            ErrorKind::Decode,
        ),
        (
            ResponseTemplate::new(200).set_body_raw(
                r#"{"result":"failed","reason":"Access denied"}"#,
                "application/json",
            ),
            ErrorKind::Vendor,
        ),
        (
            ResponseTemplate::new(200).set_body_raw("garbage", "text/plain"),
            ErrorKind::Decode,
        ),
        (ResponseTemplate::new(404), ErrorKind::NotFound),
        // An error status is the server refusing, whatever its body.
        (
            ResponseTemplate::new(500).set_body_raw("oops", "text/plain"),
            ErrorKind::Status,
        ),
        (
            ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"result": "failed", "reason": "invalid hash key"}),
            ),
            ErrorKind::Status,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (resp, kind)) in cases.into_iter().enumerate() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(resp)
            .mount(&server)
            .await;
        let c = AmeyoClient::new(&server.uri(), AmeyoAuth::new())
            .unwrap()
            .retry_policy(RetryPolicy::never());
        let dest = dir.path().join(format!("call-{i}.wav"));
        let err = c
            .download_voice_log("c1", VoiceLogFormat::Wav)
            .to_path(&dest)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "case {i}: {err}");
        assert!(!dest.exists(), "case {i}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary files left"
    );
}

/// How the test server misbehaves on its first connection.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    /// Abort the connection (RST) after this many body bytes.
    Reset(u64),
    /// Close cleanly after this many body bytes, short of Content-Length.
    Truncate(u64),
    /// Stop sending for 10 s after this many body bytes.
    Stall(u64),
}

/// A one-file HTTP/1.1 server on a real socket, for the faults wiremock
/// cannot produce.
struct FileServer {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
}

async fn start(size: u64, fault: Fault, ranges: bool) -> FileServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let fault = if n == 0 { fault } else { Fault::None };
            tokio::spawn(serve(sock, size, fault, ranges));
        }
    });
    FileServer { addr, connections }
}

async fn serve(mut sock: TcpStream, size: u64, fault: Fault, ranges: bool) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let start: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("range: bytes="))
        .and_then(|r| r.trim().trim_end_matches('-').parse().ok())
        .filter(|_| ranges)
        .unwrap_or(0);
    let mut resp = if start > 0 {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{size}\r\n",
            size - 1
        )
    } else {
        "HTTP/1.1 200 OK\r\n".to_owned()
    };
    resp.push_str(&format!(
        "Content-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n",
        size - start
    ));
    if ranges {
        resp.push_str("Accept-Ranges: bytes\r\n");
    }
    resp.push_str("\r\n");
    if sock.write_all(resp.as_bytes()).await.is_err() {
        return;
    }
    let mut pos = start;
    let mut chunk = vec![0u8; 64 * 1024];
    while pos < size {
        let stop = match fault {
            Fault::Reset(at) | Fault::Truncate(at) | Fault::Stall(at) if pos >= at => Some(fault),
            _ => None,
        };
        match stop {
            Some(Fault::Reset(_)) => {
                // SO_LINGER 0 turns the close into a reset.
                let _ = abort_on_close(&sock);
                return;
            }
            Some(Fault::Truncate(_)) => {
                let _ = sock.shutdown().await;
                return;
            }
            Some(Fault::Stall(_)) => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                return;
            }
            _ => {}
        }
        let limit = match fault {
            Fault::Reset(at) | Fault::Truncate(at) | Fault::Stall(at) if at > pos => at.min(size),
            _ => size,
        };
        let n = (limit - pos).min(chunk.len() as u64) as usize;
        for (i, b) in chunk[..n].iter_mut().enumerate() {
            *b = byte_at(pos + i as u64);
        }
        if sock.write_all(&chunk[..n]).await.is_err() {
            return;
        }
        pos += n as u64;
    }
}

fn client(server: &FileServer) -> AmeyoClient {
    AmeyoClient::new(&format!("http://{}", server.addr), AmeyoAuth::new())
        .unwrap()
        .retry_policy(RetryPolicy::new(
            3,
            Duration::from_millis(5),
            Duration::from_millis(20),
        ))
}

#[tokio::test]
async fn a_reset_mid_download_resumes_with_range() {
    for fault in [Fault::Reset(1_000_000), Fault::Truncate(777_777)] {
        let server = start(3_000_000, fault, true).await;
        let mut out = Vec::new();
        let s = client(&server)
            .download_voice_log("c1", VoiceLogFormat::Wav)
            .to_writer(&mut out)
            .await
            .unwrap();
        assert_eq!(s.resumes, 1, "{fault:?}");
        assert_eq!(out.len(), 3_000_000);
        assert!(out == expected(3_000_000), "{fault:?}: the bytes differ");
        assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn without_range_support_a_file_starts_over_and_a_writer_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(2_000_000, Fault::Reset(500_000), false).await;
    let dest = dir.path().join("call.wav");
    let s = client(&server)
        .download_voice_log("c1", VoiceLogFormat::Wav)
        .to_path(&dest)
        .await
        .unwrap();
    assert_eq!(s.resumes, 1);
    assert!(std::fs::read(&dest).unwrap() == expected(2_000_000));

    let server = start(2_000_000, Fault::Reset(500_000), false).await;
    let mut out = Vec::new();
    let err = client(&server)
        .download_voice_log("c1", VoiceLogFormat::Wav)
        .to_writer(&mut out)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err}");
}

#[tokio::test]
async fn a_failed_download_leaves_nothing_at_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("call.wav");
    std::fs::write(dir.path().join("other.txt"), "keep").unwrap();
    let server = start(2_000_000, Fault::Truncate(1_500_000), true).await;
    let err = client(&server)
        .download_voice_log("c1", VoiceLogFormat::Wav)
        .max_resumes(0)
        .to_path(&dest)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err}");
    assert!(!dest.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("other.txt")]);
}

#[tokio::test]
async fn a_stalled_body_times_out() {
    let server = start(2_000_000, Fault::Stall(100_000), true).await;
    let c = client(&server).timeout(Duration::from_millis(300));
    let mut out = Vec::new();
    let err = c
        .download_voice_log("c1", VoiceLogFormat::Wav)
        .max_resumes(0)
        .to_writer(&mut out)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(out.len(), 100_000);
    // With resumes on, the stall is resumed past.
    let server = start(2_000_000, Fault::Stall(100_000), true).await;
    let mut out = Vec::new();
    let s = client(&server)
        .timeout(Duration::from_millis(300))
        .download_voice_log("c1", VoiceLogFormat::Wav)
        .to_writer(&mut out)
        .await
        .unwrap();
    assert_eq!((s.resumes, out.len()), (1, 2_000_000));
}

/// Checks every byte against the generator without keeping any.
struct Verify {
    pos: u64,
    bad: u64,
}

impl AsyncWrite for Verify {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let start = self.pos;
        let bad = buf
            .iter()
            .enumerate()
            .filter(|(i, b)| **b != byte_at(start + *i as u64))
            .count() as u64;
        self.bad += bad;
        self.pos += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn peak_rss_kib() -> u64 {
    crate::status_kib("VmHWM")
}

const BIG: u64 = 200 * 1024 * 1024;

/// Run alone in a child process by `big_download_in_flat_memory`, so that
/// the peak resident size is this download's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by big_download_in_flat_memory"]
async fn big_download_child() {
    let server = start(BIG, Fault::Reset(BIG / 2), true).await;
    let before = peak_rss_kib();
    let mut sink = Verify { pos: 0, bad: 0 };
    let mut calls = 0u64;
    let s = client(&server)
        .download_voice_log("big", VoiceLogFormat::Wav)
        .on_progress(|_| calls += 1)
        .to_writer(&mut sink)
        .await
        .unwrap();
    let after = peak_rss_kib();
    assert_eq!((s.bytes, sink.pos, sink.bad, s.resumes), (BIG, BIG, 0, 1));
    println!(
        "PEAK-GROWTH-KIB {} PROGRESS-CALLS {calls}",
        after.saturating_sub(before)
    );
}

#[test]
fn big_download_in_flat_memory() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "client_voicelog::big_download_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let growth: u64 = stdout
        .split("PEAK-GROWTH-KIB ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no figure in: {stdout}"));
    eprintln!("200 MiB voice log with one resume: peak RSS grew by {growth} KiB");
    // Buffering the body would grow it by 200 MiB; streaming stays flat.
    assert!(growth < 32 * 1024, "peak RSS grew by {growth} KiB");
}

#[allow(deprecated)]
fn abort_on_close(sock: &TcpStream) -> std::io::Result<()> {
    sock.set_linger(Some(Duration::ZERO))
}
