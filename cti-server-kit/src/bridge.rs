//! The postMessage bridge: a browser script that relays a vendor frame's
//! messages to the server, and the server endpoint that decodes them,
//! hands vendor-neutral events to your [`EventHandler`] and sends its
//! replies back as commands in the vendor's dialect.
//!
//! ```text
//! vendor iframe ─postMessage→ bridge.js (pinned origin + frame window)
//!   ─WebSocket→ /ws (Origin + page token) → decode → CtiEvent → EventHandler
//!   ← Reply (Commands) ← render in the vendor dialect ← bridge.js
//!   ─postMessage(msg, pinned origin)→ vendor iframe
//! ```
//!
//! # Why WebSocket
//!
//! One connection carries both directions in order, so a reply can never
//! overtake the event it answers, and the server learns at once when a
//! page goes away (its lease is released). POST + SSE would need two
//! connections per page, a second authentication path and
//! reordering between them; per-connection memory on the server would be
//! higher too (an SSE response plus a request per event).
//!
//! # Authentication
//!
//! [`Bridge::issue_page`] creates a page record in the [`SessionStore`]
//! and a token `{page}.{secret}`; only a SHA-256 of the secret is stored.
//! The browser sends the token as a WebSocket subprotocol
//! (`cti-token.…`), which keeps it out of URLs and access logs. The
//! upgrade is refused with a JSON 4xx body when:
//!
//! - the `Origin` header is missing or not in the host-origin allowlist
//!   (403);
//! - the token is missing, unknown, expired or wrong (401);
//! - the page was bound to a session and the request's session (from
//!   [`BridgeBuilder::identify`]) differs (403);
//! - another connection holds the page (409): a token serves one live
//!   connection at a time; reconnecting after a drop is fine.
//!
//! # Delivery
//!
//! Events carry a sequence number. The server acknowledges them (on the
//! next command frame, `"ack": n`, or in a standalone `ack` within 25 ms)
//! and drops any it has seen (a replayed or resent event); on reconnect
//! it tells the page the last number it has, and the page resends the
//! rest.
//!
//! Serve with `TCP_NODELAY` (see the crate README): the bridge sends
//! small frames and latency matters more than packet count.
//!
//! # Ready, and where to
//!
//! A vendor frame takes commands only once it is ready in its vendor's
//! sense ([`Vendor::readiness`]): Zoom after its init handshake
//! (`zcc-init-config-request`), LeadDesk Talk between `login` and
//! `logout`, CCAI after `Agent_Login`. Until then commands wait in the
//! server; [`Bridge::send`] returns once its command is posted, or
//! fails with [`BridgeError::NotReady`] after
//! [`BridgeBuilder::ready_timeout`]. Answers to a request the frame made
//! (a lookup, its configuration) go out at once.
//!
//! Zoom and CCAI frames are heard from, and posted to, the frame's own
//! origin. LeadDesk Talk may start on one login host and run from
//! another, whose `login` names it (seed 004): its page hears the frame's
//! window on any origin of [`BridgeBuilder::login_origins`] (default
//! `https://*.leaddesk.com`), the server accepts a `login` that names one
//! of those and tells the page to pin it (`{"t":"pin"}`); from then on
//! only that origin is heard and posted to, until `logout`
//! (`{"t":"unpin"}`) or a reload. Before the login, nothing else from
//! the frame is heard.
//!
//! # Answers with a deadline
//!
//! Some vendor messages are requests: a contact search, an incoming
//! phone or e-mail lookup ([`EventKind::ContactLookupRequested`]) and the
//! configuration request ([`EventKind::ConfigRequested`]). Each is kept in
//! the connection's correlation map until answered. When the handler has
//! not answered within [`BridgeBuilder::answer_timeout`] (default 2 s),
//! the bridge sends the **default answer** so the softphone never hangs:
//!
//! - a lookup: no matches (`Command::AnswerLookup` with no contacts), so
//!   the softphone shows its "no match" path;
//! - a configuration request: `Command::Configure` with every option
//!   unset, so the vendor's own defaults apply.
//!
//! A handler that answers after that is too late: its answer is dropped
//! (and logged at debug level); its other commands are still sent.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use cti_protocol::Vendor;
use cti_protocol::dialect::{OriginStrategy, Readiness};
use cti_protocol::model::{Command, CtiEvent, EventKind, ReplyKind};
use cti_protocol::origin::{Origin, OriginAllowlist};
use futures_util::future::BoxFuture;
use futures_util::{SinkExt as _, StreamExt as _};
use http::header::{ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use http::{HeaderMap, StatusCode};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use subtle::ConstantTimeEq as _;
use tokio::sync::{mpsc, oneshot};

use crate::Rejection;
use crate::layer::RequestHead;
use crate::secret::sha256_hex;
use crate::store::{MemoryStore, SessionStore, StoreError, get_json, update_json};

/// The bridge's WebSocket subprotocol.
pub const SUBPROTOCOL: &str = "cti-bridge.v1";
/// The prefix of the subprotocol that carries the page token.
pub const TOKEN_PREFIX: &str = "cti-token.";
/// The browser script, as served at `bridge.js`.
pub const BRIDGE_JS: &str = include_str!("../assets/bridge.js");

/// What a page is, as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageContext {
    /// The page id (not secret).
    pub page_id: String,
    /// The vendor whose frame the page embeds.
    pub vendor: Vendor,
    /// The session the page was bound to, if any.
    pub session: Option<String>,
}

/// What a handler answers: commands for the frame, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// The commands.
    pub commands: Vec<Command>,
}

impl Reply {
    /// Nothing to send.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// One command.
    #[must_use]
    pub fn command(command: Command) -> Self {
        Self {
            commands: vec![command],
        }
    }

    /// Adds a command.
    #[must_use]
    pub fn and(mut self, command: Command) -> Self {
        self.commands.push(command);
        self
    }
}

impl From<Command> for Reply {
    fn from(c: Command) -> Self {
        Self::command(c)
    }
}

impl From<Vec<Command>> for Reply {
    fn from(commands: Vec<Command>) -> Self {
        Self { commands }
    }
}

