//! Web origins and origin allowlists.
//!
//! [`Origin`] follows the HTML origin rules: a scheme, a host and a port,
//! with the scheme and host lower-cased, an internationalised host turned
//! into its ASCII (punycode) form and a default port dropped. A string with
//! user info, a path, a query or a fragment is not an origin and is
//! rejected. `null` is the opaque origin; it never matches an allowlist.
//!
//! [`OriginAllowlist`] holds exact origins and subdomain wildcards such as
//! `https://*.zoom.us`. A wildcard matches subdomains at any depth (as CSP
//! host sources do) but never the bare domain; list it as well if you need
//! it. `*` and `null` are refused as patterns: an allowlist that admits
//! everything is not an allowlist.
//!
//! A trailing dot is kept: `https://example.com.` is a different origin
//! from `https://example.com` to a browser, and so it is here.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::origin::{Origin, OriginAllowlist};
//!
//! let allow = OriginAllowlist::parse(["https://crm.example.com", "https://*.zoom.us"])?;
//! assert!(allow.allows_str("https://ACME.zoom.us:443"));
//! assert!(!allow.allows_str("https://zoom.us.evil.example"));
//! assert!(!allow.allows_str("null"));
//! assert_eq!(Origin::parse("HTTPS://Bücher.example:443")?.to_string(), "https://xn--bcher-kva.example");
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::types::{Str, truncate};
use crate::{Error, ErrorKind};

/// A web origin: `scheme://host[:port]`, or the opaque origin `null`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Origin(Inner);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Inner {
    // `Str` keeps short hosts inline, so cloning an origin does not allocate.
    Tuple {
        scheme: Str,
        host: Str,
        port: Option<u16>,
    },
    Opaque,
}

fn origin_error(input: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Origin,
        format!("`{}` is not an origin: {why}", truncate(input, 100)),
    )
}

/// The longest origin text accepted, as given and as written back.
const MAX_ORIGIN_LEN: usize = 2048;

impl Origin {
    /// The opaque origin (`null`), as sandboxed frames and `file:` pages have.
    #[must_use]
    pub fn opaque() -> Self {
        Self(Inner::Opaque)
    }

