//! Ameyo-compatible vendor routes, for vendors building their own CTI
//! server: the same paths, headers, bodies and answers as Ameyo's, so
//! that CRMs written against Ameyo (and cti-client's `AmeyoClient`) work
//! unchanged.
//!
//! | route | what it calls |
//! |---|---|
//! | `POST /ameyorestapi/voice/disposeCallForUser` (`Authorization`) | [`CtiBackend::dispose_call_for_user`] |
//! | `POST /ameyowebaccess/command[/]?command=clickToDialWithTokenAsync` (token policy; JSON or form `data=`) | [`CtiBackend::click_to_dial`] |
//! | `POST /ameyorestapi/voice/disposeAndManualDial` (`sessionId` header) | [`CtiBackend::dispose_and_manual_dial`] |
//! | `GET`/`POST /ameyowebaccess/command[/]?command=downloadVoiceLog&data=…` (token policy) | [`CtiBackend::voice_log`], streamed, with `Range` |
//! | `GET /dacx/dispose?…` | [`CtiBackend::legacy_dispose`] |
//!
//! **Token policies** ([`VendorAuth`]): the REST dispose needs an
//! `Authorization` token; the web-access commands need Ameyo's token
//! policy (`hash-key` matching the `requesting-host`, `policy-name:
//! token-based-authorization-policy`) or, where the deployment allows it,
//! the REST token; dispose-and-dial carries the agent's `sessionId`,
//! which the backend checks. Tokens are stored as digests and compared in
//! constant time. The legacy `dacx` dispose has no authentication, as on
//! Ameyo, where it listens on an internal port: mount it only where the
//! network is trusted.
//!
//! **Retries are safe**: dispose and dispose-and-dial carry a
//! `requestId`; a repeat within 24 hours gets the first answer again and
//! does not reach the backend twice.
//!
//! **Failures** use Ameyo's `{result, reason}` shape plus the REST error
//! keys: `{"result":"failed","reason":…,"info":"disposition.not.in.plan",
//! "code":…}` for the documented cases ([`VendorFailure`]).
//!
//! # Examples
//!
//! ```
//! use cti_server_kit::ameyo::vendor::{AmeyoRoutes, VendorAuth};
//! # use cti_server_kit::ameyo::vendor::{CtiBackend, VendorFailure, VoiceLog};
//! # use cti_protocol::ameyo::api::*;
//! # struct Switch;
//! # impl CtiBackend for Switch {
//! #   async fn dispose_call_for_user(&self, _: DisposeCallForUserRequest) -> Result<(), VendorFailure> { Ok(()) }
//! #   async fn click_to_dial(&self, _: ClickToDialRequest) -> Result<(), VendorFailure> { Ok(()) }
//! #   async fn dispose_and_manual_dial(&self, _: Option<&str>, _: Option<&str>, _: DisposeAndManualDialRequest) -> Result<(), VendorFailure> { Ok(()) }
//! #   async fn voice_log(&self, _: &str, _: VoiceLogFormat) -> Result<VoiceLog, VendorFailure> { Err(VendorFailure::RecordingNotFound) }
//! #   async fn legacy_dispose(&self, _: LegacyDisposeRequest) -> Result<(), VendorFailure> { Ok(()) }
//! # }
//! use cti_server_kit::store::MemoryStore;
//!
//! let auth = VendorAuth::new()
//!     .rest_token("12345abc")
//!     .hash_key("setup.ameyo.net", "ameyo-generated-token");
//! let app: axum::Router = AmeyoRoutes::new(Switch, auth, MemoryStore::new()).into_router();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cti_protocol::ameyo::api::{
    AmeyoResult, ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest,
    LEGACY_DISPOSE_SUCCESS, LegacyDisposeRequest, VoiceLogFormat, VoiceLogRequest, header as names,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncSeek, AsyncSeekExt as _};

use crate::secret::{digest, matches_any, sha256_hex};
use crate::store::SessionStore;

/// Why the backend refused a request. Each documented case has its own
/// `info` key and status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VendorFailure {
    /// The disposition is not in the campaign's disposition plan (400,
    /// `disposition.not.in.plan`).
    DispositionNotInPlan,
    /// No such call (400, `invalid.crt.object.id`).
    InvalidCrtObjectId,
    /// The agent's Ameyo session is unknown or ended (403,
    /// `invalid.session.id`).
    InvalidSessionId,
    /// No such agent (400, `invalid.user.id`).
    InvalidUserId,
    /// No such campaign (400, `invalid.campaign.id`).
    InvalidCampaign,
    /// The call has no recording, or not in that format (404,
    /// `voicelog.not.found`).
    RecordingNotFound,
    /// Another refusal the CRM should see (422, `request.refused`).
    Refused(String),
    /// The backend failed; logged, not sent (503).
    Unavailable(String),
}

