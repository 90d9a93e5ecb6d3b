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

/// Login rate limits, per user id and per client address, counted in a
/// [`SessionStore`] so that every node behind a load balancer shares the
/// same counters (fixed windows that start at the first attempt).
///
/// Every login attempt counts, successful or not. Defaults: 10 per user
/// per 5 minutes, 60 per address per minute.
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

    /// Sets (or, with `None`, lifts) the per-user limit.
    #[must_use]
    pub fn per_user(mut self, rate: Option<Rate>) -> Self {
        self.per_user = rate;
        self
    }

    /// Sets (or, with `None`, lifts) the per-address limit.
    #[must_use]
    pub fn per_address(mut self, rate: Option<Rate>) -> Self {
        self.per_address = rate;
        self
    }

    /// Counts one attempt against `key`; `Some(wait)` when it is over
    /// `rate`.
    async fn hit(&self, key: &str, rate: Rate) -> Result<Option<Duration>, StoreError> {
        let (count, left) = self.store.incr(key, rate.window).await?;
        Ok((count > u64::from(rate.attempts)).then_some(left))
    }

    /// Counts a login attempt by `user_id` from `address`; `Some(wait)`
    /// when either limit is exceeded.
    async fn check(
        &self,
        user_id: &str,
        address: Option<IpAddr>,
    ) -> Result<Option<Duration>, StoreError> {
        if let (Some(rate), Some(ip)) = (self.per_address, address) {
            let key = format!("sso:rl:ip:{ip}");
            if let Some(wait) = self.hit(&key, rate).await? {
                return Ok(Some(wait));
            }
        }
        if let Some(rate) = self.per_user {
            // Hashed, so user ids do not sit in the store in clear.
            let key = format!("sso:rl:user:{}", sha256_hex(&user_id.to_lowercase()));
            if let Some(wait) = self.hit(&key, rate).await? {
                return Ok(Some(wait));
            }
        }
        Ok(None)
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
}

impl<P: fmt::Debug> fmt::Debug for SsoEndpoint<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoEndpoint")
            .field("provider", &self.provider)
            .field("limits", &self.limits)
            .field("address", &self.address)
            .field("max_body", &self.max_body)
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
        }
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
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
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
        SsoFailure::InvalidCredentials | SsoFailure::UnknownSession => {
            failed(StatusCode::UNAUTHORIZED, e.to_string())
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
            if let Some(limits) = &this.limits {
                let address = this.address.of(&parts.headers, &parts.extensions);
                match limits.check(&user_id, address).await {
                    Ok(None) => {}
                    Ok(Some(wait)) => {
                        tracing::warn!("sso login rate limit reached");
                        let secs = wait.as_secs().max(1);
                        let mut r = failed(
                            StatusCode::TOO_MANY_REQUESTS,
                            format!("too many login attempts; try again in {secs} s"),
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
                Ok(session) => answer(
                    StatusCode::OK,
                    &SsoResponse::logged_in(session.expose_secret(), "logged in"),
                ),
                Err(e) => failure_response(&e),
            }
        }
        SsoRequest::Logout { crm_session_id } => {
            match this.provider.logout(crm_session_id.expose()).await {
                Ok(()) => answer(StatusCode::OK, &SsoResponse::ok()),
                Err(e) => failure_response(&e),
            }
        }
        _ => failed(StatusCode::BAD_REQUEST, "unsupported command"),
    }
}
