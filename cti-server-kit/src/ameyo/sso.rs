//! The CRM's SSO endpoint, which Ameyo calls at agent login and logout.
//!
//! One URL takes both commands, as a JSON body
//! (`{"command":"login","userId":…,"password":…}`) or as the form field
//! `request=<that JSON>`, and answers `{"status","crmSessionId","message"}`.
//!
//! - [`SsoProvider`] is the contract: log in, log out, resolve a session.
//!   [`StoreSso`] implements it on a [`SessionStore`] with your
//!   [`Credentials`] check, so most CRMs only write the password check.
//! - [`SsoEndpoint`] is the route: it reads both body forms, rate-limits
//!   logins per user and per client address ([`LoginLimits`], counted in
//!   the store so every node shares them) and answers in the seed's shape.
//!
//! Session ids carry 256 random bits, are stored only as digests, checked
//! in constant time, expire after their time to live (renewed on use) and
//! end at logout.
//!
//! | outcome | status | body |
//! |---|---|---|
//! | logged in | 200 | `{"status":"success","crmSessionId":…,"message":"logged in"}` |
//! | logged out | 200 | `{"status":"success","message":""}` |
//! | wrong user or password, unknown session | 401 | `{"status":"failed","message":…}` |
//! | malformed body, unknown command | 400 | the same shape |
//! | body over the limit | 413 | the same shape |
//! | wrong content type | 415 | the same shape |
//! | too many attempts | 429 + `Retry-After` | the same shape |
//! | store or credential backend down | 503 | the same shape |
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use axum::Router;
//! use cti_server_kit::ameyo::sso::{SsoEndpoint, StaticCredentials, StoreSso};
//! use cti_server_kit::store::MemoryStore;
//!
//! let store = MemoryStore::new();
//! let users = StaticCredentials::new().user("agent", "agent");
//! let sso = StoreSso::new(store.clone(), users, Duration::from_secs(8 * 3600));
//! let app: Router = Router::new().route("/ameyo/sso", SsoEndpoint::new(sso, store).into_route());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use bytes::Bytes;
use cti_protocol::ameyo::sso::{SsoRequest, SsoResponse};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use secrecy::{ExposeSecret as _, SecretString};

use crate::secret::sha256_hex;
use crate::store::{SessionStore, SsoSessions, StoreError};

/// Why a login or logout did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SsoFailure {
    /// The user id or the password is wrong. The message sent back never
    /// says which.
    InvalidCredentials,
    /// The session is unknown, expired or already ended.
    UnknownSession,
    /// The credential or session backend failed; the text is logged, not
    /// sent.
    Unavailable(String),
}

impl fmt::Display for SsoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCredentials => f.write_str("invalid user id or password"),
            Self::UnknownSession => f.write_str("unknown or expired session"),
            Self::Unavailable(why) => write!(f, "the SSO backend is unavailable: {why}"),
        }
    }
}

impl std::error::Error for SsoFailure {}

impl From<StoreError> for SsoFailure {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// The SSO contract Ameyo relies on: `login(userId, password)` returns a
/// session (`crmSessionId`), `logout(crmSessionId)` ends it, and every
/// later CRM URL carries the session, which [`resolve`](Self::resolve)
/// checks.
///
/// [`StoreSso`] implements it on a session store; implement it yourself
/// to hand out sessions of your own.
pub trait SsoProvider: Send + Sync + 'static {
    /// Checks the credentials and starts a session.
    fn login(
        &self,
        user_id: &str,
        password: &SecretString,
    ) -> impl Future<Output = Result<SecretString, SsoFailure>> + Send;

    /// Ends a session ([`SsoFailure::UnknownSession`] when there is none).
    fn logout(&self, crm_session_id: &str) -> impl Future<Output = Result<(), SsoFailure>> + Send;

    /// The user of a live session, or `None`.
    fn resolve(
        &self,
        crm_session_id: &str,
    ) -> impl Future<Output = Result<Option<String>, SsoFailure>> + Send;
}

/// A password check: the one thing a CRM must supply to [`StoreSso`].
pub trait Credentials: Send + Sync + 'static {
    /// `Ok(Some(user))` with the canonical user id when the password is
    /// right, `Ok(None)` when it is not.
    fn verify(
        &self,
        user_id: &str,
        password: &SecretString,
    ) -> impl Future<Output = Result<Option<String>, SsoFailure>> + Send;
}

