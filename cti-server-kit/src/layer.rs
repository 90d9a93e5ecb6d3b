//! tower layers that set the headers an embed needs: who may frame a page
//! ([`FrameAncestors`]), what a host page may load and run
//! ([`HostPageCsp`], with a fresh nonce per response) and which powerful
//! features a page and its frames may use ([`PermissionsPolicy`]).
//!
//! Each policy is a value, built once, in the style of tower-http's
//! `AllowOrigin`; [`PolicyLayer`] applies it. All three *merge* with the
//! headers the inner service already set instead of clobbering them:
//!
//! - `Content-Security-Policy`: every enforced policy in the response is
//!   edited in place, keeping its other directives. A response without
//!   one gets a new header. `Content-Security-Policy-Report-Only` is left
//!   alone: it never blocks anything.
//! - `Permissions-Policy`: features this layer does not name are kept;
//!   the ones it names are replaced. A header that is not a valid
//!   structured dictionary is ignored by browsers, so it is replaced.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, routing::get};
//! use cti_protocol::embed::Permission;
//! use cti_protocol::origin::{Origin, OriginAllowlist};
//! use cti_server_kit::layer::{FrameAncestors, HostPageCsp, PermissionsPolicy};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let zoom = Origin::parse("https://zoom.us")?;
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "host page" }))
//!     .layer(HostPageCsp::new().frame_origin(&zoom).layer())
//!     .layer(
//!         PermissionsPolicy::new()
//!             .allow(Permission::Microphone, true, [zoom.clone()])
//!             .deny(Permission::Geolocation)
//!             .layer(),
//!     )
//!     .layer(FrameAncestors::list(&OriginAllowlist::parse(["https://crm.example"])?).layer());
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use cti_protocol::embed::{EmbedFrame, Permission};
use cti_protocol::origin::{Origin, OriginAllowlist};
use http::header::{CONTENT_SECURITY_POLICY, HeaderName, HeaderValue, X_FRAME_OPTIONS};
use http::{HeaderMap, Request, Response};
use sfv::FieldType as _;
use tower::{Layer, Service};

use crate::csp::{Policy, join_header};

/// The `Permissions-Policy` header name.
pub const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");

/// A response-header policy that [`PolicyLayer`] applies.
///
/// `on_request` runs before the inner service and may leave values in the
/// request's extensions (the CSP nonce does); what it returns is handed to
/// `on_response`, which edits the response headers.
pub trait HeaderPolicy: Clone + Send + Sync + 'static {
    /// What `on_request` hands to `on_response`.
    type Pending: Send + 'static;
    /// Called before the inner service sees the request.
    fn on_request<B>(&self, request: &mut Request<B>) -> Self::Pending;
    /// Called with the inner service's response headers.
    fn on_response(&self, pending: Self::Pending, headers: &mut HeaderMap);
}

/// A [`Layer`] that applies a [`HeaderPolicy`] to every response.
#[derive(Debug, Clone)]
pub struct PolicyLayer<P> {
    // Shared by every service this layer makes (axum calls `layer` once
    // per route) and by every request they serve.
    policy: Arc<P>,
}

impl<P> PolicyLayer<P> {
    /// A layer for `policy`.
    pub fn new(policy: P) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl<S, P> Layer<S> for PolicyLayer<P> {
    type Service = PolicyService<S, P>;
    fn layer(&self, inner: S) -> Self::Service {
        PolicyService {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

/// The service [`PolicyLayer`] produces.
#[derive(Debug, Clone)]
pub struct PolicyService<S, P> {
    inner: S,
    // One reference count per request, however many parts the policy has.
    policy: Arc<P>,
}

impl<S, P, ReqB, ResB> Service<Request<ReqB>> for PolicyService<S, P>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    P: HeaderPolicy,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = PolicyFuture<S::Future, P>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let pending = self.policy.on_request(&mut request);
        PolicyFuture {
            inner: self.inner.call(request),
            pending: Some((Arc::clone(&self.policy), pending)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`PolicyService`].
    pub struct PolicyFuture<F, P: HeaderPolicy> {
        #[pin]
        inner: F,
        pending: Option<(Arc<P>, P::Pending)>,
    }
}

impl<F, P, B, E> Future for PolicyFuture<F, P>
where
    F: Future<Output = Result<Response<B>, E>>,
    P: HeaderPolicy,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.poll(cx) {
            Poll::Ready(Ok(r)) => r,
            other => return other,
        };
        if let Some((policy, pending)) = this.pending.take() {
            policy.on_response(pending, response.headers_mut());
        }
        Poll::Ready(Ok(response))
    }
}

/// Edits every enforced CSP policy in `headers` with `edit`; when there is
/// none, adds `fresh` as a new header.
fn edit_csp(headers: &mut HeaderMap, fresh: impl FnOnce() -> String, edit: impl Fn(&mut Policy)) {
    // Bytes outside ASCII cannot form a directive name or a matching
    // source, so reading them lossily changes nothing a browser would
    // enforce; dropping such a header instead would silently lift the
    // application's whole policy.
    let existing: Vec<Policy> = headers
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .flat_map(|v| Policy::parse_header(&String::from_utf8_lossy(v.as_bytes())))
        .collect();
    headers.remove(CONTENT_SECURITY_POLICY);
    let value = if existing.is_empty() {
        fresh()
    } else {
        let mut policies = existing;
        for p in &mut policies {
            edit(p);
        }
        join_header(&policies)
    };
    match HeaderValue::try_from(value) {
        Ok(v) => {
            headers.insert(CONTENT_SECURITY_POLICY, v);
        }
        Err(_) => {
            // Only reachable with non-visible ASCII smuggled into the
            // policy; fail closed.
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
        }
    }
}

// ---------------------------------------------------------------------
// frame-ancestors
// ---------------------------------------------------------------------

type AncestorFn = dyn Fn(&RequestHead<'_>) -> OriginAllowlist + Send + Sync;

/// A borrowed view of a request's head, for per-request policies.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// The method.
    pub method: &'a http::Method,
    /// The URI.
    pub uri: &'a http::Uri,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The extensions (what earlier layers, such as authentication, left).
    pub extensions: &'a http::Extensions,
}

enum Ancestors {
    Fixed {
        sources: Vec<String>,
        xfo: Xfo,
        fresh: Option<HeaderValue>,
    },
    Dynamic {
        f: Arc<AncestorFn>,
        with_self: bool,
    },
}

/// What [`FrameAncestors`] decided for one request (opaque).
#[derive(Debug)]
pub struct AncestorsPending(Option<(Vec<String>, Xfo)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Xfo {
    Deny,
    SameOrigin,
    Remove,
}

/// Who may frame a page: CSP `frame-ancestors`, built from an
/// [`OriginAllowlist`].
///
/// The layer sets `frame-ancestors` in every enforced CSP of the
/// response (replacing the directive where the application set one) and
/// handles `X-Frame-Options`, which would otherwise conflict: it is
/// removed when other origins may frame the page, and set to `DENY` or
/// `SAMEORIGIN` for [`none`](Self::none) and
/// [`self_only`](Self::self_only), for browsers too old to know CSP.
///
/// # Examples
///
/// ```
/// use cti_protocol::origin::OriginAllowlist;
/// use cti_server_kit::layer::FrameAncestors;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let crm = OriginAllowlist::parse(["https://*.crm.example", "https://crm.example"])?;
/// let policy = FrameAncestors::list(&crm).and_self();
/// assert_eq!(
///     policy.directive_value(),
///     Some("'self' https://*.crm.example https://crm.example".to_owned())
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FrameAncestors(Arc<Ancestors>);

impl fmt::Debug for FrameAncestors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Ancestors::Fixed { sources, .. } => {
                f.debug_tuple("FrameAncestors").field(sources).finish()
            }
            Ancestors::Dynamic { .. } => f.write_str("FrameAncestors(<per request>)"),
        }
    }
}

