//! The CCAI Platform generic CRM API, served: a CRM implements
//! [`CrmBackend`] and the kit provides the routes CCAI calls.
//!
//! The routes come from the **same endpoint descriptions** the CCAI side
//! is configured with ([`GenericEndpoint`], which cti-client's
//! `GenericCrmClient` executes), so the two cannot drift apart:
//!
//! - the path is the URL template's path, its variables
//!   (`{ACCOUNT_ID}`, `{RECORD_ID}`) captured;
//! - a `GET` reads the parameters from the query; the other methods read
//!   the configured body format (`{param: …}`, `{container: {…}}` or
//!   `{container: [{…}]}`); a multipart upload reads its text fields and
//!   its file part;
//! - the backend's answer is placed at the configured response data
//!   location (`data.record`, `data[0]`, …);
//! - every request passes one of the three auth methods CCAI supports:
//!   Basic, a custom header, or an OAuth 2.0 bearer token checked by your
//!   hook ([`CrmApiAuth`]).
//!
//! | outcome | status |
//! |---|---|
//! | found, created, updated | 200 with the data at its location |
//! | a finder found nothing | 404 for find-by-id (CCAI then queries), 200 with `{}` for query finders |
//! | no or wrong credentials | 401 (`WWW-Authenticate` for Basic and Bearer) |
//! | malformed body, bad parameters | 400, 413 or 415, as a [`Rejection`] |
//! | [`CrmFailure::Invalid`] | 400 (CCAI queues a 400 to retry later) |
//! | [`CrmFailure::NotSupported`] | 501 |
//! | [`CrmFailure::Unavailable`] | 503 |
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint};
//! use cti_protocol::endpoint::Method;
//! use cti_server_kit::ccai::{CrmApi, CrmApiAuth, CrmBackend, CrmFailure, CrmParams};
//! use serde_json::{Value, json};
//!
//! struct Accounts;
//! impl CrmBackend for Accounts {
//!     async fn find_account(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
//!         Ok((p.field("phone") == Some("+14155552671")).then(|| json!({"id": 7, "name": "Ada"})))
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let find = GenericEndpoint::new(EndpointKind::FindAccountByQuery, Method::Get, "https://crm.example.com/api/accounts")?
//!     .param("phone", "{PHONE_NUMBER}")?
//!     .response_location("data[0]");
//! let app: axum::Router = CrmApi::new(Accounts, CrmApiAuth::header("x-api-key", "s3cret"))
//!     .endpoint(find)?
//!     .into_router();
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest as _, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use base64::Engine as _;
use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint, UploadType};
use cti_protocol::ccai::template::RequestFormat;
use cti_protocol::endpoint::Method;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use crate::Rejection;
use crate::secret::{digest, matches_any};

/// The parameters of one call: the URL template's variables and the
/// configured parameters, by name, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrmParams {
    /// URL variables by name (`ACCOUNT_ID`, `RECORD_ID`).
    pub path: BTreeMap<String, String>,
    /// The parameters, by their configured names. Numbers and booleans
    /// arrive as their JSON text.
    pub fields: BTreeMap<String, String>,
}

impl CrmParams {
    /// A parameter.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A URL variable (`"ACCOUNT_ID"`).
    #[must_use]
    pub fn var(&self, name: &str) -> Option<&str> {
        self.path.get(name).map(String::as_str)
    }
}

/// A file sent to the upload endpoint.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrmFile {
    /// The file name (multipart uploads; empty for base64).
    pub file_name: String,
    /// The media type (multipart uploads; empty for base64).
    pub content_type: String,
    /// The bytes.
    pub data: Bytes,
}

impl fmt::Debug for CrmFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrmFile")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.data.len())
            .finish()
    }
}

/// Why the backend refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrmFailure {
    /// The request is wrong (400; CCAI queues it to try again later).
    Invalid(String),
    /// This CRM does not offer the operation (501).
    NotSupported,
    /// The CRM is down; logged, not sent (503).
    Unavailable(String),
}

impl fmt::Display for CrmFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(why) => f.write_str(why),
            Self::NotSupported => f.write_str("this CRM does not support the operation"),
            Self::Unavailable(why) => write!(f, "the CRM is unavailable: {why}"),
        }
    }
}

impl std::error::Error for CrmFailure {}

type Answer<T> = Result<T, CrmFailure>;