/// A fixed table of users and passwords, for demos and tests. Passwords
/// are kept as SHA-256 digests and compared in constant time; `Debug`
/// shows only the user ids.
///
/// Production CRMs check their own user store (with a slow password hash)
/// through [`Credentials`].
///
/// # Examples
///
/// ```
/// use cti_server_kit::ameyo::sso::StaticCredentials;
///
/// let users = StaticCredentials::new().user("agent", "agent");
/// assert!(!format!("{users:?}").contains("digest"));
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct StaticCredentials {
    users: BTreeMap<String, [u8; 32]>,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl StaticCredentials {
    /// No users.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a user.
    pub fn user(mut self, user_id: impl Into<String>, password: &str) -> Self {
        self.users
            .insert(user_id.into(), crate::secret::digest(password.as_bytes()));
        self
    }
}

impl Credentials for StaticCredentials {
    async fn verify(
        &self,
        user_id: &str,
        password: &SecretString,
    ) -> Result<Option<String>, SsoFailure> {
        // Compare against a dummy for unknown users, so timing does not
        // tell which user ids exist.
        let (known, stored) = match self.users.get(user_id) {
            Some(d) => (true, d),
            None => (false, &[0u8; 32]),
        };
        let same = crate::secret::matches_any(password.expose_secret().as_bytes(), [stored]);
        Ok((known && same).then(|| user_id.to_owned()))
    }
}

/// [`SsoProvider`] on a [`SessionStore`]: a [`Credentials`] check, then a
/// session in [`SsoSessions`] (256-bit ids, stored as digests, sliding
/// expiry).
pub struct StoreSso<C> {
    sessions: SsoSessions,
    credentials: C,
}

impl<C: fmt::Debug> fmt::Debug for StoreSso<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSso")
            .field("sessions", &self.sessions)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl<C: Credentials> StoreSso<C> {
    /// Sessions in `store`, living `ttl` after their last use, for users
    /// `credentials` accepts.
    pub fn new(store: impl SessionStore, credentials: C, ttl: Duration) -> Self {
        Self {
            sessions: SsoSessions::new(store, ttl),
            credentials,
        }
    }

    /// The same, on sessions already set up.
    pub fn with_sessions(sessions: SsoSessions, credentials: C) -> Self {
        Self {
            sessions,
            credentials,
        }
    }

    /// The sessions, e.g. to resolve them elsewhere.
    #[must_use]
    pub fn sessions(&self) -> &SsoSessions {
        &self.sessions
    }
}

impl<C: Credentials> SsoProvider for StoreSso<C> {
    async fn login(
        &self,
        user_id: &str,
        password: &SecretString,
    ) -> Result<SecretString, SsoFailure> {
        match self.credentials.verify(user_id, password).await? {
            Some(user) => Ok(self.sessions.login(&user).await?),
            None => Err(SsoFailure::InvalidCredentials),
        }
    }

    async fn logout(&self, crm_session_id: &str) -> Result<(), SsoFailure> {
        if self.sessions.logout(crm_session_id).await? {
            Ok(())
        } else {
            Err(SsoFailure::UnknownSession)
        }
    }

    async fn resolve(&self, crm_session_id: &str) -> Result<Option<String>, SsoFailure> {
        Ok(self.sessions.resolve(crm_session_id).await?)
    }
}

impl<P: SsoProvider> SsoProvider for Arc<P> {
    fn login(
        &self,
        user_id: &str,
        password: &SecretString,
    ) -> impl Future<Output = Result<SecretString, SsoFailure>> + Send {
        (**self).login(user_id, password)
    }
    fn logout(&self, crm_session_id: &str) -> impl Future<Output = Result<(), SsoFailure>> + Send {
        (**self).logout(crm_session_id)
    }
    fn resolve(
        &self,
        crm_session_id: &str,
    ) -> impl Future<Output = Result<Option<String>, SsoFailure>> + Send {
        (**self).resolve(crm_session_id)
    }
}

/// A limit: at most `attempts` in each `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Attempts allowed per window.
    pub attempts: u32,
    /// The window.
    pub window: Duration,
}

