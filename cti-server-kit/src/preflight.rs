//! Embed preflight: fetch a page's headers and say, in plain words,
//! whether a host page at some origin can frame it, and whether the
//! microphone and camera can work inside that frame.
//!
//! What it checks, in the order a browser does:
//!
//! 1. **Redirects**: each hop is followed by hand and reported. A
//!    redirect to another origin matters twice: the frame's origin is the
//!    *final* one (so the host's `frame-src` and the `allow` attribute
//!    must name it), and an `allow="microphone"` without an origin list
//!    delegates to the origin of `src`, not of the redirect target.
//! 2. **HTTPS**: an `https` host cannot frame an `http` page (mixed
//!    content), and the microphone and camera need a secure context in
//!    the host *and* the frame (https, or loopback).
//! 3. **Framing**: every enforced `Content-Security-Policy` with a
//!    `frame-ancestors` directive must allow the host origin; when none
//!    has one, `X-Frame-Options` decides (`DENY`, `SAMEORIGIN`).
//! 4. **Permissions-Policy** of the framed page: `microphone=()` turns
//!    the microphone off inside it whatever the host delegates.
//!
//! [`analyse`] is the pure part (headers in, report out) and is what the
//! tests drive; [`check`] fetches and calls it. The `cti preflight`
//! command prints the report.

use std::fmt;
use std::time::Duration;

use cti_protocol::embed::Permission;
use cti_protocol::origin::Origin;
use http::HeaderMap;
use http::header::{CONTENT_SECURITY_POLICY, LOCATION, X_FRAME_OPTIONS};

use crate::csp::{Policy, source_list_allows};
use crate::layer::PERMISSIONS_POLICY;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// It will work.
    Allowed,
    /// It will not work, and why.
    Blocked(String),
}

impl Verdict {
    /// `true` for [`Verdict::Allowed`].
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }
}

/// One hop of the fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The URL fetched.
    pub url: String,
    /// The status it answered.
    pub status: u16,
}

/// What the preflight found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The host page's origin.
    pub host_origin: Origin,
    /// Every hop, the last one being the page itself.
    pub hops: Vec<Hop>,
    /// Can the host frame the page?
    pub framing: Verdict,
    /// Can each feature be used inside the frame?
    pub features: Vec<(Permission, Verdict)>,
    /// Everything worth knowing, one sentence each.
    pub notes: Vec<String>,
}

impl Report {
    /// `true` when the page can be framed and every feature checked works.
    #[must_use]
    pub fn all_clear(&self) -> bool {
        self.framing.is_allowed() && self.features.iter().all(|(_, v)| v.is_allowed())
    }

    /// The final URL.
    #[must_use]
    pub fn final_url(&self) -> Option<&str> {
        self.hops.last().map(|h| h.url.as_str())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "host origin: {}", self.host_origin)?;
        for (i, hop) in self.hops.iter().enumerate() {
            writeln!(f, "fetch {}: {} -> {}", i + 1, hop.url, hop.status)?;
        }
        match &self.framing {
            Verdict::Allowed => {
                writeln!(f, "framing: OK, {} may frame this page", self.host_origin)?
            }
            Verdict::Blocked(why) => writeln!(f, "framing: BLOCKED, {why}")?,
        }
        for (p, v) in &self.features {
            match v {
                Verdict::Allowed => writeln!(f, "{}: OK", p.name())?,
                Verdict::Blocked(why) => writeln!(f, "{}: BLOCKED, {why}", p.name())?,
            }
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        write!(
            f,
            "verdict: {}",
            if self.all_clear() {
                "this page can be embedded"
            } else {
                "this page cannot be embedded as asked"
            }
        )
    }
}

/// Why a preflight could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// The URL is not an absolute http(s) URL.
    #[error("`{0}` is not an http(s) URL")]
    BadUrl(String),
    /// The fetch failed.
    #[error("fetching {url} failed: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// More redirects than allowed.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
}

fn url_origin(url: &url::Url) -> Option<Origin> {
    Origin::parse(&url.origin().ascii_serialization()).ok()
}