/// What a CRM does behind the generic API. Implement the operations you
/// configure; the others answer 501.
pub trait CrmBackend: Send + Sync + 'static {
    /// Finds an account by the configured query parameters (phone, e-mail,
    /// CRM id); `None` when there is none.
    fn find_account(
        &self,
        params: CrmParams,
    ) -> impl Future<Output = Answer<Option<Value>>> + Send {
        let _ = params;
        async { Err(CrmFailure::NotSupported) }
    }

    /// Finds an account by `ACCOUNT_ID` (a URL variable or parameter).
    fn account_by_id(
        &self,
        params: CrmParams,
    ) -> impl Future<Output = Answer<Option<Value>>> + Send {
        let _ = params;
        async { Err(CrmFailure::NotSupported) }
    }

    /// Creates an account; the answer must carry its `id`.
    fn create_account(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        let _ = params;
        async { Err(CrmFailure::NotSupported) }
    }

    /// Finds a record (case, ticket) to re-use.
    fn find_record(&self, params: CrmParams) -> impl Future<Output = Answer<Option<Value>>> + Send {
        let _ = params;
        async { Err(CrmFailure::NotSupported) }
    }

    /// Creates a record; the answer must carry its `id`.
    fn create_record(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        let _ = params;
        async { Err(CrmFailure::NotSupported) }
    }

    /// Updates a record.
    fn update_record(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        let _ = params;
        async { Err(CrmFailure::NotSupported) }
    }

    /// Adds a comment to a record.
    fn comment(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        let _ = params;
        async { Err(CrmFailure::NotSupported) }
    }

    /// Stores a file on a record. Base64 uploads arrive decoded in `file`
    /// (taken from the parameter holding `{FILE_DATA}`); multipart uploads
    /// from their file part.
    fn upload_file(
        &self,
        params: CrmParams,
        file: CrmFile,
    ) -> impl Future<Output = Answer<Value>> + Send {
        let _ = (params, file);
        async { Err(CrmFailure::NotSupported) }
    }
}

/// A shared backend serves as well.
impl<B: CrmBackend> CrmBackend for Arc<B> {
    fn find_account(
        &self,
        params: CrmParams,
    ) -> impl Future<Output = Answer<Option<Value>>> + Send {
        (**self).find_account(params)
    }
    fn account_by_id(
        &self,
        params: CrmParams,
    ) -> impl Future<Output = Answer<Option<Value>>> + Send {
        (**self).account_by_id(params)
    }
    fn create_account(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        (**self).create_account(params)
    }
    fn find_record(&self, params: CrmParams) -> impl Future<Output = Answer<Option<Value>>> + Send {
        (**self).find_record(params)
    }
    fn create_record(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        (**self).create_record(params)
    }
    fn update_record(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        (**self).update_record(params)
    }
    fn comment(&self, params: CrmParams) -> impl Future<Output = Answer<Value>> + Send {
        (**self).comment(params)
    }
    fn upload_file(
        &self,
        params: CrmParams,
        file: CrmFile,
    ) -> impl Future<Output = Answer<Value>> + Send {
        (**self).upload_file(params, file)
    }
}

type BearerHook = dyn Fn(String) -> BoxFuture<'static, bool> + Send + Sync;

/// How callers authenticate: the three methods CCAI's generic API
/// supports. Secrets are kept as SHA-256 digests and compared in constant
/// time; `Debug` shows none of them.
#[derive(Clone)]
#[non_exhaustive]
pub enum CrmApiAuth {
    /// No authentication (only behind a trusted network).
    None,
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: String,
        /// The password's digest.
        password: [u8; 32],
    },
    /// A custom header and its value's digest.
    Header {
        /// The header.
        name: HeaderName,
        /// The value's digest.
        value: [u8; 32],
    },
    /// An OAuth 2.0 bearer token, checked by a hook (token introspection,
    /// JWT validation, …).
    Bearer(Arc<BearerHook>),
}

impl fmt::Debug for CrmApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::Header { name, .. } => f
                .debug_struct("Header")
                .field("name", name)
                .field("value", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer(<hook>)"),
        }
    }
}

impl CrmApiAuth {
    /// HTTP Basic with `username` and `password`.
    #[must_use]
    pub fn basic(username: impl Into<String>, password: &str) -> Self {
        Self::Basic {
            username: username.into(),
            password: digest(password.as_bytes()),
        }
    }

    /// A custom header (`x-api-key: …`).
    ///
    /// # Panics
    ///
    /// When `name` is not a valid header name (a programming error).
    #[must_use]
    pub fn header(name: &str, value: &str) -> Self {
        #[allow(clippy::expect_used)]
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
        Self::Header {
            name,
            value: digest(value.as_bytes()),
        }
    }