impl FrameAncestors {
    /// No one may frame the page.
    #[must_use]
    pub fn none() -> Self {
        Self(Arc::new(fixed(vec!["'none'".into()], Xfo::Deny)))
    }

    /// Only pages of the same origin may frame the page.
    #[must_use]
    pub fn self_only() -> Self {
        Self(Arc::new(fixed(vec!["'self'".into()], Xfo::SameOrigin)))
    }

    /// The origins of `allowlist` may frame the page. An empty list is
    /// the same as [`none`](Self::none).
    #[must_use]
    pub fn list(allowlist: &OriginAllowlist) -> Self {
        if allowlist.is_empty() {
            return Self::none();
        }
        Self(Arc::new(fixed(allowlist.patterns().collect(), Xfo::Remove)))
    }

    /// Decides per request, for example per tenant. `f` sees the request
    /// head; an empty allowlist means no one (or only the same origin,
    /// after [`and_self`](Self::and_self)).
    pub fn per_request<F>(f: F) -> Self
    where
        F: Fn(&RequestHead<'_>) -> OriginAllowlist + Send + Sync + 'static,
    {
        Self(Arc::new(Ancestors::Dynamic {
            f: Arc::new(f),
            with_self: false,
        }))
    }

    /// Also allows the page's own origin.
    #[must_use]
    pub fn and_self(self) -> Self {
        match &*self.0 {
            Ancestors::Fixed { sources, xfo, .. } => {
                if *sources == ["'none'"] {
                    return Self::self_only();
                }
                let mut sources = sources.clone();
                if !sources.iter().any(|s| s == "'self'") {
                    sources.insert(0, "'self'".into());
                }
                Self(Arc::new(fixed(sources, *xfo)))
            }
            Ancestors::Dynamic { f, .. } => Self(Arc::new(Ancestors::Dynamic {
                f: Arc::clone(f),
                with_self: true,
            })),
        }
    }

    /// The `frame-ancestors` value this policy sets, when it is fixed.
    #[must_use]
    pub fn directive_value(&self) -> Option<String> {
        match &*self.0 {
            Ancestors::Fixed { sources, .. } => Some(sources.join(" ")),
            Ancestors::Dynamic { .. } => None,
        }
    }

    /// A layer applying this policy.
    #[must_use]
    pub fn layer(self) -> PolicyLayer<Self> {
        PolicyLayer::new(self)
    }
}

impl HeaderPolicy for FrameAncestors {
    type Pending = AncestorsPending;

    fn on_request<B>(&self, request: &mut Request<B>) -> Self::Pending {
        match &*self.0 {
            Ancestors::Fixed { .. } => AncestorsPending(None),
            Ancestors::Dynamic { f, with_self } => {
                let head = RequestHead {
                    method: request.method(),
                    uri: request.uri(),
                    headers: request.headers(),
                    extensions: request.extensions(),
                };
                let allow = f(&head);
                let mut sources: Vec<String> = Vec::new();
                if *with_self {
                    sources.push("'self'".into());
                }
                sources.extend(allow.patterns());
                let xfo = if sources.is_empty() {
                    sources.push("'none'".into());
                    Xfo::Deny
                } else if sources == ["'self'"] {
                    Xfo::SameOrigin
                } else {
                    Xfo::Remove
                };
                AncestorsPending(Some((sources, xfo)))
            }
        }
    }