impl Rate {
    /// `attempts` per `window`.
    #[must_use]
    pub const fn new(attempts: u32, window: Duration) -> Self {
        Self { attempts, window }
    }
}

/// Login limits on failed attempts, counted in a [`SessionStore`] so
/// that every node behind a load balancer shares the same counters (fixed
/// windows that start at the first failure).
///
/// Only failures count: a user who signs in correctly uses up nothing.
/// A lockout falls where the failures come from, so nobody can lock a
/// real user out from somewhere else:
///
/// - `per_user`: failures for one user id **from one client address**
///   (default 10 per 5 minutes);
/// - `per_address`: failures from one client address whatever the user id
///   (default 60 per minute; stops one address trying many users).
///
/// While a limit is exceeded the endpoint answers 429 with `Retry-After`
/// without checking the password. When the server gives no client address
/// (see [`ClientAddress`]), every such client shares one address, so the
/// limits still hold (coarsely), and an error is logged once: serve with
/// [`crate::serve::Server`] or axum's `into_make_service_with_connect_info`.
#[derive(Clone)]
pub struct LoginLimits {
    store: Arc<dyn SessionStore>,
    per_user: Option<Rate>,
    per_address: Option<Rate>,
}

impl fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginLimits")
            .field("per_user", &self.per_user)
            .field("per_address", &self.per_address)
            .finish_non_exhaustive()
    }
}

