//! Voice-log (call recording) downloads: streamed, in constant memory,
//! with progress, resume and an all-or-nothing file mode.

use std::fmt;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use cti_protocol::ameyo::api::{AmeyoResult, DownloadVoiceLog, VoiceLogFormat, VoiceLogRequest};
use cti_protocol::endpoint::Endpoint as _;
use futures_util::{Stream, StreamExt as _};
use reqwest::header::{ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, HeaderValue, RANGE};
use tokio::io::{AsyncSeekExt as _, AsyncWrite, AsyncWriteExt as _};
use tracing::Instrument as _;

use crate::ameyo::AmeyoClient;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{Prepared, looks_like_html, prepare};
use crate::policy::Idempotency;

/// How far a download has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes written so far.
    pub bytes: u64,
    /// The whole size, when the server said it.
    pub total: Option<u64>,
}

/// What a finished download was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadSummary {
    /// Bytes written.
    pub bytes: u64,
    /// The content type the server gave.
    pub content_type: Option<String>,
    /// How many times the download was resumed after a break.
    pub resumes: u32,
}

type ProgressFn<'a> = Box<dyn FnMut(Progress) + Send + 'a>;

/// A voice-log download, started with
/// [`AmeyoClient::download_voice_log`] and run with
/// [`to_writer`](Self::to_writer) or [`to_path`](Self::to_path).
///
/// The body is copied chunk by chunk as it arrives, so memory stays flat
/// whatever the size. Before any byte is written, the start of the body is
/// checked: Ameyo answers a missing recording with a JSON message, `null`,
/// an empty body or (behind some proxies) an HTML page, all with status
/// 200; these are typed errors, never saved as audio.
///
/// When the connection breaks or the body ends early, the download resumes
/// from where it stopped with a `Range` request (up to three times by
/// default). A server that ignores `Range` sends the whole file again: a
/// file download starts over, a writer download fails with
/// [`ErrorKind::Interrupted`].
///
/// # Examples
///
/// ```no_run
/// use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
/// use cti_protocol::ameyo::api::VoiceLogFormat;
///
/// # async fn run() -> cti_client::Result<()> {
/// let client = AmeyoClient::new("https://ameyo.example.com:8887", AmeyoAuth::new())?;
/// let summary = client
///     .download_voice_log("d865-68dbb572-vce-22", VoiceLogFormat::Mp3)
///     .on_progress(|p| eprintln!("{} of {:?}", p.bytes, p.total))
///     .to_path("call.mp3")
///     .await?;
/// println!("{} bytes", summary.bytes);
/// # Ok(()) }
/// ```
#[must_use = "a download does nothing until it is run"]
pub struct VoiceLogDownload<'a> {
    client: &'a AmeyoClient,
    request: VoiceLogRequest,
    progress: Option<ProgressFn<'a>>,
    max_resumes: u32,
}

impl fmt::Debug for VoiceLogDownload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoiceLogDownload")
            .field("request", &self.request)
            .field("max_resumes", &self.max_resumes)
            .finish_non_exhaustive()
    }
}

/// How much of an error body is read to explain it.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// How much of the body is looked at before the first byte is written.
const SNIFF: usize = 16;

impl AmeyoClient {
    /// A download of the recording of call `crt_object_id` in `format`.
    pub fn download_voice_log(
        &self,
        crt_object_id: impl Into<String>,
        format: VoiceLogFormat,
    ) -> VoiceLogDownload<'_> {
        VoiceLogDownload {
            client: self,
            request: VoiceLogRequest::new(crt_object_id, format),
            progress: None,
            max_resumes: 3,
        }
    }
}

/// Where the bytes go.
trait Target: AsyncWrite + Unpin + Send {
    /// Starts over from byte 0, if the target can.
    async fn restart(&mut self) -> std::io::Result<bool>;
}

struct Writer<'w, W>(&'w mut W);

