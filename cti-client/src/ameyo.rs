//! The Ameyo API client: dispose, click-to-dial, dispose-and-dial, the
//! legacy `dacx` dispose and voice-log downloads.

use std::fmt;
use std::time::Duration;

use cti_protocol::ameyo::api::{
    AmeyoResult, ClickToDial, ClickToDialForm, ClickToDialRequest, DisposeAndManualDial,
    DisposeAndManualDialRequest, DisposeCallForUser, DisposeCallForUserRequest,
    LEGACY_DISPOSE_SUCCESS, LegacyDispose, LegacyDisposeRequest, header,
};
use cti_protocol::endpoint::{Endpoint, Metadata};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::exec::{Answer, Transport, parse_base, prepare};
use crate::policy::{Idempotency, RetryPolicy};

/// How an [`AmeyoClient`] authenticates. Each endpoint takes what it needs
/// from here; a request that needs a credential that is not configured is
/// a [`ErrorKind::Config`] error, and nothing is sent.
///
/// Secrets are [`SecretString`]s: `Debug` shows only which are set.
///
/// # Examples
///
/// ```
/// use cti_client::ameyo::AmeyoAuth;
///
/// let auth = AmeyoAuth::new()
///     .token("12345abc")
///     .token_policy("ameyo-generated-token", "setup.ameyo.net");
/// assert!(!format!("{auth:?}").contains("12345abc"));
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct AmeyoAuth {
    token: Option<SecretString>,
    hash_key: Option<SecretString>,
    requesting_host: Option<String>,
    policy_name: Option<String>,
    session_id: Option<SecretString>,
}

impl fmt::Debug for AmeyoAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |o: bool| if o { "<redacted>" } else { "<unset>" };
        f.debug_struct("AmeyoAuth")
            .field("token", &set(self.token.is_some()))
            .field("hash_key", &set(self.hash_key.is_some()))
            .field("requesting_host", &self.requesting_host)
            .field("policy_name", &self.policy_name)
            .field("session_id", &set(self.session_id.is_some()))
            .finish()
    }
}

impl AmeyoAuth {
    /// No credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `Authorization` token of the REST API (`disposeCallForUser`).
    /// Click-to-dial uses it too when no token policy is set.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// The token policy of the web-access commands: `hash-key`,
    /// `requesting-host`, and `policy-name:
    /// token-based-authorization-policy`.
    pub fn token_policy(
        mut self,
        hash_key: impl Into<String>,
        requesting_host: impl Into<String>,
    ) -> Self {
        self.hash_key = Some(SecretString::from(hash_key.into()));
        self.requesting_host = Some(requesting_host.into());
        self
    }

    /// A different `policy-name` than `token-based-authorization-policy`.
    pub fn policy_name(mut self, name: impl Into<String>) -> Self {
        self.policy_name = Some(name.into());
        self
    }

    /// The agent's Ameyo `sessionId`, sent as a header by
    /// `disposeAndManualDial`.
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(SecretString::from(session_id.into()));
        self
    }

    fn secret(value: &SecretString) -> Result<HeaderValue> {
        let mut v = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "a credential contains characters a header cannot carry",
            )
        })?;
        v.set_sensitive(true);
        Ok(v)
    }

    fn plain(value: &str) -> Result<HeaderValue> {
        HeaderValue::from_str(value).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "a header value contains characters a header cannot carry",
            )
        })
    }

    fn policy_headers(&self, map: &mut HeaderMap) -> Result<bool> {
        let (Some(key), Some(host)) = (&self.hash_key, &self.requesting_host) else {
            return Ok(false);
        };
        map.insert(
            HeaderName::from_static(header::HASH_KEY),
            Self::secret(key)?,
        );
        map.insert(
            HeaderName::from_static(header::REQUESTING_HOST),
            Self::plain(host)?,
        );
        map.insert(
            HeaderName::from_static(header::POLICY_NAME),
            Self::plain(self.policy_name.as_deref().unwrap_or(header::TOKEN_POLICY))?,
        );
        Ok(true)
    }

    /// The headers `meta` asks for, from this configuration.
    pub(crate) fn headers_for(&self, meta: &Metadata) -> Result<HeaderMap> {
        let missing = |what: &str| {
            Error::new(
                ErrorKind::Config,
                format!("{} needs {what}, which is not configured", meta.name),
            )
        };
        let mut map = HeaderMap::new();
        let wants = |name: &str| meta.headers.iter().any(|h| h.eq_ignore_ascii_case(name));
        if wants("Authorization") {
            let token = self
                .token
                .as_ref()
                .ok_or_else(|| missing("an Authorization token"))?;
            map.insert(AUTHORIZATION, Self::secret(token)?);
        }
        if wants(header::HASH_KEY) && !self.policy_headers(&mut map)? {
            // Deployments without the token policy take the REST token.
            let token = self
                .token
                .as_ref()
                .ok_or_else(|| missing("a hash-key and requesting-host, or a token"))?;
            map.insert(AUTHORIZATION, Self::secret(token)?);
        }
        if wants(header::SESSION_ID) {
            let session = self
                .session_id
                .as_ref()
                .ok_or_else(|| missing("a sessionId"))?;
            map.insert(HeaderName::from_static("sessionid"), Self::secret(session)?);
        }
        if meta.headers.is_empty() {
            // Voice logs: token headers where the deployment uses them.
            self.policy_headers(&mut map)?;
        }
        Ok(map)
    }
}

