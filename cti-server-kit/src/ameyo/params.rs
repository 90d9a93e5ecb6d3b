//! The URLs Ameyo opens in its embedded CRM browser, as axum extractors:
//! [`KnowledgeBase`] (at agent login), [`Customer`] (on connect),
//! [`Preview`] (during preview) and [`Dispose`] (after the call), plus a
//! `crmSessionId` guard ([`CrmSession`]) and a ready-made dispose-callback
//! route ([`DisposeRoute`]).
//!
//! Each extractor parses the query with cti-protocol's typed parameters
//! (names matched without regard to case, unknown parameters kept in
//! `extra`) and rejects a missing, empty, repeated, undecodable or
//! control-character parameter with a 400 [`Rejection`] that names it.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, routing::get};
//! use cti_server_kit::ameyo::params::Customer;
//!
//! async fn screen_pop(Customer(call): Customer) -> String {
//!     format!("call {} from {}", call.crt_object_id, call.phone)
//! }
//!
//! let app: Router = Router::new().route("/ameyo/customer", get(screen_pop));
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use cti_protocol::ameyo::api::AmeyoResult;
use cti_protocol::ameyo::{CustomerParams, DisposeParams, KnowledgeBaseParams};
use futures_util::future::BoxFuture;
use http::StatusCode;
use http::request::Parts;

use super::sso::{SsoFailure, SsoProvider};
use crate::Rejection;

/// Parameters that can be read from an Ameyo URL's query.
pub trait FromAmeyoQuery: Sized + Send {
    /// What the URL is, for error messages (`"customer URL"`).
    const WHAT: &'static str;
    /// Parses the query (without the `?`).
    ///
    /// # Errors
    ///
    /// A cti-protocol URL error naming the bad parameter.
    fn from_query(query: &str) -> cti_protocol::Result<Self>;
    /// The `crmSessionId` the URL carries, if any.
    fn crm_session_id(&self) -> Option<&str>;
}

impl FromAmeyoQuery for KnowledgeBaseParams {
    const WHAT: &'static str = "knowledge-base URL";
    fn from_query(query: &str) -> cti_protocol::Result<Self> {
        KnowledgeBaseParams::from_query(query)
    }
    fn crm_session_id(&self) -> Option<&str> {
        self.crm_session_id.as_ref().map(|s| s.expose())
    }
}

impl FromAmeyoQuery for CustomerParams {
    const WHAT: &'static str = "customer URL";
    fn from_query(query: &str) -> cti_protocol::Result<Self> {
        CustomerParams::from_query(query)
    }
    fn crm_session_id(&self) -> Option<&str> {
        self.crm_session_id.as_ref().map(|s| s.expose())
    }
}

impl FromAmeyoQuery for DisposeParams {
    const WHAT: &'static str = "dispose URL";
    fn from_query(query: &str) -> cti_protocol::Result<Self> {
        DisposeParams::from_query(query)
    }
    fn crm_session_id(&self) -> Option<&str> {
        self.crm_session_id.as_ref().map(|s| s.expose())
    }
}

fn parse<T: FromAmeyoQuery>(parts: &Parts) -> Result<T, Rejection> {
    let query = parts.uri.query().unwrap_or("");
    T::from_query(query).map_err(|e| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            "bad_params",
            format!("the {} is not valid: {e}", T::WHAT),
        )
    })
}

macro_rules! extractor {
    ($(#[$doc:meta])* $name:ident, $params:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub $params);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Rejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
                parse::<$params>(parts).map(Self)
            }
        }
    };
}

extractor!(
    /// The knowledge-base URL's parameters (opened at agent login).
    KnowledgeBase,
    KnowledgeBaseParams
);
extractor!(
    /// The customer URL's parameters (opened when a call connects): the
    /// screen pop.
    Customer,
    CustomerParams
);
extractor!(
    /// The preview URL's parameters (the same as the customer URL's,
    /// opened during a preview dial).
    Preview,
    CustomerParams
);
extractor!(
    /// The dispose URL's parameters.
    Dispose,
    DisposeParams
);

type Resolve =
    dyn Fn(String) -> BoxFuture<'static, Result<Option<String>, SsoFailure>> + Send + Sync;

/// Checks `crmSessionId`s against an [`SsoProvider`]. Put one in your
/// router state (reachable through [`FromRef`]) to use [`CrmSession`].
#[derive(Clone)]
pub struct CrmSessionGuard {
    resolve: Arc<Resolve>,
}

impl fmt::Debug for CrmSessionGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrmSessionGuard").finish_non_exhaustive()
    }
}

impl CrmSessionGuard {
    /// A guard that asks `provider`.
    pub fn new<P: SsoProvider>(provider: Arc<P>) -> Self {
        Self {
            resolve: Arc::new(move |id: String| {
                let provider = Arc::clone(&provider);
                Box::pin(async move { provider.resolve(&id).await })
            }),
        }
    }

    /// The user of `crm_session_id`, or a 401 (503 when the backend is
    /// down).
    ///
    /// # Errors
    ///
    /// A [`Rejection`] with code `no_session` or `bad_session` (401), or
    /// `sso_unavailable` (503).
    pub async fn check(&self, crm_session_id: Option<&str>) -> Result<String, Rejection> {
        let Some(id) = crm_session_id.filter(|s| !s.is_empty()) else {
            return Err(Rejection::new(
                StatusCode::UNAUTHORIZED,
                "no_session",
                "the URL carries no `crmSessionId`; log in through SSO first",
            ));
        };
        match (self.resolve)(id.to_owned()).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(Rejection::new(
                StatusCode::UNAUTHORIZED,
                "bad_session",
                "the `crmSessionId` is unknown or expired",
            )),
            Err(e) => {
                tracing::error!(error = %e, "crmSessionId check failed");
                Err(Rejection::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sso_unavailable",
                    "sessions cannot be checked right now",
                ))
            }
        }
    }
}