    /// Bearer tokens, each checked by `hook` (`true` = valid).
    #[must_use]
    pub fn bearer<F, Fut>(hook: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        Self::Bearer(Arc::new(move |t| Box::pin(hook(t))))
    }

    async fn check(&self, headers: &HeaderMap) -> Result<(), Response> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let ok = match self {
            Self::None => true,
            Self::Basic { username, password } => authorization
                .and_then(|v| strip_scheme(v, "Basic"))
                .and_then(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .ok()
                })
                .and_then(|raw| String::from_utf8(raw).ok())
                .is_some_and(|pair| {
                    let (user, pass) = pair.split_once(':').unwrap_or((&pair, ""));
                    // Both halves are always checked.
                    let user_ok = matches_any(user.as_bytes(), [&digest(username.as_bytes())]);
                    let pass_ok = matches_any(pass.as_bytes(), [password]);
                    user_ok & pass_ok
                }),
            Self::Header { name, value } => headers
                .get(name)
                .is_some_and(|v| matches_any(v.as_bytes(), [value])),
            Self::Bearer(hook) => match authorization.and_then(|v| strip_scheme(v, "Bearer")) {
                Some(token) if !token.trim().is_empty() => hook(token.trim().to_owned()).await,
                _ => false,
            },
        };
        if ok {
            return Ok(());
        }
        let mut r = Rejection::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials",
        )
        .into_response();
        let challenge = match self {
            Self::Basic { .. } => Some("Basic realm=\"crm\""),
            Self::Bearer(_) => Some("Bearer"),
            _ => None,
        };
        if let Some(c) = challenge {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        Err(r)
    }
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// The routes of the generic CRM API over a [`CrmBackend`].
#[must_use]
pub struct CrmApi<B> {
    backend: B,
    auth: CrmApiAuth,
    endpoints: Vec<(String, GenericEndpoint)>,
    max_body: usize,
}

impl<B: fmt::Debug> fmt::Debug for CrmApi<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrmApi")
            .field("backend", &self.backend)
            .field("auth", &self.auth)
            .field(
                "routes",
                &self
                    .endpoints
                    .iter()
                    .map(|(p, e)| (p, e.kind))
                    .collect::<Vec<_>>(),
            )
            .field("max_body", &self.max_body)
            .finish()
    }
}

/// Why an endpoint cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError(String);

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RouteError {}

struct Served<B> {
    backend: B,
    auth: CrmApiAuth,
    endpoint: GenericEndpoint,
    max_body: usize,
}

impl<B: CrmBackend> CrmApi<B> {
    /// No routes yet; bodies up to 16 MiB (uploads).
    pub fn new(backend: B, auth: CrmApiAuth) -> Self {
        Self {
            backend,
            auth,
            endpoints: Vec::new(),
            max_body: 16 * 1024 * 1024,
        }
    }

    /// The largest body accepted.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Serves `endpoint` at its URL template's path.
    ///
    /// # Errors
    ///
    /// When a variable shares a path segment with text, or another
    /// endpoint already takes the same method and path.
    pub fn endpoint(mut self, endpoint: GenericEndpoint) -> Result<Self, RouteError> {
        let path = endpoint.url.route_pattern().ok_or_else(|| {
            RouteError(format!(
                "{:?}: a URL variable shares a path segment with other text",
                endpoint.kind
            ))
        })?;
        if self
            .endpoints
            .iter()
            .any(|(p, e)| *p == path && e.method == endpoint.method)
        {
            return Err(RouteError(format!(
                "{path}: two endpoints share this method and path"
            )));
        }
        self.endpoints.push((path, endpoint));
        Ok(self)
    }

    /// The router.
    pub fn into_router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let backend = Arc::new(self.backend);
        let mut router = Router::new();
        let mut by_path: BTreeMap<String, axum::routing::MethodRouter<S>> = BTreeMap::new();
        for (path, endpoint) in self.endpoints {
            let filter = match endpoint.method {
                Method::Get => MethodFilter::GET,
                Method::Put => MethodFilter::PUT,
                Method::Patch => MethodFilter::PATCH,
                _ => MethodFilter::POST,
            };
            let served = Arc::new(Served {
                backend: Arc::clone(&backend),
                auth: self.auth.clone(),
                endpoint,
                max_body: self.max_body,
            });
            let operation: Arc<str> = Arc::from(format!("ccai.{:?}", served.endpoint.kind));
            let route = on(filter, serve::<B>).with_state(served).layer(
                axum::middleware::from_fn_with_state(operation, crate::traced),
            );
            let merged = match by_path.remove(&path) {
                Some(existing) => existing.merge(route),
                None => route,
            };
            by_path.insert(path, merged);
        }
        for (path, route) in by_path {
            router = router.route(&path, route);
        }
        router
    }
}

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn bad(message: impl Into<String>) -> Response {
    Rejection::new(StatusCode::BAD_REQUEST, "bad_request", message).into_response()
}