impl VendorFailure {
    fn status(&self) -> StatusCode {
        match self {
            Self::DispositionNotInPlan
            | Self::InvalidCrtObjectId
            | Self::InvalidUserId
            | Self::InvalidCampaign => StatusCode::BAD_REQUEST,
            Self::InvalidSessionId => StatusCode::FORBIDDEN,
            Self::RecordingNotFound => StatusCode::NOT_FOUND,
            Self::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn info(&self) -> &'static str {
        match self {
            Self::DispositionNotInPlan => "disposition.not.in.plan",
            Self::InvalidCrtObjectId => "invalid.crt.object.id",
            Self::InvalidSessionId => "invalid.session.id",
            Self::InvalidUserId => "invalid.user.id",
            Self::InvalidCampaign => "invalid.campaign.id",
            Self::RecordingNotFound => "voicelog.not.found",
            Self::Refused(_) => "request.refused",
            Self::Unavailable(_) => "service.unavailable",
        }
    }

    /// The Ameyo answer for this failure.
    #[must_use]
    pub fn to_result(&self) -> AmeyoResult {
        let mut r = AmeyoResult::failed(self.to_string());
        r.info = Some(self.info().to_owned());
        r.code = Some(i64::from(self.status().as_u16()));
        r
    }
}

impl fmt::Display for VendorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DispositionNotInPlan => {
                f.write_str("Disposition not in the campaign's disposition plan")
            }
            Self::InvalidCrtObjectId => f.write_str("Invalid crtObjectId"),
            Self::InvalidSessionId => f.write_str("Invalid session Id"),
            Self::InvalidUserId => f.write_str("Invalid userId"),
            Self::InvalidCampaign => f.write_str("Invalid campaignId"),
            Self::RecordingNotFound => f.write_str("Voice log not found for this call"),
            Self::Refused(why) => f.write_str(why),
            Self::Unavailable(_) => f.write_str("The service is unavailable; try again later"),
        }
    }
}

impl std::error::Error for VendorFailure {}

/// Something a voice log can be read from: any seekable async reader
/// (`tokio::fs::File`, `std::io::Cursor<Bytes>`, …).
pub trait VoiceLogReader: AsyncRead + AsyncSeek + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin + 'static> VoiceLogReader for T {}

/// A recording to send: its length, its media type and a seekable reader,
/// so that `Range` requests read only the part asked for.
#[non_exhaustive]
pub struct VoiceLog {
    /// The length in bytes.
    pub len: u64,
    /// The format (sets `Content-Type`).
    pub format: VoiceLogFormat,
    /// The bytes.
    pub reader: Pin<Box<dyn VoiceLogReader>>,
}

impl fmt::Debug for VoiceLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoiceLog")
            .field("len", &self.len)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl VoiceLog {
    /// A recording read from `reader`, `len` bytes long.
    pub fn new(len: u64, format: VoiceLogFormat, reader: impl VoiceLogReader) -> Self {
        Self {
            len,
            format,
            reader: Box::pin(reader),
        }
    }

    /// A recording held in memory.
    pub fn from_bytes(bytes: Bytes, format: VoiceLogFormat) -> Self {
        Self::new(bytes.len() as u64, format, std::io::Cursor::new(bytes))
    }

    /// A recording in a file.
    ///
    /// # Errors
    ///
    /// The file cannot be opened or read.
    pub async fn from_file(
        path: impl AsRef<std::path::Path>,
        format: VoiceLogFormat,
    ) -> std::io::Result<Self> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        Ok(Self::new(len, format, file))
    }
}