    fn on_response(&self, pending: Self::Pending, headers: &mut HeaderMap) {
        if let (
            Ancestors::Fixed {
                xfo,
                fresh: Some(fresh),
                ..
            },
            None,
        ) = (&*self.0, &pending.0)
            && !headers.contains_key(CONTENT_SECURITY_POLICY)
        {
            // The common case: nothing to merge with.
            headers.insert(CONTENT_SECURITY_POLICY, fresh.clone());
            set_xfo(headers, *xfo);
            return;
        }
        if let (
            Ancestors::Fixed {
                xfo,
                fresh: Some(fresh),
                ..
            },
            None,
        ) = (&*self.0, &pending.0)
            && let Some(appended) = append_directive(headers, fresh)
        {
            // One policy without frame-ancestors (typically the one
            // HostPageCsp just wrote): add the directive at its end
            // without parsing the rest.
            headers.insert(CONTENT_SECURITY_POLICY, appended);
            set_xfo(headers, *xfo);
            return;
        }
        let (sources, xfo) = match (&*self.0, pending.0) {
            (_, Some((s, x))) => (s, x),
            (Ancestors::Fixed { sources, xfo, .. }, None) => (sources.clone(), *xfo),
            (Ancestors::Dynamic { .. }, None) => (vec!["'none'".into()], Xfo::Deny),
        };
        let value = sources.join(" ");
        edit_csp(
            headers,
            || format!("frame-ancestors {value}"),
            |p| p.set("frame-ancestors", sources.iter().cloned()),
        );
        set_xfo(headers, xfo);
    }
}

/// When `headers` hold exactly one CSP value, with one policy and no
/// `frame-ancestors` anywhere in its text, returns it with `directive`
/// (a whole `frame-ancestors …` directive) appended. `None` means "take
/// the general path".
fn append_directive(headers: &HeaderMap, directive: &HeaderValue) -> Option<HeaderValue> {
    let mut values = headers.get_all(CONTENT_SECURITY_POLICY).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let bytes = value.as_bytes();
    if memchr::memchr(b',', bytes).is_some() || names_frame_ancestors(bytes) {
        return None;
    }
    let trimmed = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b';'))
        .map_or(&bytes[..0], |end| &bytes[..=end]);
    let mut out = Vec::with_capacity(trimmed.len() + 2 + directive.len());
    out.extend_from_slice(trimmed);
    if !trimmed.is_empty() {
        out.extend_from_slice(b"; ");
    }
    out.extend_from_slice(directive.as_bytes());
    HeaderValue::from_maybe_shared(bytes::Bytes::from(out)).ok()
}