/// A JSON scalar as parameter text; `null`, objects and arrays are
/// refused (CCAI leaves a removed parameter out rather than sending
/// `null`).
fn as_text(name: &str, v: Value) -> Result<String, Rejection> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(invalid(format!(
            "`{}` must be a string, number or boolean (not null, an object or an array)",
            name.chars().take(60).collect::<String>()
        ))),
    }
}

fn check_text(name: &str, value: &str) -> Result<(), Rejection> {
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        || name.chars().any(char::is_control)
    {
        return Err(invalid(format!(
            "`{}` holds control characters",
            name.chars().take(60).collect::<String>()
        )));
    }
    Ok(())
}

/// The parameters from the body, in the configured format.
fn fields_from_body(
    format: &RequestFormat,
    body: Value,
) -> Result<BTreeMap<String, String>, Rejection> {
    let object = match (format, body) {
        (RequestFormat::Property, Value::Object(m)) => m,
        (RequestFormat::ContainerMap(name), Value::Object(mut m)) => match m.remove(name) {
            Some(Value::Object(inner)) => inner,
            _ => return Err(invalid(format!("the body needs an object under `{name}`"))),
        },
        (RequestFormat::ContainerArray(name), Value::Object(mut m)) => match m.remove(name) {
            Some(Value::Array(items)) if items.len() == 1 => match items.into_iter().next() {
                Some(Value::Object(inner)) => inner,
                _ => return Err(invalid(format!("`{name}` must hold one object"))),
            },
            _ => {
                return Err(invalid(format!(
                    "the body needs a one-object array under `{name}`"
                )));
            }
        },
        _ => return Err(invalid("the body must be a JSON object")),
    };
    let mut out = BTreeMap::new();
    for (k, v) in object {
        let text = as_text(&k, v)?;
        check_text(&k, &text)?;
        out.insert(k, text);
    }
    Ok(out)
}

fn fields_from_query(query: &str) -> Result<BTreeMap<String, String>, Rejection> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        check_text(&k, &v)?;
        if out.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return Err(invalid(format!(
                "`{}` is given more than once",
                k.chars().take(60).collect::<String>()
            )));
        }
    }
    Ok(out)
}

/// Places `data` at a response data location (`data[0].record`).
fn nest(location: &str, data: Value) -> Value {
    let normalised = location.replace('[', ".").replace(']', "");
    let steps: Vec<&str> = normalised
        .split('.')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    steps
        .iter()
        .rev()
        .fold(data, |inner, step| match step.parse::<usize>() {
            Ok(i) if i <= 64 => {
                let mut items = vec![Value::Null; i];
                items.push(inner);
                Value::Array(items)
            }
            _ => Value::Object(Map::from_iter([((*step).to_owned(), inner)])),
        })
}

fn failure(e: &CrmFailure) -> Response {
    match e {
        CrmFailure::Invalid(why) => bad(why.clone()),
        CrmFailure::NotSupported => {
            Rejection::new(StatusCode::NOT_IMPLEMENTED, "not_supported", e.to_string())
                .into_response()
        }
        CrmFailure::Unavailable(why) => {
            tracing::error!(error = %why, "CRM backend unavailable");
            Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the CRM is unavailable; try again later",
            )
            .into_response()
        }
    }
}

/// The parameter that carries `{FILE_DATA}` in a base64 upload.
fn file_param(endpoint: &GenericEndpoint) -> Option<&str> {
    endpoint.params.iter().find_map(|(name, p)| {
        p.uses(cti_protocol::ccai::template::Variable::FileData)
            .then_some(name.as_str())
    })
}