/// Your code: receives each vendor-neutral event of a page, in order, and
/// answers with commands.
///
/// # Examples
///
/// ```
/// use cti_protocol::model::{Command, CrmContact, CtiEvent, EventKind};
/// use cti_server_kit::bridge::{EventHandler, PageContext, Reply};
///
/// struct Crm;
///
/// impl EventHandler for Crm {
///     async fn on_event(&self, _page: &PageContext, event: CtiEvent) -> Reply {
///         match event.kind {
///             EventKind::ContactLookupRequested(lookup) => Command::AnswerLookup {
///                 reply_to: lookup.reply_kind,
///                 contacts: vec![CrmContact::new("42", "Ada Lovelace")],
///             }
///             .into(),
///             _ => Reply::none(),
///         }
///     }
/// }
/// ```
pub trait EventHandler: Send + Sync + 'static {
    /// Handles one event.
    fn on_event(&self, page: &PageContext, event: CtiEvent) -> impl Future<Output = Reply> + Send;
}

trait ErasedHandler: Send + Sync + 'static {
    fn call(self: Arc<Self>, page: Arc<PageContext>, event: CtiEvent) -> BoxFuture<'static, Reply>;
}

impl<H: EventHandler> ErasedHandler for H {
    fn call(self: Arc<Self>, page: Arc<PageContext>, event: CtiEvent) -> BoxFuture<'static, Reply> {
        Box::pin(async move { self.on_event(&page, event).await })
    }
}

type IdentifyFn = dyn Fn(&RequestHead<'_>) -> Option<String> + Send + Sync;

/// Builds a [`Bridge`].
pub struct BridgeBuilder {
    handler: Arc<dyn ErasedHandler>,
    store: Arc<dyn SessionStore>,
    host_origins: OriginAllowlist,
    identify: Option<Arc<IdentifyFn>>,
    answer_timeout: Duration,
    page_ttl: Duration,
    pending_ttl: Duration,
    max_pages_per_session: usize,
    max_anonymous_pages: u64,
    lease: Duration,
    max_message_bytes: usize,
    node_id: Option<String>,
    login_origins: OriginAllowlist,
    ready_timeout: Duration,
}

impl fmt::Debug for BridgeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeBuilder")
            .field("host_origins", &self.host_origins)
            .field("answer_timeout", &self.answer_timeout)
            .field("page_ttl", &self.page_ttl)
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

impl BridgeBuilder {
    /// The store for pages (default: a fresh [`MemoryStore`]). Use a
    /// shared store (Redis) when several nodes serve the same pages.
    #[must_use]
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// The store, already shared.
    #[must_use]
    pub fn store_arc(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = store;
        self
    }

    /// The origins host pages are served from; the bridge endpoint
    /// refuses upgrades from any other `Origin`. Required.
    #[must_use]
    pub fn host_origins(mut self, origins: OriginAllowlist) -> Self {
        self.host_origins = origins;
        self
    }

    /// How to tell the current user's session from a request (for
    /// example from a cookie your auth layer checked). When set, a page
    /// issued for a session only connects from that session.
    #[must_use]
    pub fn identify<F>(mut self, f: F) -> Self
    where
        F: Fn(&RequestHead<'_>) -> Option<String> + Send + Sync + 'static,
    {
        self.identify = Some(Arc::new(f));
        self
    }

    /// The origins a frame whose origin follows its login (LeadDesk
    /// Talk) may log in from (default: LeadDesk's own,
    /// `https://*.leaddesk.com`). Its `login` is accepted only from the
    /// frame's window on one of these, and only when the origin it names
    /// is one of these; that origin is then pinned until `logout`.
    #[must_use]
    pub fn login_origins(mut self, origins: OriginAllowlist) -> Self {
        self.login_origins = origins;
        self
    }

    /// How long a command waits for its frame to become ready (Zoom's
    /// init handshake, LeadDesk's `login`, CCAI's `Agent_Login`) before
    /// [`Bridge::send`] fails with [`BridgeError::NotReady`] (default
    /// 30 s).
    #[must_use]
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// How long a vendor request waits for the handler before the
    /// default answer goes out (default 2 s).
    #[must_use]
    pub fn answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout;
        self
    }

    /// How long a page lives once its socket has connected (default 12 h;
    /// each connection renews it).
    #[must_use]
    pub fn page_ttl(mut self, ttl: Duration) -> Self {
        self.page_ttl = ttl;
        self
    }

    /// How long a freshly issued page waits for its socket before it is
    /// forgotten (default 2 minutes): a page load that never connects
    /// costs the store almost nothing.
    #[must_use]
    pub fn pending_ttl(mut self, ttl: Duration) -> Self {
        self.pending_ttl = ttl;
        self
    }

    /// The most pages one session keeps (default 8): issuing another
    /// forgets that session's oldest page, whose socket then fails to
    /// reconnect.
    #[must_use]
    pub fn max_pages_per_session(mut self, pages: usize) -> Self {
        self.max_pages_per_session = pages.max(1);
        self
    }

    /// The most pages issued without a session in each
    /// [`pending_ttl`](Self::pending_ttl) window, across all nodes
    /// (default 10,000); beyond it a page load gets 429. With
    /// [`identify`](Self::identify) set, serve pages to signed-in users
    /// only and anonymous loads never reach this.
    #[must_use]
    pub fn max_anonymous_pages(mut self, pages: u64) -> Self {
        self.max_anonymous_pages = pages;
        self
    }

    /// The largest bridge message accepted (default 1 MiB). A larger one
    /// closes the connection with code 1009.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// This node's id in pub/sub (default: random).
    #[must_use]
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.node_id = Some(id.into());
        self
    }

    /// Builds the bridge and subscribes this node to its command channel.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Config`] without host origins, or the store's error
    /// when subscribing fails.
    pub async fn build(self) -> Result<Bridge, BridgeError> {
        if self.host_origins.is_empty() {
            return Err(BridgeError::Config(
                "host_origins is empty: name the origins your host pages are served from".into(),
            ));
        }
        let node_id = match self.node_id {
            Some(n) => n,
            None => random_id(12)?,
        };
        let inner = Arc::new(Inner {
            handler: self.handler,
            store: self.store,
            host_origins: self.host_origins,
            identify: self.identify,
            answer_timeout: self.answer_timeout,
            page_ttl: self.page_ttl,
            pending_ttl: self.pending_ttl,
            max_pages_per_session: self.max_pages_per_session,
            max_anonymous_pages: self.max_anonymous_pages,
            lease: self.lease,
            max_message_bytes: self.max_message_bytes,
            local: Mutex::new(HashMap::new()),
            node_id,
            login_origins: self.login_origins,
            ready_timeout: self.ready_timeout,
            waiters: Mutex::new(HashMap::new()),
        });
        let mut stream = inner.store.subscribe(&node_channel(&inner.node_id)).await?;
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                let Some(inner) = weak.upgrade() else { break };
                match serde_json::from_slice::<Relay>(&msg) {
                    Ok(relay) => {
                        if !inner.deliver_local(&relay.page, Outbound::Data(relay.data, None)) {
                            tracing::debug!(page = %relay.page, "relayed command for a page no longer here");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "malformed relay message ignored"),
                }
            }
        });
        Ok(Bridge { inner })
    }
}