    /// Parses and normalises an origin.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Origin`] when the text is not `scheme://host[:port]`
    /// (with at most a trailing `/`), has user info, a path, a query or a
    /// fragment, or a scheme other than `http` / `https`.
    pub fn parse(input: &str) -> crate::Result<Self> {
        if input == "null" {
            return Ok(Self::opaque());
        }
        if input.len() > MAX_ORIGIN_LEN {
            return Err(origin_error(input, "too long"));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(origin_error(
                input,
                "contains white space or control characters",
            ));
        }
        let url = url::Url::parse(input).map_err(|e| origin_error(input, &e.to_string()))?;
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(origin_error(input, "the scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() || input.contains('@') {
            return Err(origin_error(input, "it has user info"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(origin_error(input, "it has a query or fragment"));
        }
        // `url` always reports a path of at least `/`; reject anything the
        // input spelled out beyond one trailing slash.
        let after_scheme = &input[input.find("//").map_or(0, |i| i + 2)..];
        if after_scheme
            .find('/')
            .is_some_and(|i| i + 1 != after_scheme.len())
            || url.path() != "/"
        {
            return Err(origin_error(input, "it has a path"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| origin_error(input, "it has no host"))?;
        // The URL standard lets `*`, `!`, `$`, … into a domain; no real
        // origin has them, and `*` would read as a wildcard in a pattern.
        let domain_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        if !host.starts_with('[') && !host.bytes().all(domain_ok) {
            return Err(origin_error(
                input,
                "the host has characters no domain name has",
            ));
        }
        // IDN hosts grow when written in ASCII: bound the written form as
        // well, so that every origin this accepts also reads back.
        let port_len = url.port().map_or(0, |p| 1 + p.to_string().len());
        if scheme.len() + "://".len() + host.len() + port_len > MAX_ORIGIN_LEN {
            return Err(origin_error(input, "too long once its host is in ASCII"));
        }
        Ok(Self(Inner::Tuple {
            scheme: Str::new(scheme),
            host: Str::new(host),
            port: url.port(),
        }))
    }

    /// Appends the serialised origin to `out` (no allocation).
    pub(crate) fn push_to(&self, out: &mut String) {
        match &self.0 {
            Inner::Tuple { scheme, host, port } => {
                out.push_str(scheme);
                out.push_str("://");
                out.push_str(host);
                if let Some(port) = port {
                    out.push(':');
                    out.push_str(&port.to_string());
                }
            }
            Inner::Opaque => out.push_str("null"),
        }
    }

    /// `true` for `null`.
    #[must_use]
    pub fn is_opaque(&self) -> bool {
        matches!(self.0, Inner::Opaque)
    }

    /// The scheme (`https`); `None` for `null`.
    #[must_use]
    pub fn scheme(&self) -> Option<&str> {
        match &self.0 {
            Inner::Tuple { scheme, .. } => Some(scheme),
            Inner::Opaque => None,
        }
    }

    /// The host in ASCII form (IPv6 in brackets); `None` for `null`.
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        match &self.0 {
            Inner::Tuple { host, .. } => Some(host),
            Inner::Opaque => None,
        }
    }

    /// The port when it is not the scheme's default.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        match &self.0 {
            Inner::Tuple { port, .. } => *port,
            Inner::Opaque => None,
        }
    }

    /// `true` for `https` origins and for loopback hosts (which browsers
    /// treat as secure contexts).
    #[must_use]
    pub fn is_potentially_trustworthy(&self) -> bool {
        match &self.0 {
            Inner::Tuple { scheme, host, .. } => {
                scheme == "https"
                    || host == "localhost"
                    || host.ends_with(".localhost")
                    || host.starts_with("127.")
                    || host == "[::1]"
            }
            Inner::Opaque => false,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Tuple {
                scheme,
                host,
                port: Some(port),
            } => write!(f, "{scheme}://{host}:{port}"),
            Inner::Tuple {
                scheme,
                host,
                port: None,
            } => write!(f, "{scheme}://{host}"),
            Inner::Opaque => f.write_str("null"),
        }
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({self})")
    }
}

impl FromStr for Origin {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One allowlist entry.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Entry {
    Exact(Origin),
    /// `scheme://*.suffix[:port]`: any subdomain of `suffix`.
    Subdomains {
        scheme: String,
        suffix: String,
        port: Option<u16>,
    },
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(o) => o.fmt(f),
            Self::Subdomains {
                scheme,
                suffix,
                port: Some(p),
            } => write!(f, "{scheme}://*.{suffix}:{p}"),
            Self::Subdomains {
                scheme,
                suffix,
                port: None,
            } => write!(f, "{scheme}://*.{suffix}"),
        }
    }
}

fn pattern_error(input: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::AllowlistPattern,
        format!(
            "`{}` is not an allowlist pattern: {why}",
            truncate(input, 100)
        ),
    )
}

