//! Executes the endpoint descriptions of `cti_protocol::endpoint`: builds
//! the request a description asks for, sends it under the timeout and the
//! retry policy, and reads the answer with a size limit.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cti_protocol::endpoint::{BodyEncoding, Endpoint, Metadata, Method};
use futures_util::StreamExt as _;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use tracing::Instrument as _;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::policy::{Attempt, Decision, Idempotency, Outcome, RetryPolicy};

/// Transport settings shared by the clients.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_body: usize,
}

/// The default request timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default limit on a JSON or text answer.
pub(crate) const DEFAULT_MAX_BODY: usize = 1 << 20;

impl Transport {
    pub(crate) fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// A request ready to send (and to send again).
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) name: &'static str,
    pub(crate) method: reqwest::Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<(Bytes, &'static str)>,
    pub(crate) idempotency: Idempotency,
    pub(crate) timeout: Option<Duration>,
}

/// A whole answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
    pub(crate) url: Url,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `true` when the answer is (or looks like) an HTML page.
    pub(crate) fn is_html(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("text/html"))
            || looks_like_html(&self.body)
    }

    pub(crate) fn error(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::new(kind, message)
            .with_status(self.status)
            .with_url(&self.url)
    }

    /// Decodes a JSON answer, with typed errors for HTML, empty and
    /// malformed bodies.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        if self.is_html() {
            return Err(self.error(
                ErrorKind::Decode,
                format!("{what}: an HTML page came back instead of JSON"),
            ));
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(self.error(ErrorKind::Decode, format!("{what}: the answer is empty")));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            self.error(
                ErrorKind::Decode,
                format!("{what}: the answer is not the expected JSON ({e})"),
            )
        })
    }

    /// The body as text, lossily, cut to `max` characters (for messages).
    pub(crate) fn snippet(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        match text.char_indices().nth(max) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.to_owned(),
        }
    }
}

pub(crate) fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body[start..].first() == Some(&b'<')
}

/// The URL of `path` below `base`. The path may carry a fixed query.
pub(crate) fn endpoint_url(base: &Url, path: &str) -> Result<Url> {
    if path.is_empty() {
        return Ok(base.clone());
    }
    let mut text = base.as_str().to_owned();
    if base.query().is_some() || base.fragment().is_some() {
        return Err(Error::new(
            ErrorKind::Config,
            "a base URL must not carry a query or a fragment",
        )
        .with_url(base));
    }
    while text.ends_with('/') {
        text.pop();
    }
    text.push_str(path);
    Url::parse(&text).map_err(|e| Error::new(ErrorKind::Config, format!("bad endpoint URL: {e}")))
}

/// Checks that `base` is an absolute http(s) URL.
pub(crate) fn parse_base(base: &str) -> Result<Url> {
    let url = Url::parse(base)
        .map_err(|e| Error::new(ErrorKind::Config, format!("bad base URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::new(
            ErrorKind::Config,
            "the base URL must be an http or https URL",
        )
        .with_url(&url));
    }
    Ok(url)
}

fn to_method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        _ => reqwest::Method::POST,
    }
}

fn json_text<T: serde::Serialize>(meta: &Metadata, req: &T) -> Result<String> {
    serde_json::to_string(req).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!("{}: the request cannot be encoded: {e}", meta.name),
        )
    })
}

/// Builds the request `E` describes.
pub(crate) fn prepare<E: Endpoint>(
    base: &Url,
    req: &E::Request,
    headers: HeaderMap,
    idempotency: Idempotency,
) -> Result<Prepared> {
    let meta = &E::METADATA;
    let mut url = endpoint_url(base, meta.path)?;
    let body = match meta.body {
        BodyEncoding::Json => Some((Bytes::from(json_text(meta, req)?), "application/json")),
        BodyEncoding::FormField(field) => {
            let text = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(field, &json_text(meta, req)?)
                .finish();
            Some((Bytes::from(text), "application/x-www-form-urlencoded"))
        }
        BodyEncoding::QueryField(field) => {
            let text = json_text(meta, req)?;
            url.query_pairs_mut().append_pair(field, &text);
            None
        }
        BodyEncoding::Query => {
            let value = serde_json::to_value(req)
                .map_err(|e| Error::new(ErrorKind::Config, format!("{}: {e}", meta.name)))?;
            let serde_json::Value::Object(map) = value else {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("{}: a query request must be an object", meta.name),
                ));
            };
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &map {
                match v {
                    serde_json::Value::Null => {}
                    serde_json::Value::String(s) => {
                        pairs.append_pair(k, s);
                    }
                    other => {
                        pairs.append_pair(k, &other.to_string());
                    }
                }
            }
            drop(pairs);
            None
        }
        _ => None,
    };
    Ok(Prepared {
        name: meta.name,
        method: to_method(meta.method),
        url,
        headers,
        body,
        idempotency,
        timeout: None,
    })
}

impl Transport {
    fn build(&self, p: &Prepared) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .request(p.method.clone(), p.url.clone())
            .headers(p.headers.clone());
        if let Some((body, content_type)) = &p.body {
            rb = rb.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        rb
    }

    fn timeout_for(&self, p: &Prepared) -> Duration {
        p.timeout.unwrap_or(self.timeout)
    }