/// Errors of the bridge's server-side API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The configuration is incomplete.
    #[error("bridge configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The page does not exist or expired.
    #[error("no such page (or it expired)")]
    NoSuchPage,
    /// The page has no live connection.
    #[error("the page is not connected")]
    NotConnected,
    /// The command cannot be said in the page vendor's dialect.
    #[error(transparent)]
    Protocol(#[from] cti_protocol::Error),
    /// The operating system's random generator failed.
    #[error("no randomness: {0}")]
    Random(String),
    /// Too many pages were issued without a session; try again later.
    #[error("too many pages without a session; try again later")]
    TooManyPages,
    /// The frame did not become ready for commands in time (Zoom's init
    /// handshake, LeadDesk's `login`, CCAI's `Agent_Login` never came).
    #[error("the vendor frame did not become ready for commands in time")]
    NotReady,
    /// The frame answered the request with an error (Zoom's `zcc-error`
    /// carrying the request's `requestId`).
    #[error("the vendor frame refused the command: {}", .message.as_deref().or(.code.as_deref()).unwrap_or("no reason given"))]
    Refused {
        /// The vendor's code (`no-phone`, …).
        code: Option<String>,
        /// The vendor's message.
        message: Option<String>,
    },
}

impl IntoResponse for BridgeError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::NoSuchPage => (StatusCode::NOT_FOUND, "no_such_page"),
            Self::NotConnected => (StatusCode::CONFLICT, "not_connected"),
            Self::Protocol(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_command"),
            Self::TooManyPages => (StatusCode::TOO_MANY_REQUESTS, "too_many_pages"),
            Self::NotReady => (StatusCode::CONFLICT, "not_ready"),
            Self::Refused { .. } => (StatusCode::CONFLICT, "refused_by_vendor"),
            Self::Config(_) | Self::Store(_) | Self::Random(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "bridge_error")
            }
        };
        Rejection::new(status, code, self.to_string()).into_response()
    }
}

/// A page token, as handed to the page. Secret: `Debug` hides it.
#[derive(Clone)]
pub struct PageGrant {
    /// The page id.
    pub page_id: String,
    /// The token for `data-token`.
    pub token: SecretString,
    /// The vendor.
    pub vendor: Vendor,
    /// The frame's origin.
    pub frame_origin: Origin,
    /// For a vendor whose origin follows its login: the origins its login
    /// may come from (patterns, as [`OriginAllowlist::patterns`] gives them).
    pub login_origins: Option<Vec<String>>,
}