/// What a vendor's CTI server does behind the Ameyo-compatible routes.
/// Each method gets a validated, typed request; return a
/// [`VendorFailure`] for the documented refusals.
pub trait CtiBackend: Send + Sync + 'static {
    /// Disposes the agent's current call (`disposeCallForUser`).
    fn dispose_call_for_user(
        &self,
        request: DisposeCallForUserRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send;

    /// Dials a number for an agent (`clickToDialWithTokenAsync`); the
    /// answer means the dial was accepted, not that it connected.
    fn click_to_dial(
        &self,
        request: ClickToDialRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send;

    /// Disposes a call and dials the next number
    /// (`disposeAndManualDial`). `session_id` is the agent's Ameyo session
    /// from the `sessionId` header, `None` when the header is absent or
    /// empty (Ameyo's own sample sends it empty and relies on its
    /// `__METADATA__` cookie, which the backend finds in `cookie`); answer
    /// [`VendorFailure::InvalidSessionId`] when the session is not live.
    fn dispose_and_manual_dial(
        &self,
        session_id: Option<&str>,
        cookie: Option<&str>,
        request: DisposeAndManualDialRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send;

    /// A call's recording (`downloadVoiceLog`).
    fn voice_log(
        &self,
        crt_object_id: &str,
        format: VoiceLogFormat,
    ) -> impl Future<Output = Result<VoiceLog, VendorFailure>> + Send;

    /// The legacy `dacx/dispose`. Success is the plain text `Dispose
    /// Successfully`; failures are JSON `{"error", "message"}`.
    fn legacy_dispose(
        &self,
        request: LegacyDisposeRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send;
}

/// A shared backend serves as well (keep a handle to it elsewhere).
impl<B: CtiBackend> CtiBackend for Arc<B> {
    fn dispose_call_for_user(
        &self,
        request: DisposeCallForUserRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send {
        (**self).dispose_call_for_user(request)
    }
    fn click_to_dial(
        &self,
        request: ClickToDialRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send {
        (**self).click_to_dial(request)
    }
    fn dispose_and_manual_dial(
        &self,
        session_id: Option<&str>,
        cookie: Option<&str>,
        request: DisposeAndManualDialRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send {
        (**self).dispose_and_manual_dial(session_id, cookie, request)
    }
    fn voice_log(
        &self,
        crt_object_id: &str,
        format: VoiceLogFormat,
    ) -> impl Future<Output = Result<VoiceLog, VendorFailure>> + Send {
        (**self).voice_log(crt_object_id, format)
    }
    fn legacy_dispose(
        &self,
        request: LegacyDisposeRequest,
    ) -> impl Future<Output = Result<(), VendorFailure>> + Send {
        (**self).legacy_dispose(request)
    }
}

/// The token policies of the vendor routes. Tokens are kept as SHA-256
/// digests and compared in constant time; `Debug` shows only the
/// requesting hosts.
#[derive(Clone, Default)]
#[must_use]
pub struct VendorAuth {
    rest_tokens: Vec<[u8; 32]>,
    hash_keys: BTreeMap<String, [u8; 32]>,
    rest_token_for_commands: bool,
    open_voice_logs: bool,
}

impl fmt::Debug for VendorAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorAuth")
            .field("rest_tokens", &self.rest_tokens.len())
            .field(
                "requesting_hosts",
                &self.hash_keys.keys().collect::<Vec<_>>(),
            )
            .field("rest_token_for_commands", &self.rest_token_for_commands)
            .field("open_voice_logs", &self.open_voice_logs)
            .finish()
    }
}

impl VendorAuth {
    /// No tokens: every authenticated route refuses.
    pub fn new() -> Self {
        Self {
            rest_token_for_commands: true,
            ..Self::default()
        }
    }

    /// Accepts `token` as the REST `Authorization` header.
    pub fn rest_token(mut self, token: &str) -> Self {
        self.rest_tokens.push(digest(token.as_bytes()));
        self
    }

    /// Accepts `hash_key` from `requesting_host` on the web-access
    /// commands (Ameyo's token-based authorization policy).
    pub fn hash_key(mut self, requesting_host: impl Into<String>, hash_key: &str) -> Self {
        self.hash_keys
            .insert(requesting_host.into(), digest(hash_key.as_bytes()));
        self
    }

    /// Whether the web-access commands also take the REST token in
    /// `Authorization` (the default: deployments without the token policy
    /// work that way).
    pub fn rest_token_for_commands(mut self, allow: bool) -> Self {
        self.rest_token_for_commands = allow;
        self
    }

    /// Whether `downloadVoiceLog` is served without credentials, as on
    /// deployments without the token policy (Ameyo's own sample sends
    /// none). Off by default.
    pub fn open_voice_logs(mut self, open: bool) -> Self {
        self.open_voice_logs = open;
        self
    }

    fn rest(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| matches_any(v.as_bytes(), &self.rest_tokens))
    }

    fn policy(&self, headers: &HeaderMap) -> bool {
        let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        let (Some(key), Some(host)) = (headers.get(names::HASH_KEY), get(names::REQUESTING_HOST))
        else {
            return false;
        };
        if get(names::POLICY_NAME).is_some_and(|p| !p.eq_ignore_ascii_case(names::TOKEN_POLICY)) {
            return false;
        }
        match self.hash_keys.get(host) {
            Some(k) => matches_any(key.as_bytes(), [k]),
            None => {
                // Spend the same work for an unknown host.
                let _ = matches_any(key.as_bytes(), [&[0u8; 32]]);
                false
            }
        }
    }

    fn command(&self, headers: &HeaderMap) -> bool {
        self.policy(headers) || (self.rest_token_for_commands && self.rest(headers))
    }
}

/// The Ameyo-compatible routes over a [`CtiBackend`] (see the [module
/// docs](self)).
#[must_use]
pub struct AmeyoRoutes<B> {
    backend: B,
    auth: VendorAuth,
    replays: Arc<dyn SessionStore>,
    replay_ttl: Duration,
    max_body: usize,
}

impl<B: fmt::Debug> fmt::Debug for AmeyoRoutes<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmeyoRoutes")
            .field("backend", &self.backend)
            .field("auth", &self.auth)
            .field("replay_ttl", &self.replay_ttl)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

fn reply(status: StatusCode, body: &AmeyoResult) -> Response {
    super::vendor_json(status, body, body.info.as_deref(), body.explanation())
}

fn refuse(status: StatusCode, info: &'static str, reason: impl Into<String>) -> Response {
    let mut r = AmeyoResult::failed(reason);
    r.info = Some(info.to_owned());
    r.code = Some(i64::from(status.as_u16()));
    reply(status, &r)
}

/// A refusal from a helper, boxed (a `Response` is large).
type Refusal = Box<Response>;

fn refusal(status: StatusCode, info: &'static str, reason: impl Into<String>) -> Refusal {
    Box::new(refuse(status, info, reason))
}

fn unauthorized() -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        "invalid.token",
        "missing or invalid credentials for this API",
    )
}

fn failure(e: &VendorFailure) -> Response {
    if let VendorFailure::Unavailable(why) = e {
        tracing::error!(error = %why, "ameyo backend unavailable");
    }
    reply(e.status(), &e.to_result())
}

/// What the replay store keeps for a `requestId`.
#[derive(serde::Serialize, serde::Deserialize)]
enum Replay {
    Pending,
    Done { status: u16, body: AmeyoResult },
}

impl<B: CtiBackend> AmeyoRoutes<B> {
    /// The routes over `backend`, with `auth`'s token policies, keeping
    /// `requestId` answers in `replays` for 24 hours. Bodies are limited
    /// to 64 KiB.
    pub fn new(backend: B, auth: VendorAuth, replays: impl SessionStore) -> Self {
        Self {
            backend,
            auth,
            replays: Arc::new(replays),
            replay_ttl: Duration::from_secs(24 * 3600),
            max_body: 64 * 1024,
        }
    }

    /// How long a `requestId`'s answer is replayed.
    pub fn replay_ttl(mut self, ttl: Duration) -> Self {
        self.replay_ttl = ttl;
        self
    }

    /// The largest request body accepted.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The router, with every route at Ameyo's path.
    pub fn into_router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let this = Arc::new(self);
        let traced = |operation: &str| {
            axum::middleware::from_fn_with_state(Arc::<str>::from(operation), crate::traced)
        };
        Router::new()
            .route(
                "/ameyorestapi/voice/disposeCallForUser",
                post(dispose_call_for_user::<B>).layer(traced("ameyo.disposeCallForUser")),
            )
            .route(
                "/ameyorestapi/voice/disposeAndManualDial",
                post(dispose_and_manual_dial::<B>).layer(traced("ameyo.disposeAndManualDial")),
            )
            .route(
                "/ameyowebaccess/command",
                get(command::<B>)
                    .post(command::<B>)
                    .layer(traced("ameyo.command")),
            )
            .route(
                "/ameyowebaccess/command/",
                get(command::<B>)
                    .post(command::<B>)
                    .layer(traced("ameyo.command")),
            )
            .route(
                "/dacx/dispose",
                get(legacy_dispose::<B>).layer(traced("ameyo.dacx_dispose")),
            )
            .with_state(this)
    }

    /// Runs `work` once per `(endpoint, request_id)`: a repeat gets the
    /// first answer back; a repeat while the first is running gets 409.
    async fn once<F>(&self, endpoint: &str, request_id: &str, work: F) -> Response
    where
        F: Future<Output = Result<(), VendorFailure>> + Send,
    {
        let key = format!("ameyo:req:{endpoint}:{}", sha256_hex(request_id));
        let pending = serde_json::to_vec(&Replay::Pending).unwrap_or_default();
        match self
            .replays
            .insert_new(&key, pending.into(), PENDING_TTL.min(self.replay_ttl))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return match self.replays.get(&key).await {
                    Ok(Some(v)) => match serde_json::from_slice::<Replay>(&v.value) {
                        Ok(Replay::Done { status, body }) => reply(
                            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                            &body,
                        ),
                        _ => refuse(
                            StatusCode::CONFLICT,
                            "request.in.progress",
                            "a request with this requestId is still being processed",
                        ),
                    },
                    // Expired in between: tell the caller to try again.
                    Ok(None) => refuse(
                        StatusCode::CONFLICT,
                        "request.in.progress",
                        "a request with this requestId is still being processed",
                    ),
                    Err(e) => failure(&VendorFailure::Unavailable(e.to_string())),
                };
            }
            Err(e) => return failure(&VendorFailure::Unavailable(e.to_string())),
        }
        // If this request is cancelled (the client went away, a timeout
        // layer fired) before an answer is recorded, free the requestId.
        let mut guard = ReleasePending {
            replays: Arc::clone(&self.replays),
            key: Some(key.clone()),
        };
        let outcome = work.await;
        let (status, body) = match &outcome {
            Ok(()) => (StatusCode::OK, AmeyoResult::success()),
            Err(e) => (e.status(), e.to_result()),
        };
        let record = match &outcome {
            // A backend outage is not an answer: let a retry run again.
            Err(VendorFailure::Unavailable(_)) => None,
            _ => serde_json::to_vec(&Replay::Done {
                status: status.as_u16(),
                body: body.clone(),
            })
            .ok()
            .map(Bytes::from),
        };
        if let Ok(Some(v)) = self.replays.get(&key).await {
            let _ = self
                .replays
                .swap(&key, v.version, record, self.replay_ttl)
                .await;
        }
        guard.key = None;
        match outcome {
            Err(e @ VendorFailure::Unavailable(_)) => failure(&e),
            _ => reply(status, &body),
        }
    }
}