/// An Ameyo URL whose `crmSessionId` names a live SSO session: the
/// parameters and the session's user. Needs a [`CrmSessionGuard`] in the
/// router state.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use cti_protocol::ameyo::CustomerParams;
/// use cti_server_kit::ameyo::params::{CrmSession, CrmSessionGuard};
/// use cti_server_kit::ameyo::sso::{StaticCredentials, StoreSso};
/// use cti_server_kit::store::MemoryStore;
///
/// async fn screen_pop(s: CrmSession<CustomerParams>) -> String {
///     format!("{} sees {}", s.user, s.params.phone)
/// }
///
/// let sso = Arc::new(StoreSso::new(
///     MemoryStore::new(),
///     StaticCredentials::new().user("agent", "agent"),
///     Duration::from_secs(3600),
/// ));
/// let app: Router = Router::new()
///     .route("/ameyo/customer", get(screen_pop))
///     .with_state(CrmSessionGuard::new(sso));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CrmSession<T> {
    /// The URL's parameters.
    pub params: T,
    /// The session's user.
    pub user: String,
}

impl<S, T> FromRequestParts<S> for CrmSession<T>
where
    S: Send + Sync,
    T: FromAmeyoQuery,
    CrmSessionGuard: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let params = parse::<T>(parts)?;
        let guard = CrmSessionGuard::from_ref(state);
        let user = guard.check(params.crm_session_id()).await?;
        Ok(Self { params, user })
    }
}

/// What a CRM does when Ameyo reports a disposition through the dispose
/// URL.
pub trait DisposeCallback: Send + Sync + 'static {
    /// Records the disposition. `user` is the SSO session's user when the
    /// route is guarded. An `Err` is sent back as a failed
    /// `{"result":"failed","reason":…}` with status 422.
    fn disposed(
        &self,
        params: DisposeParams,
        user: Option<String>,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// The dispose-callback route: `GET` (or `POST` with the same parameters
/// as a form) with Ameyo's dispose URL parameters, answered with
/// `{"result":"success","reason":"disposed"}`.
#[must_use]
pub struct DisposeRoute<C> {
    callback: C,
    guard: Option<CrmSessionGuard>,
}

impl<C: fmt::Debug> fmt::Debug for DisposeRoute<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisposeRoute")
            .field("callback", &self.callback)
            .field("guarded", &self.guard.is_some())
            .finish()
    }
}

/// The largest form body of a dispose `POST`.
const MAX_DISPOSE_FORM: usize = 16 * 1024;

impl<C: DisposeCallback> DisposeRoute<C> {
    /// The route, calling `callback`; unguarded.
    pub fn new(callback: C) -> Self {
        Self {
            callback,
            guard: None,
        }
    }

    /// Requires a live `crmSessionId` (SSO deployments).
    pub fn guarded(mut self, guard: CrmSessionGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The `GET` + `POST` route.
    pub fn into_route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        let this = Arc::new(self);
        get(dispose::<C>).post(dispose::<C>).with_state(this).layer(
            axum::middleware::from_fn_with_state(
                Arc::<str>::from("ameyo.dispose_callback"),
                crate::traced,
            ),
        )
    }
}

fn ameyo_answer(status: StatusCode, body: &AmeyoResult) -> Response {
    super::vendor_json(status, body, body.info.as_deref(), body.explanation())
}

async fn dispose<C: DisposeCallback>(
    State(this): State<Arc<DisposeRoute<C>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let params = if parts.method == http::Method::POST {
        let is_form = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return ameyo_answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &AmeyoResult::failed(
                    "send the dispose parameters as a query or an application/x-www-form-urlencoded body",
                ),
            );
        }
        let Ok(bytes) = axum::body::to_bytes(body, MAX_DISPOSE_FORM).await else {
            return ameyo_answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                &AmeyoResult::failed(format!("the body is larger than {MAX_DISPOSE_FORM} bytes")),
            );
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return ameyo_answer(
                StatusCode::BAD_REQUEST,
                &AmeyoResult::failed("the body is not UTF-8"),
            );
        };
        DisposeParams::from_query(text)
    } else {
        DisposeParams::from_query(parts.uri.query().unwrap_or(""))
    };
    let params = match params {
        Ok(p) => p,
        Err(e) => {
            return ameyo_answer(
                StatusCode::BAD_REQUEST,
                &AmeyoResult::failed(format!("the dispose URL is not valid: {e}")),
            );
        }
    };
    let user = match &this.guard {
        Some(guard) => match guard.check(params.crm_session_id()).await {
            Ok(user) => Some(user),
            Err(r) => {
                let status = r.status();
                return ameyo_answer(status, &AmeyoResult::failed(r.to_string()));
            }
        },
        None => None,
    };
    match this.callback.disposed(params, user).await {
        Ok(()) => ameyo_answer(StatusCode::OK, &AmeyoResult::success()),
        Err(reason) => ameyo_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AmeyoResult::failed(reason),
        ),
    }
}