/// An async client of one Ameyo server.
///
/// It executes the endpoint descriptions of
/// [`cti_protocol::ameyo::api`], so its paths and bodies are the ones
/// `cti-server-kit` serves. Every call has a timeout (30 s unless set) and
/// follows a [`RetryPolicy`]: a dispose is retried only because it carries
/// its `requestId`, and a click-to-dial only when the connection was never
/// made.
///
/// # Examples
///
/// ```no_run
/// use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
/// use cti_protocol::ameyo::api::DisposeCallForUserRequest;
///
/// # async fn run() -> cti_client::Result<()> {
/// let client = AmeyoClient::new("https://ameyo.example.com:8887", AmeyoAuth::new().token("12345abc"))?;
/// client
///     .dispose_call_for_user(&DisposeCallForUserRequest::new("vaptuser1", "sale", "8989898989"))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AmeyoClient {
    pub(crate) base: Url,
    pub(crate) auth: AmeyoAuth,
    pub(crate) transport: Transport,
    pub(crate) dispose_path: DisposePath,
    pub(crate) voice_log_method: VoiceLogMethod,
}

/// Which path `disposeCallForUser` is posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DisposePath {
    /// `/ameyorestapi/voice/disposeCallForUser` (the seed's curl sample).
    #[default]
    Voice,
    /// `/ameyorestapi/disposecallforuser` (the seed's prose).
    Short,
}

/// How `downloadVoiceLog` is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VoiceLogMethod {
    /// GET with `data=` in the query (the seed's sample).
    #[default]
    Get,
    /// POST with the form body `data=` (the seed allows either).
    Post,
}

impl AmeyoClient {
    /// A client of the server at `base` with its own `reqwest::Client`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when `base` is not an http(s) URL.
    pub fn new(base: &str, auth: AmeyoAuth) -> Result<Self> {
        Self::with_http(base, auth, reqwest::Client::new())
    }

    /// A client that sends through `http` (its pool, proxy and TLS
    /// settings are used as they are).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when `base` is not an http(s) URL.
    pub fn with_http(base: &str, auth: AmeyoAuth, http: reqwest::Client) -> Result<Self> {
        Ok(Self {
            base: parse_base(base)?,
            auth,
            transport: Transport::new(http),
            dispose_path: DisposePath::default(),
            voice_log_method: VoiceLogMethod::default(),
        })
    }

    /// Which path `disposeCallForUser` is posted to (default the seed's
    /// curl sample, `/ameyorestapi/voice/disposeCallForUser`).
    #[must_use]
    pub fn dispose_path(mut self, path: DisposePath) -> Self {
        self.dispose_path = path;
        self
    }

    /// How `downloadVoiceLog` is asked for (default GET).
    #[must_use]
    pub fn voice_log_method(mut self, method: VoiceLogMethod) -> Self {
        self.voice_log_method = method;
        self
    }