impl<W: AsyncWrite + Unpin + Send> AsyncWrite for Writer<'_, W> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut *self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.get_mut().0).poll_shutdown(cx)
    }
}

impl<W: AsyncWrite + Unpin + Send> Target for Writer<'_, W> {
    async fn restart(&mut self) -> std::io::Result<bool> {
        Ok(false)
    }
}

impl Target for tokio::fs::File {
    async fn restart(&mut self) -> std::io::Result<bool> {
        self.set_len(0).await?;
        self.seek(std::io::SeekFrom::Start(0)).await?;
        Ok(true)
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("writing the voice log failed: {e}")).with_source(e)
}

impl<'a> VoiceLogDownload<'a> {
    /// Calls `f` after every chunk written.
    pub fn on_progress(mut self, f: impl FnMut(Progress) + Send + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// How many times a broken download is resumed (3 by default; 0 turns
    /// resuming off).
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = n;
        self
    }

    /// Streams the recording into `writer` and flushes it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] for Ameyo's "not found" JSON, `null` or an
    /// empty body; [`ErrorKind::Decode`] for an HTML page;
    /// [`ErrorKind::Status`] for an error status; [`ErrorKind::Interrupted`]
    /// when the body broke off and could not be resumed; [`ErrorKind::Io`]
    /// when the writer fails. Bytes already written stay written.
    pub async fn to_writer<W: AsyncWrite + Unpin + Send>(
        self,
        writer: &mut W,
    ) -> Result<DownloadSummary> {
        let mut target = Writer(writer);
        self.run(&mut target).await
    }