    /// Sends `p` and reads its whole answer, retrying as the policy says.
    pub(crate) async fn execute(&self, p: &Prepared) -> Result<Answer> {
        let span = tracing::info_span!(
            "cti.request",
            endpoint = p.name,
            method = %p.method,
            url = %crate::error::redact_url(&p.url),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        async {
            let mut number = 0;
            loop {
                number += 1;
                let result = self.attempt(p).await;
                let outcome = match &result {
                    Ok(a) if a.is_success() => None,
                    Ok(a) => Some(Outcome::Status(a.status)),
                    Err(e) => match e.kind() {
                        ErrorKind::Connect => Some(Outcome::Connect),
                        ErrorKind::Timeout => Some(Outcome::Timeout),
                        ErrorKind::Interrupted => Some(Outcome::Interrupted),
                        _ => None,
                    },
                };
                if let Some(outcome) = outcome {
                    let attempt = Attempt::new(number, p.idempotency, outcome);
                    if let Decision::Retry { after } = self.retry.decide(&attempt) {
                        tracing::debug!(?outcome, ?after, "retrying");
                        tokio::time::sleep(after).await;
                        continue;
                    }
                }
                let span = tracing::Span::current();
                span.record("attempts", number);
                if let Ok(a) = &result {
                    span.record("status", a.status);
                }
                return result;
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt(&self, p: &Prepared) -> Result<Answer> {
        let timeout = self.timeout_for(p);
        let work = async {
            let resp = self
                .build(p)
                .send()
                .await
                .map_err(|e| Error::from_reqwest(e, &p.url))?;
            self.read_answer(resp, &p.url).await
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{}: no complete answer within {timeout:?}", p.name),
            )
            .with_url(&p.url)),
        }
    }

    async fn read_answer(&self, resp: reqwest::Response, url: &Url) -> Result<Answer> {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_limited(resp, self.max_body, url)
            .await
            .map_err(|e| e.with_status(status))?;
        Ok(Answer {
            status,
            content_type,
            body,
            url: url.clone(),
        })
    }

    /// Sends `p` and returns the response once its headers arrive (for
    /// streaming bodies), retrying as the policy says.
    pub(crate) async fn open(&self, p: &Prepared) -> Result<reqwest::Response> {
        let timeout = self.timeout_for(p);
        let mut number = 0;
        loop {
            number += 1;
            let result = match tokio::time::timeout(timeout, self.build(p).send()).await {
                Ok(r) => r.map_err(|e| Error::from_reqwest(e, &p.url)),
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    format!("{}: no answer within {timeout:?}", p.name),
                )
                .with_url(&p.url)),
            };
            let outcome = match &result {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(Outcome::Status(r.status().as_u16())),
                Err(e) if e.kind() == ErrorKind::Connect => Some(Outcome::Connect),
                Err(e) if e.kind() == ErrorKind::Timeout => Some(Outcome::Timeout),
                Err(_) => Some(Outcome::Interrupted),
            };
            if let Some(outcome) = outcome {
                let attempt = Attempt::new(number, p.idempotency, outcome);
                if let Decision::Retry { after } = self.retry.decide(&attempt) {
                    tokio::time::sleep(after).await;
                    continue;
                }
            }
            return result;
        }
    }
}

/// Reads a whole body, refusing more than `max` bytes.
pub(crate) async fn read_limited(resp: reqwest::Response, max: usize, url: &Url) -> Result<Bytes> {
    let too_large = || {
        Error::new(
            ErrorKind::TooLarge,
            format!("the answer is larger than {max} bytes"),
        )
        .with_url(url)
    };
    match resp.content_length() {
        Some(n) if n > max as u64 => return Err(too_large()),
        // The length is known and allowed: let reqwest read it in one go.
        Some(_) => return resp.bytes().await.map_err(|e| Error::from_reqwest(e, url)),
        None => {}
    }
    let mut body = BytesMut::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::from_reqwest(e, url))?;
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cti_protocol::ameyo::api::{
        DisposeCallForUser, DisposeCallForUserRequest, DownloadVoiceLog, LegacyDispose,
        VoiceLogFormat, VoiceLogRequest,
    };

    #[test]
    fn urls_and_bodies() {
        let base = parse_base("https://ameyo.example:8887/").unwrap();
        let p = prepare::<DisposeCallForUser>(
            &base,
            &DisposeCallForUserRequest::new("u", "sale", "r1"),
            HeaderMap::new(),
            Idempotency::Keyed,
        )
        .unwrap();
        assert_eq!(
            p.url.as_str(),
            "https://ameyo.example:8887/ameyorestapi/voice/disposeCallForUser"
        );
        assert_eq!(p.body.as_ref().unwrap().1, "application/json");
        let v = prepare::<DownloadVoiceLog>(
            &base,
            &VoiceLogRequest::new("d865-68dbb572-vce-22", VoiceLogFormat::Mp3),
            HeaderMap::new(),
            Idempotency::Idempotent,
        )
        .unwrap();
        assert_eq!(
            v.url.as_str(),
            "https://ameyo.example:8887/ameyowebaccess/command?command=downloadVoiceLog&data=%7B%22crtObjectId%22%3A%22d865-68dbb572-vce-22%22%2C%22targetFormat%22%3A%22mp3%22%7D"
        );
        assert!(parse_base("ftp://x").is_err());
        assert!(parse_base("https://x/?a=b").is_ok());
        assert!(endpoint_url(&parse_base("https://x/?a=b").unwrap(), "/p").is_err());
        let _ = LegacyDispose;
    }
}