/// Logged once per process: the per-address limit has no addresses.
static NO_ADDRESS_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl LoginLimits {
    /// The default limits, counted in `store`.
    pub fn new(store: impl SessionStore) -> Self {
        Self::with_store(Arc::new(store))
    }

    /// The default limits, counted in a shared store.
    pub fn with_store(store: Arc<dyn SessionStore>) -> Self {
        Self {
            store,
            per_user: Some(Rate::new(10, Duration::from_secs(300))),
            per_address: Some(Rate::new(60, Duration::from_secs(60))),
        }
    }

    /// Sets (or, with `None`, lifts) the limit on one user id's failures
    /// from one address.
    #[must_use]
    pub fn per_user(mut self, rate: Option<Rate>) -> Self {
        self.per_user = rate;
        self
    }

    /// Sets (or, with `None`, lifts) the limit on one address's failures.
    #[must_use]
    pub fn per_address(mut self, rate: Option<Rate>) -> Self {
        self.per_address = rate;
        self
    }

    /// The counter keys (without prefix) and their rates for an attempt.
    fn keys(&self, user_id: &str, address: Option<IpAddr>) -> Vec<(String, Rate)> {
        let address = match address {
            Some(ip) => ip.to_string(),
            None => {
                if !NO_ADDRESS_WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::error!(
                        "sso login limits: the server gives no client addresses, so every client shares one; \
                         serve with cti_server_kit::serve::Server or into_make_service_with_connect_info"
                    );
                }
                "unknown".to_owned()
            }
        };
        let mut keys = Vec::with_capacity(2);
        if let Some(rate) = self.per_address {
            keys.push((format!("ip:{address}"), rate));
        }
        if let Some(rate) = self.per_user {
            // Hashed, so user ids do not sit in the store in clear.
            let who = sha256_hex(&format!("{}\u{0}{address}", user_id.to_lowercase()));
            keys.push((format!("ua:{who}"), rate));
        }
        keys
    }

    /// `Some(wait)` while `user_id` from `address` is locked out.
    async fn locked(
        &self,
        user_id: &str,
        address: Option<IpAddr>,
    ) -> Result<Option<Duration>, StoreError> {
        let now = unix_ms();
        for (key, _) in self.keys(user_id, address) {
            if let Some(v) = self.store.get(&format!("sso:lock:{key}")).await? {
                let until = std::str::from_utf8(&v.value)
                    .ok()
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0);
                if until > now {
                    return Ok(Some(Duration::from_millis(until - now)));
                }
            }
        }
        Ok(None)
    }

    /// Counts a failed login; locks out where a limit is passed.
    async fn failed(&self, user_id: &str, address: Option<IpAddr>) -> Result<(), StoreError> {
        for (key, rate) in self.keys(user_id, address) {
            let (count, left) = self
                .store
                .incr(&format!("sso:rl:{key}"), rate.window)
                .await?;
            if count >= u64::from(rate.attempts) {
                let until =
                    unix_ms().saturating_add(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
                let lock = format!("sso:lock:{key}");
                if !self
                    .store
                    .insert_new(&lock, Bytes::from(until.to_string()), left)
                    .await?
                {
                    tracing::debug!("sso lockout already in force");
                }
            }
        }
        Ok(())
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The browser session cookie of a CRM whose agents sign in through
/// [`SsoEndpoint`]: set on a successful login, cleared at logout, and read
/// by [`RequireSession`].
///
/// It is `HttpOnly` (page scripts never see the session id),
/// `SameSite=Lax` (cross-site pages cannot post with it; a screen pop
/// opened from the vendor's application still carries it), `Path=/`, and
/// `Secure` unless [`secure(false)`](Self::secure) is set for plain-HTTP
/// development on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct SessionCookie {
    name: String,
    secure: bool,
    max_age: Option<Duration>,
}

impl SessionCookie {
    /// A cookie called `name` (letters, digits, `-` and `_`; anything
    /// else is dropped from the name).
    pub fn new(name: &str) -> Self {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        Self {
            name: if name.is_empty() {
                "cti_session".into()
            } else {
                name
            },
            secure: true,
            max_age: None,
        }
    }

    /// Whether the cookie is `Secure` (sent over HTTPS only); `true` by
    /// default.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// How long the browser keeps it (by default, until the browser
    /// closes; the session's own expiry applies either way).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The cookie's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    fn attributes(&self) -> String {
        let mut a = String::from("; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            a.push_str("; Secure");
        }
        a
    }

    /// The `Set-Cookie` value that stores `session_id`, or `None` when the
    /// id is not a valid cookie value.
    #[must_use]
    pub fn set_value(&self, session_id: &str) -> Option<HeaderValue> {
        if session_id.is_empty()
            || !session_id
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
        {
            return None;
        }
        let age = self
            .max_age
            .map(|a| format!("; Max-Age={}", a.as_secs()))
            .unwrap_or_default();
        HeaderValue::try_from(format!(
            "{}={session_id}{}{age}",
            self.name,
            self.attributes()
        ))
        .ok()
    }

    /// The `Set-Cookie` value that removes the cookie.
    #[must_use]
    pub fn clear_value(&self) -> HeaderValue {
        HeaderValue::try_from(format!("{}={}; Max-Age=0", self.name, self.attributes()))
            .unwrap_or_else(|_| HeaderValue::from_static("cti_session=; Max-Age=0; Path=/"))
    }

    /// The session id the request's `Cookie` headers carry, if any.
    #[must_use]
    pub fn read<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == self.name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The signed-in user, put in the request's extensions by
/// [`RequireSession`]; also an extractor (401 without it).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The user id the session belongs to.
    pub user_id: String,
    /// A digest of the session id, to bind other state (bridge pages,
    /// say) to this session without keeping the id itself.
    pub session_digest: String,
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SignedIn {
    type Rejection = crate::Rejection;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .ok_or_else(not_signed_in)
    }
}

fn not_signed_in() -> crate::Rejection {
    crate::Rejection::new(StatusCode::UNAUTHORIZED, "not_signed_in", "sign in first")
}

/// A layer that resolves the [`SessionCookie`] through an
/// [`SsoProvider`] and puts [`SignedIn`] in the request's extensions:
/// requests without a live session get 401 `not_signed_in`, unless the
/// layer is [`optional`](Self::optional) (for a page that shows a sign-in
/// form instead).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use cti_server_kit::ameyo::sso::{RequireSession, SessionCookie, SignedIn, SsoEndpoint, StaticCredentials, StoreSso};
/// use cti_server_kit::store::MemoryStore;
///
/// let store = MemoryStore::new();
/// let sso = Arc::new(StoreSso::new(store.clone(), StaticCredentials::new().user("agent", "agent"), Duration::from_secs(3600)));
/// let cookie = SessionCookie::new("crm_session");
/// let app: Router = Router::new()
///     .route("/api/me", get(|who: SignedIn| async move { who.user_id }))
///     .layer(RequireSession::new(Arc::clone(&sso), cookie.clone()))
///     .route("/ameyo/sso", SsoEndpoint::new(sso, store).session_cookie(cookie).into_route());
/// ```
pub struct RequireSession<P> {
    provider: Arc<P>,
    cookie: SessionCookie,
    optional: bool,
}

