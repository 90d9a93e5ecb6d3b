//! The CCAI generic CRM API engine, run by a contact center against a
//! CRM: the configured endpoints of
//! [`cti_protocol::ccai::generic`], authentication (Basic, custom headers,
//! OAuth 2.0), phone formats, timeouts, the find-or-create flows, comments
//! and uploads, and the 400-retry queue.
//!
//! # Examples
//!
//! ```no_run
//! use cti_client::generic::{CrmAuth, GenericCrmClient};
//! use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint};
//! use cti_protocol::ccai::template::{Values, Variable};
//! use cti_protocol::endpoint::Method;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let crm = GenericCrmClient::new(CrmAuth::basic("api", "s3cret"))
//!     .endpoint(
//!         GenericEndpoint::new(EndpointKind::FindAccountByQuery, Method::Get, "https://crm.example.com/api/contacts")?
//!             .param("phone", "{PHONE_NUMBER}")?
//!             .response_location("data[0]"),
//!     )
//!     .endpoint(
//!         GenericEndpoint::new(EndpointKind::CreateAccount, Method::Post, "https://crm.example.com/api/contacts")?
//!             .param("phone", "{PHONE_NUMBER}")?,
//!     );
//! let mut values = Values::new().with(Variable::PhoneNumber, "+14155552671");
//! let account = crm.find_or_create_account(&mut values).await?;
//! println!("account {} (created: {})", account.id, account.created);
//! # Ok(()) }
//! ```

pub mod queue;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use cti_protocol::ccai::generic::{
    AttachmentResult, BuiltRequest, EndpointKind, GenericEndpoint, TextFormat, UploadType,
};
use cti_protocol::ccai::template::{Values, Variable};
use cti_protocol::endpoint::Method;
use cti_protocol::phone::{PhoneFormat, format_phone};
use jiff::Timestamp;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::exec::{Answer, Prepared, Transport};
use crate::policy::{CcaiRetryRule, Idempotency, RetryPolicy};
use queue::{QueuedFile, RetryJob, RetryQueue};

pub mod flow;
mod oauth;
pub use oauth::OAuthConfig;
use oauth::OAuthTokens;

/// How the engine authenticates to the CRM.
#[derive(Clone)]
#[non_exhaustive]
pub enum CrmAuth {
    /// No credentials.
    None,
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: SecretString,
    },
    /// Custom header key/value pairs; the values are treated as secrets.
    Headers(Vec<(String, SecretString)>),
    /// OAuth 2.0 bearer tokens, fetched once and refreshed on expiry.
    OAuth(Box<OAuthConfig>),
}

impl CrmAuth {
    /// HTTP Basic with `username` and `password`.
    #[must_use]
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// One custom header.
    #[must_use]
    pub fn header(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Headers(vec![(name.into(), SecretString::from(value.into()))])
    }
}

impl fmt::Debug for CrmAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::Headers(h) => f
                .debug_list()
                .entries(h.iter().map(|(k, _)| format!("{k}: <redacted>")))
                .finish(),
            Self::OAuth(c) => f.debug_tuple("OAuth").field(c).finish(),
        }
    }
}

/// Which phone format requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PhoneSetting {
    /// Send numbers as given.
    #[default]
    AsGiven,
    /// CCAI's "Automatic": `+1 222 333 4444` when creating and updating,
    /// `*222*333*4444` when searching.
    Automatic,
    /// One format for every request.
    Fixed(PhoneFormat),
}

/// An account or record the flows found or created.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Found {
    /// Its id (a number in the CRM's answer is given as its text).
    pub id: String,
    /// The object at the endpoint's response location.
    pub data: Value,
    /// `true` when the flow created it.
    pub created: bool,
}

/// A file to upload.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Upload {
    /// The file name.
    pub file_name: String,
    /// Its media type (`audio/mpeg`, `application/json`, …).
    pub content_type: String,
    /// The bytes.
    pub data: Bytes,
}

impl Upload {
    /// A file.
    #[must_use]
    pub fn new(
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        Self {
            file_name: file_name.into(),
            content_type: content_type.into(),
            data: data.into(),
        }
    }
}

/// Where an uploaded file can be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attachment {
    /// The attachment id, when the CRM answered with one.
    pub id: Option<String>,
    /// The download URL (from the answer, or built from the id).
    pub url: String,
}