impl fmt::Debug for PageGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageGrant")
            .field("page_id", &self.page_id)
            .field("token", &"<redacted>")
            .field("vendor", &self.vendor)
            .field("frame_origin", &self.frame_origin)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageRecord {
    vendor: Vendor,
    secret_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<String>,
    frame_origin: String,
    last_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease: Option<Lease>,
    /// The frame takes commands (see [`Vendor::readiness`]).
    #[serde(default)]
    ready: bool,
    /// The origin a login pinned (LeadDesk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pinned: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Lease {
    node: String,
    conn: u64,
    until_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Relay {
    page: String,
    data: Box<RawValue>,
}

enum Outbound {
    /// A rendered vendor command (JSON), and who waits to hear whether it
    /// was posted.
    Data(
        Box<RawValue>,
        Option<oneshot::Sender<Result<(), BridgeError>>>,
    ),
}

struct Inner {
    handler: Arc<dyn ErasedHandler>,
    store: Arc<dyn SessionStore>,
    host_origins: OriginAllowlist,
    identify: Option<Arc<IdentifyFn>>,
    answer_timeout: Duration,
    page_ttl: Duration,
    pending_ttl: Duration,
    max_pages_per_session: usize,
    max_anonymous_pages: u64,
    lease: Duration,
    max_message_bytes: usize,
    local: Mutex<HashMap<String, (u64, mpsc::UnboundedSender<Outbound>)>>,
    node_id: String,
    login_origins: OriginAllowlist,
    ready_timeout: Duration,
    /// Requests waiting for the frame's answer, by page and request id.
    waiters: Mutex<HashMap<(String, String), oneshot::Sender<CtiEvent>>>,
}

impl Inner {
    fn deliver_local(&self, page: &str, out: Outbound) -> bool {
        let local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        match local.get(page) {
            Some((_, tx)) => tx.send(out).is_ok(),
            None => false,
        }
    }
}

fn node_channel(node: &str) -> String {
    format!("bridge:node:{node}")
}

fn page_key(page: &str) -> String {
    format!("bridge:page:{page}")
}

fn random_id(bytes: usize) -> Result<String, BridgeError> {
    crate::secret::random_token(bytes).map_err(|e| BridgeError::Random(e.to_string()))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The bridge: issue pages, serve the endpoint, send commands.
///
/// Cheap to clone; use it as (part of) your axum state.
#[derive(Clone)]
pub struct Bridge {
    inner: Arc<Inner>,
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("node_id", &self.inner.node_id)
            .field("host_origins", &self.inner.host_origins)
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// Starts building a bridge around `handler`.
    pub fn builder<H: EventHandler>(handler: H) -> BridgeBuilder {
        BridgeBuilder {
            handler: Arc::new(handler),
            store: Arc::new(MemoryStore::new()),
            host_origins: OriginAllowlist::new(),
            identify: None,
            answer_timeout: Duration::from_secs(2),
            page_ttl: Duration::from_secs(12 * 3600),
            pending_ttl: Duration::from_secs(120),
            max_pages_per_session: 8,
            max_anonymous_pages: 10_000,
            lease: Duration::from_secs(60),
            max_message_bytes: 1 << 20,
            node_id: None,
            login_origins: cti_protocol::origin::vendor::leaddesk(),
            ready_timeout: Duration::from_secs(30),
        }
    }

    /// This node's id.
    #[must_use]
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// Creates a page for `vendor`'s frame at `frame_origin`, optionally
    /// bound to a user session, and returns its token.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Config`] for a vendor without a postMessage dialect
    /// or an opaque frame origin; the store's errors.
    pub async fn issue_page(
        &self,
        vendor: Vendor,
        frame_origin: &Origin,
        session: Option<&str>,
    ) -> Result<PageGrant, BridgeError> {
        if !vendor.has_post_message_dialect() {
            return Err(BridgeError::Config(format!(
                "{vendor} has no postMessage dialect to bridge"
            )));
        }
        if frame_origin.is_opaque() {
            return Err(BridgeError::Config(
                "the frame's origin is opaque; commands could not be pinned".into(),
            ));
        }
        if session.is_none() {
            let (issued, _) = self
                .inner
                .store
                .incr("bridge:anonymous-pages", self.inner.pending_ttl)
                .await?;
            if issued > self.inner.max_anonymous_pages {
                return Err(BridgeError::TooManyPages);
            }
        }
        let page_id = random_id(16)?;
        let secret = random_id(32)?;
        let record = PageRecord {
            vendor,
            secret_sha256: sha256_hex(&secret),
            session: session.map(str::to_owned),
            frame_origin: frame_origin.to_string(),
            last_seq: 0,
            lease: None,
            ready: false,
            pinned: None,
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| BridgeError::Config(e.to_string()))?;
        let inserted = self
            .inner
            .store
            .insert_new(
                &page_key(&page_id),
                Bytes::from(bytes),
                self.inner.pending_ttl,
            )
            .await?;
        if !inserted {
            return Err(BridgeError::Random("page id collision".into()));
        }
        if let Some(session) = session {
            self.keep_session_pages(session, &page_id).await?;
        }
        Ok(PageGrant {
            token: SecretString::from(format!("{page_id}.{secret}")),
            page_id,
            vendor,
            frame_origin: frame_origin.clone(),
            login_origins: (vendor.origin_strategy() == OriginStrategy::FromLogin)
                .then(|| self.inner.login_origins.patterns().collect()),
        })
    }

    /// The newest live page of `vendor` issued to `session` (as
    /// [`BridgeBuilder::identify`] names it): where a command for the
    /// page this agent is looking at goes, even before its frame has
    /// posted anything.
    ///
    /// # Errors
    ///
    /// The store's errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn dial(bridge: &cti_server_kit::bridge::Bridge, session: &str) -> Result<(), cti_server_kit::bridge::BridgeError> {
    /// use cti_protocol::Vendor;
    /// use cti_protocol::model::Command;
    ///
    /// if let Some(page) = bridge.newest_page(session, Vendor::Zoom).await? {
    ///     bridge.send(&page, &Command::Dial { number: "+14155550100".into(), immediately: true, contact: None }).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn newest_page(
        &self,
        session: &str,
        vendor: Vendor,
    ) -> Result<Option<String>, BridgeError> {
        let key = format!("bridge:session:{}", sha256_hex(session));
        let Some((pages, _)) = get_json::<Vec<String>>(&*self.inner.store, &key).await? else {
            return Ok(None);
        };
        for page in pages.iter().rev() {
            if let Some((record, _)) =
                get_json::<PageRecord>(&*self.inner.store, &page_key(page)).await?
                && record.vendor == vendor
            {
                return Ok(Some(page.clone()));
            }
        }
        Ok(None)
    }

    /// Adds `page_id` to its session's pages, forgetting the oldest
    /// beyond the cap.
    async fn keep_session_pages(&self, session: &str, page_id: &str) -> Result<(), BridgeError> {
        let key = format!("bridge:session:{}", sha256_hex(session));
        let cap = self.inner.max_pages_per_session;
        let mut dropped = Vec::new();
        let kept = update_json::<Vec<String>, (), _>(
            &*self.inner.store,
            &key,
            self.inner.page_ttl,
            |current| {
                let mut pages = current.unwrap_or_default();
                pages.retain(|p| p != page_id);
                pages.push(page_id.to_owned());
                let over = pages.len().saturating_sub(cap);
                dropped = pages.drain(..over).collect();
                Ok(Some(pages))
            },
        )
        .await?;
        if kept.is_ok() {
            for old in dropped {
                let key = page_key(&old);
                if let Some(v) = self.inner.store.get(&key).await? {
                    let _ = self
                        .inner
                        .store
                        .swap(&key, v.version, None, self.inner.page_ttl)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Sends `command` to a page, wherever it is connected: directly when
    /// the connection is on this node, through the store's pub/sub
    /// otherwise.
    ///
    /// # Errors
    ///
    /// [`BridgeError::NoSuchPage`], [`BridgeError::NotConnected`],
    /// [`BridgeError::Protocol`] when the vendor has no such command, or
    /// the store's errors.
    pub async fn send(&self, page_id: &str, command: &Command) -> Result<(), BridgeError> {
        let Some((record, _)) =
            get_json::<PageRecord>(&*self.inner.store, &page_key(page_id)).await?
        else {
            return Err(BridgeError::NoSuchPage);
        };
        let rendered = command.render(record.vendor)?;
        let data = rendered.raw_value();
        let (done, posted) = oneshot::channel();
        if self
            .inner
            .deliver_local(page_id, Outbound::Data(data.clone(), Some(done)))
        {
            // The connection posts it once the frame is ready, or says it
            // never became ready.
            let wait = self.inner.ready_timeout + Duration::from_secs(5);
            return match tokio::time::timeout(wait, posted).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(BridgeError::NotConnected),
                Err(_) => Err(BridgeError::NotReady),
            };
        }
        match record.lease {
            Some(lease) if lease.until_ms > now_ms() && lease.node != self.inner.node_id => {
                let relay = Relay {
                    page: page_id.to_owned(),
                    data,
                };
                let bytes =
                    serde_json::to_vec(&relay).map_err(|e| BridgeError::Config(e.to_string()))?;
                self.inner
                    .store
                    .publish(&node_channel(&lease.node), Bytes::from(bytes))
                    .await?;
                Ok(())
            }
            _ => Err(BridgeError::NotConnected),
        }
    }

    /// Sends a command that carries a request id (a [`Target`]'s
    /// `request_id`, or `ListInteractions`'s; one is made up when it has
    /// none) and waits up to `wait` for the frame's answer to that id.
    ///
    /// `Ok(Some(event))` is the answer (the engagement list of a
    /// `ListInteractions`); `Ok(None)` means no answer came, which for
    /// Zoom's control commands means none was needed (it answers them
    /// only to refuse). The page must be connected to this node.
    ///
    /// [`Target`]: cti_protocol::model::Target
    ///
    /// # Errors
    ///
    /// [`BridgeError::Refused`] when the frame answers with an error for
    /// this request (Zoom's `zcc-error` with its `requestId`),
    /// [`BridgeError::Config`] for a command without a request id, and
    /// [`Self::send`]'s errors.
    pub async fn request(
        &self,
        page_id: &str,
        command: &Command,
        wait: Duration,
    ) -> Result<Option<CtiEvent>, BridgeError> {
        let mut command = command.clone();
        let slot = match &mut command {
            Command::Answer { target }
            | Command::Reject { target }
            | Command::HangUp { target }
            | Command::Hold { target, .. }
            | Command::Mute { target, .. }
            | Command::SetDisposition { target, .. }
            | Command::CompleteWrapUp { target } => &mut target.request_id,
            Command::ListInteractions { request_id } => request_id,
            other => {
                return Err(BridgeError::Config(format!(
                    "`{}` carries no request id to wait on",
                    other.name()
                )));
            }
        };
        let id = match slot {
            Some(id) => id.to_string(),
            None => {
                let id = random_id(9)?;
                *slot = Some(id.as_str().into());
                id
            }
        };
        let key = (page_id.to_owned(), id);
        let (tx, rx) = oneshot::channel();
        self.inner
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), tx);
        let forget = || {
            self.inner
                .waiters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&key);
        };
        if let Err(e) = self.send(page_id, &command).await {
            forget();
            return Err(e);
        }
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(event)) => match &event.kind {
                EventKind::Error { code, message, .. } => Err(BridgeError::Refused {
                    code: code.as_deref().map(str::to_owned),
                    message: message.as_deref().map(str::to_owned),
                }),
                _ => Ok(Some(event)),
            },
            _ => {
                forget();
                Ok(None)
            }
        }
    }

    pub(crate) fn identify_session(&self, head: &RequestHead<'_>) -> Option<String> {
        self.inner.identify.as_ref().and_then(|f| f(head))
    }

    /// The number of pages connected to this node.
    #[must_use]
    pub fn local_connections(&self) -> usize {
        self.inner
            .local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The bridge's routes, to [`nest`](Router::nest) where you like
    /// (the page script finds the socket relative to itself):
    ///
    /// - `GET bridge.js`: the browser script;
    /// - `GET ws`: the WebSocket endpoint.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(bridge: cti_server_kit::bridge::Bridge) {
    /// let app: axum::Router = axum::Router::new().nest("/cti", bridge.router());
    /// # let _ = app;
    /// # }
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/bridge.js", get(serve_js))
            .route("/ws", get(upgrade))
            .with_state(self.clone())
    }
}