impl<P> Clone for RequireSession<P> {
    fn clone(&self) -> Self {
        Self {
            provider: Arc::clone(&self.provider),
            cookie: self.cookie.clone(),
            optional: self.optional,
        }
    }
}

impl<P> fmt::Debug for RequireSession<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireSession")
            .field("cookie", &self.cookie)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

impl<P: SsoProvider> RequireSession<P> {
    /// Requires a live session in `cookie`, resolved by `provider`.
    pub fn new(provider: Arc<P>, cookie: SessionCookie) -> Self {
        Self {
            provider,
            cookie,
            optional: false,
        }
    }

    /// Lets requests without a session through (without [`SignedIn`]).
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

impl<S, P> tower::Layer<S> for RequireSession<P> {
    type Service = SessionService<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`RequireSession`].
pub struct SessionService<S, P> {
    inner: S,
    layer: RequireSession<P>,
}

impl<S: Clone, P> Clone for SessionService<S, P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S, P> fmt::Debug for SessionService<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl<S, P, B> tower::Service<http::Request<B>> for SessionService<S, P>
where
    S: tower::Service<http::Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    P: SsoProvider,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The ready service goes with this request; a fresh clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let id = layer.cookie.read(request.headers()).map(str::to_owned);
            let user = match &id {
                Some(id) => match layer.provider.resolve(id).await {
                    Ok(user) => user,
                    Err(e) => {
                        return Ok(failure_response(&e));
                    }
                },
                None => None,
            };
            match (user, id) {
                (Some(user_id), Some(id)) => {
                    request.extensions_mut().insert(SignedIn {
                        user_id,
                        session_digest: sha256_hex(&id),
                    });
                }
                _ if layer.optional => {}
                _ => {
                    use axum::response::IntoResponse as _;
                    return Ok(not_signed_in().into_response());
                }
            }
            inner.call(request).await
        })
    }
}

/// Where the client address for the per-address limit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAddress {
    /// The TCP peer (axum's `ConnectInfo<SocketAddr>`; serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`). The default.
    /// Without it, the per-address limit does not apply.
    #[default]
    Peer,
    /// The last address of `X-Forwarded-For`, as appended by the one
    /// trusted reverse proxy in front of the server, falling back to the
    /// peer.
    LastForwardedFor,
}

impl ClientAddress {
    fn of(self, headers: &HeaderMap, extensions: &http::Extensions) -> Option<IpAddr> {
        let peer = || {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        };
        match self {
            Self::Peer => peer(),
            Self::LastForwardedFor => headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
                .or_else(peer),
        }
    }
}

/// The SSO route: reads Ameyo's two body forms, applies [`LoginLimits`]
/// and answers in the seed's JSON shape (see the [module docs](self)).
#[must_use]
pub struct SsoEndpoint<P> {
    provider: P,
    limits: Option<LoginLimits>,
    address: ClientAddress,
    max_body: usize,
    cookie: Option<SessionCookie>,
    origins: cti_protocol::origin::OriginAllowlist,
}

impl<P: fmt::Debug> fmt::Debug for SsoEndpoint<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoEndpoint")
            .field("provider", &self.provider)
            .field("limits", &self.limits)
            .field("address", &self.address)
            .field("max_body", &self.max_body)
            .field("cookie", &self.cookie)
            .field("origins", &self.origins)
            .finish()
    }
}

/// The longest user id accepted.
const MAX_USER_ID: usize = 256;
/// The longest password accepted.
const MAX_PASSWORD: usize = 1024;

impl<P: SsoProvider> SsoEndpoint<P> {
    /// The route for `provider`, with the default [`LoginLimits`] counted
    /// in `limits_store` and a 16 KiB body limit.
    pub fn new(provider: P, limits_store: impl SessionStore) -> Self {
        Self {
            provider,
            limits: Some(LoginLimits::new(limits_store)),
            address: ClientAddress::default(),
            max_body: 16 * 1024,
            cookie: None,
            origins: cti_protocol::origin::OriginAllowlist::new(),
        }
    }