impl Entry {
    fn parse(pattern: &str) -> crate::Result<Self> {
        let p = pattern.trim();
        if p == "*" || p == "null" || p.is_empty() {
            return Err(pattern_error(
                pattern,
                "`*`, `null` and empty patterns would match what must never match",
            ));
        }
        let Some((scheme, rest)) = p.split_once("://") else {
            return Err(pattern_error(
                pattern,
                "it needs a scheme, as in `https://*.example.com`",
            ));
        };
        if !rest.contains('*') {
            return Origin::parse(p)
                .map(Entry::Exact)
                .map_err(|e| pattern_error(pattern, &e.to_string()));
        }
        let Some(host_and_port) = rest.strip_prefix("*.") else {
            return Err(pattern_error(
                pattern,
                "a wildcard must be the whole first label: `*.example.com`",
            ));
        };
        if host_and_port.contains('*') {
            return Err(pattern_error(
                pattern,
                "only one wildcard, in the first label, is allowed",
            ));
        }
        // Parse the suffix through a concrete origin so IDN, case and
        // default ports are normalised the same way as for origins.
        let probe = Origin::parse(&format!("{scheme}://x.{host_and_port}"))
            .map_err(|e| pattern_error(pattern, &e.to_string()))?;
        let (Some(scheme), Some(host)) = (probe.scheme(), probe.host()) else {
            return Err(pattern_error(pattern, "it has no host"));
        };
        let suffix = host.strip_prefix("x.").unwrap_or(host);
        if host.starts_with('[') || suffix.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(pattern_error(
                pattern,
                "a wildcard needs a domain name, not an IP address",
            ));
        }
        if suffix
            .trim_end_matches('.')
            .split('.')
            .filter(|l| !l.is_empty())
            .count()
            < 2
        {
            return Err(pattern_error(
                pattern,
                "a wildcard over a top-level domain is too broad",
            ));
        }
        Ok(Entry::Subdomains {
            scheme: scheme.to_owned(),
            suffix: suffix.to_owned(),
            port: probe.port(),
        })
    }

    fn allows(&self, origin: &Origin) -> bool {
        match (self, &origin.0) {
            (_, Inner::Opaque) => false,
            (Self::Exact(o), _) => o == origin,
            (
                Self::Subdomains {
                    scheme,
                    suffix,
                    port,
                },
                Inner::Tuple {
                    scheme: s,
                    host,
                    port: p,
                },
            ) => {
                s == scheme
                    && p == port
                    && host.len() > suffix.len() + 1
                    && host.ends_with(suffix.as_str())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                    && !host.starts_with('.')
            }
        }
    }
}

/// A set of allowed origins: exact origins and `scheme://*.domain`
/// subdomain wildcards.
///
/// # Examples
///
/// ```
/// use cti_protocol::origin::{OriginAllowlist, vendor};
///
/// let allow = vendor::zoom().with(OriginAllowlist::parse(["http://127.0.0.1:8081"])?);
/// assert!(allow.allows_str("https://zoom.us"));
/// assert!(allow.allows_str("https://acme.zoom.us"));
/// assert!(allow.allows_str("http://127.0.0.1:8081"));
/// assert!(!allow.allows_str("http://127.0.0.1:8082"));
/// # Ok::<(), cti_protocol::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OriginAllowlist {
    entries: Vec<Entry>,
}

impl OriginAllowlist {
    /// An allowlist that allows nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a list of exact origins and wildcard patterns.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AllowlistPattern`] naming the first bad pattern.
    pub fn parse<I, S>(patterns: I) -> crate::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Self::new();
        for p in patterns {
            list.push(p.as_ref())?;
        }
        Ok(list)
    }

    /// Adds one pattern.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AllowlistPattern`] when it is not a pattern.
    pub fn push(&mut self, pattern: &str) -> crate::Result<&mut Self> {
        let entry = Entry::parse(pattern)?;
        if !self.entries.contains(&entry) {
            self.entries.push(entry);
        }
        Ok(self)
    }

    /// Adds an exact origin (the opaque origin is ignored: it never matches).
    pub fn push_origin(&mut self, origin: Origin) -> &mut Self {
        let entry = Entry::Exact(origin);
        if !origin_is_opaque(&entry) && !self.entries.contains(&entry) {
            self.entries.push(entry);
        }
        self
    }

    /// Both lists together.
    #[must_use]
    pub fn with(mut self, other: Self) -> Self {
        for e in other.entries {
            if !self.entries.contains(&e) {
                self.entries.push(e);
            }
        }
        self
    }

    /// `true` when `origin` is allowed. The opaque origin never is.
    #[must_use]
    pub fn allows(&self, origin: &Origin) -> bool {
        self.entries.iter().any(|e| e.allows(origin))
    }

    /// Parses `origin` (as a browser reports it in `event.origin` or an
    /// `Origin` header) and checks it; text that is not an origin is not
    /// allowed.
    #[must_use]
    pub fn allows_str(&self, origin: &str) -> bool {
        Origin::parse(origin).is_ok_and(|o| self.allows(&o))
    }

    /// `true` when nothing is allowed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The patterns, as text (usable as CSP `frame-ancestors` sources).
    pub fn patterns(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(ToString::to_string)
    }
}