/// The longest a `requestId` stays "in progress" (a process that died
/// mid-request frees it after this).
const PENDING_TTL: Duration = Duration::from_secs(300);

/// Deletes a still-pending replay entry when its request is dropped
/// before finishing.
struct ReleasePending {
    replays: Arc<dyn SessionStore>,
    key: Option<String>,
}

impl Drop for ReleasePending {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let replays = Arc::clone(&self.replays);
        runtime.spawn(async move {
            if let Ok(Some(v)) = replays.get(&key).await
                && matches!(
                    serde_json::from_slice::<Replay>(&v.value),
                    Ok(Replay::Pending)
                )
            {
                let _ = replays.swap(&key, v.version, None, PENDING_TTL).await;
            }
        });
    }
}

/// Reads a JSON body into `T`, with clear 4xx answers.
async fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<T, Refusal> {
    match crate::csrf::media_type(headers).as_deref() {
        Some("application/json") => {}
        _ => {
            return Err(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported.media.type",
                "send the body as application/json",
            ));
        }
    }
    let bytes = read_body(body, max).await?;
    parse_json(&bytes)
}

async fn read_body(body: Body, max: usize) -> Result<Bytes, Refusal> {
    axum::body::to_bytes(body, max).await.map_err(|_| {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload.too.large",
            format!("the body is larger than {max} bytes"),
        )
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_data() {
            "the body does not have the expected fields"
        } else {
            "the body is not valid JSON"
        };
        refusal(
            StatusCode::BAD_REQUEST,
            "invalid.request",
            format!("{what}: {e}"),
        )
    })
}