    /// Also signs the browser in: a successful login sets `cookie` and a
    /// logout clears it (see [`SessionCookie`], [`RequireSession`]).
    pub fn session_cookie(mut self, cookie: SessionCookie) -> Self {
        self.cookie = Some(cookie);
        self
    }

    /// Browser origins, besides the endpoint's own, whose pages may post
    /// here. Ameyo's server sends no `Origin` and is not affected; a
    /// request from a browser (with `Origin` or `Sec-Fetch-Site`) from any
    /// other site gets 403, and must send JSON or a form.
    pub fn browser_origins(mut self, origins: cti_protocol::origin::OriginAllowlist) -> Self {
        self.origins = origins;
        self
    }

    /// Replaces (or, with `None`, removes) the login limits.
    pub fn limits(mut self, limits: Option<LoginLimits>) -> Self {
        self.limits = limits;
        self
    }

    /// Where the client address comes from.
    pub fn client_address(mut self, address: ClientAddress) -> Self {
        self.address = address;
        self
    }

    /// The largest body accepted (16 KiB by default).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The `POST` route, to mount at the path Ameyo is configured with.
    pub fn into_route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        post(handle::<P>).with_state(Arc::new(self))
    }
}

fn answer(status: StatusCode, body: &SsoResponse) -> Response {
    let mut response = super::vendor_json(status, body, None, &body.message);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn failed(status: StatusCode, message: impl Into<String>) -> Response {
    answer(status, &SsoResponse::failed(message))
}

/// [`failed`], boxed for `Result`s (a `Response` is large).
fn rejected(status: StatusCode, message: impl Into<String>) -> Box<Response> {
    Box::new(failed(status, message))
}

/// Reads the request from a JSON body or the form field `request=`.
fn read_request(headers: &HeaderMap, body: &[u8]) -> Result<SsoRequest, Box<Response>> {
    let content_type = crate::csrf::media_type(headers);
    let form = match content_type.as_deref() {
        Some("application/json") => false,
        Some("application/x-www-form-urlencoded") => true,
        // Some callers send no type: tell the forms apart by their start.
        None | Some("" | "text/plain") => !body.trim_ascii_start().starts_with(b"{"),
        Some(other) => {
            return Err(rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content type `{}` is not accepted; send application/json or application/x-www-form-urlencoded",
                    other.chars().take(60).collect::<String>()
                ),
            ));
        }
    };
    let json: std::borrow::Cow<'_, [u8]> = if form {
        let mut request = None;
        for (k, v) in url::form_urlencoded::parse(body) {
            if k == "request" {
                if request.is_some() {
                    return Err(rejected(
                        StatusCode::BAD_REQUEST,
                        "the `request` field is given more than once",
                    ));
                }
                request = Some(v.into_owned());
            }
        }
        match request {
            Some(r) => std::borrow::Cow::Owned(r.into_bytes()),
            None => {
                return Err(rejected(
                    StatusCode::BAD_REQUEST,
                    "the form has no `request` field",
                ));
            }
        }
    } else {
        std::borrow::Cow::Borrowed(body)
    };
    let request: SsoRequest = serde_json::from_slice(&json).map_err(|e| {
        let what = if e.is_data() {
            format!("the request is not a login or logout: {e}")
        } else {
            format!("the request is not valid JSON: {e}")
        };
        rejected(StatusCode::BAD_REQUEST, what)
    })?;
    match &request {
        SsoRequest::Login { user_id, password } => {
            if user_id.is_empty()
                || user_id.len() > MAX_USER_ID
                || user_id.chars().any(char::is_control)
            {
                return Err(rejected(
                    StatusCode::BAD_REQUEST,
                    format!("`userId` must be 1 to {MAX_USER_ID} bytes without control characters"),
                ));
            }
            if password.expose().len() > MAX_PASSWORD {
                return Err(rejected(
                    StatusCode::BAD_REQUEST,
                    format!("`password` is longer than {MAX_PASSWORD} bytes"),
                ));
            }
        }
        SsoRequest::Logout { crm_session_id } => {
            if crm_session_id.expose().is_empty() {
                return Err(rejected(StatusCode::BAD_REQUEST, "`crmSessionId` is empty"));
            }
        }
        _ => return Err(rejected(StatusCode::BAD_REQUEST, "unsupported command")),
    }
    Ok(request)
}