async fn serve_js() -> impl IntoResponse {
    (
        [
            (http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (http::header::CACHE_CONTROL, "public, max-age=300"),
            (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        BRIDGE_JS,
    )
}

fn reject(status: StatusCode, code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection::new(status, code, message)
}

/// Pulls the token out of `Sec-WebSocket-Protocol`, and checks that the
/// bridge subprotocol is offered.
fn token_from(headers: &HeaderMap) -> Result<(String, String), Rejection> {
    let mut has_protocol = false;
    let mut token = None;
    for value in headers.get_all(SEC_WEBSOCKET_PROTOCOL) {
        let Ok(text) = value.to_str() else { continue };
        for p in text.split(',').map(str::trim) {
            if p == SUBPROTOCOL {
                has_protocol = true;
            } else if let Some(t) = p.strip_prefix(TOKEN_PREFIX) {
                token = Some(t.to_owned());
            }
        }
    }
    if !has_protocol {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "bad_subprotocol",
            format!("offer the `{SUBPROTOCOL}` subprotocol"),
        ));
    }
    let Some(token) = token else {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "no page token offered",
        ));
    };
    match token.split_once('.') {
        Some((page, secret)) if !page.is_empty() && !secret.is_empty() && page.len() <= 64 => {
            Ok((page.to_owned(), secret.to_owned()))
        }
        _ => Err(reject(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "the page token is malformed",
        )),
    }
}

static CONN_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