    /// Streams the recording into a temporary file beside `path` and
    /// renames it to `path` only once it is complete: a failed download
    /// never leaves a file (or a partial one) at `path`.
    ///
    /// # Errors
    ///
    /// As [`to_writer`](Self::to_writer); [`ErrorKind::Io`] also when the
    /// temporary file cannot be made or renamed.
    pub async fn to_path(self, path: impl AsRef<Path>) -> Result<DownloadSummary> {
        let dest = path.as_ref().to_path_buf();
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::new(ErrorKind::Config, "the output path has no file name"))?;
        let temp = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".part")
                .tempfile_in(dir)
        })
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("creating the temporary file failed: {e}"),
            )
        })?
        .map_err(io_error)?;
        let (file, temp_path) = temp.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        // On any error `temp_path` is dropped here, which deletes the file.
        let summary = self.run(&mut file).await?;
        file.sync_all().await.map_err(io_error)?;
        drop(file);
        temp_path.persist(&dest).map_err(|e| io_error(e.error))?;
        Ok(summary)
    }

    async fn run<T: Target>(self, target: &mut T) -> Result<DownloadSummary> {
        let client = self.client;
        let headers = client.auth.headers_for(&DownloadVoiceLog::METADATA)?;
        let prepared = match client.voice_log_method {
            crate::ameyo::VoiceLogMethod::Post => {
                prepare::<cti_protocol::ameyo::api::DownloadVoiceLogPost>(
                    &client.base,
                    &self.request,
                    headers,
                    Idempotency::Idempotent,
                )?
            }
            _ => prepare::<DownloadVoiceLog>(
                &client.base,
                &self.request,
                headers,
                Idempotency::Idempotent,
            )?,
        };
        let span = tracing::info_span!(
            "cti.request",
            endpoint = prepared.name,
            url = %crate::error::redact_url(&prepared.url),
        );
        self.stream_into(target, prepared).instrument(span).await
    }

    async fn stream_into<T: Target>(
        mut self,
        target: &mut T,
        prepared: Prepared,
    ) -> Result<DownloadSummary> {
        let client = self.client;
        let resp = client.transport.open(&prepared).await?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !resp.status().is_success() {
            let body = read_limited(resp.bytes_stream(), ERROR_BODY_LIMIT).await;
            return Err(refusal(&body, content_type.as_deref(), &prepared).with_status(status));
        }
        let total = resp.content_length();
        let ranges = resp
            .headers()
            .get(ACCEPT_RANGES)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"bytes"));
        let mut stream = Box::pin(resp.bytes_stream());
        let idle = client.transport.timeout;

        // Look at the start of the body before writing anything.
        let mut head = BytesMut::new();
        let mut ended = false;
        while head.len() < SNIFF {
            match next_chunk(&mut stream, idle).await {
                Ok(Some(c)) => head.extend_from_slice(&c),
                Ok(None) => {
                    ended = true;
                    break;
                }
                Err(e) => return Err(e.with_url(&prepared.url)),
            }
        }
        if head.is_empty() && ended {
            return Err(
                Error::new(ErrorKind::NotFound, "no recording: the answer is empty")
                    .with_status(status)
                    .with_url(&prepared.url),
            );
        }
        if is_error_payload(content_type.as_deref(), &head) {
            let mut body = head.clone();
            if !ended {
                body.extend_from_slice(&read_limited(stream, ERROR_BODY_LIMIT).await);
            }
            return Err(error_body(&body, content_type.as_deref(), &prepared).with_status(status));
        }

        let mut written: u64 = 0;
        let mut resumes = 0;
        let mut pending = Some(head.freeze());
        loop {
            let chunk = match pending.take() {
                Some(c) => Ok(Some(c)),
                None if ended => Ok(None),
                None => next_chunk(&mut stream, idle).await,
            };
            let broke = match chunk {
                Ok(Some(c)) => {
                    target.write_all(&c).await.map_err(io_error)?;
                    written += c.len() as u64;
                    if let Some(f) = self.progress.as_mut() {
                        f(Progress {
                            bytes: written,
                            total,
                        });
                    }
                    continue;
                }
                Ok(None) if total.is_none_or(|t| written >= t) => break,
                Ok(None) => Error::new(
                    ErrorKind::Interrupted,
                    format!(
                        "the voice log ended after {written} of {} bytes",
                        total.unwrap_or_default()
                    ),
                ),
                Err(e) => e,
            };
            if resumes >= self.max_resumes {
                return Err(broke.with_url(&prepared.url));
            }
            resumes += 1;
            tracing::debug!(written, resumes, ranges, "resuming the voice log");
            let mut again = prepared.clone();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes={written}-")) {
                again.headers.insert(RANGE, v);
            }
            let resp = client.transport.open(&again).await?;
            match resp.status().as_u16() {
                206 => {
                    let start = resp
                        .headers()
                        .get(CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(content_range_start);
                    if start != Some(written) {
                        return Err(Error::new(
                            ErrorKind::Interrupted,
                            "the server resumed the voice log at the wrong offset",
                        )
                        .with_url(&prepared.url));
                    }
                }
                200 => {
                    if !target.restart().await.map_err(io_error)? {
                        return Err(Error::new(
                            ErrorKind::Interrupted,
                            format!(
                                "the voice log broke off after {written} bytes and the server cannot resume it"
                            ),
                        )
                        .with_url(&prepared.url));
                    }
                    written = 0;
                }
                s => {
                    return Err(Error::new(
                        ErrorKind::Interrupted,
                        format!("resuming the voice log failed with HTTP {s}"),
                    )
                    .with_status(s)
                    .with_url(&prepared.url));
                }
            }
            stream = Box::pin(resp.bytes_stream());
            ended = false;
        }
        target.flush().await.map_err(io_error)?;
        Ok(DownloadSummary {
            bytes: written,
            content_type,
            resumes,
        })
    }
}

async fn next_chunk<S>(stream: &mut S, idle: std::time::Duration) -> Result<Option<Bytes>>
where
    S: Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    match tokio::time::timeout(idle, stream.next()).await {
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("no voice-log bytes for {idle:?}"),
        )),
        Ok(None) => Ok(None),
        Ok(Some(Ok(c))) => Ok(Some(c)),
        Ok(Some(Err(e))) => Err(Error::new(
            ErrorKind::Interrupted,
            "the voice-log connection broke off",
        )
        .with_source(e.without_url())),
    }
}