/// What one pass over the retry queue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RetryReport {
    /// Jobs sent.
    pub sent: usize,
    /// Jobs the CRM accepted.
    pub succeeded: usize,
    /// Jobs answered with 400 again and put back.
    pub requeued: usize,
    /// Jobs dropped: another error, or the week is over.
    pub dropped: usize,
}

/// The generic CRM API engine. See the [module docs](self).
///
/// Every request carries the configured credentials and runs under a
/// timeout: the endpoint's own, else the client's (1–10 s, as CCAI
/// allows), else 10 s. Reads (GET) are retried on connection errors and
/// 5xx; writes only when the connection could not be made. A write the CRM
/// answers with **400** is put on the retry queue, when one is set, and
/// sent again by [`run_retries`](Self::run_retries) under
/// [`CcaiRetryRule`].
#[derive(Debug, Clone)]
pub struct GenericCrmClient {
    endpoints: Vec<GenericEndpoint>,
    auth: CrmAuth,
    tokens: Option<Arc<OAuthTokens>>,
    phone: PhoneSetting,
    region: String,
    reuse_records: bool,
    transport: Transport,
    queue: Option<Arc<dyn RetryQueue>>,
    rule: CcaiRetryRule,
}

fn config(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, msg)
}

fn kind_name(kind: EndpointKind) -> &'static str {
    match kind {
        EndpointKind::FindAccountByQuery => "FindAccountByQuery",
        EndpointKind::FindAccountById => "FindAccountById",
        EndpointKind::CreateAccount => "CreateAccount",
        EndpointKind::FindRecordByQuery => "FindRecordByQuery",
        EndpointKind::CreateRecord => "CreateRecord",
        EndpointKind::UpdateRecord => "UpdateRecord",
        EndpointKind::UploadFile => "UploadFile",
        EndpointKind::Comment => "Comment",
        _ => "Endpoint",
    }
}

fn to_reqwest(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        _ => reqwest::Method::POST,
    }
}