fn require(ok: bool, field: &str) -> Result<(), Refusal> {
    if ok {
        Ok(())
    } else {
        Err(refusal(
            StatusCode::BAD_REQUEST,
            "invalid.request",
            format!("`{field}` is missing, empty or holds control characters"),
        ))
    }
}

fn clean(s: &str) -> bool {
    !s.trim().is_empty() && !s.chars().any(char::is_control)
}

async fn dispose_call_for_user<B: CtiBackend>(
    State(this): State<Arc<AmeyoRoutes<B>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if !this.auth.rest(&parts.headers) {
        return unauthorized();
    }
    let req: DisposeCallForUserRequest = match json_body(&parts.headers, body, this.max_body).await
    {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if let Err(r) = require(clean(&req.user_id), "userId")
        .and_then(|()| require(clean(&req.disposition_code_name), "dispositionCodeName"))
        .and_then(|()| require(clean(&req.request_id), "requestId"))
    {
        return *r;
    }
    let id = req.request_id.clone();
    let this2 = Arc::clone(&this);
    this.once("disposeCallForUser", &id, async move {
        this2.backend.dispose_call_for_user(req).await
    })
    .await
}

async fn dispose_and_manual_dial<B: CtiBackend>(
    State(this): State<Arc<AmeyoRoutes<B>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let session = parts
        .headers
        .get(names::SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let cookie = parts
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let req: DisposeAndManualDialRequest =
        match json_body(&parts.headers, body, this.max_body).await {
            Ok(r) => r,
            Err(r) => return *r,
        };
    if let Err(r) = require(clean(&req.user_crt_object_id), "userCRTObjectId")
        .and_then(|()| require(clean(&req.crt_object_id), "crtObjectId"))
        .and_then(|()| require(clean(&req.disposition_code), "dispositionCode"))
        .and_then(|()| require(clean(&req.phone), "phone"))
        .and_then(|()| require(clean(&req.request_id), "requestId"))
    {
        return *r;
    }
    let id = req.request_id.clone();
    let this2 = Arc::clone(&this);
    this.once("disposeAndManualDial", &id, async move {
        this2
            .backend
            .dispose_and_manual_dial(session.as_deref(), cookie.as_deref(), req)
            .await
    })
    .await
}

/// The query pairs of the command URL: `command` and `data` (each at most
/// once).
fn command_query(query: &str) -> Result<(Option<String>, Option<String>), Refusal> {
    let mut command = None;
    let mut data = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match &*k {
            "command" => &mut command,
            "data" => &mut data,
            _ => continue,
        };
        if slot.is_some() {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "invalid.request",
                format!("`{k}` is given more than once"),
            ));
        }
        *slot = Some(v.into_owned());
    }
    Ok((command, data))
}