/// Whether `text` holds `frame-ancestors` in any case, anywhere. Every
/// occurrence has its one `-` at the same offset, and a policy has only a
/// handful of dashes, so only the places `memchr` finds a dash are
/// compared: a window-by-window comparison was most of this layer's cost
/// per response when stacked behind [`HostPageCsp`].
fn names_frame_ancestors(text: &[u8]) -> bool {
    const NAME: &[u8] = b"frame-ancestors";
    const DASH: usize = 5;
    memchr::memchr_iter(b'-', text).any(|at| {
        at.checked_sub(DASH)
            .and_then(|start| text.get(start..start + NAME.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(NAME))
    })
}

fn set_xfo(headers: &mut HeaderMap, xfo: Xfo) {
    // `insert` replaces every value already there.
    match xfo {
        Xfo::Deny => {
            headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        Xfo::SameOrigin => {
            headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        }
        Xfo::Remove => {
            headers.remove(X_FRAME_OPTIONS);
        }
    }
}

fn fixed(sources: Vec<String>, xfo: Xfo) -> Ancestors {
    let fresh = HeaderValue::try_from(format!("frame-ancestors {}", sources.join(" "))).ok();
    Ancestors::Fixed {
        sources,
        xfo,
        fresh,
    }
}

// ---------------------------------------------------------------------
// host-page CSP with a nonce
// ---------------------------------------------------------------------

/// The CSP nonce of the current response, left in the request's
/// extensions by [`HostPageCsp`]. Put it on every `<script>` the page
/// renders; it is also an axum extractor.
///
/// # Examples
///
/// ```
/// use axum::response::Html;
/// use cti_server_kit::layer::CspNonce;
///
/// async fn page(nonce: CspNonce) -> Html<String> {
///     Html(format!(r#"<script nonce="{}" src="/app.js"></script>"#, nonce.as_str()))
/// }
/// # let _ = page;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CspNonce([u8; 24]);

impl CspNonce {
    /// A fresh nonce: 144 bits from `rand`'s thread-local generator (a
    /// ChaCha12 CSPRNG seeded and periodically reseeded from the
    /// operating system), as 24 base64 characters. A system call per
    /// response would cost more than the rest of the layer.
    ///
    /// Nonces are drawn and encoded sixteen at a time into a per-thread
    /// pool, and each is handed out once; the generator keeps a buffer of
    /// its output in the same way. Like that buffer, the pool is copied
    /// into a child by `fork`, so fork before serving, not after.
    ///
    /// # Errors
    ///
    /// Never at present; the `Result` leaves room for generators that can
    /// fail.
    pub fn generate() -> Result<Self, getrandom::Error> {
        Ok(NONCES.with_borrow_mut(NoncePool::take))
    }

    /// The nonce text (base64).
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// How many nonces one draw from the generator makes. Encoding a batch
/// runs base64's bulk path once instead of its short-input path per
/// response, and calls the generator once instead of sixteen times.
const NONCE_BATCH: usize = 16;

/// Raw bytes per nonce: a multiple of 3, so that the base64 text of a
/// batch is the texts of its nonces laid end to end, without padding.
const NONCE_BYTES: usize = 18;
const NONCE_CHARS: usize = NONCE_BYTES / 3 * 4;

/// Encoded nonces not yet handed out.
struct NoncePool {
    text: [u8; NONCE_CHARS * NONCE_BATCH],
    /// Index of the next unused nonce; `NONCE_BATCH` when empty.
    next: usize,
}

impl NoncePool {
    const EMPTY: Self = Self {
        text: [0; NONCE_CHARS * NONCE_BATCH],
        next: NONCE_BATCH,
    };

    fn take(&mut self) -> CspNonce {
        if self.next >= NONCE_BATCH {
            use rand::RngCore as _;
            let mut raw = [0u8; NONCE_BYTES * NONCE_BATCH];
            rand::rng().fill_bytes(&mut raw);
            // The output is exactly as long as `text`; the length check
            // inside cannot fail.
            let _ = base64::engine::general_purpose::STANDARD.encode_slice(raw, &mut self.text);
            self.next = 0;
        }
        let mut nonce = [0u8; NONCE_CHARS];
        let at = self.next * NONCE_CHARS;
        if let Some(slot) = self.text.get_mut(at..at + NONCE_CHARS) {
            nonce.copy_from_slice(slot);
            // Handed out once: nothing of it stays behind in the pool.
            slot.fill(0);
        }
        self.next += 1;
        CspNonce(nonce)
    }
}

thread_local! {
    static NONCES: std::cell::RefCell<NoncePool> =
        const { std::cell::RefCell::new(NoncePool::EMPTY) };
}

impl fmt::Debug for CspNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A nonce is only worth something while unknown to an attacker;
        // keep it out of logs.
        f.write_str("CspNonce(<redacted>)")
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CspNonce {
    type Rejection = crate::Rejection;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CspNonce>().cloned().ok_or_else(|| {
            crate::Rejection::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "csp_nonce_missing",
                "this route needs the HostPageCsp layer, which provides the nonce",
            )
        })
    }
}

/// Per-thread memory for the header values written fresh on every
/// response (the CSP with its nonce). Values are cut from one block of
/// [`HeaderArena::BLOCK`] bytes, so a response costs a reference count
/// instead of an allocation and a free; a block is freed when the last
/// value cut from it is dropped.
struct HeaderArena(bytes::BytesMut);

impl HeaderArena {
    /// Room for a few dozen policies.
    const BLOCK: usize = 16 * 1024;

    /// `len` bytes written by `write` (which must write exactly that many;
    /// more would only start a new block early).
    fn cut(&mut self, len: usize, write: impl FnOnce(&mut bytes::BytesMut)) -> bytes::Bytes {
        if self.0.capacity() < len {
            self.0 = bytes::BytesMut::with_capacity(Self::BLOCK.max(len));
        }
        write(&mut self.0);
        self.0.split().freeze()
    }
}

thread_local! {
    static HEADER_ARENA: std::cell::RefCell<HeaderArena> =
        std::cell::RefCell::new(HeaderArena(bytes::BytesMut::new()));
}

#[derive(Debug, Clone, Default)]
struct HostCsp {
    frame_src: Vec<String>,
    connect_src: Vec<String>,
    script_src: Vec<String>,
    /// Who may frame the page; `None` is the default, `'self'` only.
    frame_ancestors: Option<Vec<String>>,
    /// A [`FrameAncestors`] policy beside this one decides framing
    /// ([`EmbedHeaders`]), so this one leaves `frame-ancestors` alone.
    ancestors_elsewhere: bool,
    extra: Vec<(String, Vec<String>)>,
    /// The fresh policy split around the nonce, built on first use.
    template: std::sync::OnceLock<(String, String)>,
}

impl HostCsp {
    fn template(&self) -> &(String, String) {
        self.template.get_or_init(|| {
            const MARK: &str = "\u{0}";
            let text = self.render_with(MARK);
            match text.split_once(MARK) {
                Some((a, b)) => (a.to_owned(), b.to_owned()),
                None => (text, String::new()),
            }
        })
    }

    /// The fresh policy for `nonce`, with an extra directive appended,
    /// cut from this thread's [`HeaderArena`].
    fn fill(&self, nonce: &CspNonce, extra: Option<&[u8]>) -> bytes::Bytes {
        let (before, after) = self.template();
        let extra_len = extra.map_or(0, |e| e.len() + 2);
        let len = before.len() + nonce.0.len() + after.len() + extra_len;
        HEADER_ARENA.with_borrow_mut(|arena| {
            arena.cut(len, |out| {
                out.extend_from_slice(before.as_bytes());
                out.extend_from_slice(&nonce.0);
                out.extend_from_slice(after.as_bytes());
                if let Some(e) = extra {
                    out.extend_from_slice(b"; ");
                    out.extend_from_slice(e);
                }
            })
        })
    }

    /// The `frame-ancestors` sources: the configured ones, or `'self'`.
    fn ancestors(&self) -> Vec<String> {
        self.frame_ancestors
            .clone()
            .unwrap_or_else(|| vec!["'self'".to_owned()])
    }

    fn render_with(&self, nonce: &str) -> String {
        let mut p = Policy::new();
        p.set("default-src", ["'self'"]);
        let mut script = vec!["'self'".to_owned(), format!("'nonce-{nonce}'")];
        script.extend(self.script_src.iter().cloned());
        p.set("script-src", script);
        if self.frame_src.is_empty() {
            p.set("frame-src", ["'none'"]);
        } else {
            p.set("frame-src", self.frame_src.iter().cloned());
        }
        let mut connect = vec!["'self'".to_owned()];
        connect.extend(self.connect_src.iter().cloned());
        p.set("connect-src", connect);
        p.set("object-src", ["'none'"]);
        p.set("base-uri", ["'none'"]);
        if !self.ancestors_elsewhere {
            p.set("frame-ancestors", self.ancestors());
        }
        for (name, values) in &self.extra {
            p.set(name, values.iter().cloned());
        }
        p.to_string()
    }
}

/// The Content-Security-Policy of a host page: scripts only with the
/// response's nonce (or from the page's own origin), frames only from the
/// vendors named, connections only to the page's own origin (which
/// includes its WebSocket) and the sources named.
///
/// Each response gets a fresh [`CspNonce`], placed in the request's
/// extensions for the handler to render.
///
/// A response without a CSP gets this policy:
///
/// ```text
/// default-src 'self'; script-src 'self' 'nonce-…'; frame-src <frames>;
/// connect-src 'self' <sources>; object-src 'none'; base-uri 'none';
/// frame-ancestors 'self'
/// ```
///
/// A host page carries personal data and buttons that act (dial, dispose),
/// so by default only its own origin may frame it (no clickjacking);
/// [`frame_ancestors`](Self::frame_ancestors) names others. Every response
/// also gets `X-Content-Type-Options: nosniff` unless it has one.
///
/// When the application already sent a CSP, the nonce, the frames and the
/// connection sources are *added* to the directives that restrict them
/// (directly or through a fallback such as `default-src`), a missing
/// `frame-ancestors` is set as above, and nothing else changes. Note that a nonce turns off `'unsafe-inline'` in
/// browsers that know nonces: that is the point of a nonce.
#[derive(Debug, Clone, Default)]
pub struct HostPageCsp(Arc<HostCsp>);

impl HostPageCsp {
    /// A policy that allows no frames yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn edit(mut self, f: impl FnOnce(&mut HostCsp)) -> Self {
        let c = Arc::make_mut(&mut self.0);
        f(c);
        c.template = std::sync::OnceLock::new();
        self
    }

    /// Allows frames from `origin`.
    #[must_use]
    pub fn frame_origin(self, origin: &Origin) -> Self {
        let o = origin.to_string();
        self.edit(|c| push_unique(&mut c.frame_src, o))
    }

    /// Allows the frame's origin.
    ///
    /// # Errors
    ///
    /// When the frame's `src` has no origin (it was checked to be an
    /// http(s) URL when the frame was built, so this is rare).
    pub fn frame(self, frame: &EmbedFrame) -> Result<Self, cti_protocol::Error> {
        Ok(self.frame_origin(&frame.origin()?))
    }

    /// Allows frames from every origin of `allowlist` (wildcards
    /// included).
    #[must_use]
    pub fn frame_allowlist(self, allowlist: &OriginAllowlist) -> Self {
        let list: Vec<String> = allowlist.patterns().collect();
        self.edit(|c| {
            for p in list {
                push_unique(&mut c.frame_src, p);
            }
        })
    }

    /// Allows connections (fetch, WebSocket) to `source`, a CSP source
    /// expression such as `https://api.example` or `wss://ws.example`.
    #[must_use]
    pub fn connect(self, source: impl Into<String>) -> Self {
        let s = source.into();
        self.edit(|c| push_unique(&mut c.connect_src, s))
    }

    /// Allows scripts from `source`, besides the nonce and `'self'`.
    #[must_use]
    pub fn script(self, source: impl Into<String>) -> Self {
        let s = source.into();
        self.edit(|c| push_unique(&mut c.script_src, s))
    }

    /// Who may frame the page (CSP `frame-ancestors` sources such as
    /// `'self'` or `https://crm.example`); `'self'` by default, and
    /// `'none'` when the list is empty.
    #[must_use]
    pub fn frame_ancestors<I, S>(self, sources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut list: Vec<String> = sources.into_iter().map(Into::into).collect();
        if list.is_empty() {
            list.push("'none'".to_owned());
        }
        self.edit(|c| c.frame_ancestors = Some(list))
    }

    /// Adds another directive to the policy sent when the application
    /// sent none (for example `img-src 'self' data:`).
    #[must_use]
    pub fn directive<I, S>(self, name: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let name = name.to_ascii_lowercase();
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        self.edit(|c| {
            c.extra.retain(|(n, _)| *n != name);
            c.extra.push((name, values));
        })
    }

    /// The policy text for a response with `nonce`, when the application
    /// sent no CSP of its own.
    #[must_use]
    pub fn render(&self, nonce: &CspNonce) -> String {
        String::from_utf8_lossy(&self.0.fill(nonce, None)).into_owned()
    }

    /// A layer applying this policy.
    #[must_use]
    pub fn layer(self) -> PolicyLayer<Self> {
        PolicyLayer::new(self)
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

impl HeaderPolicy for HostPageCsp {
    type Pending = Option<CspNonce>;

    fn on_request<B>(&self, request: &mut Request<B>) -> Self::Pending {
        match CspNonce::generate() {
            Ok(nonce) => {
                request.extensions_mut().insert(nonce.clone());
                Some(nonce)
            }
            Err(e) => {
                tracing::error!(error = %e, "no randomness for a CSP nonce; scripts will be blocked");
                None
            }
        }
    }

    fn on_response(&self, pending: Self::Pending, headers: &mut HeaderMap) {
        headers
            .entry(http::header::X_CONTENT_TYPE_OPTIONS)
            .or_insert(HeaderValue::from_static("nosniff"));
        let Some(nonce) = pending else {
            // Fail closed: without a nonce no script may run.
            headers.remove(CONTENT_SECURITY_POLICY);
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                ),
            );
            return;
        };
        if !headers.contains_key(CONTENT_SECURITY_POLICY) {
            // The common case: nothing to merge with.
            let out = self.0.fill(&nonce, None);
            if let Ok(v) = HeaderValue::from_maybe_shared(out) {
                headers.insert(CONTENT_SECURITY_POLICY, v);
                return;
            }
        }
        let c = &*self.0;
        let nonce_source = format!("'nonce-{}'", nonce.as_str());
        edit_csp(
            headers,
            || self.render(&nonce),
            |p| {
                let mut script = vec![nonce_source.clone()];
                script.extend(c.script_src.iter().cloned());
                p.add_sources("script-src", script);
                if !c.frame_src.is_empty() {
                    p.add_sources("frame-src", c.frame_src.iter().cloned());
                }
                let mut connect = vec!["'self'".to_owned()];
                connect.extend(c.connect_src.iter().cloned());
                p.add_sources("connect-src", connect);
                if !c.ancestors_elsewhere && p.get("frame-ancestors").is_none() {
                    p.set("frame-ancestors", c.ancestors());
                }
            },
        );
    }
}