/// The id of a found object: its `id`, as text.
fn object_id(data: &Value) -> Option<String> {
    match data.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `true` for a "nothing found" answer: null, `{}`, `[]`, `""`.
fn is_empty(data: Option<&Value>) -> bool {
    match data {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// Plain text as HTML: escaped, line breaks as `<br>`.
#[must_use]
pub fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

const FILE_SENTINEL: &str = "\u{0}cti-file\u{0}";

impl GenericCrmClient {
    /// An engine with no endpoints yet, authenticating with `auth`, on its
    /// own `reqwest::Client`.
    #[must_use]
    pub fn new(auth: CrmAuth) -> Self {
        Self::with_http(auth, reqwest::Client::new())
    }

    /// An engine that sends through `http`; OAuth token requests go
    /// through it too.
    #[must_use]
    pub fn with_http(auth: CrmAuth, http: reqwest::Client) -> Self {
        let tokens = match &auth {
            CrmAuth::OAuth(c) => Some(Arc::new(OAuthTokens::new((**c).clone()))),
            _ => None,
        };
        let mut transport = Transport::new(http);
        transport.timeout = Duration::from_secs(10);
        Self {
            endpoints: Vec::new(),
            auth,
            tokens,
            phone: PhoneSetting::AsGiven,
            region: "US".to_owned(),
            reuse_records: true,
            transport,
            queue: None,
            rule: CcaiRetryRule::default(),
        }
    }

    /// Adds (or replaces) the endpoint of its kind.
    #[must_use]
    pub fn endpoint(mut self, endpoint: GenericEndpoint) -> Self {
        self.endpoints.retain(|e| e.kind != endpoint.kind);
        self.endpoints.push(endpoint);
        self
    }

    /// Sets the phone format, and the region national numbers are read in
    /// (`US` by default).
    #[must_use]
    pub fn phone_format(mut self, setting: PhoneSetting, region: impl Into<String>) -> Self {
        self.phone = setting;
        self.region = region.into();
        self
    }

    /// Whether a found record is re-used (`true`, CCAI's default) or a new
    /// one is always created.
    #[must_use]
    pub fn reuse_records(mut self, reuse: bool) -> Self {
        self.reuse_records = reuse;
        self
    }

    /// Sets the timeout of every endpoint without its own.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] outside the 1–10 s CCAI allows.
    pub fn timeout(mut self, timeout: Duration) -> Result<Self> {
        if !(Duration::from_secs(1)..=Duration::from_secs(10)).contains(&timeout) {
            return Err(config(
                "the request timeout must be between 1 and 10 seconds",
            ));
        }
        self.transport.timeout = timeout;
        Ok(self)
    }

    /// Sets the retry policy of immediate retries.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport.retry = policy;
        self
    }

    /// Sets the queue that keeps writes answered with 400.
    #[must_use]
    pub fn retry_queue(mut self, queue: Arc<dyn RetryQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Sets the rule the queue follows.
    #[must_use]
    pub fn retry_rule(mut self, rule: CcaiRetryRule) -> Self {
        self.rule = rule;
        self
    }

    /// The OAuth configuration's token state, for code exchange.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when the client does not use OAuth.
    pub async fn oauth_exchange_code(&self, code: &str) -> Result<()> {
        let tokens = self
            .tokens
            .as_ref()
            .ok_or_else(|| config("this client does not use OAuth"))?;
        tokens.exchange_code(&self.transport, code).await
    }

    fn find(&self, kind: EndpointKind) -> Option<&GenericEndpoint> {
        self.endpoints.iter().find(|e| e.kind == kind)
    }

    fn require(&self, kind: EndpointKind) -> Result<&GenericEndpoint> {
        self.find(kind).ok_or_else(|| {
            config(format!(
                "the {} endpoint is not configured",
                kind_name(kind)
            ))
        })
    }

    /// `values` with the phone numbers in the configured format.
    fn phones(&self, values: &Values, searching: bool) -> Values {
        let format = match self.phone {
            PhoneSetting::AsGiven => return values.clone(),
            PhoneSetting::Automatic if searching => PhoneFormat::AutomaticSearch,
            PhoneSetting::Automatic => PhoneFormat::AutomaticCreate,
            PhoneSetting::Fixed(f) => f,
        };
        let mut out = values.clone();
        for var in [Variable::PhoneNumber, Variable::OutboundPhoneNumber] {
            if let Some(raw) = values.get(var) {
                match format_phone(raw, format, &self.region) {
                    Ok(formatted) => {
                        out.set(var, formatted);
                    }
                    // An unparseable number ("anonymous") is sent as given.
                    Err(_) => tracing::debug!(variable = var.name(), "phone number left as given"),
                }
            }
        }
        out
    }

    async fn auth_headers(&self) -> Result<(HeaderMap, Option<SecretString>)> {
        let mut map = HeaderMap::new();
        let sensitive = |v: &str| {
            HeaderValue::from_str(v)
                .map(|mut h| {
                    h.set_sensitive(true);
                    h
                })
                .map_err(|_| config("a credential contains characters a header cannot carry"))
        };
        let mut bearer = None;
        match &self.auth {
            CrmAuth::None => {}
            CrmAuth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                map.insert(AUTHORIZATION, sensitive(&format!("Basic {encoded}"))?);
            }
            CrmAuth::Headers(pairs) => {
                for (k, v) in pairs {
                    let name = HeaderName::from_bytes(k.trim().as_bytes())
                        .map_err(|_| config(format!("`{k}` is not a valid header name")))?;
                    map.insert(name, sensitive(v.expose_secret())?);
                }
            }
            CrmAuth::OAuth(_) => {
                if let Some(tokens) = &self.tokens {
                    let token = tokens.bearer(&self.transport).await?;
                    map.insert(
                        AUTHORIZATION,
                        sensitive(&format!("Bearer {}", token.expose_secret()))?,
                    );
                    bearer = Some(token);
                }
            }
        }
        Ok((map, bearer))
    }

    fn prepared(
        &self,
        ep: &GenericEndpoint,
        built: &BuiltRequest,
        headers: HeaderMap,
    ) -> Result<Prepared> {
        let url = Url::parse(&built.url)
            .map_err(|e| config(format!("{}: bad URL: {e}", kind_name(ep.kind))))?;
        let body = match &built.body {
            Some(b) => Some((
                Bytes::from(serde_json::to_vec(b).map_err(|e| config(e.to_string()))?),
                "application/json",
            )),
            None => None,
        };
        Ok(Prepared {
            name: kind_name(ep.kind),
            method: to_reqwest(built.method),
            url,
            headers,
            body,
            idempotency: if built.method == Method::Get {
                Idempotency::Idempotent
            } else {
                Idempotency::Unsafe
            },
            timeout: built.timeout,
        })
    }

    /// Sends a built JSON request with credentials; a 401 under OAuth gets
    /// one fresh token and one more try.
    async fn send_built(&self, ep: &GenericEndpoint, built: &BuiltRequest) -> Result<Answer> {
        let (headers, bearer) = self.auth_headers().await?;
        let answer = self
            .transport
            .execute(&self.prepared(ep, built, headers)?)
            .await?;
        if answer.status == 401
            && let (Some(tokens), Some(used)) = (&self.tokens, bearer)
        {
            tokens.invalidate(&used).await;
            let (headers, _) = self.auth_headers().await?;
            return self
                .transport
                .execute(&self.prepared(ep, built, headers)?)
                .await;
        }
        Ok(answer)
    }

    /// Sends `kind` with `values`; the answer's data at the response
    /// location. `None` for a 404 when `not_found_ok`.
    async fn call(
        &self,
        ep: &GenericEndpoint,
        values: &Values,
        searching: bool,
    ) -> Result<Option<Value>> {
        let values = self.phones(values, searching);
        let built = ep
            .build(&values)
            .map_err(|e| config(format!("{}: {e}", kind_name(ep.kind))))?;
        let answer = self.send_built(ep, &built).await?;
        self.interpret(ep, &built, &answer, None).await
    }

    /// Reads an answer; a 400 queues the request (with its file, for a
    /// multipart upload) when a queue is set: every 400 is retried
    /// (seed 001), a GET too.
    async fn interpret(
        &self,
        ep: &GenericEndpoint,
        built: &BuiltRequest,
        answer: &Answer,
        upload: Option<&Upload>,
    ) -> Result<Option<Value>> {
        let name = kind_name(ep.kind);
        if answer.status == 404 && searching_kind(ep.kind) {
            return Ok(None);
        }
        if !answer.is_success() {
            if answer.status == 400
                && let Some(queue) = &self.queue
            {
                let now = Timestamp::now();
                let delay = self
                    .rule
                    .next_delay(400, 1, Duration::ZERO)
                    .unwrap_or_default();
                let job = RetryJob {
                    id: uuid::Uuid::new_v4().to_string(),
                    endpoint: name.to_owned(),
                    method: built.method.as_str().to_owned(),
                    url: built.url.clone(),
                    body: built.body.clone(),
                    failures: 1,
                    first_failed_at: now,
                    next_at: now + delay,
                    last_status: 400,
                    upload: upload.map(|file| queued_file(built.body.as_ref(), file)),
                };
                queue.push(job).await?;
                return Err(answer.error(
                    ErrorKind::Queued,
                    format!("{name}: the CRM answered 400; the request is queued to be sent again"),
                ));
            }
            let why = if answer.is_html() {
                "an HTML error page".to_owned()
            } else {
                answer.snippet(200)
            };
            return Err(answer.error(ErrorKind::Status, format!("{name} failed: {why}")));
        }
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let body: Value = answer.json(name)?;
        Ok(ep.data(&body).cloned())
    }

    fn found(&self, ep: &GenericEndpoint, data: Value, created: bool) -> Result<Found> {
        // A finder's location may point at a list: take its first element.
        let data = match data {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        let id = object_id(&data).ok_or_else(|| {
            Error::new(
                ErrorKind::Decode,
                format!("{}: the object has no `id`", kind_name(ep.kind)),
            )
        })?;
        Ok(Found { id, data, created })
    }

    /// Finds the account of the session, or creates it: by id when the
    /// find-by-id endpoint is configured, its URL uses `{ACCOUNT_ID}` and
    /// the id is known (a 404 falls through); then by query; then created.
    /// On success `values` carries the `ACCOUNT_ID`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when nothing was found and no create endpoint
    /// is configured; [`ErrorKind::Queued`] when the create was answered
    /// with 400 and queued; [`ErrorKind::Status`], [`ErrorKind::Decode`]
    /// and the transport kinds.
    pub async fn find_or_create_account(&self, values: &mut Values) -> Result<Found> {
        if let Some(ep) = self.find(EndpointKind::FindAccountById)
            && ep.url.variables().contains(&Variable::AccountId)
            && values
                .get(Variable::AccountId)
                .is_some_and(|v| !v.is_empty())
            && let Some(data) = self.call(ep, values, true).await?
            && !is_empty(Some(&data))
        {
            let found = self.found(ep, data, false)?;
            values.set(Variable::AccountId, found.id.clone());
            return Ok(found);
        }
        if let Some(ep) = self.find(EndpointKind::FindAccountByQuery)
            && let Some(data) = self.call(ep, values, true).await?
            && !is_empty(Some(&data))
        {
            let found = self.found(ep, data, false)?;
            values.set(Variable::AccountId, found.id.clone());
            return Ok(found);
        }
        let ep = self.require(EndpointKind::CreateAccount)?;
        let data = self.call(ep, values, false).await?.unwrap_or(Value::Null);
        let found = self.found(ep, data, true)?;
        values.set(Variable::AccountId, found.id.clone());
        Ok(found)
    }

    /// Finds a record to re-use (when re-use is on and the find endpoint is
    /// configured) or creates one. On success `values` carries the
    /// `RECORD_ID`.
    ///
    /// # Errors
    ///
    /// As [`find_or_create_account`](Self::find_or_create_account).
    pub async fn find_or_create_record(&self, values: &mut Values) -> Result<Found> {
        if self.reuse_records
            && let Some(ep) = self.find(EndpointKind::FindRecordByQuery)
            && let Some(data) = self.call(ep, values, true).await?
            && !is_empty(Some(&data))
        {
            let found = self.found(ep, data, false)?;
            values.set(Variable::RecordId, found.id.clone());
            return Ok(found);
        }
        let ep = self.require(EndpointKind::CreateRecord)?;
        let data = self.call(ep, values, false).await?.unwrap_or(Value::Null);
        let found = self.found(ep, data, true)?;
        values.set(Variable::RecordId, found.id.clone());
        Ok(found)
    }

    /// Updates the session's record (title, description, fields, as the
    /// endpoint's parameters say). Returns the answer's data, if any.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when the endpoint is not configured;
    /// [`ErrorKind::Queued`] on a queued 400; the other kinds as usual.
    pub async fn update_record(&self, values: &Values) -> Result<Option<Value>> {
        let ep = self.require(EndpointKind::UpdateRecord)?;
        self.call(ep, values, false).await
    }

    /// Adds `text` as a comment to the session's record, converted to HTML
    /// when the comment endpoint is set to HTML.
    ///
    /// # Errors
    ///
    /// As [`update_record`](Self::update_record).
    pub async fn comment(&self, values: &Values, text: &str) -> Result<Option<Value>> {
        let ep = self.require(EndpointKind::Comment)?;
        let body = match ep.text_format {
            TextFormat::Html => text_to_html(text),
            _ => text.to_owned(),
        };
        let values = values.clone().with(Variable::CommentBody, body);
        self.call(ep, &values, false).await
    }

    /// Uploads `file` to the session's record (base64 in `{FILE_DATA}`, or a
    /// multipart form) and returns where it can be fetched; then, when
    /// `comment` is given and the comment endpoint is configured, leaves
    /// that comment followed by the file's URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when the upload endpoint (or its attachment
    /// setting) is missing; [`ErrorKind::Decode`] when the answer lacks the
    /// configured id or URL; the other kinds as usual.
    pub async fn upload_file(
        &self,
        values: &Values,
        file: &Upload,
        comment: Option<&str>,
    ) -> Result<Attachment> {
        let ep = self.require(EndpointKind::UploadFile)?;
        let name = kind_name(ep.kind);
        let attachment = ep
            .attachment
            .as_ref()
            .ok_or_else(|| config("the upload endpoint has no attachment setting (ID or URL)"))?;
        let values = self.phones(values, false);
        let body: Value = match ep.upload {
            UploadType::Multipart => {
                let staged = values.clone().with(Variable::FileData, FILE_SENTINEL);
                let built = ep
                    .build(&staged)
                    .map_err(|e| config(format!("{name}: {e}")))?;
                let answer = self
                    .send_multipart(
                        name,
                        built.method,
                        &built.url,
                        built.body.as_ref(),
                        file,
                        built.timeout,
                    )
                    .await?;
                self.interpret(ep, &built, &answer, Some(file))
                    .await?
                    .unwrap_or(Value::Null)
            }
            _ => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(&file.data);
                let with_file = values.clone().with(Variable::FileData, encoded);
                let built = ep
                    .build(&with_file)
                    .map_err(|e| config(format!("{name}: {e}")))?;
                let answer = self.send_built(ep, &built).await?;
                self.interpret(ep, &built, &answer, None)
                    .await?
                    .unwrap_or(Value::Null)
            }
        };
        let missing = |what: &str| {
            Error::new(
                ErrorKind::Decode,
                format!("{name}: the answer has no {what}"),
            )
        };
        let result = match attachment {
            AttachmentResult::Id { location, builder } => {
                let id = cti_protocol::ccai::template::response_data(&body, location)
                    .and_then(|v| match v {
                        Value::String(s) if !s.is_empty() => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .ok_or_else(|| missing("attachment id"))?;
                let url = builder
                    .expand(&values.clone().with(Variable::AttachmentId, id.clone()))
                    .map_err(|e| config(format!("the attachment builder URL: {e}")))?;
                Attachment { id: Some(id), url }
            }
            AttachmentResult::Url { location } => {
                let url = cti_protocol::ccai::template::response_data(&body, location)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| missing("attachment URL"))?;
                Attachment {
                    id: None,
                    url: url.to_owned(),
                }
            }
            _ => return Err(config("unsupported attachment setting")),
        };
        if let Some(text) = comment
            && self.find(EndpointKind::Comment).is_some()
        {
            self.comment(&values, &format!("{text}\n{}", result.url))
                .await?;
        }
        Ok(result)
    }

    async fn send_multipart(
        &self,
        name: &str,
        method: Method,
        url: &str,
        body: Option<&Value>,
        file: &Upload,
        timeout: Option<Duration>,
    ) -> Result<Answer> {
        let url = Url::parse(url).map_err(|e| config(format!("bad URL: {e}")))?;
        let make_form = || -> Result<reqwest::multipart::Form> {
            let mut form = reqwest::multipart::Form::new();
            let mut file_named = false;
            let file_part = || {
                reqwest::multipart::Part::bytes(file.data.to_vec())
                    .file_name(file.file_name.clone())
                    .mime_str(&file.content_type)
                    .map_err(|_| config(format!("`{}` is not a media type", file.content_type)))
            };
            if let Some(Value::Object(fields)) = body {
                for (k, v) in fields {
                    match v {
                        Value::String(s) if s == FILE_SENTINEL => {
                            form = form.part(k.clone(), file_part()?);
                            file_named = true;
                        }
                        Value::String(s) => form = form.text(k.clone(), s.clone()),
                        other => form = form.text(k.clone(), other.to_string()),
                    }
                }
            }
            if !file_named {
                form = form.part("file", file_part()?);
            }
            Ok(form)
        };
        let timeout = timeout.unwrap_or(self.transport.timeout);
        for attempt in 0..2 {
            let (headers, bearer) = self.auth_headers().await?;
            let request = self
                .transport
                .http
                .request(to_reqwest(method), url.clone())
                .headers(headers)
                .multipart(make_form()?);
            let answer = match tokio::time::timeout(timeout, async {
                let resp = request
                    .send()
                    .await
                    .map_err(|e| Error::from_reqwest(e, &url))?;
                let status = resp.status().as_u16();
                let content_type = resp
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = crate::exec::read_limited(resp, self.transport.max_body, &url).await?;
                Ok::<_, Error>(Answer {
                    status,
                    content_type,
                    body,
                    url: url.clone(),
                })
            })
            .await
            {
                Ok(r) => r?,
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("{name}: no answer within {timeout:?}"),
                    )
                    .with_url(&url));
                }
            };
            if answer.status == 401
                && attempt == 0
                && let (Some(tokens), Some(used)) = (&self.tokens, bearer)
            {
                tokens.invalidate(&used).await;
                continue;
            }
            return Ok(answer);
        }
        Err(Error::new(ErrorKind::Auth, "the CRM refused a fresh token").with_url(&url))
    }

    /// Sends the queued requests that are due, once each: a success is
    /// done, a 400 goes back with a longer delay while the week lasts, any
    /// other answer drops the job.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] without a queue; errors of the queue itself.
    pub async fn run_retries(&self, now: Timestamp, limit: usize) -> Result<RetryReport> {
        let queue = self
            .queue
            .as_ref()
            .ok_or_else(|| config("no retry queue is set"))?;
        let mut report = RetryReport::default();
        for mut job in queue.take_due(now, limit).await? {
            report.sent += 1;
            let method = match job.method.as_str() {
                "PUT" => Method::Put,
                "PATCH" => Method::Patch,
                "GET" => Method::Get,
                _ => Method::Post,
            };
            let sent = match &job.upload {
                // A multipart upload goes again as a multipart form, file
                // and all.
                Some(file) => match unqueued_file(file) {
                    Some(upload) => {
                        self.send_multipart(
                            "retry",
                            method,
                            &job.url,
                            job.body.as_ref(),
                            &upload,
                            None,
                        )
                        .await
                    }
                    None => {
                        report.dropped += 1;
                        continue;
                    }
                },
                None => {
                    let (headers, _) = self.auth_headers().await?;
                    let url = match Url::parse(&job.url) {
                        Ok(u) => u,
                        Err(_) => {
                            report.dropped += 1;
                            continue;
                        }
                    };
                    let body = match &job.body {
                        Some(b) => serde_json::to_vec(b)
                            .ok()
                            .map(|v| (Bytes::from(v), "application/json")),
                        None => None,
                    };
                    let p = Prepared {
                        name: "retry",
                        method: to_reqwest(method),
                        url,
                        headers,
                        body,
                        idempotency: Idempotency::Unsafe,
                        timeout: None,
                    };
                    self.transport.execute(&p).await
                }
            };
            // A 400 again, or no answer at all (the network or the CRM
            // was down): sent again later while the window lasts. Any
            // other answer is final.
            let again = match &sent {
                Ok(a) if a.is_success() => {
                    report.succeeded += 1;
                    continue;
                }
                Ok(a) if a.status == 400 => Some(400),
                Ok(_) => None,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Connect
                            | ErrorKind::Timeout
                            | ErrorKind::Interrupted
                            | ErrorKind::Io
                    ) =>
                {
                    Some(0)
                }
                Err(_) => None,
            };
            match again {
                Some(status) => {
                    job.failures += 1;
                    let since = now.duration_since(job.first_failed_at);
                    let since = Duration::try_from(since).unwrap_or_default();
                    match self.rule.next_delay(400, job.failures, since) {
                        Some(delay) => {
                            job.next_at = now + delay;
                            job.last_status = status;
                            queue.push(job).await?;
                            report.requeued += 1;
                        }
                        None => {
                            tracing::warn!(endpoint = %job.endpoint, "retry window over; dropping");
                            report.dropped += 1;
                        }
                    }
                }
                None => report.dropped += 1,
            }
        }
        Ok(report)
    }
}