/// `data` as JSON, also in the single-quoted form some integrations send.
fn parse_data<T: DeserializeOwned>(data: &str) -> Result<T, Refusal> {
    match parse_json::<T>(data.as_bytes()) {
        Ok(t) => Ok(t),
        Err(first) if data.contains('\'') && !data.contains('"') => {
            parse_json::<T>(data.replace('\'', "\"").as_bytes()).map_err(|_| first)
        }
        Err(first) => Err(first),
    }
}

async fn command<B: CtiBackend>(
    State(this): State<Arc<AmeyoRoutes<B>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (command, query_data) = match command_query(parts.uri.query().unwrap_or("")) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let Some(command) = command else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid.request",
            "the `command` parameter is missing",
        );
    };
    let open = this.auth.open_voice_logs && command == "downloadVoiceLog";
    if !open && !this.auth.command(&parts.headers) {
        return unauthorized();
    }
    // The payload: `data=` in the query, a form body with `data=`, or a
    // JSON body.
    let data = if parts.method == Method::POST {
        let bytes = match read_body(body, this.max_body).await {
            Ok(b) => b,
            Err(r) => return *r,
        };
        match crate::csrf::media_type(&parts.headers).as_deref() {
            _ if bytes.is_empty() => query_data,
            Some("application/json") => match std::str::from_utf8(&bytes) {
                Ok(s) => Some(s.to_owned()),
                Err(_) => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        "invalid.request",
                        "the body is not UTF-8",
                    );
                }
            },
            Some("application/x-www-form-urlencoded") => {
                match command_query(std::str::from_utf8(&bytes).unwrap_or("\u{fffd}")) {
                    Ok((_, Some(d))) => Some(d),
                    Ok((_, None)) => query_data,
                    Err(r) => return *r,
                }
            }
            _ => {
                return refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported.media.type",
                    "send application/json or application/x-www-form-urlencoded with `data=`",
                );
            }
        }
    } else {
        query_data
    };
    let Some(data) = data else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid.request",
            "the command has no `data`",
        );
    };
    match command.as_str() {
        "clickToDialWithTokenAsync" | "clickToDialWithToken" => {
            if parts.method != Method::POST {
                return refuse(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method.not.allowed",
                    "click-to-dial takes POST",
                );
            }
            let req: ClickToDialRequest = match parse_data(&data) {
                Ok(r) => r,
                Err(r) => return *r,
            };
            if let Err(r) = require(clean(&req.user_id), "userId")
                .and_then(|()| require(clean(&req.campaign_id), "campaignId"))
                .and_then(|()| require(clean(&req.phone), "phone"))
            {
                return *r;
            }
            match this.backend.click_to_dial(req).await {
                Ok(()) => reply(StatusCode::OK, &AmeyoResult::success()),
                Err(e) => failure(&e),
            }
        }
        "downloadVoiceLog" => {
            let req: VoiceLogRequest = match parse_data(&data) {
                Ok(r) => r,
                Err(r) => return *r,
            };
            if let Err(r) = require(clean(&req.crt_object_id), "crtObjectId") {
                return *r;
            }
            let format = req.target_format.unwrap_or_default();
            match this.backend.voice_log(&req.crt_object_id, format).await {
                Ok(log) => serve_voice_log(&parts.headers, log).await,
                Err(e) => failure(&e),
            }
        }
        other => refuse(
            StatusCode::BAD_REQUEST,
            "invalid.command",
            format!(
                "unknown command `{}`",
                other.chars().take(60).collect::<String>()
            ),
        ),
    }
}