async fn upgrade(State(bridge): State<Bridge>, request: axum::extract::Request) -> Response {
    let inner = &bridge.inner;
    let (mut parts, _body) = request.into_parts();
    // Origin first: a page from elsewhere learns nothing else.
    let origin_ok = parts
        .headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| inner.host_origins.allows_str(o));
    if !origin_ok {
        return reject(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "the Origin header is missing or not an allowed host origin",
        )
        .into_response();
    }
    let (page_id, secret) = match token_from(&parts.headers) {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let session = inner.identify.as_ref().and_then(|f| {
        f(&RequestHead {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            extensions: &parts.extensions,
        })
    });
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                "not_a_websocket",
                format!("the bridge endpoint speaks WebSocket only: {e}"),
            )
            .into_response();
        }
    };
    let conn = CONN_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let node = inner.node_id.clone();
    let lease_ms = u64::try_from(inner.lease.as_millis()).unwrap_or(60_000);
    let secret_hash = sha256_hex(&secret);
    // Check the token and claim the page in one atomic update.
    let claimed = update_json::<PageRecord, Rejection, _>(
        &*inner.store,
        &page_key(&page_id),
        inner.page_ttl,
        |current| {
            let Some(mut record) = current else {
                return Err(reject(
                    StatusCode::UNAUTHORIZED,
                    "bad_token",
                    "unknown or expired page token",
                ));
            };
            let ok: bool = record
                .secret_sha256
                .as_bytes()
                .ct_eq(secret_hash.as_bytes())
                .into();
            if !ok {
                return Err(reject(
                    StatusCode::UNAUTHORIZED,
                    "bad_token",
                    "unknown or expired page token",
                ));
            }
            if let Some(bound) = &record.session {
                let same: bool = session
                    .as_deref()
                    .is_some_and(|s| s.as_bytes().ct_eq(bound.as_bytes()).into());
                if !same {
                    return Err(reject(
                        StatusCode::FORBIDDEN,
                        "wrong_session",
                        "this page belongs to another session",
                    ));
                }
            }
            if record.lease.as_ref().is_some_and(|l| l.until_ms > now_ms()) {
                return Err(reject(
                    StatusCode::CONFLICT,
                    "page_in_use",
                    "another connection holds this page",
                ));
            }
            record.lease = Some(Lease {
                node: node.clone(),
                conn,
                until_ms: now_ms() + lease_ms,
            });
            Ok(Some(record))
        },
    )
    .await;
    let record = match claimed {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => {
            return reject(StatusCode::UNAUTHORIZED, "bad_token", "unknown page token")
                .into_response();
        }
        Ok(Err(rejection)) => return rejection.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "bridge store failed during upgrade");
            return reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the session store is unavailable; retry",
            )
            .into_response();
        }
    };
    let page = Arc::new(PageContext {
        page_id: page_id.clone(),
        vendor: record.vendor,
        session: record.session.clone(),
    });
    let inner = Arc::clone(&bridge.inner);
    let max = inner.max_message_bytes;
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(max.saturating_mul(4).max(64 * 1024))
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let state = FrameState {
                ready: record.ready,
                pinned: record.pinned.clone(),
            };
            run_connection(inner, socket, page, conn, record.last_seq, state).await;
        })
}

/// What a connection's loop hears about besides its socket.
enum Inbox {
    Reply { request: Option<u64>, reply: Reply },
    Deadline(u64),
}

#[derive(Deserialize)]
struct EventFrame<'a> {
    t: &'a str,
    #[serde(default)]
    seq: u64,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    /// The origin the page saw the message come from.
    #[serde(default, borrow)]
    from: Option<std::borrow::Cow<'a, str>>,
}

/// Whether a page's frame takes commands, and where (kept in the page
/// record, so that a reconnecting page keeps it).
struct FrameState {
    ready: bool,
    pinned: Option<String>,
}

/// A command waiting for its frame to become ready.
struct Held {
    data: Box<RawValue>,
    done: Option<oneshot::Sender<Result<(), BridgeError>>>,
    until: tokio::time::Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    Lookup(ReplyKind),
    Config,
}

impl Pending {
    fn of(kind: &EventKind) -> Option<Self> {
        match kind {
            EventKind::ContactLookupRequested(l) => Some(Self::Lookup(l.reply_kind)),
            EventKind::ConfigRequested => Some(Self::Config),
            _ => None,
        }
    }

    fn default_answer(self) -> Command {
        match self {
            Self::Lookup(reply_to) => Command::AnswerLookup {
                reply_to,
                contacts: Vec::new(),
            },
            Self::Config => Command::Configure {
                screen_pop_on: None,
                recording_urls: None,
                prevent_manual_dialing: None,
            },
        }
    }