/// The file of a multipart upload, for the retry queue: the field that
/// carried it in the body (else `file`) and its bytes.
fn queued_file(body: Option<&Value>, file: &Upload) -> QueuedFile {
    let field = match body {
        Some(Value::Object(fields)) => fields
            .iter()
            .find(|(_, v)| v.as_str() == Some(FILE_SENTINEL))
            .map(|(k, _)| k.clone()),
        _ => None,
    };
    QueuedFile {
        field: field.unwrap_or_else(|| "file".to_owned()),
        file_name: file.file_name.clone(),
        content_type: file.content_type.clone(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(&file.data),
    }
}

/// The upload a queued file describes; `None` when its bytes do not
/// decode.
fn unqueued_file(file: &QueuedFile) -> Option<Upload> {
    let data = base64::engine::general_purpose::STANDARD
        .decode(&file.data_base64)
        .ok()?;
    Some(Upload::new(
        file.file_name.clone(),
        file.content_type.clone(),
        data,
    ))
}

fn searching_kind(kind: EndpointKind) -> bool {
    matches!(
        kind,
        EndpointKind::FindAccountById
            | EndpointKind::FindAccountByQuery
            | EndpointKind::FindRecordByQuery
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_debug() {
        assert_eq!(text_to_html("a<b>\n&'\""), "a&lt;b&gt;<br>&amp;&#39;&quot;");
        let auth = CrmAuth::basic("api", "hunter2");
        assert!(!format!("{auth:?}").contains("hunter2"));
        let auth = CrmAuth::header("X-Api-Key", "k-123");
        assert!(!format!("{auth:?}").contains("k-123"));
        assert!(
            GenericCrmClient::new(CrmAuth::None)
                .timeout(Duration::from_secs(11))
                .is_err()
        );
        assert_eq!(
            object_id(&serde_json::json!({"id": 123})),
            Some("123".into())
        );
        assert!(is_empty(Some(&serde_json::json!([]))));
    }
}