/// Judges a fetched page: `hops` (the last is the page), its response
/// `headers`, for a host page at `host_origin`, checking `features`.
#[must_use]
pub fn analyse(
    host_origin: &Origin,
    hops: Vec<Hop>,
    headers: &HeaderMap,
    features: &[Permission],
) -> Report {
    let mut notes = Vec::new();
    let first = hops.first().and_then(|h| url::Url::parse(&h.url).ok());
    let last = hops.last().and_then(|h| url::Url::parse(&h.url).ok());
    let page_origin = last
        .as_ref()
        .and_then(url_origin)
        .unwrap_or_else(Origin::opaque);
    let first_origin = first.as_ref().and_then(url_origin);

    if hops.len() > 1 {
        notes.push(format!(
            "the URL redirects {} time(s); the browser frames the final page",
            hops.len() - 1
        ));
        if first_origin.as_ref() != Some(&page_origin) {
            notes.push(format!(
                "the redirect changes origin to {page_origin}: name that origin in the host page's frame-src and in the iframe's allow attribute (allow=\"microphone {page_origin}\"); an allow without origins only covers the src origin"
            ));
        }
    }

    let status_ok = hops.last().is_some_and(|h| (200..300).contains(&h.status));
    let host_secure = host_origin.is_potentially_trustworthy();
    let page_secure = page_origin.is_potentially_trustworthy();
    let mixed = host_origin.scheme() == Some("https")
        && page_origin.scheme() == Some("http")
        && !page_origin.is_potentially_trustworthy();

    let framing = if !status_ok {
        Verdict::Blocked(format!(
            "the page answered {}, not a page",
            hops.last().map_or(0, |h| h.status)
        ))
    } else if mixed {
        Verdict::Blocked(format!(
            "an https host cannot frame an http page (mixed content); serve {page_origin} over https"
        ))
    } else {
        framing_verdict(host_origin, &page_origin, headers, &mut notes)
    };

    let pp = permissions_policy(headers, &mut notes);
    let checked: Vec<(Permission, Verdict)> = features
        .iter()
        .map(|p| {
            let verdict = if !host_secure {
                Verdict::Blocked(format!(
                    "the host page {host_origin} is not a secure context; {} needs https (or loopback)",
                    p.name()
                ))
            } else if !page_secure {
                Verdict::Blocked(format!(
                    "the framed page {page_origin} is not a secure context; {} needs https (or loopback)",
                    p.name()
                ))
            } else {
                feature_verdict(*p, pp.as_ref())
            };
            (*p, verdict)
        })
        .collect();
    let features = checked;
    if !features.is_empty() {
        let names: Vec<&str> = features.iter().map(|(p, _)| p.name()).collect();
        notes.push(format!(
            "the host page must also delegate: <iframe allow=\"{}\">, and if it sends a Permissions-Policy, list {page_origin} there",
            names.join("; ")
        ));
    }

    Report {
        host_origin: host_origin.clone(),
        hops,
        framing,
        features,
        notes,
    }
}