    fn is_answer(self, command: &Command) -> bool {
        match (self, command) {
            (Self::Lookup(k), Command::AnswerLookup { reply_to, .. }) => k == *reply_to,
            (Self::Config, Command::Configure { .. }) => true,
            _ => false,
        }
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

#[allow(clippy::too_many_lines)]
async fn run_connection(
    inner: Arc<Inner>,
    socket: WebSocket,
    page: Arc<PageContext>,
    conn: u64,
    mut last_seq: u64,
    mut state: FrameState,
) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outbound>();
    let (inbox_tx, mut inbox) = mpsc::unbounded_channel::<Inbox>();
    // Boxed: a channel allocates its first block of 32 slots up front,
    // and 32 unboxed events would be most of a connection's memory.
    let (work_tx, mut work_rx) = mpsc::channel::<(Box<CtiEvent>, Option<u64>)>(64);
    inner
        .local
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(page.page_id.clone(), (conn, out_tx));

    // The handler runs in order, one event at a time, beside the socket
    // loop, so a slow handler never stops acks, deadlines or commands.
    let worker = {
        let handler = Arc::clone(&inner.handler);
        let page = Arc::clone(&page);
        let inbox_tx = inbox_tx.clone();
        tokio::spawn(async move {
            while let Some((event, request)) = work_rx.recv().await {
                let reply = Arc::clone(&handler).call(Arc::clone(&page), *event).await;
                if inbox_tx.send(Inbox::Reply { request, reply }).is_err() {
                    break;
                }
            }
        })
    };

    let welcome = format!(
        r#"{{"t":"welcome","page":"{}","last_seq":{last_seq}}}"#,
        page.page_id
    );
    let mut alive = sink.send(Message::Text(welcome.into())).await.is_ok();
    let strategy = page.vendor.origin_strategy();
    if let Some(origin) = state.pinned.as_deref().filter(|_| state.ready) {
        alive = alive && sink.send(pin_frame(Some(origin))).await.is_ok();
    }
    // Commands that wait for the frame to become ready, oldest first.
    let mut held: VecDeque<Held> = VecDeque::new();
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let mut next_request = 0u64;
    // Acks ride on the next command frame; a standalone ack goes out only
    // when no frame carried it within ACK_DELAY. Two small writes in a
    // row would otherwise meet Nagle's algorithm and the peer's delayed
    // ACK, which costs tens of milliseconds.
    let mut ack_due: Option<tokio::time::Instant> = None;
    let mut renew = tokio::time::interval(inner.lease / 3);
    renew.tick().await;

    while alive {
        tokio::select! {
            incoming = stream.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        let _ = sink.send(close(1003, "text frames only")).await;
                        break;
                    }
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::debug!(page = %page.page_id, error = %e, "bridge socket error");
                        let _ = sink.send(close(1009, "message too large or malformed")).await;
                        break;
                    }
                };
                let Ok(frame) = serde_json::from_str::<EventFrame<'_>>(text.as_str()) else {
                    let _ = sink.send(close(1007, "not a bridge message")).await;
                    break;
                };
                if frame.t != "event" || frame.seq == 0 {
                    let _ = sink.send(close(1008, "unknown bridge message")).await;
                    break;
                }
                if frame.seq <= last_seq {
                    // Replayed or resent: already handled.
                    tracing::debug!(page = %page.page_id, seq = frame.seq, "duplicate event dropped");
                    ack_due.get_or_insert_with(|| tokio::time::Instant::now() + ACK_DELAY);
                    continue;
                }
                last_seq = frame.seq;
                if let Some(data) = frame.data {
                    match cti_protocol::decode(page.vendor, data.get()) {
                        Ok(message) => match message.into_event() {
                            Ok(event) => {
                                let readiness = page.vendor.readiness(&event.kind);
                                let logging_in = matches!(readiness, Some(Readiness::Ready { .. }));
                                if strategy == OriginStrategy::FromLogin && !state.ready && !logging_in {
                                    // Until a login pins the origin, only the login is heard.
                                    tracing::debug!(page = %page.page_id, "message before login ignored");
                                    ack_due.get_or_insert_with(|| tokio::time::Instant::now() + ACK_DELAY);
                                    continue;
                                }
                                match readiness {
                                    Some(Readiness::Ready { origin }) => {
                                        let pin = match strategy {
                                            OriginStrategy::FromLogin => origin
                                                .as_deref()
                                                .filter(|o| inner.login_origins.allows_str(o))
                                                .filter(|_| frame.from.as_deref().is_none_or(|f| inner.login_origins.allows_str(f)))
                                                .map(str::to_owned),
                                            _ => None,
                                        };
                                        if strategy == OriginStrategy::FromLogin && pin.is_none() {
                                            tracing::warn!(page = %page.page_id, "login naming an origin outside the login allowlist ignored");
                                            ack_due.get_or_insert_with(|| tokio::time::Instant::now() + ACK_DELAY);
                                            continue;
                                        }
                                        let changed = !state.ready || state.pinned != pin;
                                        state.ready = true;
                                        state.pinned = pin;
                                        if state.pinned.is_some() {
                                            alive = sink.send(pin_frame(state.pinned.as_deref())).await.is_ok();
                                        }
                                        while alive && let Some(h) = held.pop_front() {
                                            alive = send_out(&mut sink, &h.data, last_seq).await;
                                            if let Some(done) = h.done {
                                                let _ = done.send(Ok(()));
                                            }
                                        }
                                        if changed {
                                            remember(&inner, &page.page_id, &state).await;
                                        }
                                    }
                                    Some(Readiness::NotReady) => {
                                        state.ready = false;
                                        if state.pinned.take().is_some() {
                                            alive = sink.send(pin_frame(None)).await.is_ok();
                                        }
                                        remember(&inner, &page.page_id, &state).await;
                                    }
                                    _ => {}
                                }
                                let request = Pending::of(&event.kind).map(|p| {
                                    next_request += 1;
                                    pending.insert(next_request, p);
                                    let tx = inbox_tx.clone();
                                    let id = next_request;
                                    let wait = inner.answer_timeout;
                                    tokio::spawn(async move {
                                        tokio::time::sleep(wait).await;
                                        let _ = tx.send(Inbox::Deadline(id));
                                    });
                                    next_request
                                });
                                // The answer to a request someone waits on.
                                let answered = match &event.kind {
                                    EventKind::Error { request_id: Some(id), .. }
                                    | EventKind::InteractionsListed { request_id: Some(id), .. } => Some(id.to_string()),
                                    _ => None,
                                };
                                if let Some(id) = answered {
                                    let waiter = inner
                                        .waiters
                                        .lock()
                                        .unwrap_or_else(PoisonError::into_inner)
                                        .remove(&(page.page_id.clone(), id));
                                    if let Some(tx) = waiter {
                                        let _ = tx.send(event.clone());
                                    }
                                }
                                // Bounded: a flood waits here (backpressure)
                                // instead of growing memory.
                                if work_tx.send((Box::new(event), request)).await.is_err() {
                                    break;
                                }
                            }
                            Err(other) => {
                                tracing::debug!(page = %page.page_id, wire_type = other.wire_type(), "message is not an event; ignored");
                            }
                        },
                        Err(e) => {
                            tracing::info!(page = %page.page_id, kind = ?e.kind(), "vendor message did not decode; ignored");
                        }
                    }
                }
                ack_due.get_or_insert_with(|| tokio::time::Instant::now() + ACK_DELAY);
            }
            () = sleep_until_opt(ack_due) => {
                ack_due = None;
                let ack = format!(r#"{{"t":"ack","seq":{last_seq}}}"#);
                alive = sink.send(Message::Text(ack.into())).await.is_ok();
            }
            Some(msg) = inbox.recv() => {
                match msg {
                    Inbox::Deadline(id) => {
                        if let Some(p) = pending.remove(&id) {
                            tracing::debug!(page = %page.page_id, "handler late; default answer sent");
                            // An answer to the frame's own request: it hears it.
                            alive = send_command(&mut sink, page.vendor, &p.default_answer(), last_seq).await;
                            ack_due = None;
                        }
                    }
                    Inbox::Reply { request, reply } => {
                        // `waiting` is the request this reply answers, if
                        // it is still open; a request that is no longer in
                        // the map got the default answer already.
                        let mut waiting = request.and_then(|id| pending.get(&id).map(|p| (id, *p)));
                        for command in &reply.commands {
                            let answer_like = matches!(command, Command::AnswerLookup { .. } | Command::Configure { .. });
                            let mut answers_request = false;
                            if answer_like && request.is_some() {
                                match waiting {
                                    Some((id, p)) if p.is_answer(command) => {
                                        pending.remove(&id);
                                        waiting = None;
                                        answers_request = true;
                                    }
                                    Some(_) => {}
                                    None => {
                                        tracing::debug!(page = %page.page_id, "late answer dropped; the default went out");
                                        continue;
                                    }
                                }
                            }
                            // The answer to a request the frame made goes
                            // out at once; other commands wait until the
                            // frame is ready.
                            if answers_request || state.ready {
                                alive = send_command(&mut sink, page.vendor, command, last_seq).await;
                                // The ack rode on the command.
                                ack_due = None;
                            } else {
                                hold(&mut held, page.vendor, command, inner.ready_timeout);
                            }
                            if !alive { break; }
                        }
                        if let Some((id, p)) = waiting {
                            // The handler finished without answering.
                            pending.remove(&id);
                            alive = alive && send_command(&mut sink, page.vendor, &p.default_answer(), last_seq).await;
                            ack_due = None;
                        }
                    }
                }
            }
            Some(Outbound::Data(data, done)) = out_rx.recv() => {
                if state.ready {
                    alive = send_out(&mut sink, &data, last_seq).await;
                    ack_due = None;
                    if let Some(done) = done {
                        let _ = done.send(Ok(()));
                    }
                } else {
                    held.push_back(Held { data, done, until: tokio::time::Instant::now() + inner.ready_timeout });
                }
            }
            () = sleep_until_opt(held.front().map(|h| h.until)) => {
                let now = tokio::time::Instant::now();
                while held.front().is_some_and(|h| h.until <= now) {
                    if let Some(h) = held.pop_front() {
                        tracing::warn!(page = %page.page_id, "command dropped: the frame never became ready");
                        if let Some(done) = h.done {
                            let _ = done.send(Err(BridgeError::NotReady));
                        }
                    }
                }
            }
            _ = renew.tick() => {
                let until = now_ms() + u64::try_from(inner.lease.as_millis()).unwrap_or(60_000);
                let node = inner.node_id.clone();
                let renewed = update_json::<PageRecord, (), _>(&*inner.store, &page_key(&page.page_id), inner.page_ttl, |current| {
                    let Some(mut r) = current else { return Err(()) };
                    match &mut r.lease {
                        Some(l) if l.node == node && l.conn == conn => l.until_ms = until,
                        _ => return Err(()),
                    }
                    r.last_seq = r.last_seq.max(last_seq);
                    Ok(Some(r))
                }).await;
                if !matches!(renewed, Ok(Ok(_))) {
                    tracing::warn!(page = %page.page_id, "lost the page lease; closing");
                    let _ = sink.send(close(1012, "lease lost")).await;
                    break;
                }
            }
        }
    }

    worker.abort();
    for h in held.drain(..) {
        if let Some(done) = h.done {
            let _ = done.send(Err(BridgeError::NotConnected));
        }
    }
    {
        let mut local = inner.local.lock().unwrap_or_else(PoisonError::into_inner);
        if local.get(&page.page_id).is_some_and(|(c, _)| *c == conn) {
            local.remove(&page.page_id);
        }
    }
    let node = inner.node_id.clone();
    let released = update_json::<PageRecord, (), _>(
        &*inner.store,
        &page_key(&page.page_id),
        inner.page_ttl,
        |current| {
            let Some(mut r) = current else { return Err(()) };
            if r.lease
                .as_ref()
                .is_some_and(|l| l.node == node && l.conn == conn)
            {
                r.lease = None;
            }
            r.last_seq = r.last_seq.max(last_seq);
            Ok(Some(r))
        },
    )
    .await;
    if let Err(e) = released {
        tracing::warn!(page = %page.page_id, error = %e, "could not release the page lease; it expires by itself");
    }
}