// ---------------------------------------------------------------------
// Permissions-Policy
// ---------------------------------------------------------------------

/// Who may use one feature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allow {
    /// No one, not even the page itself: `feature=()`.
    None,
    /// Every origin: `feature=*`.
    All,
    /// The page itself (when `self_` is set) and these origins.
    Origins {
        /// Include the page's own origin.
        self_: bool,
        /// Other origins (frames), as serialised origins.
        origins: Vec<String>,
    },
}

/// A `Permissions-Policy` header built feature by feature.
///
/// A cross-origin frame can use the microphone only when *both* the host
/// page's policy lists the frame's origin *and* the `<iframe allow=…>`
/// attribute delegates the feature: [`for_frames`](Self::for_frames)
/// builds the first half from the same [`EmbedFrame`] that renders the
/// second.
///
/// # Examples
///
/// ```
/// use cti_protocol::embed::Permission;
/// use cti_protocol::origin::Origin;
/// use cti_server_kit::layer::PermissionsPolicy;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let zoom = Origin::parse("https://zoom.us")?;
/// let policy = PermissionsPolicy::new()
///     .allow(Permission::Microphone, true, [zoom])
///     .deny(Permission::Geolocation);
/// assert_eq!(
///     policy.header_value(),
///     Some(r#"microphone=(self "https://zoom.us"), geolocation=()"#.to_owned())
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct PermissionsPolicy(Arc<PpInner>);