fn framing_verdict(
    host: &Origin,
    page: &Origin,
    headers: &HeaderMap,
    notes: &mut Vec<String>,
) -> Verdict {
    let policies: Vec<Policy> = headers
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .flat_map(|v| Policy::parse_header(&String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let with_fa: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.get("frame-ancestors").is_some())
        .collect();
    if !with_fa.is_empty() {
        if headers.contains_key(X_FRAME_OPTIONS) {
            notes.push("X-Frame-Options is ignored because the CSP has frame-ancestors".into());
        }
        for p in with_fa {
            let list = p.get("frame-ancestors").unwrap_or_default();
            if !source_list_allows(list, host, page) {
                return Verdict::Blocked(format!(
                    "Content-Security-Policy frame-ancestors is `{}`, which does not include {host}",
                    list.join(" ")
                ));
            }
        }
        return Verdict::Allowed;
    }
    let values: Vec<String> = headers
        .get_all(X_FRAME_OPTIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        notes.push("the page sends neither frame-ancestors nor X-Frame-Options: any site can frame it (fine for embedding, weak against clickjacking)".into());
        return Verdict::Allowed;
    }
    let distinct: std::collections::BTreeSet<&str> = values.iter().map(String::as_str).collect();
    if distinct.len() > 1 {
        return Verdict::Blocked(format!(
            "X-Frame-Options has conflicting values ({}), which browsers treat as DENY",
            values.join(", ")
        ));
    }
    match values[0].as_str() {
        "deny" => Verdict::Blocked("X-Frame-Options is DENY".into()),
        "sameorigin" if host == page => Verdict::Allowed,
        "sameorigin" => Verdict::Blocked(format!(
            "X-Frame-Options is SAMEORIGIN and {host} is not {page}; send CSP frame-ancestors instead"
        )),
        other => {
            notes.push(format!(
                "X-Frame-Options `{other}` is not understood by current browsers and is ignored"
            ));
            Verdict::Allowed
        }
    }
}

fn permissions_policy(headers: &HeaderMap, notes: &mut Vec<String>) -> Option<sfv::Dictionary> {
    let values: Vec<&str> = headers
        .get_all(&PERMISSIONS_POLICY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return None;
    }
    match sfv::Parser::new(&values.join(", ")).parse::<sfv::Dictionary>() {
        Ok(d) => Some(d),
        Err(e) => {
            notes.push(format!(
                "the Permissions-Policy header is malformed ({e}) and browsers ignore it"
            ));
            None
        }
    }
}

fn feature_verdict(p: Permission, policy: Option<&sfv::Dictionary>) -> Verdict {
    let Some(entry) = policy.and_then(|d| d.get(p.name())) else {
        // The default allowlist of these features is 'self', which covers
        // the frame's own document once the host delegates.
        return Verdict::Allowed;
    };
    match entry {
        sfv::ListEntry::Item(item) => {
            if item.bare_item.as_token().is_some_and(|t| t.as_str() == "*") {
                Verdict::Allowed
            } else {
                Verdict::Blocked(format!(
                    "the page's Permissions-Policy for {} is not an allowlist",
                    p.name()
                ))
            }
        }
        sfv::ListEntry::InnerList(list) => {
            let allows_self = list.items.iter().any(|i| {
                i.bare_item
                    .as_token()
                    .is_some_and(|t| t.as_str() == "self" || t.as_str() == "*")
            });
            if allows_self {
                Verdict::Allowed
            } else if list.items.is_empty() {
                Verdict::Blocked(format!(
                    "the page's own Permissions-Policy turns {0} off ({0}=())",
                    p.name()
                ))
            } else {
                Verdict::Blocked(format!(
                    "the page's own Permissions-Policy allows {} only for other origins, not itself",
                    p.name()
                ))
            }
        }
    }
}

/// Options of [`check`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Redirects followed at most (default 5).
    pub max_redirects: usize,
    /// Per-request timeout (default 10 s).
    pub timeout: Duration,
    /// Features to check (default microphone and camera).
    pub features: Vec<Permission>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_redirects: 5,
            timeout: Duration::from_secs(10),
            features: vec![Permission::Microphone, Permission::Camera],
        }
    }
}

/// Fetches `url` (following redirects by hand, reading headers only)
/// and judges it for a host page at `host_origin`.
///
/// `client` should not follow redirects by itself (build it with
/// `redirect(reqwest::redirect::Policy::none())`); if it does, the
/// redirect chain is simply not reported.
///
/// # Errors
///
/// [`PreflightError`] when the URL is bad, a fetch fails, or there are
/// too many redirects.
pub async fn check(
    client: &reqwest::Client,
    url: &str,
    host_origin: &Origin,
    options: &Options,
) -> Result<Report, PreflightError> {
    let mut current = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| PreflightError::BadUrl(url.to_owned()))?;
    let mut hops = Vec::new();
    loop {
        let response = client
            .get(current.as_str())
            .header(http::header::ORIGIN, host_origin.to_string())
            .header("sec-fetch-dest", "iframe")
            .timeout(options.timeout)
            .send()
            .await
            .map_err(|e| PreflightError::Fetch {
                url: current.to_string(),
                message: fetch_failure(&e),
            })?;
        let status = response.status();
        hops.push(Hop {
            url: current.to_string(),
            status: status.as_u16(),
        });
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if status.is_redirection()
            && let Some(location) = location
        {
            if hops.len() > options.max_redirects {
                return Err(PreflightError::TooManyRedirects(options.max_redirects));
            }
            current = current
                .join(&location)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| PreflightError::BadUrl(location.clone()))?;
            continue;
        }
        let headers = response.headers().clone();
        // The body is not needed; dropping the response closes it.
        drop(response);
        return Ok(analyse(host_origin, hops, &headers, &options.features));
    }
}

/// Why a fetch failed, in words: reqwest's own text is only "error
/// sending request for url", so the cause is read from the bottom of the
/// chain (`connection refused`, a name that does not resolve, a TLS
/// refusal, a timeout).
fn fetch_failure(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    let mut lowest: Option<&(dyn std::error::Error + 'static)> = None;
    let mut next = e.source();
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".to_owned(),
                std::io::ErrorKind::TimedOut => return "timed out".to_owned(),
                _ => {}
            }
        }
        lowest = Some(err);
        next = err.source();
    }
    match lowest {
        Some(cause) if e.is_connect() => format!("could not connect: {cause}"),
        Some(cause) => cause.to_string(),
        None => e.to_string(),
    }
}