fn media_type(format: VoiceLogFormat) -> &'static str {
    match format {
        VoiceLogFormat::Mp3 => "audio/mpeg",
        _ => "audio/wav",
    }
}

/// Streams `log`, or the one byte range `Range` asks for (206), or 416
/// for a range outside it. Several ranges get the whole file (200), which
/// HTTP allows.
async fn serve_voice_log(headers: &HeaderMap, mut log: VoiceLog) -> Response {
    let len = log.len;
    // A malformed header is ignored, as HTTP says; a well-formed one
    // outside the file is refused.
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| http_range_header::parse_range_header(v).ok())
        .map(|r| r.validate(len));
    let (status, start, count) = match range {
        None => (StatusCode::OK, 0, len),
        Some(Ok(ranges)) if ranges.len() == 1 => {
            let r = &ranges[0];
            (
                StatusCode::PARTIAL_CONTENT,
                *r.start(),
                r.end() - r.start() + 1,
            )
        }
        Some(Ok(_)) => (StatusCode::OK, 0, len),
        Some(Err(_)) => {
            let mut r = crate::Rejection::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the recording is {len} bytes long"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    if start > 0
        && let Err(e) = log.reader.seek(std::io::SeekFrom::Start(start)).await
    {
        return failure(&VendorFailure::Unavailable(format!(
            "seek in the voice log: {e}"
        )));
    }
    let stream = tokio_util::io::ReaderStream::new(log.reader.take(count));
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type(log.format)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

async fn legacy_dispose<B: CtiBackend>(
    State(this): State<Arc<AmeyoRoutes<B>>>,
    request: Request,
) -> Response {
    let text = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let query = request.uri().query().unwrap_or("");
    let req: LegacyDisposeRequest = match serde_urlencoded::from_str(query) {
        Ok(r) => r,
        Err(e) => {
            return crate::Rejection::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("Invalid request: {e}"),
            )
            .into_response();
        }
    };
    for (name, value) in [
        ("campaignId", &req.campaign_id),
        ("crtObjectId", &req.crt_object_id),
        ("userId", &req.user_id),
        ("dispositionCode", &req.disposition_code),
    ] {
        if !clean(value) {
            return crate::Rejection::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("Invalid request: `{name}` is empty or holds control characters"),
            )
            .into_response();
        }
    }
    match this.backend.legacy_dispose(req).await {
        Ok(()) => text(StatusCode::OK, LEGACY_DISPOSE_SUCCESS.to_owned()),
        Err(e) => {
            if let VendorFailure::Unavailable(why) = &e {
                tracing::error!(error = %why, "ameyo backend unavailable");
            }
            crate::Rejection::new(e.status(), e.info(), e.to_string()).into_response()
        }
    }
}