    /// Sets the timeout of each attempt (for downloads: of the wait for
    /// the headers and of each wait for more bytes).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport.retry = policy;
        self
    }

    /// Sets the largest JSON or text answer accepted (1 MiB by default).
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.transport.max_body = bytes;
        self
    }

    /// The server's base URL.
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    async fn run<E: Endpoint>(&self, req: &E::Request, idempotency: Idempotency) -> Result<Answer> {
        let headers = self.auth.headers_for(&E::METADATA)?;
        let p = prepare::<E>(&self.base, req, headers, idempotency)?;
        self.transport.execute(&p).await
    }

    /// `disposeCallForUser`: disposes the agent's current call. An empty
    /// `requestId` is replaced by a fresh UUID, so that a retry is always
    /// recognisable as one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Vendor`] with Ameyo's reason when it refuses (a
    /// disposition outside the plan, an unknown user), [`ErrorKind::Status`]
    /// for an error status, [`ErrorKind::Decode`] for an answer that is not
    /// Ameyo's JSON, and the transport kinds.
    pub async fn dispose_call_for_user(
        &self,
        req: &DisposeCallForUserRequest,
    ) -> Result<AmeyoResult> {
        let keyed;
        let req = if req.request_id.trim().is_empty() {
            let mut r = req.clone();
            r.request_id = uuid::Uuid::new_v4().to_string();
            keyed = r;
            &keyed
        } else {
            req
        };
        let answer = match self.dispose_path {
            DisposePath::Short => {
                self.run::<cti_protocol::ameyo::api::DisposeCallForUserShortPath>(
                    req,
                    Idempotency::Keyed,
                )
                .await?
            }
            _ => {
                self.run::<DisposeCallForUser>(req, Idempotency::Keyed)
                    .await?
            }
        };
        ameyo_result(&answer, DisposeCallForUser::METADATA.name)
    }

    /// `clickToDialWithTokenAsync` with a JSON body; see
    /// [`click_to_dial_form`](Self::click_to_dial_form) for deployments that
    /// want the form `data=`.
    ///
    /// # Errors
    ///
    /// As [`dispose_call_for_user`](Self::dispose_call_for_user).
    pub async fn click_to_dial(&self, req: &ClickToDialRequest) -> Result<AmeyoResult> {
        let answer = self.run::<ClickToDial>(req, Idempotency::Unsafe).await?;
        ameyo_result(&answer, ClickToDial::METADATA.name)
    }

    /// `clickToDialWithTokenAsync` with the form body `data=<json>`.
    ///
    /// # Errors
    ///
    /// As [`dispose_call_for_user`](Self::dispose_call_for_user).
    pub async fn click_to_dial_form(&self, req: &ClickToDialRequest) -> Result<AmeyoResult> {
        let answer = self
            .run::<ClickToDialForm>(req, Idempotency::Unsafe)
            .await?;
        ameyo_result(&answer, ClickToDialForm::METADATA.name)
    }

    /// `disposeAndManualDial`: disposes the call and dials `phone` at
    /// once. Needs [`AmeyoAuth::session_id`]. An empty `requestId` is
    /// replaced by a fresh UUID.
    ///
    /// # Errors
    ///
    /// As [`dispose_call_for_user`](Self::dispose_call_for_user); Ameyo's
    /// `invalid.session.id` and similar answers are [`ErrorKind::Vendor`] or
    /// [`ErrorKind::Status`] with its reason.
    pub async fn dispose_and_manual_dial(
        &self,
        req: &DisposeAndManualDialRequest,
    ) -> Result<AmeyoResult> {
        let keyed;
        let req = if req.request_id.trim().is_empty() {
            let mut r = req.clone();
            r.request_id = uuid::Uuid::new_v4().to_string();
            keyed = r;
            &keyed
        } else {
            req
        };
        let answer = self
            .run::<DisposeAndManualDial>(req, Idempotency::Keyed)
            .await?;
        ameyo_result(&answer, DisposeAndManualDial::METADATA.name)
    }

    /// The legacy `dacx/dispose` GET; success is the plain text
    /// `Dispose Successfully`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Vendor`] with the text for any other answer,
    /// [`ErrorKind::Status`] for an error status.
    pub async fn legacy_dispose(&self, req: &LegacyDisposeRequest) -> Result<()> {
        let answer = self.run::<LegacyDispose>(req, Idempotency::Unsafe).await?;
        if !answer.is_success() {
            return Err(answer.error(
                ErrorKind::Status,
                format!("dacx/dispose failed: {}", answer.snippet(200)),
            ));
        }
        if answer.is_html() {
            return Err(answer.error(
                ErrorKind::Decode,
                "dacx/dispose: an HTML page came back instead of the plain-text answer",
            ));
        }
        let text = answer.snippet(200);
        if text.eq_ignore_ascii_case(LEGACY_DISPOSE_SUCCESS) {
            Ok(())
        } else {
            Err(answer.error(ErrorKind::Vendor, format!("dacx/dispose: {text}")))
        }
    }
}

/// Reads Ameyo's `{result, reason}` answer.
pub(crate) fn ameyo_result(answer: &Answer, what: &str) -> Result<AmeyoResult> {
    if !answer.is_success() {
        let reason = if answer.is_html() {
            None
        } else {
            serde_json::from_slice::<AmeyoResult>(&answer.body)
                .ok()
                .map(|r| r.explanation().to_owned())
        };
        let reason = reason.unwrap_or_else(|| {
            if answer.is_html() {
                "an HTML error page".to_owned()
            } else {
                answer.snippet(200)
            }
        });
        return Err(answer.error(ErrorKind::Status, format!("{what} failed: {reason}")));
    }
    let result: AmeyoResult = answer.json(what)?;
    if result.is_success() {
        Ok(result)
    } else if result.result.is_none() && result.status.is_none() {
        Err(answer.error(
            ErrorKind::Decode,
            format!("{what}: the answer has neither `result` nor `status`"),
        ))
    } else {
        Err(answer.error(
            ErrorKind::Vendor,
            format!("{what} failed: {}", result.explanation()),
        ))
    }
}