async fn serve<B: CrmBackend>(
    State(this): State<Arc<Served<Arc<B>>>>,
    path: Result<axum::extract::RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    request: Request,
) -> Response {
    if let Err(r) = this.auth.check(request.headers()).await {
        return r;
    }
    let mut params = CrmParams::default();
    for (k, v) in path.iter().flatten() {
        if let Err(r) = check_text(k, v) {
            return r.into_response();
        }
        params.path.insert(k.to_owned(), v.to_owned());
    }
    let ep = &this.endpoint;
    let multipart = ep.kind == EndpointKind::UploadFile && ep.upload == UploadType::Multipart;
    let mut file = None;
    if ep.method == Method::Get {
        match fields_from_query(request.uri().query().unwrap_or("")) {
            Ok(f) => params.fields = f,
            Err(r) => return r.into_response(),
        }
    } else if multipart {
        let request = request.map(|b| Body::new(http_body_util::Limited::new(b, this.max_body)));
        let mut form = match Multipart::from_request(request, &()).await {
            Ok(m) => m,
            Err(e) => return bad(format!("the upload is not a multipart form: {e}")),
        };
        loop {
            match form.next_field().await {
                Ok(None) => break,
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or("").to_owned();
                    if let Some(file_name) = field.file_name().map(str::to_owned) {
                        let content_type = field
                            .content_type()
                            .unwrap_or("application/octet-stream")
                            .to_owned();
                        match field.bytes().await {
                            Ok(data) if file.is_none() => {
                                file = Some(CrmFile {
                                    file_name,
                                    content_type,
                                    data,
                                });
                            }
                            Ok(_) => return bad("the upload holds more than one file"),
                            Err(e) => return bad(format!("the file part cannot be read: {e}")),
                        }
                    } else {
                        match field.text().await {
                            Ok(text) => {
                                if let Err(r) = check_text(&name, &text) {
                                    return r.into_response();
                                }
                                if params.fields.insert(name.clone(), text).is_some() {
                                    return bad(format!(
                                        "`{}` is given more than once",
                                        name.chars().take(60).collect::<String>()
                                    ));
                                }
                            }
                            Err(e) => return bad(format!("a form field cannot be read: {e}")),
                        }
                    }
                }
                Err(e) => {
                    let status = e.status();
                    return Rejection::new(
                        if status.is_client_error() {
                            status
                        } else {
                            StatusCode::BAD_REQUEST
                        },
                        "bad_request",
                        format!("the multipart form is not valid: {e}"),
                    )
                    .into_response();
                }
            }
        }
        if file.is_none() {
            return bad("the upload has no file part");
        }
    } else {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json",
            )
            .into_response();
        }
        let bytes = match axum::body::to_bytes(request.into_body(), this.max_body).await {
            Ok(b) => b,
            Err(_) => {
                return Rejection::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the body is larger than {} bytes", this.max_body),
                )
                .into_response();
            }
        };
        let body: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return bad(format!("the body is not valid JSON: {e}")),
        };
        match fields_from_body(&ep.format, body) {
            Ok(f) => params.fields = f,
            Err(r) => return r.into_response(),
        }
    }
    if ep.kind == EndpointKind::UploadFile && file.is_none() {
        let Some(name) = file_param(ep) else {
            return failure(&CrmFailure::NotSupported);
        };
        let Some(encoded) = params.fields.remove(name) else {
            return bad(format!("`{name}` (the file) is missing"));
        };
        match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
            Ok(data) => {
                file = Some(CrmFile {
                    file_name: String::new(),
                    content_type: String::new(),
                    data: data.into(),
                });
            }
            Err(_) => return bad(format!("`{name}` is not base64")),
        }
    }
    let b = &this.backend;
    let outcome: Answer<Option<Value>> = match ep.kind {
        EndpointKind::FindAccountByQuery => b.find_account(params).await,
        EndpointKind::FindAccountById => match b.account_by_id(params).await {
            Ok(None) => {
                return Rejection::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no account with this id",
                )
                .into_response();
            }
            other => other,
        },
        EndpointKind::CreateAccount => b.create_account(params).await.map(Some),
        EndpointKind::FindRecordByQuery => b.find_record(params).await,
        EndpointKind::CreateRecord => b.create_record(params).await.map(Some),
        EndpointKind::UpdateRecord => b.update_record(params).await.map(Some),
        EndpointKind::Comment => b.comment(params).await.map(Some),
        EndpointKind::UploadFile => match file {
            Some(f) => b.upload_file(params, f).await.map(Some),
            None => return bad("the upload has no file"),
        },
        _ => Err(CrmFailure::NotSupported),
    };
    match outcome {
        Ok(Some(data)) => (
            StatusCode::OK,
            axum::Json(nest(&ep.response_location, data)),
        )
            .into_response(),
        Ok(None) => (StatusCode::OK, axum::Json(Value::Object(Map::new()))).into_response(),
        Err(e) => failure(&e),
    }
}