#[derive(Debug, Clone, Default)]
struct PpInner {
    entries: Vec<(String, Allow)>,
    value: std::sync::OnceLock<Option<HeaderValue>>,
}

impl std::ops::Deref for PpInner {
    type Target = Vec<(String, Allow)>;
    fn deref(&self) -> &Self::Target {
        &self.entries
    }
}

impl PermissionsPolicy {
    /// An empty policy (sends nothing until a feature is named).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `feature` (any feature name, such as `clipboard-read`) to
    /// `allow`, replacing an earlier setting.
    #[must_use]
    pub fn feature(mut self, feature: &str, allow: Allow) -> Self {
        let inner = Arc::make_mut(&mut self.0);
        inner.value = std::sync::OnceLock::new();
        let list = &mut inner.entries;
        let name = feature.to_ascii_lowercase();
        match list.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = allow,
            None => list.push((name, allow)),
        }
        self
    }

    /// Allows `permission` for the page itself (when `include_self`) and
    /// for `origins`; origins already allowed are kept.
    #[must_use]
    pub fn allow<I>(self, permission: Permission, include_self: bool, origins: I) -> Self
    where
        I: IntoIterator<Item = Origin>,
    {
        let name = permission.name();
        let mut self_ = include_self;
        let mut list: Vec<String> = Vec::new();
        if let Some((_, Allow::Origins { self_: s, origins })) =
            self.0.iter().find(|(n, _)| n == name)
        {
            self_ |= *s;
            list.clone_from(origins);
        }
        for o in origins {
            if o.is_opaque() {
                continue;
            }
            let o = o.to_string();
            if !list.contains(&o) {
                list.push(o);
            }
        }
        self.feature(
            name,
            Allow::Origins {
                self_,
                origins: list,
            },
        )
    }

    /// Allows `permission` for the page itself only.
    #[must_use]
    pub fn allow_self(self, permission: Permission) -> Self {
        self.allow(permission, true, [])
    }

    /// Turns `permission` off for the page and every frame.
    #[must_use]
    pub fn deny(self, permission: Permission) -> Self {
        self.feature(permission.name(), Allow::None)
    }

    /// For each frame, allows the features of its `allow` attribute for
    /// the page itself and the frame's origin. Of the features the kit
    /// knows, those the frames don't need (microphone, camera,
    /// geolocation, display-capture, autoplay, clipboard-write) are
    /// turned off.
    ///
    /// # Errors
    ///
    /// When a frame's `src` has no origin.
    pub fn for_frames<'a, I>(frames: I) -> Result<Self, cti_protocol::Error>
    where
        I: IntoIterator<Item = &'a EmbedFrame>,
    {
        let mut policy = Self::new();
        for frame in frames {
            let origin = frame.origin()?;
            for p in &frame.allow {
                policy = policy.allow(*p, true, [origin.clone()]);
            }
            // A frame that keeps a feature on any origin (LeadDesk's
            // `microphone *`) needs the page to delegate it to any origin.
            for p in &frame.allow_any_origin {
                policy = policy.feature(p.name(), Allow::All);
            }
        }
        for p in [
            Permission::Microphone,
            Permission::Camera,
            Permission::Geolocation,
            Permission::DisplayCapture,
            Permission::Autoplay,
            Permission::ClipboardWrite,
        ] {
            if !policy.0.iter().any(|(n, _)| n == p.name()) {
                policy = policy.deny(p);
            }
        }
        Ok(policy)
    }

    fn dictionary(&self) -> sfv::Dictionary {
        let mut dict = sfv::Dictionary::new();
        for (name, allow) in self.0.iter() {
            let Ok(key) = sfv::Key::from_string(name.clone()) else {
                continue;
            };
            let entry = match allow {
                Allow::All => match sfv::Token::from_string("*".to_owned()) {
                    Ok(t) => sfv::ListEntry::Item(sfv::Item::new(t)),
                    Err(_) => continue,
                },
                Allow::None => sfv::ListEntry::InnerList(sfv::InnerList::new(Vec::new())),
                Allow::Origins { self_, origins } => {
                    let mut items = Vec::new();
                    if *self_ && let Ok(t) = sfv::Token::from_string("self".to_owned()) {
                        items.push(sfv::Item::new(t));
                    }
                    for o in origins {
                        if let Ok(s) = sfv::String::from_string(o.clone()) {
                            items.push(sfv::Item::new(s));
                        }
                    }
                    sfv::ListEntry::InnerList(sfv::InnerList::new(items))
                }
            };
            dict.insert(key, entry);
        }
        dict
    }

    /// The value for a response without a Permissions-Policy, built on
    /// first use.
    fn fresh_value(&self) -> Option<&HeaderValue> {
        self.0
            .value
            .get_or_init(|| {
                self.header_value()
                    .and_then(|v| HeaderValue::try_from(v).ok())
            })
            .as_ref()
    }

    /// The header value, or `None` for an empty policy.
    #[must_use]
    pub fn header_value(&self) -> Option<String> {
        self.dictionary().serialize()
    }

    /// A layer applying this policy.
    #[must_use]
    pub fn layer(self) -> PolicyLayer<Self> {
        PolicyLayer::new(self)
    }
}

