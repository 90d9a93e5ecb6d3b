//! Content-Security-Policy text: parse, edit, serialise, and match
//! `frame-ancestors` sources.
//!
//! This is the part of CSP Level 3 the kit needs: the policy grammar
//! (directives separated by `;`, sources by white space, several policies
//! in one header separated by `,`), the fallback chains of the fetch
//! directives, and source matching for origins. It is written here
//! because the kit must *edit* policies an application already sends and
//! keep everything else byte-for-byte; the parsers on crates.io check
//! requests against a policy but do not round-trip or edit one.
//!
//! # Examples
//!
//! ```
//! use cti_server_kit::csp::Policy;
//!
//! let mut p = Policy::parse("default-src 'self'; img-src *");
//! // frame-src falls back to default-src, so the new directive starts
//! // from 'self' and the vendor is added to it.
//! p.add_sources("frame-src", ["https://zoom.us"]);
//! assert_eq!(
//!     p.to_string(),
//!     "default-src 'self'; img-src *; frame-src 'self' https://zoom.us"
//! );
//! ```

use std::fmt;

use cti_protocol::origin::Origin;

/// One directive: a lower-case name and its source expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The name, lower-cased (`frame-ancestors`).
    pub name: String,
    /// The values, in order (`'self'`, `https://zoom.us`, …).
    pub values: Vec<String>,
}

/// One serialised policy: an ordered list of directives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    directives: Vec<Directive>,
}

/// The directives a fetch directive falls back to, nearest first (CSP3
/// §6.8.3), including itself.
fn fallback_chain(name: &str) -> &'static [&'static str] {
    match name {
        "script-src" => &["script-src", "default-src"],
        "script-src-elem" => &["script-src-elem", "script-src", "default-src"],
        "style-src" => &["style-src", "default-src"],
        "img-src" => &["img-src", "default-src"],
        "connect-src" => &["connect-src", "default-src"],
        "frame-src" => &["frame-src", "child-src", "default-src"],
        "child-src" => &["child-src", "default-src"],
        "worker-src" => &["worker-src", "child-src", "script-src", "default-src"],
        "media-src" => &["media-src", "default-src"],
        "font-src" => &["font-src", "default-src"],
        "object-src" => &["object-src", "default-src"],
        "manifest-src" => &["manifest-src", "default-src"],
        _ => &[],
    }
}

fn is_directive_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Policy {
    /// An empty policy.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one serialised policy. Following the CSP parsing rules, an
    /// empty or malformed directive is skipped and a repeated directive
    /// is ignored (the first one wins), so parsing never fails.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut directives: Vec<Directive> = Vec::new();
        for token in text.split(';') {
            let mut parts = token.split_ascii_whitespace();
            let Some(name) = parts.next() else { continue };
            let name = name.to_ascii_lowercase();
            if !is_directive_name(&name) || directives.iter().any(|d| d.name == name) {
                continue;
            }
            directives.push(Directive {
                name,
                values: parts.map(str::to_owned).collect(),
            });
        }
        Self { directives }
    }

    /// Parses a whole header value, which may hold several policies
    /// separated by commas.
    #[must_use]
    pub fn parse_header(value: &str) -> Vec<Self> {
        value
            .split(',')
            .map(Self::parse)
            .filter(|p| !p.is_empty())
            .collect()
    }

    /// `true` when the policy has no directives.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.directives.is_empty()
    }

    /// The directives, in order.
    #[must_use]
    pub fn directives(&self) -> &[Directive] {
        &self.directives
    }

    /// The values of directive `name`, when present.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.directives
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map(|d| d.values.as_slice())
    }

    /// The values that govern `name`: the directive itself or the nearest
    /// one it falls back to. `None` when nothing restricts it.
    #[must_use]
    pub fn effective(&self, name: &str) -> Option<&[String]> {
        let chain = fallback_chain(name);
        if chain.is_empty() {
            return self.get(name);
        }
        chain.iter().find_map(|n| self.get(n))
    }

    /// Sets directive `name` to `values`, replacing it in place when it
    /// exists and appending it otherwise.
    pub fn set<I, S>(&mut self, name: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        let name = name.to_ascii_lowercase();
        match self.directives.iter_mut().find(|d| d.name == name) {
            Some(d) => d.values = values,
            None => self.directives.push(Directive { name, values }),
        }
    }

    /// Removes directive `name`; `true` when it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.directives.len();
        self.directives
            .retain(|d| !d.name.eq_ignore_ascii_case(name));
        before != self.directives.len()
    }

    /// Widens what `name` allows by `sources`, without loosening anything
    /// else:
    ///
    /// - when the directive exists, the sources are appended (each once);
    /// - when only a fallback restricts it (`default-src`, `child-src`),
    ///   the directive is created from the fallback's values plus the
    ///   sources, so everything the fallback allowed stays allowed;
    /// - when nothing restricts it, nothing changes: everything is
    ///   already allowed. Returns `false` in that case.
    ///
    /// A list that was `'none'` loses the keyword, which would otherwise
    /// make the list invalid.
    pub fn add_sources<I, S>(&mut self, name: &str, sources: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let Some(base) = self.effective(name).map(<[String]>::to_vec) else {
            return false;
        };
        let mut values: Vec<String> = base
            .into_iter()
            .filter(|v| !v.eq_ignore_ascii_case("'none'"))
            .collect();
        for s in sources {
            let s = s.into();
            if !values.iter().any(|v| v.eq_ignore_ascii_case(&s)) {
                values.push(s);
            }
        }
        self.set(name, values);
        true
    }
}