fn origin_is_opaque(e: &Entry) -> bool {
    matches!(e, Entry::Exact(o) if o.is_opaque())
}

impl fmt::Debug for OriginAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(ToString::to_string))
            .finish()
    }
}

/// The origins the vendors' frames are served from.
pub mod vendor {
    use super::{Origin, OriginAllowlist};

    /// Zoom's production, vanity-SSO and government hosts.
    pub const ZOOM: &[&str] = &[
        "https://zoom.us",
        "https://*.zoom.us",
        "https://zoomgov.com",
        "https://*.zoomgov.com",
    ];
    /// LeadDesk login hosts (`https://login-ce2.leaddesk.com`, …).
    pub const LEADDESK: &[&str] = &["https://*.leaddesk.com"];
    /// CCAI Platform tenants: `https://{tenant}.{region}.ccaiplatform.com`.
    pub const CCAI: &[&str] = &["https://*.ccaiplatform.com"];
    /// Streem: the legacy `{company}.streempro.app` and the newer
    /// `{company}.swa.{env}.streem.cloud` hosts.
    pub const STREEM: &[&str] = &["https://*.streempro.app", "https://*.streem.cloud"];

    fn list(patterns: &[&str]) -> OriginAllowlist {
        // The constants above are valid patterns; a failure would be a bug
        // caught by the tests, so fall back to the empty (deny-all) list.
        OriginAllowlist::parse(patterns).unwrap_or_default()
    }

    /// [`ZOOM`] as an allowlist.
    #[must_use]
    pub fn zoom() -> OriginAllowlist {
        list(ZOOM)
    }

    /// [`LEADDESK`] as an allowlist.
    #[must_use]
    pub fn leaddesk() -> OriginAllowlist {
        list(LEADDESK)
    }

    /// [`CCAI`] as an allowlist.
    #[must_use]
    pub fn ccai() -> OriginAllowlist {
        list(CCAI)
    }

    /// [`STREEM`] as an allowlist.
    #[must_use]
    pub fn streem() -> OriginAllowlist {
        list(STREEM)
    }