impl HeaderPolicy for PermissionsPolicy {
    type Pending = ();

    fn on_request<B>(&self, _request: &mut Request<B>) -> Self::Pending {}

    fn on_response(&self, (): Self::Pending, headers: &mut HeaderMap) {
        // One lookup of the (non-standard, so hashed) header name serves
        // both the check and the insert.
        if let http::header::Entry::Vacant(slot) = headers.entry(PERMISSIONS_POLICY) {
            // The common case: nothing to merge with.
            if let Some(v) = self.fresh_value() {
                slot.insert(v.clone());
            }
            return;
        }
        let ours = self.dictionary();
        if ours.is_empty() {
            return;
        }
        let existing: Option<sfv::Dictionary> = {
            let values: Vec<&str> = headers
                .get_all(&PERMISSIONS_POLICY)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                None
            } else {
                // Several field lines are one comma-joined value.
                sfv::Parser::new(&values.join(", "))
                    .parse::<sfv::Dictionary>()
                    .ok()
            }
        };
        let mut merged = existing.unwrap_or_default();
        for (k, v) in ours {
            merged.insert(k, v);
        }
        headers.remove(&PERMISSIONS_POLICY);
        if let Some(text) = merged.serialize()
            && let Ok(v) = HeaderValue::try_from(text)
        {
            headers.insert(PERMISSIONS_POLICY, v);
        }
    }
}

// ---------------------------------------------------------------------
// all three in one pass
// ---------------------------------------------------------------------

/// A host page's three policies, [`HostPageCsp`], [`FrameAncestors`] and
/// [`PermissionsPolicy`], applied in one pass.
///
/// The result is the same as stacking the three layers. When the
/// application sent neither a CSP nor a Permissions-Policy (the usual
/// case for a host page), the whole CSP, `frame-ancestors` included, is
/// written from one template around the nonce, and the
/// Permissions-Policy is a precomputed value; otherwise each policy
/// merges in turn, exactly as the separate layers do.
///
/// # Examples
///
/// ```
/// use cti_protocol::embed::{EmbedFrame, ZoomHost};
/// use cti_protocol::origin::{Origin, OriginAllowlist};
/// use cti_server_kit::layer::{EmbedHeaders, FrameAncestors};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let frame = EmbedFrame::zoom(&Origin::parse("https://crm.example")?, &ZoomHost::Default)?;
/// let headers = EmbedHeaders::for_frames([&frame], FrameAncestors::self_only())?;
/// let app: axum::Router = axum::Router::new().layer(headers.layer());
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// When every route of a router is a page, wrapping the whole router is
/// cheaper than `Router::layer` (axum boxes each route once more per
/// `layer` call) and also puts the headers on its 404 page:
///
/// ```
/// use axum::{ServiceExt, extract::Request};
/// use cti_server_kit::layer::{EmbedHeaders, FrameAncestors};
/// use tower::Layer as _;
///
/// # async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let headers = EmbedHeaders::new(Default::default(), FrameAncestors::self_only(), Default::default());
/// let app = headers.layer().layer(axum::Router::new());
/// axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EmbedHeaders {
    csp: HostPageCsp,
    ancestors: FrameAncestors,
    permissions: PermissionsPolicy,
}

impl EmbedHeaders {
    /// Combines three policies.
    #[must_use]
    pub fn new(
        csp: HostPageCsp,
        ancestors: FrameAncestors,
        permissions: PermissionsPolicy,
    ) -> Self {
        Self {
            csp: csp.edit(|c| c.ancestors_elsewhere = true),
            ancestors,
            permissions,
        }
    }