fn failure_response(e: &SsoFailure) -> Response {
    match e {
        // The seed's answer to a refused login or logout: HTTP 200 with
        // `{"status":"failed","message":…}`. Ameyo reads the status
        // member, not the HTTP status.
        SsoFailure::InvalidCredentials | SsoFailure::UnknownSession => {
            failed(StatusCode::OK, e.to_string())
        }
        SsoFailure::Unavailable(why) => {
            tracing::error!(error = %why, "sso backend unavailable");
            failed(
                StatusCode::SERVICE_UNAVAILABLE,
                "the SSO service is unavailable; try again later",
            )
        }
    }
}

async fn handle<P: SsoProvider>(
    State(this): State<Arc<SsoEndpoint<P>>>,
    request: Request,
) -> Response {
    let method = request.method().clone();
    crate::in_span("ameyo.sso", &method, respond(&this, request)).await
}

async fn respond<P: SsoProvider>(this: &SsoEndpoint<P>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if crate::csrf::from_browser(&parts.headers) {
        // A browser's request: from this site only, and never a body a
        // cross-site form or simple fetch could send unnoticed.
        if crate::csrf::check_origin(&parts.headers, &this.origins).is_err() {
            return failed(
                StatusCode::FORBIDDEN,
                "requests from other sites are refused",
            );
        }
        if !matches!(
            crate::csrf::media_type(&parts.headers).as_deref(),
            Some("application/json" | "application/x-www-form-urlencoded")
        ) {
            return failed(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/json or application/x-www-form-urlencoded",
            );
        }
    }
    let body: Bytes = match axum::body::to_bytes(Body::new(body), this.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return failed(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than {} bytes or was cut off",
                    this.max_body
                ),
            );
        }
    };
    let request = match read_request(&parts.headers, &body) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    match request {
        SsoRequest::Login { user_id, password } => {
            let address = this.address.of(&parts.headers, &parts.extensions);
            if let Some(limits) = &this.limits {
                match limits.locked(&user_id, address).await {
                    Ok(None) => {}
                    Ok(Some(wait)) => {
                        tracing::warn!("sso login refused while locked out");
                        let secs = wait.as_secs().max(1);
                        let mut r = failed(
                            StatusCode::TOO_MANY_REQUESTS,
                            format!("too many failed logins; try again in {secs} s"),
                        );
                        r.headers_mut()
                            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                        return r;
                    }
                    Err(e) => return failure_response(&SsoFailure::from(e)),
                }
            }
            let password = SecretString::from(password.expose().to_owned());
            match this.provider.login(&user_id, &password).await {
                Ok(session) => {
                    let mut r = answer(
                        StatusCode::OK,
                        &SsoResponse::logged_in(session.expose_secret(), "logged in"),
                    );
                    if let Some(cookie) = &this.cookie {
                        match cookie.set_value(session.expose_secret()) {
                            Some(v) => {
                                r.headers_mut().append(header::SET_COOKIE, v);
                            }
                            None => tracing::error!("the session id is not a valid cookie value"),
                        }
                    }
                    r
                }
                Err(e) => {
                    if e == SsoFailure::InvalidCredentials
                        && let Some(limits) = &this.limits
                        && let Err(e) = limits.failed(&user_id, address).await
                    {
                        return failure_response(&SsoFailure::from(e));
                    }
                    failure_response(&e)
                }
            }
        }
        SsoRequest::Logout { crm_session_id } => {
            let mut r = match this.provider.logout(crm_session_id.expose()).await {
                Ok(()) => answer(StatusCode::OK, &SsoResponse::ok()),
                Err(e) => failure_response(&e),
            };
            if let Some(cookie) = &this.cookie
                && cookie.read(&parts.headers) == Some(crm_session_id.expose())
            {
                r.headers_mut()
                    .append(header::SET_COOKIE, cookie.clear_value());
            }
            r
        }
        _ => failed(StatusCode::BAD_REQUEST, "unsupported command"),
    }
}