    /// The exact origin of one CCAI tenant.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Origin`](crate::ErrorKind::Origin) when the tenant or
    /// region is not a host label.
    pub fn ccai_tenant(tenant: &str, region: &str) -> crate::Result<Origin> {
        let ok =
            |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok(tenant) || !ok(region) {
            return Err(crate::Error::new(
                crate::ErrorKind::Origin,
                "a CCAI tenant and region must be host labels (letters, digits, `-`)",
            ));
        }
        Origin::parse(&format!("https://{tenant}.{region}.ccaiplatform.com"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> String {
        Origin::parse(s)
            .map(|o| o.to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn normalisation() {
        assert_eq!(o("https://Example.COM"), "https://example.com");
        assert_eq!(o("https://example.com:443"), "https://example.com");
        assert_eq!(o("http://example.com:80/"), "http://example.com");
        assert_eq!(o("http://example.com:443"), "http://example.com:443");
        assert_eq!(o("https://bücher.example"), "https://xn--bcher-kva.example");
        assert_eq!(o("https://example.com."), "https://example.com.");
        assert_eq!(o("http://[::1]:8080"), "http://[::1]:8080");
        assert_eq!(o("null"), "null");
    }

    #[test]
    fn rejections() {
        for bad in [
            "https://user:pw@example.com",
            "https://user@example.com",
            "https://example.com/path",
            "https://example.com//",
            "https://example.com?x=1",
            "https://example.com#f",
            "ftp://example.com",
            "javascript:alert(1)",
            "example.com",
            "",
            "NULL",
            "https://exa mple.com",
            "https://example.com\n",
            "https://*.example.com",
            "https://a!b.example",
        ] {
            assert_eq!(
                Origin::parse(bad).unwrap_err().kind(),
                ErrorKind::Origin,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn length_is_bounded_as_given_and_as_written() {
        let label = |c: char| c.to_string().repeat(60);
        // Under the limit as typed, over it in punycode (each label gains
        // `xn--`, a `-` and the encoded position of its one non-ASCII
        // letter): refused, rather than accepted and then unreadable in
        // its own printed form.
        let host = vec![format!("{}ɲ", "t".repeat(120)); 16];
        let wide = format!("https://{}", host.join("."));
        assert!(wide.len() <= MAX_ORIGIN_LEN);
        let err = Origin::parse(&wide).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Origin);
        assert!(err.to_string().contains("in ASCII"), "{err}");
        // Long ASCII hosts up to the limit read back to themselves.
        let mut host = label('a');
        while "https://".len() + host.len() + 61 <= MAX_ORIGIN_LEN {
            host = format!("{host}.{}", label('b'));
        }
        let text = format!("https://{host}");
        assert_eq!(o(&text), text);
        assert_eq!(o(&o(&text)), text);
        let over = format!("https://{host}.{}", "c".repeat(MAX_ORIGIN_LEN));
        assert_eq!(Origin::parse(&over).unwrap_err().kind(), ErrorKind::Origin);
    }

    #[test]
    fn wildcards() {
        let allow =
            OriginAllowlist::parse(["https://*.example.com", "http://127.0.0.1:8081"]).unwrap();
        assert!(allow.allows_str("https://a.example.com"));
        assert!(allow.allows_str("https://a.b.c.example.com"));
        assert!(allow.allows_str("https://A.EXAMPLE.com:443"));
        assert!(!allow.allows_str("https://example.com"));
        assert!(!allow.allows_str("https://aexample.com"));
        assert!(!allow.allows_str("https://a.example.com.evil.net"));
        assert!(!allow.allows_str("http://a.example.com"));
        assert!(!allow.allows_str("https://a.example.com:8443"));
        assert!(!allow.allows_str("null"));
        assert!(!allow.allows_str("http://127.0.0.1:8082"));
        assert!(allow.allows_str("http://127.0.0.1:8081"));
        assert!(!allow.allows(&Origin::opaque()));
    }

    #[test]
    fn bad_patterns() {
        for bad in [
            "*",
            "null",
            "",
            "https://*",
            "https://*.com",
            "*.example.com",
            "https://a*.example.com",
            "https://*.*.example.com",
            "https://*.127.0.0.1",
            "https://x.example.com/path",
        ] {
            assert_eq!(
                OriginAllowlist::parse([bad]).unwrap_err().kind(),
                ErrorKind::AllowlistPattern,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn vendor_lists_parse() {
        assert!(!vendor::zoom().is_empty());
        assert!(vendor::zoom().allows_str("https://acme.zoom.us"));
        assert!(vendor::zoom().allows_str("https://www.zoomgov.com"));
        assert!(vendor::leaddesk().allows_str("https://login-ce2.leaddesk.com"));
        assert!(vendor::ccai().allows_str("https://acme.us1.ccaiplatform.com"));
        assert!(vendor::streem().allows_str("https://acme.swa.prod-us.streem.cloud"));
        assert_eq!(
            vendor::ccai_tenant("acme", "us1").unwrap().to_string(),
            "https://acme.us1.ccaiplatform.com"
        );
        assert!(vendor::ccai_tenant("acme.evil.com/", "us1").is_err());
        assert_eq!(
            OriginAllowlist::parse(vendor::STREEM)
                .unwrap()
                .patterns()
                .count(),
            2
        );
    }
}