    /// The CSP and Permissions-Policy derived from `frames` (each frame's
    /// origin in `frame-src`; its `allow` features for self and the
    /// frame), with `ancestors` deciding who may frame the page.
    ///
    /// # Errors
    ///
    /// When a frame's `src` has no origin.
    pub fn for_frames<'a, I>(
        frames: I,
        ancestors: FrameAncestors,
    ) -> Result<Self, cti_protocol::Error>
    where
        I: IntoIterator<Item = &'a EmbedFrame>,
    {
        let frames: Vec<&EmbedFrame> = frames.into_iter().collect();
        let mut csp = HostPageCsp::new();
        for f in &frames {
            csp = csp.frame(f)?;
        }
        let permissions = PermissionsPolicy::for_frames(frames.iter().copied())?;
        Ok(Self::new(csp, ancestors, permissions))
    }

    /// A layer applying the three policies.
    #[must_use]
    pub fn layer(self) -> PolicyLayer<Self> {
        PolicyLayer::new(self)
    }
}

impl HeaderPolicy for EmbedHeaders {
    type Pending = (Option<CspNonce>, AncestorsPending);

    fn on_request<B>(&self, request: &mut Request<B>) -> Self::Pending {
        (
            self.csp.on_request(request),
            self.ancestors.on_request(request),
        )
    }

    fn on_response(&self, (nonce, ancestors): Self::Pending, headers: &mut HeaderMap) {
        if let (
            Some(nonce),
            Ancestors::Fixed {
                xfo,
                fresh: Some(fa),
                ..
            },
            None,
        ) = (&nonce, &*self.ancestors.0, &ancestors.0)
            && let http::header::Entry::Vacant(slot) = headers.entry(CONTENT_SECURITY_POLICY)
            && let Ok(csp) =
                HeaderValue::from_maybe_shared(self.csp.0.fill(nonce, Some(fa.as_bytes())))
        {
            // The usual host page sent no CSP: ours is written whole, with
            // its frame-ancestors, and one lookup of the name serves both
            // the check and the insert. The Permissions-Policy does not
            // depend on the CSP; its own fast path writes it whole too.
            slot.insert(csp);
            set_xfo(headers, *xfo);
            self.permissions.on_response((), headers);
            return;
        }
        self.csp.on_response(nonce, headers);
        self.ancestors.on_response(ancestors, headers);
        self.permissions.on_response((), headers);
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use proptest::prelude::*;

    /// The plain window-by-window search the dash search replaces.
    fn by_windows(text: &[u8]) -> bool {
        text.windows(15)
            .any(|w| w.eq_ignore_ascii_case(b"frame-ancestors"))
    }

    #[test]
    fn finds_frame_ancestors_as_a_window_scan_does() {
        for text in [
            "frame-ancestors 'none'",
            "default-src 'self'; FRAME-Ancestors https://a.example",
            "default-src 'self'; frame-src https://a.example",
            "x-frame-ancestors",
            "frame-ancestor",
            "-frame-ancestors-",
            "rame-ancestors",
            "",
            "-",
        ] {
            assert_eq!(
                super::names_frame_ancestors(text.as_bytes()),
                by_windows(text.as_bytes()),
                "{text}"
            );
        }
    }

    proptest! {
        #[test]
        fn dash_search_agrees_with_window_scan(
            parts in prop::collection::vec(
                prop::sample::select(vec!["frame", "FRAME", "-", "ancestors", "Ancestors", "src", " ", ";", "x", "fr", "ame-an"]),
                0..12,
            )
        ) {
            let text = parts.concat();
            prop_assert_eq!(super::names_frame_ancestors(text.as_bytes()), by_windows(text.as_bytes()));
        }
    }

    #[test]
    fn nonces_are_fresh_and_well_formed() {
        // Across several batches of the per-thread pool.
        let n = 3 * super::NONCE_BATCH + 5;
        let nonces: Vec<_> = (0..n)
            .filter_map(|_| super::CspNonce::generate().ok())
            .collect();
        assert_eq!(nonces.len(), n);
        let distinct: std::collections::HashSet<_> = nonces.iter().map(|n| n.as_str()).collect();
        assert_eq!(distinct.len(), n);
        for n in &nonces {
            assert_eq!(n.as_str().len(), 24);
            assert!(
                base64::engine::general_purpose::STANDARD
                    .decode(n.as_str())
                    .is_ok_and(|v| v.len() == 18)
            );
        }
    }

    #[test]
    fn nonces_differ_between_threads() {
        let mine = super::CspNonce::generate().ok();
        let theirs = std::thread::spawn(|| super::CspNonce::generate().ok())
            .join()
            .ok()
            .flatten();
        assert!(mine.is_some() && theirs.is_some());
        assert_ne!(mine, theirs);
    }

    #[test]
    fn arena_cuts_are_independent_and_survive_new_blocks() {
        let mut arena = super::HeaderArena(bytes::BytesMut::new());
        let big = vec![b'x'; super::HeaderArena::BLOCK / 3];
        let mut kept = Vec::new();
        for i in 0..10u8 {
            // Ten values of a third of a block each: several blocks.
            let v = arena.cut(big.len() + 1, |out| {
                out.extend_from_slice(&[b'a' + i]);
                out.extend_from_slice(&big);
            });
            kept.push((i, v));
        }
        let huge = arena.cut(2 * super::HeaderArena::BLOCK, |out| {
            out.resize(2 * super::HeaderArena::BLOCK, b'z');
        });
        assert_eq!(huge.len(), 2 * super::HeaderArena::BLOCK);
        for (i, v) in kept {
            assert_eq!(v.len(), big.len() + 1);
            assert_eq!(v.first(), Some(&(b'a' + i)));
            assert!(v.iter().skip(1).all(|&b| b == b'x'));
        }
    }
}
