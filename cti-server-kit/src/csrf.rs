//! Cross-site request forgery and DNS-rebinding guards for JSON APIs.
//!
//! A browser lets any page send a "simple" cross-site request (a form
//! post, or a `fetch` with `Content-Type: text/plain`) and attaches the
//! user's cookies. An API that parses such a body as JSON, or that answers
//! whatever `Host` it is reached by, can be driven from anywhere. The
//! [`CsrfGuard`] layer refuses, before the handler runs:
//!
//! | request | answer |
//! |---|---|
//! | a `Host` outside the configured hosts (any method) | 421 `bad_host` |
//! | a state-changing method (not GET, HEAD, OPTIONS) whose `Content-Type` is not `application/json` (nor a form, where forms are allowed) | 415 `unsupported_media_type` |
//! | a state-changing request whose `Origin` is neither the request's own origin nor an allowed one, or that says `Sec-Fetch-Site: cross-site`/`same-site` without such an `Origin` | 403 `cross_site` |
//!
//! A JSON content type already forces a CORS preflight on cross-site
//! requests, which the guard never grants; the origin check also stops a
//! same-site page (another port, a sibling subdomain) and old browsers. A
//! request with neither `Origin` nor `Sec-Fetch-Site` comes from a
//! non-browser client (curl, a vendor's server) and passes the origin
//! check, but not the content-type check.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, routing::post};
//! use cti_protocol::origin::OriginAllowlist;
//! use cti_server_kit::csrf::CsrfGuard;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = CsrfGuard::new(OriginAllowlist::parse(["https://crm.example"])?)
//!     .hosts(["crm.example"]);
//! let api: Router = Router::new()
//!     .route("/api/notes", post(|| async { "noted" }))
//!     .layer(guard.layer());
//! # let _ = api; Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::IntoResponse;
use futures_util::future::{Either, Ready, ready};
use http::{HeaderMap, Method, Request, Response, StatusCode, header};

use crate::Rejection;
use cti_protocol::origin::OriginAllowlist;

/// Which request bodies a state-changing request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Bodies {
    /// `application/json` only (the default).
    #[default]
    Json,
    /// `application/json` or `application/x-www-form-urlencoded`, for
    /// endpoints that server-side callers post forms to; browsers' forms
    /// are still stopped by the origin check.
    JsonOrForm,
}

#[derive(Debug, Clone)]
struct Config {
    origins: OriginAllowlist,
    hosts: Vec<String>,
    bodies: Bodies,
}

/// The guard's settings; [`layer`](Self::layer) makes the tower layer.
#[derive(Debug, Clone)]
#[must_use]
pub struct CsrfGuard(Arc<Config>);

impl CsrfGuard {
    /// A guard accepting state-changing requests from `origins` (besides
    /// the request's own origin), with JSON bodies, on any `Host`.
    pub fn new(origins: OriginAllowlist) -> Self {
        Self(Arc::new(Config {
            origins,
            hosts: Vec::new(),
            bodies: Bodies::Json,
        }))
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.0));
        self
    }

    /// The only `Host` values served (`host` or `host:port`, compared
    /// without case); every other is refused, which defeats DNS
    /// rebinding. Without this call every host is served.
    pub fn hosts<I, S>(self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = hosts
            .into_iter()
            .map(|h| h.into().to_ascii_lowercase())
            .collect();
        self.edit(|c| c.hosts = list)
    }

    /// Which bodies state-changing requests may carry.
    pub fn bodies(self, bodies: Bodies) -> Self {
        self.edit(|c| c.bodies = bodies)
    }

    /// The tower layer.
    pub fn layer(self) -> CsrfLayer {
        CsrfLayer(self)
    }

    /// Checks a request's method and headers as the layer does.
    ///
    /// # Errors
    ///
    /// The refusal the layer would answer with.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Rejection> {
        let c = &*self.0;
        if !c.hosts.is_empty() {
            let host = request_host(headers);
            if !host.is_some_and(|h| c.hosts.iter().any(|allowed| allowed == &h)) {
                return Err(Rejection::new(
                    StatusCode::MISDIRECTED_REQUEST,
                    "bad_host",
                    "this server does not answer for that Host",
                ));
            }
        }
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let ok_type = match media_type(headers).as_deref() {
            Some("application/json") => true,
            Some("application/x-www-form-urlencoded") => c.bodies == Bodies::JsonOrForm,
            _ => false,
        };
        if !ok_type {
            return Err(Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                match c.bodies {
                    Bodies::Json => "send the body as application/json",
                    Bodies::JsonOrForm => {
                        "send the body as application/json or application/x-www-form-urlencoded"
                    }
                },
            ));
        }
        check_origin(headers, &c.origins)
    }
}

/// The request's `Host`, lower-cased.
fn request_host(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
}

/// The media type of `Content-Type`, lower-cased, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// Whether the request carries a browser's signals (`Origin` or
/// `Sec-Fetch-Site`).
pub(crate) fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site")
}