/// How long a standalone ack may wait for a command frame to ride on.
const ACK_DELAY: Duration = Duration::from_millis(25);

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn send_out<S>(sink: &mut S, data: &RawValue, ack: u64) -> bool
where
    S: futures_util::Sink<Message> + Unpin,
{
    let text = format!(r#"{{"t":"command","ack":{ack},"data":{}}}"#, data.get());
    sink.send(Message::Text(text.into())).await.is_ok()
}

/// Tells the page which origin to hear and post to (`None`: none until
/// the next login).
fn pin_frame(origin: Option<&str>) -> Message {
    let text = match origin {
        Some(o) => serde_json::json!({"t": "pin", "origin": o}).to_string(),
        None => r#"{"t":"unpin"}"#.to_owned(),
    };
    Message::Text(text.into())
}

/// Keeps the frame's readiness in the page record.
async fn remember(inner: &Inner, page_id: &str, state: &FrameState) {
    let (ready, pinned) = (state.ready, state.pinned.clone());
    let saved = update_json::<PageRecord, (), _>(
        &*inner.store,
        &page_key(page_id),
        inner.page_ttl,
        |current| {
            let Some(mut r) = current else { return Err(()) };
            r.ready = ready;
            r.pinned.clone_from(&pinned);
            Ok(Some(r))
        },
    )
    .await;
    if !matches!(saved, Ok(Ok(_))) {
        tracing::warn!(page = %page_id, "could not keep the frame's readiness");
    }
}

/// Keeps `command` until the frame is ready, for `wait` at the most.
fn hold(held: &mut VecDeque<Held>, vendor: Vendor, command: &Command, wait: Duration) {
    match command.render(vendor) {
        Ok(rendered) => held.push_back(Held {
            data: rendered.raw_value(),
            done: None,
            until: tokio::time::Instant::now() + wait,
        }),
        Err(e) => {
            tracing::warn!(%vendor, command = command.name(), error = %e, "command not sent: the vendor has no such message");
        }
    }
}

async fn send_command<S>(sink: &mut S, vendor: Vendor, command: &Command, ack: u64) -> bool
where
    S: futures_util::Sink<Message> + Unpin,
{
    match command.render(vendor) {
        Ok(rendered) => {
            let text = format!(
                r#"{{"t":"command","ack":{ack},"data":{}}}"#,
                rendered.encode()
            );
            sink.send(Message::Text(text.into())).await.is_ok()
        }
        Err(e) => {
            tracing::warn!(%vendor, command = command.name(), error = %e, "command not sent: the vendor has no such message");
            true
        }
    }
}