async fn read_limited<S>(stream: S, limit: usize) -> Bytes
where
    S: Stream<Item = reqwest::Result<Bytes>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut out = BytesMut::new();
    while out.len() < limit {
        match stream.next().await {
            Some(Ok(c)) => out.extend_from_slice(&c[..c.len().min(limit - out.len())]),
            _ => break,
        }
    }
    out.freeze()
}

fn content_range_start(v: &str) -> Option<u64> {
    let rest = v.trim().strip_prefix("bytes ")?;
    rest.split('-').next()?.trim().parse().ok()
}

/// `true` when a 200 answer is an error message, not audio.
fn is_error_payload(content_type: Option<&str>, head: &[u8]) -> bool {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.starts_with("application/json") || ct.starts_with("text/") {
        return true;
    }
    if ct.starts_with("audio/") {
        return false;
    }
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    head.starts_with(b"null") || matches!(head.first(), Some(b'{' | b'[' | b'<'))
}

/// The typed error for an answer with an error status: the server
/// refused the request (credentials, a bad id, …), which says nothing
/// about whether the recording exists, unless its body says "not found".
fn refusal(body: &[u8], content_type: Option<&str>, p: &Prepared) -> Error {
    let e = error_body(body, content_type, p);
    if e.kind() == ErrorKind::NotFound {
        return e;
    }
    let text = String::from_utf8_lossy(body);
    let why = serde_json::from_str::<AmeyoResult>(text.trim())
        .ok()
        .map(|r| r.explanation().to_owned())
        .filter(|w| w != "no reason given")
        .or_else(|| {
            serde_json::from_str::<serde_json::Value>(text.trim())
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| snippet(text.trim()));
    let why = if why.is_empty() {
        "no reason given".to_owned()
    } else {
        why
    };
    Error::new(
        ErrorKind::Status,
        format!("downloadVoiceLog refused: {why}"),
    )
    .with_url(&p.url)
}

/// The typed error an error body stands for.
fn error_body(body: &[u8], content_type: Option<&str>, p: &Prepared) -> Error {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return Error::new(
            ErrorKind::NotFound,
            "no recording: the answer is empty or null",
        )
        .with_url(&p.url);
    }
    if looks_like_html(body)
        || content_type.is_some_and(|c| c.to_ascii_lowercase().starts_with("text/html"))
    {
        return Error::new(
            ErrorKind::Decode,
            "an HTML page came back instead of the recording",
        )
        .with_url(&p.url);
    }
    if let Ok(r) = serde_json::from_str::<AmeyoResult>(trimmed) {
        let why = r.explanation().to_owned();
        let lower = trimmed.to_ascii_lowercase();
        let kind = if lower.contains("not found")
            || lower.contains("not be found")
            || lower.contains("no voice")
        {
            ErrorKind::NotFound
        } else {
            ErrorKind::Vendor
        };
        let why = if why == "no reason given" {
            snippet(trimmed)
        } else {
            why
        };
        return Error::new(kind, format!("no recording: {why}")).with_url(&p.url);
    }
    Error::new(
        ErrorKind::Decode,
        format!("the answer is not a recording: {}", snippet(trimmed)),
    )
    .with_url(&p.url)
}

fn snippet(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert!(is_error_payload(
            Some("application/json;charset=UTF-8"),
            b"RIFF"
        ));
        assert!(!is_error_payload(Some("audio/wav"), b"{"));
        assert!(is_error_payload(None, b"  null"));
        assert!(is_error_payload(
            Some("application/octet-stream"),
            b"<html>"
        ));
        assert!(!is_error_payload(None, b"RIFF\x00\x00"));
        assert!(!is_error_payload(None, b"ID3\x03"));
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
    }
}