impl fmt::Display for Policy {
    /// Serialises as `name value value; name value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.directives.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&d.name)?;
            for v in &d.values {
                f.write_str(" ")?;
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

/// Serialises several policies as one header value.
#[must_use]
pub fn join_header(policies: &[Policy]) -> String {
    policies
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// CSP's scheme match: equal, or an upgrade from an insecure scheme to
/// its secure form.
fn scheme_matches(source: &str, actual: &str) -> bool {
    source.eq_ignore_ascii_case(actual)
        || (source.eq_ignore_ascii_case("http") && actual == "https")
        || (source.eq_ignore_ascii_case("ws") && matches!(actual, "wss" | "http" | "https"))
        || (source.eq_ignore_ascii_case("wss") && actual == "https")
}

/// Whether one source expression allows `origin` as an ancestor of a
/// document whose own origin is `own`.
///
/// Paths in host sources are ignored: browsers compare the ancestor's
/// origin, which has no path.
#[must_use]
pub fn source_allows(expression: &str, origin: &Origin, own: &Origin) -> bool {
    let (Some(scheme), Some(host)) = (origin.scheme(), origin.host()) else {
        return false;
    };
    let port = origin.port().or_else(|| default_port(scheme));
    let e = expression.trim();
    if e.eq_ignore_ascii_case("'self'") {
        return own == origin
            || (own.scheme() == Some("http")
                && scheme == "https"
                && own.host() == Some(host)
                && own.port().is_none()
                && origin.port().is_none());
    }
    if e.starts_with('\'') {
        return false;
    }
    if e == "*" {
        return matches!(scheme, "http" | "https" | "ws" | "wss") || own.scheme() == Some(scheme);
    }
    // scheme-source: `https:`
    if let Some(s) = e.strip_suffix(':')
        && !s.contains('/')
        && !s.is_empty()
    {
        return scheme_matches(s, scheme);
    }
    // host-source: [scheme "://"] host [":" port] [path]
    let (src_scheme, rest) = match e.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, e),
    };
    match src_scheme {
        Some(s) if !scheme_matches(s, scheme) => return false,
        None => {
            let own_scheme = own.scheme().unwrap_or_default();
            let ok = own_scheme == scheme || (own_scheme == "http" && scheme == "https");
            if !ok {
                return false;
            }
        }
        Some(_) => {}
    }
    let host_port = rest.split('/').next().unwrap_or_default();
    let (src_host, src_port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || host_port.starts_with('[') => (h, Some(p)),
        _ => (host_port, None),
    };
    let src_host = src_host.to_ascii_lowercase();
    let host_ok = if src_host == "*" {
        true
    } else if let Some(suffix) = src_host.strip_prefix("*.") {
        host.len() > suffix.len() + 1
            && host.ends_with(suffix)
            && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
    } else {
        src_host == host
    };
    if !host_ok {
        return false;
    }
    match src_port {
        Some("*") => true,
        Some(p) => match p.parse::<u16>() {
            Ok(p) => Some(p) == port || (p == 80 && port == Some(443)),
            Err(_) => false,
        },
        None => {
            let src_default = src_scheme.and_then(default_port);
            port == default_port(scheme)
                || (src_default == Some(80) && port == Some(443))
                || (src_scheme.is_none() && port == default_port(scheme))
        }
    }
}

/// Whether a `frame-ancestors` source list allows `origin`. An empty list
/// and `'none'` allow nothing.
#[must_use]
pub fn source_list_allows(list: &[String], origin: &Origin, own: &Origin) -> bool {
    list.iter().any(|e| source_allows(e, origin, own))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Origin {
        Origin::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parse_and_serialise_keep_order_and_skip_junk() {
        let p = Policy::parse("  Default-Src 'self' ;;img-src * data:; default-src 'none'; b@d x");
        assert_eq!(p.to_string(), "default-src 'self'; img-src * data:");
        let list = Policy::parse_header("frame-ancestors 'none', script-src 'self'");
        assert_eq!(list.len(), 2);
        assert_eq!(
            join_header(&list),
            "frame-ancestors 'none', script-src 'self'"
        );
    }

    #[test]
    fn add_sources_respects_fallbacks() {
        let mut p = Policy::parse("child-src https://a.example; default-src 'none'");
        assert!(p.add_sources("frame-src", ["https://zoom.us"]));
        assert_eq!(p.get("frame-src").map(<[String]>::len), Some(2));
        assert!(p.add_sources("connect-src", ["'self'"]));
        assert_eq!(p.get("connect-src"), Some(&["'self'".to_owned()][..]));
        let mut open = Policy::parse("img-src *");
        assert!(!open.add_sources("frame-src", ["https://zoom.us"]));
        assert_eq!(open.to_string(), "img-src *");
    }

    fn directive() -> impl proptest::strategy::Strategy<Value = Directive> {
        use proptest::prelude::*;
        (
            "[a-z][a-z0-9-]{0,12}",
            proptest::collection::vec("[^\\s;,]{1,12}", 0..5),
        )
            .prop_map(|(name, values)| Directive { name, values })
    }

    proptest::proptest! {
        /// Serialising then parsing gives the same policy, for any
        /// directives the grammar allows (names unique).
        #[test]
        fn serialise_then_parse_is_identity(ds in proptest::collection::vec(directive(), 0..8)) {
            let mut p = Policy::new();
            for d in ds {
                if p.get(&d.name).is_none() {
                    p.set(&d.name, d.values);
                }
            }
            proptest::prop_assert_eq!(Policy::parse(&p.to_string()), p.clone());
            let one = join_header(&[p.clone(), p.clone()]);
            let back = Policy::parse_header(&one);
            if p.is_empty() {
                proptest::prop_assert!(back.is_empty());
            } else {
                proptest::prop_assert_eq!(back, vec![p.clone(), p]);
            }
        }

        /// Parsing arbitrary text never panics and is a fixed point after
        /// one round.
        #[test]
        fn parse_is_stable(text in "\\PC{0,200}") {
            for p in Policy::parse_header(&text) {
                proptest::prop_assert_eq!(Policy::parse(&p.to_string()), p);
            }
        }
    }

    #[test]
    fn frame_ancestor_matching() {
        let own = o("https://crm.example");
        let zoom = o("https://zoom.us");
        let sub = o("https://acme.zoom.us");
        assert!(source_allows("https://*.zoom.us", &sub, &own));
        assert!(!source_allows("https://*.zoom.us", &zoom, &own));
        assert!(source_allows("zoom.us", &zoom, &own));
        assert!(source_allows("https:", &zoom, &own));
        assert!(source_allows("http:", &zoom, &own));
        assert!(!source_allows("'none'", &zoom, &own));
        assert!(source_allows("'self'", &own, &own));
        assert!(!source_allows("'self'", &zoom, &own));
        assert!(source_allows("*", &zoom, &own));
        assert!(source_allows("https://zoom.us:*", &zoom, &own));
        assert!(!source_allows("https://zoom.us:8443", &zoom, &own));
        let local = o("http://127.0.0.1:8081");
        assert!(source_allows("http://127.0.0.1:8081", &local, &own));
        assert!(!source_allows("http://127.0.0.1", &local, &own));
        assert!(!source_list_allows(&[], &zoom, &own));
    }
}