/// The origin check of a state-changing request: its `Origin`, when
/// given, is the request's own (same scheme-less authority as `Host`) or
/// in `allowed`; without an `Origin`, `Sec-Fetch-Site` must not say the
/// request is cross-site or same-site.
///
/// # Errors
///
/// A 403 `cross_site` refusal.
pub(crate) fn check_origin(
    headers: &HeaderMap,
    allowed: &OriginAllowlist,
) -> Result<(), Rejection> {
    let refuse = || {
        Rejection::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "requests from other sites are refused",
        )
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return Err(refuse());
        };
        if allowed.allows_str(origin) {
            return Ok(());
        }
        let own = request_host(headers).is_some_and(|host| {
            url::Url::parse(origin).ok().is_some_and(|u| {
                let authority = match (u.host_str(), u.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_owned(),
                    _ => return false,
                };
                matches!(u.scheme(), "http" | "https") && authority.eq_ignore_ascii_case(&host)
            })
        });
        return if own { Ok(()) } else { Err(refuse()) };
    }
    match headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("same-origin" | "none") => Ok(()),
        Some(_) => Err(refuse()),
    }
}

/// The layer of a [`CsrfGuard`].
#[derive(Debug, Clone)]
pub struct CsrfLayer(CsrfGuard);

impl<S> tower::Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService {
            inner,
            guard: self.0.clone(),
        }
    }
}

/// The service of a [`CsrfLayer`].
#[derive(Clone)]
pub struct CsrfService<S> {
    inner: S,
    guard: CsrfGuard,
}

impl<S> fmt::Debug for CsrfService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfService")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl<S, B> tower::Service<Request<B>> for CsrfService<S>
where
    S: tower::Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.guard.check(request.method(), request.headers()) {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(refusal) => {
                tracing::info!(code = refusal.code(), "request refused by the CSRF guard");
                Either::Left(ready(Ok(refusal.into_response())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = http::HeaderValue::from_str(v) {
                h.append(*k, v);
            }
        }
        h
    }

    fn guard() -> CsrfGuard {
        match OriginAllowlist::parse(["https://crm.example"]) {
            Ok(list) => CsrfGuard::new(list).hosts(["crm.example", "127.0.0.1:8080"]),
            Err(e) => panic!("{e}"),
        }
    }

    fn code(r: Result<(), Rejection>) -> &'static str {
        r.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn simple_cross_site_requests_are_refused() {
        let g = guard();
        let post = Method::POST;
        // text/plain fetch and a plain form, from an attacker's page.
        for ct in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
        ] {
            let h = headers(&[
                ("host", "crm.example"),
                ("origin", "https://evil.example"),
                ("content-type", ct),
            ]);
            assert_eq!(code(g.check(&post, &h)), "unsupported_media_type", "{ct}");
        }
        // No content type at all.
        let h = headers(&[("host", "crm.example")]);
        assert_eq!(code(g.check(&post, &h)), "unsupported_media_type");
        // JSON from another origin (a preflight the guard never granted,
        // or an old browser).
        let h = headers(&[
            ("host", "crm.example"),
            ("origin", "https://evil.example"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(code(g.check(&post, &h)), "cross_site");
        let h = headers(&[
            ("host", "crm.example"),
            ("origin", "null"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(code(g.check(&post, &h)), "cross_site");
        let h = headers(&[
            ("host", "crm.example"),
            ("sec-fetch-site", "cross-site"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(code(g.check(&post, &h)), "cross_site");
        let h = headers(&[
            ("host", "crm.example"),
            ("sec-fetch-site", "same-site"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(code(g.check(&post, &h)), "cross_site");
    }

    #[test]
    fn own_and_allowed_origins_pass() {
        let g = guard();
        let post = Method::POST;
        for (host, origin) in [
            ("crm.example", "https://crm.example"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ] {
            let h = headers(&[
                ("host", host),
                ("origin", origin),
                ("content-type", "application/json; charset=utf-8"),
                ("sec-fetch-site", "same-origin"),
            ]);
            assert_eq!(code(g.check(&post, &h)), "ok", "{origin}");
        }
        // curl: no browser signals, JSON.
        let h = headers(&[
            ("host", "crm.example"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(code(g.check(&post, &h)), "ok");
        // Reads are not checked for content or origin.
        let h = headers(&[("host", "crm.example"), ("origin", "https://evil.example")]);
        assert_eq!(code(g.check(&Method::GET, &h)), "ok");
    }

    #[test]
    fn other_hosts_are_refused_for_every_method() {
        let g = guard();
        for host in [
            "evil.example",
            "crm.example.evil.example",
            "127.0.0.1:8081",
            "",
        ] {
            let h = headers(&[("host", host), ("content-type", "application/json")]);
            assert_eq!(code(g.check(&Method::GET, &h)), "bad_host", "{host}");
            assert_eq!(code(g.check(&Method::POST, &h)), "bad_host", "{host}");
        }
        let h = headers(&[("host", "CRM.Example")]);
        assert_eq!(code(g.check(&Method::GET, &h)), "ok");
    }

    #[test]
    fn forms_pass_only_where_allowed_and_only_from_home() {
        let g = guard().bodies(Bodies::JsonOrForm);
        let form = "application/x-www-form-urlencoded";
        let h = headers(&[("host", "crm.example"), ("content-type", form)]);
        assert_eq!(code(g.check(&Method::POST, &h)), "ok");
        let h = headers(&[
            ("host", "crm.example"),
            ("content-type", form),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(code(g.check(&Method::POST, &h)), "cross_site");
    }
}
