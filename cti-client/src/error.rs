//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;

use url::Url;

/// What went wrong, broadly. Match on this, not on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client was configured wrongly (a missing credential, a bad base
    /// URL, a request the endpoint cannot carry). Nothing was sent.
    Config,
    /// The connection could not be made. Nothing reached the server.
    Connect,
    /// No answer (or no further body bytes) within the timeout.
    Timeout,
    /// The connection failed after the request was sent, or the body broke
    /// off (reset or truncated).
    Interrupted,
    /// The server answered with an error status; see [`Error::status`].
    Status,
    /// The server answered, and the answer says the operation failed
    /// (`result: failed`, `status: failed`, a non-success plain text).
    Vendor,
    /// The thing asked for does not exist (a voice log that cannot be
    /// found: a "not found" JSON, `null` or an empty body).
    NotFound,
    /// The body is not what the endpoint returns: malformed JSON, an HTML
    /// page instead of JSON or audio, a wrong content type.
    Decode,
    /// The body is larger than the configured limit.
    TooLarge,
    /// Reading or writing a local file or writer failed.
    Io,
    /// Obtaining or refreshing credentials (OAuth 2.0) failed.
    Auth,
    /// A failed request was put on the retry queue to be sent again later.
    Queued,
}

/// An error of `cti-client`: a [`kind`](Error::kind), a message, and where
/// known the HTTP status and the (redacted) URL.
///
/// The URL never carries secrets: query values whose names look like
/// credentials, user info and fragments are replaced before they are
/// stored. [`Error::without_url`] drops it altogether.
pub struct Error {
    // Boxed: results stay one pointer wide on the happy path.
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    url: Option<Url>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                url: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_url(mut self, url: &Url) -> Self {
        self.inner.url = Some(redact_url(url));
        self
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn from_reqwest(err: reqwest::Error, url: &Url) -> Self {
        let kind = if err.is_connect() {
            ErrorKind::Connect
        } else if err.is_timeout() {
            ErrorKind::Timeout
        } else if err.is_builder() {
            ErrorKind::Config
        } else if err.is_decode() {
            ErrorKind::Decode
        } else {
            ErrorKind::Interrupted
        };
        let message = match kind {
            ErrorKind::Connect => "could not connect",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Config => "the request could not be built",
            ErrorKind::Decode => "the body could not be decoded",
            _ => "the connection failed",
        };
        // reqwest's own Display includes the URL, tokens and all, and says
        // only "error sending request": name the cause underneath instead
        // (connection refused, a name that does not resolve, …).
        let message = match network_cause(&err) {
            Some(cause) => format!("{message}: {cause}"),
            None => message.to_owned(),
        };
        Self::new(kind, message)
            .with_url(url)
            .with_source(err.without_url())
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status, when the server answered.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The request URL, redacted.
    #[must_use]
    pub fn url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// The message: for [`ErrorKind::Vendor`] and [`ErrorKind::Status`] the
    /// vendor's own reason where it gave one.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The same error without its URL.
    #[must_use]
    pub fn without_url(mut self) -> Self {
        self.inner.url = None;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(status) = self.inner.status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(url) = &self.inner.url {
            write!(f, " [{url}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("status", &self.inner.status)
            .field("url", &self.inner.url.as_ref().map(Url::as_str))
            .field("source", &self.inner.source)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

const SECRET_WORDS: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "session",
    "auth",
    "sig",
    "code",
    "jwt",
    "credential",
];

/// `true` for a parameter or header name that may carry a credential.
pub(crate) fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// The URL with user info, fragment and credential-like query values
/// replaced by `REDACTED`.
#[must_use]
pub fn redact_url(url: &Url) -> Url {
    let mut out = url.clone();
    if !out.username().is_empty() || out.password().is_some() {
        let _ = out.set_username("REDACTED");
        let _ = out.set_password(None);
    }
    if out.fragment().is_some() {
        out.set_fragment(Some("REDACTED"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if looks_secret(&k) {
                    "REDACTED".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    out
}

/// The cause of a network failure in words, from the bottom of its
/// source chain: `connection refused`, `connection reset`, or the lowest
/// error's own text (a failed name lookup, a TLS refusal). `None` when
/// the chain has nothing below the error itself.
fn network_cause(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut lowest = None;
    let mut next = err.source();
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let named = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Some("connection refused"),
                std::io::ErrorKind::ConnectionReset => Some("connection reset"),
                std::io::ErrorKind::ConnectionAborted => Some("connection aborted"),
                std::io::ErrorKind::TimedOut => Some("timed out"),
                _ => None,
            };
            if let Some(named) = named {
                return Some(named.to_owned());
            }
        }
        lowest = Some(e);
        next = e.source();
    }
    lowest.map(ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        let url = Url::parse(
            "https://u:p@h.example/x?command=downloadVoiceLog&access_token=abc&crmSessionId=s1&hash-key=k#token=t",
        )
        .unwrap();
        let r = redact_url(&url).to_string();
        for secret in ["abc", "s1", "=k", "t=t", ":p@"] {
            assert!(!r.contains(secret), "{r}");
        }
        assert!(r.contains("command=downloadVoiceLog"));
        let e = Error::new(ErrorKind::Status, "nope")
            .with_status(500)
            .with_url(&url);
        assert!(!format!("{e} {e:?}").contains("abc"));
        assert!(e.without_url().url().is_none());
    }
}
