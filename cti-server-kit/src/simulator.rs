//! Reference softphones for testing a CRM integration without a vendor
//! account (feature `simulator`).
//!
//! A [`Simulator`] serves one softphone page per dialect, at `/zoom/`,
//! `/leaddesk/` and `/ccai/`, each meant to sit in an `<iframe>` of the
//! CRM. Behind the pages is one cti-media [`Engine`] with one agent and one
//! queue. Whatever happens in the engine is rendered in each dialect by
//! [`Renderer`] and posted to the host page in the vendor's exact message
//! order, and the host's commands act on the engine.
//!
//! ```text
//!   CRM page ◄─postMessage (pinned origin)─ softphone page ◄─WebSocket─ Simulator ─ Engine
//!   CRM page ─postMessage─► softphone page ─WebSocket─► decode ─► Op on the engine
//!   tests, scripts ─HTTP /sim/api/*─► inbound calls, SMS, chats; agent actions
//! ```
//!
//! # Origin rules
//!
//! The softphone pages enforce what the vendors enforce, and are stricter
//! where a vendor is lax:
//!
//! - Every page is served with `frame-ancestors` set to the host
//!   allowlist, so a browser refuses to frame it anywhere else.
//! - The page learns its parent's origin from the browser
//!   (`location.ancestorOrigins`) and the server checks it against the
//!   allowlist before the phone connects; a refused phone shows why and
//!   posts nothing.
//! - Zoom: the `origin` query parameter is required and must equal the
//!   parent's origin, as with the real callbar.
//! - Every message is posted to that one origin, never to `'*'`, and the
//!   page ignores messages that are not from its parent window and origin.
//!
//! # Dialects
//!
//! | dialect | on connect | host commands obeyed |
//! |---|---|---|
//! | Zoom | `zcc-init-config-request`, then the agent status | `zcc-accept-engagement`, `zcc-reject-engagement`, `zcc-terminate-engagement`, `zcc-set-engagement-disposition`, `zcc-close-engagement-wrapup`, `onclicktoact` (dial; `zcc-error` without a phone), `zcc-agent-status-set-request`, `zcc-set-hold`, `zcc-set-mute`, lookup answers |
//! | LeadDesk Talk | `login` | `call`, `answer`, `hangup`, `setStatus`, `reset` |
//! | CCAI adapter | `Agent_Login` | none (the adapter takes no commands) |
//!
//! With [`SimulatorBuilder::manual_sign_in`] (or
//! [`Simulator::set_manual_sign_in`]) a phone announces itself only when
//! the agent clicks its *Sign in* button, and until then obeys no host
//! command, as Talk ignores commands before its `login`: the way to see a
//! host's commands wait for the phone to be ready.
//!
//! # Production quirks
//!
//! The phones behave like the vendors' production frames, not like our
//! reading of the docs ([`SimulatorBuilder::production_quirks`], on by
//! default). Each quirk, its source, and the test that runs it:
//!
//! | vendor | behaviour | source | covered by |
//! |---|---|---|---|
//! | LeadDesk | the frame starts on one origin and Talk runs from a second one, whose `login` names it ([`SimulatorBuilder::leaddesk_talk_origin`]) | seed 004 | `tests/e2e` (LeadDesk), kit `bridge::leaddesk_follows_the_origin_its_login_names` |
//! | Zoom | call logs come by turns in the documented forms (`m:ss`, ISO times, `NaN:NaN` and `""` when not connected) and the observed ones (milliseconds, a numeric `agentExtension`) | PROTOCOLS.md §1 (call log) | `tests/e2e` (Zoom), `tests/it` `dialects::zoom_messages_with_odd_fields_are_kept` |
//! | CCAI | messages come as objects and as JSON strings | seed 001 (`JSON.parse(e.data)`) | `tests/e2e` (CCAI), `tests/it` `fixtures::ccai_accepts_both_forms_and_id_types` |
//! | all | now and then a message type of a newer release, and members this version does not model | every vendor ships new messages first | `tests/e2e`, the unit test `simulator::tests::the_phones_post_production_quirks` |
//!
//! Inbound Zoom calls ask the host for a contact (`zcc-incomingPhone-request`)
//! before they ring; the name the host answers is shown on the phone.
//! Answered voice calls are recorded (a test tone for the length of the
//! talk) when [`SimulatorBuilder::recordings`] is set, and the Ameyo
//! vendor routes of [`Simulator::router`] (dispose, dial, voice logs)
//! act on the same engine.
//!
//! # Scripting
//!
//! | route | does |
//! |---|---|
//! | `POST /sim/api/inbound` | `{"channel":"voice"\|"sms"\|"chat","from":"+1…","name":"…","message":"…"}`: a new inbound interaction (`message` opens a chat's transcript); answers `201 {"id":…}` |
//! | `POST /sim/api/action` | `{"op":"answer"}` (and `reject`, `hangup`, `hold`, `resume`, `mute`, `unmute`, `ready`, `offline`, `dispose` with `code`, `dial` with `number`, `note` and `say` with `text`): what the agent clicks or writes |
//! | `POST /sim/api/script` | `{"steps":[{"after_ms":0,"inbound":{…}},{"after_ms":500,"action":{…}}]}`: steps in order, each after a pause; answers `202` at once |
//! | `GET /sim/api/state` | the agent, the current interaction and the connected phones |
//!
//! With [`SimulatorBuilder::api_token`] set, these routes need
//! `Authorization: Bearer <token>`. The same operations are methods of
//! [`Simulator`].
//!
//! # Examples
//!
//! ```no_run
//! use cti_protocol::origin::OriginAllowlist;
//! use cti_server_kit::simulator::{Inbound, Simulator};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Simulator::builder(OriginAllowlist::parse(["http://127.0.0.1:8080"])?).build()?;
//! let app = sim.router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! tokio::spawn(async move { axum::serve(listener, app).await });
//! // Ring the agent from a test:
//! let id = sim.inbound(&Inbound::voice("+14155552671"))?;
//! # let _ = id;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cti_media::artifacts::Transcript;
use cti_media::clock::{Clock as _, SystemClock};
use cti_media::engine::{AgentId, AgentState, Engine, EngineConfig, EngineEvent, QueueId};
use cti_media::interaction::{Change, Flag, Interaction, InteractionId, Op, State as CallState};
use cti_media::recording::{AudioSpec, Recorder, Recordings};
use cti_media::render::{AgentProfile, Renderer};
use cti_protocol::ccai::WireForm;
use cti_protocol::ccai::template::{UrlTemplate, Values, Variable};
use cti_protocol::embed::escape_attr;
use cti_protocol::leaddesk::{TalkCommand, TalkMessage};
use cti_protocol::model::{
    self, AgentRef, Channel, ContactLookup, Direction, EventKind, LookupQuery, Party, ReplyKind,
    ScreenPopTarget, VendorMessage,
};
use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_protocol::zoom::{ZoomCommand, ZoomMessage};
use cti_protocol::{Body, Vendor};
use futures_util::{SinkExt as _, StreamExt as _};
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST, ORIGIN};
use http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;
use tokio::sync::broadcast;

use crate::Rejection;
use crate::ameyo::media::EngineBackend;
use crate::ameyo::vendor::{AmeyoRoutes, VendorAuth};
use crate::layer::{CspNonce, FrameAncestors, HostPageCsp};
use crate::store::MemoryStore;

/// The softphone script, served at `/sim/phone.js`.
pub const PHONE_JS: &str = include_str!("../assets/softphone.js");
/// The softphone style sheet, served at `/sim/phone.css`.
pub const PHONE_CSS: &str = include_str!("../assets/softphone.css");

/// The largest message a phone may send over its socket (64 KiB).
const MAX_FRAME: usize = 64 * 1024;
/// The longest chat message, in bytes.
const MAX_CHAT_MESSAGE: usize = 4096;
/// The most messages a conversation keeps.
const MAX_CHAT_LINES: usize = 500;
/// The longest recording the simulator writes for one call.
const MAX_TONE_SECS: u64 = 30;

/// What went wrong in the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The agent has no interaction to act on.
    #[error("the agent has no interaction")]
    NoInteraction,
    /// The engine refused the operation (a wrong state, a busy agent…).
    #[error("the engine refused: {0}")]
    Engine(#[from] cti_media::engine::EngineError),
    /// A value was not acceptable (an empty number, a channel the
    /// simulator does not ring, a script too long…).
    #[error("{0}")]
    Invalid(String),
    /// The simulator was configured wrongly.
    #[error("simulator configuration: {0}")]
    Config(String),
    /// A limit was reached (interactions held, scripts running); try
    /// again later.
    #[error("{0}")]
    Busy(String),
}

impl SimError {
    fn rejection(&self) -> Rejection {
        match self {
            Self::NoInteraction => {
                Rejection::new(StatusCode::CONFLICT, "no_interaction", self.to_string())
            }
            Self::Engine(_) => Rejection::new(StatusCode::CONFLICT, "refused", self.to_string()),
            Self::Invalid(_) => {
                Rejection::new(StatusCode::BAD_REQUEST, "bad_request", self.to_string())
            }
            Self::Config(_) => Rejection::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "config",
                self.to_string(),
            ),
            Self::Busy(_) => {
                Rejection::new(StatusCode::TOO_MANY_REQUESTS, "busy", self.to_string())
            }
        }
    }
}

/// A new inbound interaction for the simulated agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Inbound {
    /// `voice` (default), `sms` or `chat`.
    #[serde(default = "voice")]
    pub channel: Channel,
    /// The customer's address: a phone number, or an e-mail for chats.
    pub from: String,
    /// The customer's name, when the channel carries one (chats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A chat's or SMS's first message from the customer (a greeting
    /// when not given); it opens the conversation's transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn voice() -> Channel {
    Channel::Voice
}

impl Inbound {
    /// An inbound call from `number`.
    #[must_use]
    pub fn voice(number: impl Into<String>) -> Self {
        Self {
            channel: Channel::Voice,
            from: number.into(),
            name: None,
            message: None,
        }
    }

    /// An inbound SMS conversation from `number`.
    #[must_use]
    pub fn sms(number: impl Into<String>) -> Self {
        Self {
            channel: Channel::Sms,
            from: number.into(),
            name: None,
            message: None,
        }
    }

    /// An inbound chat from `address` (an e-mail), by `name`.
    #[must_use]
    pub fn chat(address: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            channel: Channel::Chat,
            from: address.into(),
            name: Some(name.into()),
            message: None,
        }
    }

    /// Sets the customer's first message (chats and SMS).
    #[must_use]
    pub fn message(mut self, text: impl Into<String>) -> Self {
        self.message = Some(text.into());
        self
    }
}

/// What the agent does on the softphone (the phone's buttons, the
/// scripting API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Action {
    /// Answer the ringing interaction.
    Answer,
    /// Decline it.
    Reject,
    /// End the conversation.
    Hangup,
    /// Put the customer on hold.
    Hold,
    /// Take them off hold.
    Resume,
    /// Mute the agent.
    Mute,
    /// Unmute.
    Unmute,
    /// Set the disposition and complete (after the end; a live
    /// interaction is ended first).
    Dispose {
        /// The disposition code.
        code: String,
    },
    /// Become available.
    Ready,
    /// Go offline.
    Offline,
    /// Call a number.
    Dial {
        /// The number.
        number: String,
    },
    /// Add a note to the current interaction, in the phone's own notes
    /// (Zoom's call log and `zcc-add-note` carry them).
    Note {
        /// The note.
        text: String,
    },
    /// Write in the current chat or SMS conversation, as the agent.
    Say {
        /// The message.
        text: String,
    },
}

/// One step of a script: a pause, then an inbound interaction or an
/// action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Step {
    /// The pause before the step, in milliseconds (at most ten minutes).
    #[serde(default)]
    pub after_ms: u64,
    /// A new interaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<Inbound>,
    /// An agent action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// A script: steps run in order (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Script {
    /// The steps (at most 1,000).
    pub steps: Vec<Step>,
}

impl Script {
    /// The limit on steps.
    pub const MAX_STEPS: usize = 1000;

    /// Reads a script file's JSON.
    ///
    /// # Errors
    ///
    /// [`SimError::Invalid`] for JSON that is not a script or a script
    /// out of limits.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        let script: Self = serde_json::from_str(text)
            .map_err(|e| SimError::Invalid(format!("not a script: {e}")))?;
        script.check()?;
        Ok(script)
    }

    fn check(&self) -> Result<(), SimError> {
        if self.steps.len() > Self::MAX_STEPS {
            return Err(SimError::Invalid(format!(
                "a script has at most {} steps",
                Self::MAX_STEPS
            )));
        }
        for (n, step) in self.steps.iter().enumerate() {
            if step.after_ms > 600_000 {
                return Err(SimError::Invalid(format!(
                    "step {n}: after_ms is at most 600000"
                )));
            }
            if step.inbound.is_some() == step.action.is_some() {
                return Err(SimError::Invalid(format!(
                    "step {n}: give exactly one of `inbound` and `action`"
                )));
            }
        }
        Ok(())
    }
}

/// Configures a [`Simulator`].
pub struct SimulatorBuilder {
    host_origins: OriginAllowlist,
    agent: AgentProfileConfig,
    queue: (String, String),
    recordings: Option<Recordings>,
    api_token: Option<SecretString>,
    ameyo_token: Option<SecretString>,
    ameyo_hash_keys: Vec<(String, SecretString)>,
    dispositions: Vec<String>,
    config: EngineConfig,
    ameyo_pop: Option<String>,
    ccai_lookup: Option<UrlTemplate>,
    max_interactions: usize,
    max_running_scripts: usize,
    talk_origin: Option<Origin>,
    quirks: bool,
    manual_sign_in: bool,
    recording_base: Option<String>,
    on_session_end: Option<SessionEndHook>,
}

/// What [`SimulatorBuilder::on_session_end`] calls: the completed
/// interaction, and a chat's or SMS's transcript.
pub type SessionEndHook = Arc<dyn Fn(&Interaction, Option<&Transcript>) + Send + Sync>;

#[derive(Debug, Clone)]
struct AgentProfileConfig {
    id: String,
    name: String,
    email: String,
}

impl fmt::Debug for SimulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorBuilder")
            .field("host_origins", &self.host_origins)
            .field("agent", &self.agent.id)
            .field("queue", &self.queue)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field(
                "ameyo_token",
                &self.ameyo_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl SimulatorBuilder {
    /// The agent: its id (Ameyo's `userId`, CCAI's `agent_id`), name and
    /// e-mail. Default `agent`, "Alex Agent", `agent@example.com`.
    #[must_use]
    pub fn agent(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        email: impl Into<String>,
    ) -> Self {
        self.agent = AgentProfileConfig {
            id: id.into(),
            name: name.into(),
            email: email.into(),
        };
        self
    }

    /// The queue (Ameyo's campaign id) and its name. Default `1`,
    /// "Support".
    #[must_use]
    pub fn queue(mut self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.queue = (id.into(), name.into());
        self
    }

    /// Records answered voice calls into `recordings` (served by the
    /// Ameyo `downloadVoiceLog` route).
    #[must_use]
    pub fn recordings(mut self, recordings: Recordings) -> Self {
        self.recordings = Some(recordings);
        self
    }

    /// The most interactions the simulator holds, finished ones included
    /// (default 10,000); beyond it an inbound call gets 429.
    #[must_use]
    pub fn max_interactions(mut self, n: usize) -> Self {
        self.max_interactions = n;
        self
    }

    /// The most scripts running at once (default 16); beyond it a script
    /// gets 429.
    #[must_use]
    pub fn max_running_scripts(mut self, n: usize) -> Self {
        self.max_running_scripts = n;
        self
    }

    /// Requires `Authorization: Bearer <token>` on `/sim/api/*`.
    #[must_use]
    pub fn api_token(mut self, token: &str) -> Self {
        self.api_token = Some(token.to_owned().into());
        self
    }

    /// Serves the Ameyo vendor routes with this REST token (without one,
    /// they are not served).
    #[must_use]
    pub fn ameyo_token(mut self, token: &str) -> Self {
        self.ameyo_token = Some(token.to_owned().into());
        self
    }

    /// Also accepts `hash_key` from `requesting_host` on the Ameyo
    /// web-access commands and voice logs (Ameyo's token policy).
    #[must_use]
    pub fn ameyo_hash_key(mut self, requesting_host: &str, hash_key: &str) -> Self {
        self.ameyo_hash_keys
            .push((requesting_host.to_owned(), hash_key.to_owned().into()));
        self
    }

    /// The disposition plan (every code is accepted when empty).
    #[must_use]
    pub fn dispositions<I, S>(mut self, codes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dispositions = codes.into_iter().map(Into::into).collect();
        self
    }

    /// Shows an Ameyo-style customer screen pop on the phones: a link to
    /// `base` with the customer URL's parameters ([`CustomerParams`]) for
    /// the ringing or connected voice call.
    ///
    /// # Errors
    ///
    /// [`SimError::Config`] when `base` is not an http(s) URL.
    ///
    /// [`CustomerParams`]: cti_protocol::ameyo::CustomerParams
    pub fn ameyo_customer_url(mut self, base: &str) -> Result<Self, SimError> {
        cti_protocol::ameyo::CustomerParams::new("s", "1", "c", "u", "a", "1")
            .and_then(|p| p.to_url(base))
            .map_err(|e| SimError::Config(e.to_string()))?;
        self.ameyo_pop = Some(base.to_owned());
        Ok(self)
    }

    /// The CCAI lookup-URL template (`{ANI}`, `{EMAIL}`, …): when a CCAI
    /// session connects, the adapter posts `CRM_Record_Pop` with this URL
    /// filled in for the customer, as the platform does after its CRM
    /// lookup.
    ///
    /// # Errors
    ///
    /// [`SimError::Config`] for a template that does not parse.
    pub fn ccai_lookup_url(mut self, template: &str) -> Result<Self, SimError> {
        self.ccai_lookup =
            Some(UrlTemplate::parse(template).map_err(|e| SimError::Config(e.to_string()))?);
        Ok(self)
    }

    /// The second origin LeadDesk Talk runs from. A real Talk frame
    /// starts on one login host and moves to another, whose `login`
    /// message names it (seed 004); with this set, the simulator's
    /// `/leaddesk/` sends the frame on to `{origin}/leaddesk/`, so a host
    /// page must follow the login's origin, not the frame's first one.
    /// Serve [`Simulator::router`] on that origin too.
    #[must_use]
    pub fn leaddesk_talk_origin(mut self, origin: Origin) -> Self {
        self.talk_origin = Some(origin);
        self
    }

    /// Where the phones say a recorded call's recording is:
    /// `{base}{interaction id}` in Zoom's `zcc-call-recording` and
    /// LeadDesk's `recordUrl` (a CRM's own download route, for example).
    /// Without it the phones name no recording URL.
    #[must_use]
    pub fn recording_url_base(mut self, base: impl Into<String>) -> Self {
        self.recording_base = Some(base.into());
        self
    }

    /// Called with each interaction of the simulator's agent once it is
    /// completed (disposed, on the phone or through the Ameyo API): where
    /// a contact-center platform runs its own post-session work, such as
    /// CCAI's post call actions against the CRM's generic API.
    #[must_use]
    pub fn on_session_end(
        mut self,
        hook: impl Fn(&Interaction, Option<&Transcript>) + Send + Sync + 'static,
    ) -> Self {
        self.on_session_end = Some(Arc::new(hook));
        self
    }

    /// Whether the phones behave like the vendors' production frames,
    /// quirks included (see the [module docs](self)): on by default. Off,
    /// they post only the documented forms, as objects.
    #[must_use]
    pub fn production_quirks(mut self, on: bool) -> Self {
        self.quirks = on;
        self
    }

    /// Whether a phone waits for the agent to sign in (its *Sign in*
    /// button) before it announces itself: off by default, when a phone
    /// signs the agent in as soon as it opens. See
    /// [`Simulator::set_manual_sign_in`].
    #[must_use]
    pub fn manual_sign_in(mut self, on: bool) -> Self {
        self.manual_sign_in = on;
        self
    }

    /// The engine's settings (ring, queue and wrap-up timeouts).
    #[must_use]
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the simulator and starts its engine tasks (timers and the
    /// event pump) on the current Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`SimError::Config`] for an empty host allowlist or an empty agent
    /// or queue id.
    pub fn build(self) -> Result<Simulator, SimError> {
        if self.host_origins.is_empty() {
            return Err(SimError::Config(
                "the host allowlist is empty: no page could embed the phones".into(),
            ));
        }
        if self.agent.id.is_empty() || self.queue.0.is_empty() {
            return Err(SimError::Config("the agent and queue need ids".into()));
        }
        let engine = Engine::new(self.config, SystemClock);
        let agent = AgentId::new(self.agent.id.as_str());
        let queue = QueueId::new(self.queue.0.as_str());
        engine.add_queue(queue.clone(), []);
        engine.add_agent(agent.clone(), [queue.clone()], []);
        let mut profile = AgentProfile::default();
        profile.id = Some(self.agent.id.as_str().into());
        profile.name = Some(self.agent.name.as_str().into());
        profile.email = Some(self.agent.email.as_str().into());
        let recording_base = self.recording_base.clone();
        let renderer = |d| {
            let r = Renderer::new(d)
                .agent(profile.clone())
                .queue(self.queue.0.as_str(), self.queue.1.as_str());
            match &recording_base {
                Some(base) => r.recording_base(base.as_str()),
                None => r,
            }
        };
        let recorder = self
            .recordings
            .clone()
            .and_then(|r| AudioSpec::new(8000, 1).map(|spec| Mutex::new(Recorder::new(r, spec))));
        let (out, _) = broadcast::channel(1024);
        let inner = Arc::new(Inner {
            engine: engine.clone(),
            agent,
            agent_profile: self.agent,
            queue,
            host_origins: self.host_origins,
            renderers: [
                renderer(Vendor::Zoom),
                renderer(Vendor::LeadDesk),
                renderer(Vendor::Ccai),
            ],
            out,
            recorder,
            phones: [
                AtomicUsize::new(0),
                AtomicUsize::new(0),
                AtomicUsize::new(0),
            ],
            contacts: Mutex::new(HashMap::new()),
            transcripts: Mutex::new(HashMap::new()),
            api_token: self.api_token,
            ameyo_pop: self.ameyo_pop,
            ccai_lookup: self.ccai_lookup,
            talk_origin: self.talk_origin,
            quirks: self.quirks,
            manual_sign_in: AtomicBool::new(self.manual_sign_in),
            on_session_end: self.on_session_end,
            posted: AtomicU64::new(0),
            zoom_observed: renderer(Vendor::Zoom).observed_forms(true),
            max_interactions: self.max_interactions,
            max_running_scripts: self.max_running_scripts,
            running_scripts: Arc::new(AtomicUsize::new(0)),
        });
        let mut backend = EngineBackend::new(engine.clone());
        if !self.dispositions.is_empty() {
            backend = backend.dispositions(self.dispositions);
        }
        if let Some(r) = self.recordings {
            backend = backend.recordings(r);
        }
        let hash_keys = self.ameyo_hash_keys;
        let ameyo = self.ameyo_token.map(|token| {
            let mut auth = VendorAuth::new().rest_token(token.expose_secret());
            for (host, key) in &hash_keys {
                auth = auth.hash_key(host.as_str(), key.expose_secret());
            }
            AmeyoRoutes::new(backend, auth, MemoryStore::new()).into_router()
        });
        let sim = Simulator { inner, ameyo };
        sim.start();
        Ok(sim)
    }
}

struct Inner {
    engine: Engine,
    agent: AgentId,
    agent_profile: AgentProfileConfig,
    queue: QueueId,
    host_origins: OriginAllowlist,
    renderers: [Renderer; 3],
    out: broadcast::Sender<Outgoing>,
    recorder: Option<Mutex<Recorder>>,
    phones: [AtomicUsize; 3],
    /// The contact name the host answered a lookup with, per interaction.
    contacts: Mutex<HashMap<InteractionId, String>>,
    /// The conversation so far, per live chat or SMS.
    transcripts: Mutex<HashMap<InteractionId, Transcript>>,
    api_token: Option<SecretString>,
    ameyo_pop: Option<String>,
    ccai_lookup: Option<UrlTemplate>,
    talk_origin: Option<Origin>,
    /// Production quirks on (see the module docs).
    /// Called when an interaction is completed.
    on_session_end: Option<SessionEndHook>,
    quirks: bool,
    /// Phones opened from now on wait for the agent's sign-in.
    manual_sign_in: AtomicBool,
    /// Messages posted so far (the quirks take turns by it).
    posted: AtomicU64,
    /// Zoom's renderer writing the observed call-log forms.
    zoom_observed: Renderer,
    max_interactions: usize,
    max_running_scripts: usize,
    running_scripts: Arc<AtomicUsize>,
}

/// Counts a running script while alive.
struct ScriptSlot(Arc<AtomicUsize>);

impl Drop for ScriptSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A frame for the phones: for one dialect's phones, or for all.
#[derive(Debug, Clone)]
struct Outgoing {
    dialect: Option<Vendor>,
    text: Arc<str>,
}

const DIALECTS: [Vendor; 3] = Vendor::DIALECTS;

/// The type of the messages "of a newer release" the phones post now and
/// then (no vendor has it).
const UNRELEASED_TYPE: &str = "sim.unreleased";

fn index(d: Vendor) -> usize {
    match d {
        Vendor::LeadDesk => 1,
        Vendor::Ccai => 2,
        _ => 0,
    }
}

/// A vendor with a simulated softphone, by its name.
fn dialect_named(name: &str) -> Option<Vendor> {
    Vendor::dialect_named(name).ok()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The reference softphones and their engine (see the [module
/// docs](self)). Cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
    ameyo: Option<Router>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("agent", &self.inner.agent)
            .field("queue", &self.inner.queue)
            .field("host_origins", &self.inner.host_origins)
            .field("ameyo_routes", &self.ameyo.is_some())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A simulator whose phones may be embedded by pages of
    /// `host_origins` only.
    #[must_use]
    pub fn builder(host_origins: OriginAllowlist) -> SimulatorBuilder {
        SimulatorBuilder {
            host_origins,
            agent: AgentProfileConfig {
                id: "agent".into(),
                name: "Alex Agent".into(),
                email: "agent@example.com".into(),
            },
            queue: ("1".into(), "Support".into()),
            recordings: None,
            api_token: None,
            ameyo_token: None,
            ameyo_hash_keys: Vec::new(),
            dispositions: Vec::new(),
            config: EngineConfig::default(),
            ameyo_pop: None,
            ccai_lookup: None,
            talk_origin: None,
            quirks: true,
            manual_sign_in: false,
            recording_base: None,
            on_session_end: None,
            max_interactions: 10_000,
            max_running_scripts: 16,
        }
    }

    /// The engine behind the phones.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The simulated agent's id.
    #[must_use]
    pub fn agent(&self) -> &AgentId {
        &self.inner.agent
    }

    /// The queue (campaign) the interactions come from.
    #[must_use]
    pub fn queue(&self) -> &QueueId {
        &self.inner.queue
    }

    /// Whether phones opened from now on wait for the agent to sign in
    /// before they announce themselves (Zoom's init request, LeadDesk's
    /// `login`, CCAI's `Agent_Login`), as a real softphone waits for its
    /// agent. Until then a phone obeys no command from the host: it
    /// answers each with a refusal in its log, as Talk ignores commands
    /// before `login`. Phones already open keep their state.
    pub fn set_manual_sign_in(&self, on: bool) {
        self.inner.manual_sign_in.store(on, Ordering::Relaxed);
    }

    /// How many phones of `dialect` are connected now.
    #[must_use]
    pub fn phones(&self, dialect: Vendor) -> usize {
        self.inner.phones[index(dialect)].load(Ordering::Relaxed)
    }

    fn start(&self) {
        tokio::spawn(self.inner.engine.clone().drive());
        let inner = Arc::clone(&self.inner);
        let mut events = inner.engine.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => inner.on_engine(&event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "the simulator fell behind its engine");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// A new inbound interaction in the queue; it rings at the agent when
    /// they are available.
    ///
    /// # Errors
    ///
    /// [`SimError::Invalid`] for an empty or over-long address or a
    /// channel the phones do not ring (e-mail, work items);
    /// [`SimError::Engine`].
    pub fn inbound(&self, inbound: &Inbound) -> Result<InteractionId, SimError> {
        let from = inbound.from.trim();
        if from.is_empty() || from.len() > 256 {
            return Err(SimError::Invalid(
                "`from` must be 1 to 256 characters".into(),
            ));
        }
        if !matches!(
            inbound.channel,
            Channel::Voice | Channel::Sms | Channel::Chat | Channel::Video
        ) {
            return Err(SimError::Invalid(format!(
                "the phones ring voice, video, SMS and chat, not {:?}",
                inbound.channel
            )));
        }
        if self.inner.engine.len() >= self.inner.max_interactions {
            return Err(SimError::Busy(format!(
                "the simulator holds {} interactions, its limit; restart it to ring more",
                self.inner.max_interactions
            )));
        }
        let message = inbound.message.as_deref().map(str::trim);
        if message.is_some_and(|m| m.is_empty() || m.len() > MAX_CHAT_MESSAGE) {
            return Err(SimError::Invalid(format!(
                "`message` must be 1 to {MAX_CHAT_MESSAGE} bytes"
            )));
        }
        let mut party = Party::address(from);
        if let Some(name) = inbound.name.as_deref().filter(|n| !n.is_empty()) {
            party.name = Some(name.chars().take(256).collect::<String>().into());
        }
        let who = party.name.as_deref().unwrap_or(from).to_owned();
        let id = self.inner.engine.offer(
            inbound.channel,
            Direction::Inbound,
            party,
            &self.inner.queue,
        )?;
        if matches!(inbound.channel, Channel::Chat | Channel::Sms) {
            let mut transcript = Transcript::new();
            transcript.push(
                SystemClock.now(),
                who,
                message.unwrap_or("Hello, I have a question about my order."),
            );
            lock(&self.inner.transcripts).insert(id.clone(), transcript);
        }
        Ok(id)
    }

    /// Does what the agent would do on the phone.
    ///
    /// # Errors
    ///
    /// [`SimError::NoInteraction`] when the action needs an interaction
    /// and there is none; [`SimError::Engine`] when the engine refuses
    /// it; [`SimError::Invalid`] for an empty number or code.
    pub fn act(&self, action: &Action) -> Result<(), SimError> {
        self.inner.act(action)
    }

    /// Runs `script` on a background task; returns at once.
    ///
    /// # Errors
    ///
    /// [`SimError::Invalid`] for a script out of limits (nothing runs);
    /// [`SimError::Busy`] when too many scripts are running.
    pub fn run_script(&self, script: Script) -> Result<(), SimError> {
        script.check()?;
        let running = &self.inner.running_scripts;
        if running.fetch_add(1, Ordering::Relaxed) >= self.inner.max_running_scripts {
            running.fetch_sub(1, Ordering::Relaxed);
            return Err(SimError::Busy(format!(
                "{} scripts are running, the limit; try again when one ends",
                self.inner.max_running_scripts
            )));
        }
        let slot = ScriptSlot(Arc::clone(running));
        let sim = self.clone();
        tokio::spawn(async move {
            let _slot = slot;
            for (n, step) in script.steps.into_iter().enumerate() {
                tokio::time::sleep(Duration::from_millis(step.after_ms)).await;
                let done = match (&step.inbound, &step.action) {
                    (Some(i), _) => sim.inbound(i).map(|_| ()),
                    (_, Some(a)) => sim.act(a),
                    _ => Ok(()),
                };
                if let Err(e) = done {
                    tracing::info!(step = n, error = %e, "a script step was refused");
                }
            }
        });
        Ok(())
    }

    /// The state the phones show: the agent's state and the current
    /// interaction, as JSON.
    #[must_use]
    pub fn state(&self) -> Value {
        self.inner.state()
    }

    /// The simulator's routes: the phone pages, their script and socket,
    /// the scripting API, `/healthz`, the Streem invite page
    /// (`/embed`, as Streem's own invite URL) and, with [`SimulatorBuilder::ameyo_token`], the
    /// Ameyo vendor routes.
    pub fn router(&self) -> Router {
        let ancestors = FrameAncestors::list(&self.inner.host_origins);
        let csp = HostPageCsp::new().directive("style-src", ["'self'"]);
        let pages = Router::new()
            .route("/", get(landing_page))
            .route("/{dialect}/", get(phone_page))
            .route("/embed", get(streem_page))
            .layer(csp.layer())
            .layer(ancestors.layer());
        let api = Router::new()
            .route("/sim/api/inbound", post(api_inbound))
            .route("/sim/api/action", post(api_action))
            .route("/sim/api/script", post(api_script))
            .route("/sim/api/state", get(api_state))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(256 * 1024));
        let mut router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
            .route("/sim/phone.js", get(phone_js))
            .route("/sim/phone.css", get(phone_css))
            .route("/sim/ws", get(phone_socket))
            .merge(pages)
            .merge(api)
            .with_state(self.clone());
        if let Some(ameyo) = &self.ameyo {
            router = router.merge(ameyo.clone());
        }
        router
    }
}

impl Inner {
    fn current(&self) -> Result<InteractionId, SimError> {
        self.engine
            .agent_interaction(&self.agent)
            .ok_or(SimError::NoInteraction)
    }

    fn apply(&self, op: Op) -> Result<(), SimError> {
        let id = self.current()?;
        self.engine.apply(&id, op)?;
        Ok(())
    }

    fn act(&self, action: &Action) -> Result<(), SimError> {
        match action {
            Action::Answer => self.apply(Op::Answer),
            Action::Reject => self.apply(Op::Reject {
                reason: "rejected".into(),
            }),
            Action::Hangup => self.apply(Op::HangUp),
            Action::Hold => self.apply(Op::Hold),
            Action::Resume => self.apply(Op::Resume),
            Action::Mute => self.apply(Op::Mute { on: true }),
            Action::Unmute => self.apply(Op::Mute { on: false }),
            Action::Dispose { code } => {
                let code = code.trim();
                if code.is_empty() || code.len() > 128 {
                    return Err(SimError::Invalid(
                        "a disposition code is 1 to 128 characters".into(),
                    ));
                }
                let id = self.current()?;
                if self.engine.get(&id).is_some_and(|i| i.state().is_live()) {
                    self.engine.apply(&id, Op::HangUp)?;
                }
                self.engine.apply(&id, Op::Dispose { code: code.into() })?;
                Ok(())
            }
            Action::Ready => Ok(self.engine.set_available(&self.agent)?),
            Action::Offline => Ok(self.engine.set_offline(&self.agent)?),
            Action::Note { text } => {
                let id = self.current()?;
                self.engine.apply(
                    &id,
                    Op::Note {
                        text: text.trim().into(),
                    },
                )?;
                Ok(())
            }
            Action::Say { text } => {
                let text = text.trim();
                if text.is_empty() || text.len() > MAX_CHAT_MESSAGE {
                    return Err(SimError::Invalid(format!(
                        "a message is 1 to {MAX_CHAT_MESSAGE} bytes"
                    )));
                }
                let id = self.current()?;
                let live = self.engine.get(&id).is_some_and(|i| i.state().is_live());
                let mut transcripts = lock(&self.transcripts);
                match transcripts.get_mut(&id) {
                    Some(t) if live && t.len() < MAX_CHAT_LINES => {
                        t.push(SystemClock.now(), self.agent_profile.name.as_str(), text);
                        Ok(())
                    }
                    Some(_) if live => Err(SimError::Invalid(format!(
                        "a conversation keeps {MAX_CHAT_LINES} messages"
                    ))),
                    _ => Err(SimError::Invalid(
                        "only a live chat or SMS conversation takes messages".into(),
                    )),
                }
            }
            Action::Dial { number } => {
                let number = number.trim();
                if number.is_empty() || number.len() > 64 {
                    return Err(SimError::Invalid("a number is 1 to 64 characters".into()));
                }
                self.engine.dial(
                    &self.agent,
                    Channel::Voice,
                    Party::address(number),
                    &self.queue,
                )?;
                Ok(())
            }
        }
    }

    fn send(&self, dialect: Option<Vendor>, frame: &Value) {
        // No receiver is fine: no phone is open.
        let _ = self.out.send(Outgoing {
            dialect,
            text: frame.to_string().into(),
        });
    }

    fn post(&self, dialect: Vendor, message: &VendorMessage) {
        let n = self.posted.fetch_add(1, Ordering::Relaxed);
        if !self.quirks {
            self.send(
                Some(dialect),
                &json!({"t": "post", "msg": message.to_value()}),
            );
            return;
        }
        // Now and then a message type of a newer release…
        if n % 4 == 3
            && let Ok(unreleased) = dialect.unreleased_message(UNRELEASED_TYPE)
        {
            self.send(
                Some(dialect),
                &json!({"t": "post", "msg": unreleased.to_value()}),
            );
        }
        // …a member this version does not model…
        let message = if n % 3 == 2 {
            message
                .with_member("simNote", json!({"from": "a newer release"}))
                .unwrap_or_else(|_| message.clone())
        } else {
            message.clone()
        };
        // …and, for a vendor that does, the message as a JSON string.
        let form = if dialect.posts_json_strings() && n % 2 == 1 {
            WireForm::JsonString
        } else {
            WireForm::Object
        };
        self.send(
            Some(dialect),
            &json!({"t": "post", "msg": message.posted_as(form)}),
        );
    }

    /// Posts what `dialect`'s softphone would post for neutral events.
    fn post_events(&self, dialect: Vendor, events: &[EventKind]) {
        match self.renderers[index(dialect)].render_neutral(events) {
            Ok(messages) => messages.iter().for_each(|m| self.post(dialect, m)),
            Err(e) => tracing::error!(error = %e, "render"),
        }
    }

    fn state(&self) -> Value {
        let agent_state = self
            .engine
            .agent_state(&self.agent)
            .map_or("unknown", AgentState::name);
        let current = self
            .engine
            .agent_interaction(&self.agent)
            .and_then(|id| self.engine.get(&id));
        let interaction = current.map(|i| {
            let contact = lock(&self.contacts).get(i.id()).cloned();
            let party = i.parties().first();
            let number = party.and_then(|p| p.address.as_deref());
            let pop = match (&self.ameyo_pop, number) {
                (Some(base), Some(phone)) if i.channel() == Channel::Voice => {
                    cti_protocol::ameyo::CustomerParams::new(
                        format!("sim-{}", self.agent),
                        self.queue.as_str(),
                        i.id().as_str(),
                        self.agent.as_str(),
                        self.agent.as_str(),
                        phone,
                    )
                    .and_then(|p| p.to_url(base))
                    .ok()
                }
                _ => None,
            };
            json!({
                "id": i.id().as_str(),
                "channel": i.channel(),
                "direction": i.direction(),
                "state": i.state().name(),
                "customer": party.and_then(|p| p.address.as_deref()),
                "customer_name": party.and_then(|p| p.name.as_deref()),
                "contact": contact,
                "muted": i.is_muted(),
                "recording": i.is_recording(),
                "ameyo_pop": pop,
            })
        });
        json!({
            "t": "state",
            "agent": {
                "id": self.agent.as_str(),
                "name": self.agent_profile.name,
                "state": agent_state,
            },
            "interaction": interaction,
            "phones": {
                "zoom": self.phones[0].load(Ordering::Relaxed),
                "leaddesk": self.phones[1].load(Ordering::Relaxed),
                "ccai": self.phones[2].load(Ordering::Relaxed),
            },
        })
    }

    fn ours(&self, event: &EngineEvent) -> Option<InteractionId> {
        match event {
            EngineEvent::Offered { id, agent } | EngineEvent::OfferMissed { id, agent }
                if *agent == self.agent =>
            {
                Some(id.clone())
            }
            EngineEvent::Changed {
                id,
                agent: Some(agent),
                ..
            } if *agent == self.agent => Some(id.clone()),
            _ => None,
        }
    }

    fn on_engine(&self, event: &EngineEvent) {
        if let EngineEvent::Agent { agent, state } = event {
            if *agent == self.agent {
                for d in DIALECTS {
                    match self.renderers[index(d)].agent_state(*state) {
                        Ok(messages) => messages.iter().for_each(|m| self.post(d, m)),
                        Err(e) => tracing::error!(error = %e, "render"),
                    }
                }
                self.send(None, &self.state());
            }
            return;
        }
        let Some(id) = self.ours(event) else {
            return;
        };
        let Some(interaction) = self.engine.get(&id) else {
            return;
        };
        if let EngineEvent::Changed { changes, .. } = event {
            self.record(&interaction, changes);
        }
        if matches!(event, EngineEvent::Offered { .. })
            && interaction.direction() == Direction::Inbound
            && matches!(interaction.channel(), Channel::Voice | Channel::Sms)
        {
            // Zoom asks the host who is calling before it rings.
            let number = interaction
                .parties()
                .first()
                .and_then(|p| p.address.as_deref())
                .unwrap_or("");
            let who =
                model::Interaction::new(id.as_str(), interaction.channel(), Direction::Inbound);
            self.post_events(
                Vendor::Zoom,
                &[EventKind::ContactLookupRequested(ContactLookup::new(
                    LookupQuery::Phone(number.into()),
                    ReplyKind::IncomingPhone,
                    Some(Box::new(who)),
                ))],
            );
        }
        for d in DIALECTS {
            // Zoom's call logs come in the documented and the observed
            // forms, by turns.
            let renderer =
                if d == Vendor::Zoom && self.quirks && self.posted.load(Ordering::Relaxed) % 2 == 1
                {
                    &self.zoom_observed
                } else {
                    &self.renderers[index(d)]
                };
            match renderer.render_event(event, &interaction) {
                Ok(messages) => messages.iter().for_each(|m| self.post(d, m)),
                Err(e) => tracing::error!(error = %e, "render"),
            }
        }
        if let EngineEvent::Changed { changes, .. } = event {
            self.record_pop(&interaction, changes);
            self.follow_up(&interaction, changes);
            // Where the interaction ended up, by this event's own changes
            // (the engine may already be further along).
            let ended_in = changes.iter().find_map(|c| match c {
                Change::State { to, .. } if to.is_terminal() => Some(to),
                _ => None,
            });
            match ended_in {
                Some(CallState::Completed) => {
                    let transcript = lock(&self.transcripts).remove(interaction.id());
                    if let Some(hook) = &self.on_session_end {
                        hook(&interaction, transcript.as_ref());
                    }
                }
                // Missed, rejected: no session to report, nothing kept.
                Some(_) => {
                    lock(&self.transcripts).remove(interaction.id());
                }
                None => {}
            }
        }
        self.send(None, &self.state());
    }

    /// Records answered voice calls: recording starts with the answer,
    /// and a tone as long as the talk is written at the end.
    fn record(&self, interaction: &Interaction, changes: &[Change]) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let mut recorder = lock(recorder);
        let ended = changes.iter().any(|c| {
            matches!(c, Change::State { to, .. } if matches!(to, CallState::Ended) || to.is_terminal())
        });
        if ended {
            let t = interaction.times();
            let secs = match (t.connected, t.ended) {
                (Some(a), Some(b)) => b.duration_since(a).as_secs().clamp(1, 30),
                _ => 1,
            };
            let secs = u64::try_from(secs).unwrap_or(1).min(MAX_TONE_SECS);
            for s in 0..secs {
                if let Err(e) = recorder.frame(interaction.id(), &tone(s)) {
                    tracing::warn!(error = %e, "recording");
                    break;
                }
            }
        }
        if let Err(e) = recorder.observe(interaction.id(), changes) {
            tracing::warn!(error = %e, "recording");
        }
    }

    /// CCAI: the record the platform's lookup found, once connected.
    fn record_pop(&self, interaction: &Interaction, changes: &[Change]) {
        let Some(template) = &self.ccai_lookup else {
            return;
        };
        let connected = changes.iter().any(|c| {
            matches!(
                c,
                Change::State {
                    from: CallState::Offered,
                    to: CallState::Connected
                }
            )
        });
        if !connected {
            return;
        }
        let address = interaction
            .parties()
            .first()
            .and_then(|p| p.address.as_deref())
            .unwrap_or("");
        let var = if address.contains('@') {
            Variable::Email
        } else {
            Variable::Ani
        };
        let url = match template.expand(&Values::new().with(var, address)) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "the CCAI lookup URL did not expand");
                return;
            }
        };
        self.post_events(
            Vendor::Ccai,
            &[EventKind::ScreenPop(ScreenPopTarget::Url(url.into()))],
        );
    }

    /// What follows by itself: answered voice calls start recording.
    fn follow_up(&self, interaction: &Interaction, changes: &[Change]) {
        let answered = changes.iter().any(|c| {
            matches!(
                c,
                Change::State {
                    from: CallState::Offered,
                    to: CallState::Connected
                }
            )
        });
        let recording = changes.iter().any(|c| {
            matches!(
                c,
                Change::Flag {
                    flag: Flag::Recording,
                    ..
                }
            )
        });
        if answered
            && !recording
            && self.recorder.is_some()
            && interaction.channel() == Channel::Voice
            && let Err(e) = self.engine.apply(interaction.id(), Op::Record { on: true })
        {
            tracing::warn!(error = %e, "could not start recording");
        }
    }

    /// What a phone posts when it connects.
    fn hello(&self, dialect: Vendor, own_origin: &str) {
        let hello = match dialect {
            Vendor::Zoom => EventKind::ConfigRequested,
            Vendor::LeadDesk => EventKind::AgentLoggedIn {
                agent: None,
                language: Some("en".into()),
                vendor_origin: Some(own_origin.into()),
            },
            _ => {
                let mut agent = AgentRef::default();
                agent.id = Some(self.agent_profile.id.as_str().into());
                agent.email = Some(self.agent_profile.email.as_str().into());
                EventKind::AgentLoggedIn {
                    agent: Some(Box::new(agent)),
                    language: None,
                    vendor_origin: None,
                }
            }
        };
        self.post_events(dialect, &[hello]);
        if dialect == Vendor::Zoom
            && let Some(state) = self.engine.agent_state(&self.agent)
            && let Ok(messages) = self.renderers[0].agent_state(state)
        {
            messages.iter().for_each(|m| self.post(dialect, m));
        }
    }

    /// The phone announces itself, and the agent becomes available.
    fn sign_in(&self, dialect: Vendor, own_origin: &str) {
        self.hello(dialect, own_origin);
        if let Err(e) = self.engine.set_available(&self.agent) {
            tracing::debug!(error = %e, "agent not made available");
        }
    }

    /// A message the host page posted to a phone. Returns a note for the
    /// phone's log.
    fn host_message(&self, dialect: Vendor, message: &Value) -> String {
        // The direction is known, so the message is read as a command
        // (LeadDesk's `call` is both a ringing event and a dial command).
        let text = message.to_string();
        let decoded = match dialect {
            Vendor::LeadDesk => cti_protocol::leaddesk::decode_command(&text),
            other => cti_protocol::decode(other, &text),
        };
        let message = match decoded {
            Ok(m) => m,
            Err(e) => return format!("refused: {e}"),
        };
        let wire = message.wire_type().to_owned();
        let outcome = match message.into_body() {
            Body::Zoom(ZoomMessage::Command(c)) => self.zoom_command(c, &wire),
            Body::LeadDesk(TalkMessage::Command(c)) => self.talk_command(c, &wire),
            _ if dialect == Vendor::Ccai => Err(SimError::Invalid(
                "the CCAI adapter takes no commands".into(),
            )),
            _ => Err(SimError::Invalid(format!(
                "{wire} is not a command the softphone takes"
            ))),
        };
        match outcome {
            Ok(()) => format!("{wire}: done"),
            Err(e) => format!("{wire}: {e}"),
        }
    }

    fn zoom_command(&self, command: ZoomCommand, wire: &str) -> Result<(), SimError> {
        match command {
            ZoomCommand::AcceptEngagement(_) => self.act(&Action::Answer),
            ZoomCommand::RejectEngagement(_) => self.act(&Action::Reject),
            ZoomCommand::TerminateEngagement(_) => self.act(&Action::Hangup),
            ZoomCommand::SetEngagementDisposition(c) => match c.disposition_id {
                Some(code) => self.act(&Action::Dispose {
                    code: code.to_string(),
                }),
                None => Err(SimError::Invalid("no dispositionId".into())),
            },
            ZoomCommand::CloseEngagementWrapup(_) => self.act(&Action::Dispose {
                code: "wrap_up_closed".into(),
            }),
            ZoomCommand::ClickToDial(c) => match c.phone.as_deref().filter(|p| !p.is_empty()) {
                Some(phone) => self.act(&Action::Dial {
                    number: phone.to_owned(),
                }),
                None => {
                    // The softphone's own answer (PROTOCOLS.md, errors to host).
                    self.post_events(
                        Vendor::Zoom,
                        &[EventKind::Error {
                            code: Some("no-phone".into()),
                            message: Some("Phone number is required".into()),
                            request_id: None,
                        }],
                    );
                    Err(SimError::Invalid("onclicktoact without a phone".into()))
                }
            },
            ZoomCommand::AgentStatusSetRequest(s) => match s.id.as_str() {
                "1" => self.act(&Action::Ready),
                _ => self.act(&Action::Offline),
            },
            ZoomCommand::SetHold(o) => {
                let on = o.0.pointer("/hold").and_then(Value::as_bool);
                self.act(if on == Some(false) {
                    &Action::Resume
                } else {
                    &Action::Hold
                })
            }
            ZoomCommand::SetMute(o) => {
                let on = o.0.pointer("/mute").and_then(Value::as_bool);
                self.act(if on == Some(false) {
                    &Action::Unmute
                } else {
                    &Action::Mute
                })
            }
            ZoomCommand::IncomingPhoneResponse(m) | ZoomCommand::ContactSearchResponse(m) => {
                let name = m.contacts.first().and_then(|c| c.name.clone());
                if let (Some(name), Ok(id)) = (name, self.current()) {
                    lock(&self.contacts).insert(id, name.to_string());
                    self.send(None, &self.state());
                }
                Ok(())
            }
            ZoomCommand::InitConfigResponse(_) => Ok(()),
            _ => Err(SimError::Invalid(format!(
                "the simulator does not act on {wire}"
            ))),
        }
    }

    fn talk_command(&self, command: TalkCommand, wire: &str) -> Result<(), SimError> {
        match command {
            TalkCommand::Call(d) => {
                if d.autocall == Some(false) {
                    // Only fills in the number.
                    return Ok(());
                }
                self.act(&Action::Dial {
                    number: d.number.as_str().to_owned(),
                })
            }
            TalkCommand::Answer(_) => self.act(&Action::Answer),
            TalkCommand::Hangup(_) => self.act(&Action::Hangup),
            TalkCommand::SetStatus(s) => self.act(if s.enabled {
                &Action::Ready
            } else {
                &Action::Offline
            }),
            TalkCommand::Reset(_) => Ok(()),
            _ => Err(SimError::Invalid(format!(
                "the simulator does not act on {wire}"
            ))),
        }
    }
}

/// One second of a 440 Hz tone at 8 kHz (quiet, with a slow swell so the
/// seconds differ).
fn tone(second: u64) -> Vec<i16> {
    let amp = 4000.0 + 2000.0 * ((second % 4) as f64);
    (0..8000)
        .map(|n| {
            let t = f64::from(n) / 8000.0;
            (amp * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect()
}

fn reject(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    Rejection::new(status, code, message).into_response()
}

fn authorized(sim: &Simulator, headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(token) = &sim.inner.api_token else {
        return Ok(());
    };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
        Ok(())
    } else {
        Err(Rejection::new(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "the simulator API needs `Authorization: Bearer <token>`",
        ))
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Rejection> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Rejection::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))
}

/// One scripting POST: the token checked, the JSON body read as `T`, then
/// `run`; every refusal a JSON 4xx.
async fn api_post<T, F>(
    operation: &str,
    sim: &Simulator,
    headers: &HeaderMap,
    body: &[u8],
    run: F,
) -> Response
where
    T: serde::de::DeserializeOwned,
    F: FnOnce(&Simulator, T) -> Result<Response, SimError>,
{
    crate::in_span(operation, &http::Method::POST, async move {
        let outcome = authorized(sim, headers)
            .and_then(|()| parse_body(headers, body))
            .map(|value| run(sim, value).unwrap_or_else(|e| e.rejection().into_response()));
        outcome.unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

async fn api_inbound(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    api_post(
        "sim.inbound",
        &sim,
        &headers,
        &body,
        |sim, inbound: Inbound| {
            let id = sim.inbound(&inbound)?;
            Ok((StatusCode::CREATED, axum::Json(json!({"id": id.as_str()}))).into_response())
        },
    )
    .await
}

async fn api_action(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    api_post(
        "sim.action",
        &sim,
        &headers,
        &body,
        |sim, action: Action| {
            sim.act(&action)?;
            Ok(axum::Json(sim.state()).into_response())
        },
    )
    .await
}

async fn api_script(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    api_post(
        "sim.script",
        &sim,
        &headers,
        &body,
        |sim, script: Script| {
            let steps = script.steps.len();
            sim.run_script(script)?;
            Ok((StatusCode::ACCEPTED, axum::Json(json!({"steps": steps}))).into_response())
        },
    )
    .await
}

async fn api_state(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&sim, &headers) {
        return r.into_response();
    }
    axum::Json(sim.state()).into_response()
}

async fn phone_js() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        PHONE_JS,
    )
        .into_response()
}

async fn phone_css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        PHONE_CSS,
    )
        .into_response()
}

/// What the simulator is and how to use it, at its root.
async fn landing_page(State(sim): State<Simulator>) -> Response {
    let state = sim.inner.state();
    let hosts: String = sim
        .inner
        .host_origins
        .patterns()
        .map(|p| format!("<li class=\"mono\">{}</li>", escape_attr(&p)))
        .collect();
    let phones: String = [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai]
        .iter()
        .map(|d| {
            format!(
                "<tr><td>{}</td><td class=\"mono\">/{}/</td><td>{}</td></tr>",
                brand(*d),
                d.name(),
                sim.phones(*d)
            )
        })
        .collect();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>cti-rs softphone simulator</title>\n<link rel=\"stylesheet\" href=\"/sim/phone.css\">\n</head>\n\
         <body class=\"landing\">\n<main id=\"landing\">\n<h1>cti-rs softphone simulator</h1>\n\
         <p>Reference softphones that post each vendor's messages, for testing a CRM integration \
         without a vendor account. A phone runs only inside a host page on an allowed origin, \
         which frames it, as the vendors' own softphones.</p>\n\
         <h2>Phones</h2><table><thead><tr><th>Vendor</th><th>Path</th><th>Open now</th></tr></thead>\
         <tbody>{phones}</tbody></table>\n\
         <p>Agent: <strong id=\"agent-state\">{agent}</strong></p>\n\
         <h2>Hosts allowed to frame them</h2><ul>{hosts}</ul>\n\
         <h2>Scripting</h2><p>Ring the agent with <code>cti sim ring</code>, or \
         <code>POST /sim/api/inbound</code> with <code>{{\"from\":\"+14155550101\"}}</code>; \
         also <code>/sim/api/action</code>, <code>/sim/api/script</code> and \
         <code>GET /sim/api/state</code>{token}.</p>\n\
         <p>Ameyo routes (dispose, dial, voice logs): {ameyo}.</p>\n</main>\n</body>\n</html>\n",
        agent = escape_attr(state["agent"]["state"].as_str().unwrap_or("unknown")),
        token = if sim.inner.api_token.is_some() {
            ", each with <code>Authorization: Bearer &lt;token&gt;</code>"
        } else {
            ""
        },
        ameyo = if sim.ameyo.is_some() { "on" } else { "off" },
    );
    ([(CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn brand(d: Vendor) -> &'static str {
    match d {
        Vendor::LeadDesk => "LeadDesk Talk",
        Vendor::Ccai => "CCAI Platform agent adapter",
        _ => "Zoom Contact Center",
    }
}

async fn phone_page(
    State(sim): State<Simulator>,
    Path(name): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    request: axum::extract::Request,
) -> Response {
    let Some(dialect) = dialect_named(&name) else {
        return reject(
            StatusCode::NOT_FOUND,
            "not_found",
            "the simulator has /zoom/, /leaddesk/ and /ccai/",
        );
    };
    let (mut parts, _) = request.into_parts();
    // LeadDesk Talk moves to its own login host: follow it there.
    if dialect == Vendor::LeadDesk
        && let Some(talk) = &sim.inner.talk_origin
    {
        let here = parts
            .headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .map(|h| format!("http://{h}"));
        if here.as_deref() != Some(talk.to_string().as_str()) {
            let query = parts
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            return axum::response::Redirect::to(&format!("{talk}/leaddesk/{query}"))
                .into_response();
        }
    }
    let nonce = match CspNonce::from_request_parts(&mut parts, &()).await {
        Ok(n) => n,
        Err(r) => return r.into_response(),
    };
    // Zoom's callbar needs the host's origin in the URL.
    let origin_param = query.iter().find(|(k, _)| k == "origin").map(|(_, v)| v);
    let required = match (dialect, origin_param) {
        (Vendor::Zoom, None) => {
            return reject(
                StatusCode::BAD_REQUEST,
                "origin_required",
                "the Zoom phone needs `?origin=<the host page's origin>`",
            );
        }
        (Vendor::Zoom, Some(o)) => match Origin::parse(o) {
            Ok(o) if sim.inner.host_origins.allows(&o) => o.to_string(),
            _ => {
                return reject(
                    StatusCode::FORBIDDEN,
                    "bad_origin",
                    "`origin` is not a host this simulator may be embedded by",
                );
            }
        },
        _ => String::new(),
    };
    let sim_state = sim.inner.state();
    let config = json!({
        "dialect": name,
        "origin": required,
        "agent": sim_state["agent"],
    });
    // JSON in a <script type="application/json"> must not close it.
    let config = config.to_string().replace("</", "<\\/");
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{brand} (simulator)</title>\n<link rel=\"stylesheet\" href=\"/sim/phone.css\">\n</head>\n\
         <body>\n<main id=\"phone\" class=\"phone {name}\" data-dialect=\"{name}\">\n\
         <header><span class=\"brand\">{brand}</span><span class=\"sim\">simulator</span>\
         <span id=\"agent-state\" class=\"pill\">connecting</span></header>\n\
         <p id=\"refused\" hidden></p>\n\
         <p id=\"signed-out\" hidden>Signed out. <button type=\"button\" id=\"sign-in\" class=\"go\">Sign in</button></p>\n\
         <section id=\"call\" class=\"idle\"><div id=\"who\">No interaction</div>\
         <div id=\"detail\"></div><div id=\"contact\"></div>\
         <a id=\"ameyo-pop\" target=\"_blank\" rel=\"noopener\" hidden>Open the customer (Ameyo pop)</a></section>\n\
         <div id=\"controls\">\
         <button type=\"button\" data-op=\"answer\" class=\"go\">Answer</button>\
         <button type=\"button\" data-op=\"reject\">Decline</button>\
         <button type=\"button\" data-op=\"hangup\" class=\"stop\">Hang up</button>\
         <button type=\"button\" data-op=\"hold\">Hold</button>\
         <button type=\"button\" data-op=\"resume\">Resume</button>\
         <button type=\"button\" data-op=\"mute\">Mute</button>\
         <button type=\"button\" data-op=\"unmute\">Unmute</button></div>\n\
         <form id=\"note-form\"><input id=\"note-text\" maxlength=\"2000\" placeholder=\"A note on this interaction\" aria-label=\"Note\">\
         <button type=\"submit\">Add note</button></form>\n\
         <form id=\"say\" hidden><input id=\"say-text\" maxlength=\"4096\" placeholder=\"Write to the customer\" aria-label=\"Message\">\
         <button type=\"submit\">Send</button></form>\n\
         <form id=\"wrap\"><label>Disposition <input id=\"code\" value=\"resolved\" maxlength=\"128\"></label>\
         <button type=\"submit\">Complete</button></form>\n\
         <form id=\"dialer\"><input id=\"number\" placeholder=\"+1 415 555 0100\" maxlength=\"64\" aria-label=\"Number\">\
         <button type=\"submit\">Dial</button></form>\n\
         <div id=\"status\"><button type=\"button\" data-op=\"ready\">Ready</button>\
         <button type=\"button\" data-op=\"offline\">Offline</button></div>\n\
         <h2>Messages</h2>\n<ol id=\"log\"></ol>\n</main>\n\
         <script type=\"application/json\" id=\"sim-config\">{config}</script>\n\
         <script nonce=\"{nonce}\" src=\"/sim/phone.js\"></script>\n</body>\n</html>\n",
        brand = brand(dialect),
        nonce = escape_attr(nonce.as_str()),
    );
    ([(CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A Streem invite as the customer's browser would open it: the `/embed`
/// parameters read with the redirect checked against the host allowlist.
async fn streem_page(State(sim): State<Simulator>, request: axum::extract::Request) -> Response {
    let uri = request.uri().to_string();
    let url = format!("http://simulator.invalid{uri}");
    // The redirect must stay on the hosts that may embed us (or be
    // Streem's own `call` page).
    let embed = match cti_protocol::streem::EmbedUrl::parse_checked(&url, &sim.inner.host_origins) {
        Ok(e) => e,
        Err(e) => return reject(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
    };
    let back = match &embed.redirect {
        Some(cti_protocol::streem::Redirect::Url(u)) => Some(u.as_str()),
        _ => None,
    };
    let show = |v: Option<&str>| escape_attr(v.unwrap_or("—"));
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Streem invite (simulator)</title><link rel=\"stylesheet\" href=\"/sim/phone.css\"></head>\
         <body><main class=\"phone streem\"><header><span class=\"brand\">Streem</span>\
         <span class=\"sim\">simulator</span></header>\
         <h1>Invite ready</h1><dl id=\"invite\"><dt>Name</dt><dd id=\"invite-name\">{}</dd>\
         <dt>Phone</dt><dd id=\"invite-phone\">{}</dd><dt>Reference</dt><dd id=\"invite-ref\">{}</dd></dl>\
         {}</main></body></html>\n",
        show(embed.name.as_deref()),
        show(embed.phone.as_deref()),
        show(embed.ref_id.as_deref()),
        back.map_or_else(String::new, |r| format!(
            "<p><a id=\"invite-back\" href=\"{}\">Back to the CRM</a></p>",
            escape_attr(r)
        )),
    );
    ([(CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

#[derive(Debug, Deserialize)]
struct SocketQuery {
    dialect: String,
    host: String,
}

/// The phone's socket: same-origin only, the host origin checked.
async fn phone_socket(
    State(sim): State<Simulator>,
    Query(q): Query<SocketQuery>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let host = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let same_origin = parts
        .headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|o| url::Url::parse(o).ok())
        .is_some_and(|u| {
            let port = u.port_or_known_default().map(|p| format!(":{p}"));
            let authority = format!("{}{}", u.host_str().unwrap_or(""), port.unwrap_or_default());
            authority.eq_ignore_ascii_case(host)
                || u.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
        });
    if !same_origin {
        return reject(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "only the simulator's own pages may open a phone socket",
        );
    }
    let Some(dialect) = dialect_named(&q.dialect) else {
        return reject(StatusCode::BAD_REQUEST, "bad_request", "unknown dialect");
    };
    let host_origin = Origin::parse(&q.host)
        .ok()
        .filter(|o| sim.inner.host_origins.allows(o));
    let own_origin = format!("http://{host}");
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(e) => return reject(StatusCode::BAD_REQUEST, "not_a_websocket", e.to_string()),
    };
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            match host_origin {
                Some(_) => serve_phone(sim, dialect, own_origin, socket).await,
                None => refuse_phone(socket).await,
            }
        })
}

async fn refuse_phone(mut socket: WebSocket) {
    let note = json!({"t": "refused", "reason": "this page's host is not an allowed origin"});
    let _ = socket.send(Message::Text(note.to_string().into())).await;
    let _ = socket.close().await;
}

#[derive(Debug, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum FromPhone {
    /// A message the host page posted (origin already checked in the page).
    Host { msg: Value },
    /// A button.
    Ui { action: Action },
    /// The agent signs in (a phone opened with manual sign-in).
    SignIn,
}

async fn serve_phone(sim: Simulator, dialect: Vendor, own_origin: String, socket: WebSocket) {
    let inner = Arc::clone(&sim.inner);
    let (mut tx, mut rx) = socket.split();
    let mut out = inner.out.subscribe();
    inner.phones[index(dialect)].fetch_add(1, Ordering::Relaxed);
    let _ = tx
        .send(Message::Text(inner.state().to_string().into()))
        .await;
    let mut signed_in = !inner.manual_sign_in.load(Ordering::Relaxed);
    if signed_in {
        inner.sign_in(dialect, &own_origin);
    } else {
        let note = json!({"t": "signed_out"});
        let _ = tx.send(Message::Text(note.to_string().into())).await;
    }
    loop {
        tokio::select! {
            frame = out.recv() => match frame {
                Ok(o) if o.dialect.is_none_or(|d| d == dialect) => {
                    if tx.send(Message::Text(o.text.as_ref().into())).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "a phone fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let note = match serde_json::from_str::<FromPhone>(&text) {
                        // Talk obeys nothing before `login`; neither does
                        // a phone whose agent has not signed in.
                        Ok(FromPhone::Host { .. }) if !signed_in => {
                            "refused: the agent has not signed in".to_owned()
                        }
                        Ok(FromPhone::Host { msg }) => inner.host_message(dialect, &msg),
                        Ok(FromPhone::Ui { .. }) if !signed_in => {
                            "sign in first".to_owned()
                        }
                        Ok(FromPhone::SignIn) if signed_in => "already signed in".to_owned(),
                        Ok(FromPhone::SignIn) => {
                            signed_in = true;
                            inner.sign_in(dialect, &own_origin);
                            inner.send(None, &inner.state());
                            "signed in".to_owned()
                        }
                        Ok(FromPhone::Ui { action }) => match inner.act(&action) {
                            Ok(()) => "done".to_owned(),
                            Err(e) => e.to_string(),
                        },
                        Err(e) => format!("refused: {e}"),
                    };
                    let ack = json!({"t": "note", "text": note});
                    if tx.send(Message::Text(ack.to_string().into())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    inner.phones[index(dialect)].fetch_sub(1, Ordering::Relaxed);
    let open: usize = inner.phones.iter().map(|p| p.load(Ordering::Relaxed)).sum();
    if open == 0 {
        // The last phone closed: the agent logs out (unless on a call).
        let _ = inner.engine.set_offline(&inner.agent);
    }
    inner.send(None, &inner.state());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_checked() {
        assert!(Script::from_json(r#"{"steps":[{"after_ms":5,"inbound":{"from":"+1"}}]}"#).is_ok());
        assert!(Script::from_json(r#"{"steps":[{"after_ms":5}]}"#).is_err());
        assert!(
            Script::from_json(r#"{"steps":[{"after_ms":900000,"action":{"op":"answer"}}]}"#)
                .is_err()
        );
        assert!(Script::from_json(r#"{"steps":[],"extra":1}"#).is_err());
        let action: Action =
            serde_json::from_str(r#"{"op":"dispose","code":"sale"}"#).unwrap_or(Action::Answer);
        assert_eq!(
            action,
            Action::Dispose {
                code: "sale".into()
            }
        );
    }

    /// The quirks of production frames: CCAI posts JSON strings as well
    /// as objects, every vendor now and then a message type of a newer
    /// release and members this version does not model; all still
    /// decode as what they are.
    #[tokio::test]
    async fn the_phones_post_production_quirks() {
        let hosts = OriginAllowlist::parse(["http://crm.test"]).unwrap_or_default();
        for quirks in [true, false] {
            let sim = Simulator::builder(hosts.clone())
                .production_quirks(quirks)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            let mut out = sim.inner.out.subscribe();
            let started = cti_protocol::decode(
                Vendor::Ccai,
                r#"{"type":"New_Call","data":{"agent_id":7,"call_id":103646}}"#,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            for _ in 0..12 {
                sim.inner.post(Vendor::Ccai, &started);
            }
            let (mut strings, mut notes, mut unreleased, mut known) = (0, 0, 0, 0);
            while let Ok(frame) = out.try_recv() {
                let v: Value = serde_json::from_str(&frame.text).unwrap_or_default();
                let msg = &v["msg"];
                if msg.is_string() {
                    strings += 1;
                }
                let text = if let Value::String(s) = msg {
                    serde_json::to_string(s).unwrap_or_default()
                } else {
                    msg.to_string()
                };
                let decoded = cti_protocol::decode(Vendor::Ccai, &text)
                    .unwrap_or_else(|e| panic!("{text}: {e}"));
                if decoded.wire_type() == UNRELEASED_TYPE {
                    assert!(!decoded.is_known());
                    unreleased += 1;
                    continue;
                }
                assert_eq!(decoded.wire_type(), "New_Call");
                assert!(decoded.unreadable().is_empty());
                known += 1;
                if decoded.to_value()["data"]["simNote"].is_object() {
                    notes += 1;
                }
            }
            assert_eq!(known, 12);
            if quirks {
                assert!(
                    strings > 0 && notes > 0 && unreleased > 0,
                    "{strings} {notes} {unreleased}"
                );
            } else {
                assert_eq!((strings, notes, unreleased), (0, 0, 0));
            }
        }
    }

    /// A chat keeps its conversation, and the session-end hook gets it;
    /// a call takes no messages, and nothing is kept after a decline.
    #[tokio::test]
    async fn chats_keep_their_transcript_until_the_session_ends() {
        let hosts = OriginAllowlist::parse(["http://crm.test"]).unwrap_or_default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sim = Simulator::builder(hosts)
            .on_session_end(move |i, t| {
                let _ = tx.send((i.id().as_str().to_owned(), t.map(Transcript::render)));
            })
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        sim.act(&Action::Ready).unwrap_or_else(|e| panic!("{e}"));
        let voice = sim
            .inbound(&Inbound::voice("+14155550100"))
            .unwrap_or_else(|e| panic!("{e}"));
        sim.act(&Action::Answer).unwrap_or_else(|e| panic!("{e}"));
        let said = sim.act(&Action::Say { text: "hi".into() });
        assert!(matches!(said, Err(SimError::Invalid(_))), "{said:?}");
        sim.act(&Action::Dispose {
            code: "resolved".into(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let (id, transcript) = rx.recv().await.unwrap_or_default();
        assert_eq!((id.as_str(), transcript), (voice.as_str(), None));

        let chat = sim
            .inbound(&Inbound::chat("ada@example.com", "Ada").message("Is my order late?"))
            .unwrap_or_else(|e| panic!("{e}"));
        sim.act(&Action::Answer).unwrap_or_else(|e| panic!("{e}"));
        sim.act(&Action::Say {
            text: "Let me look.".into(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let empty = sim.act(&Action::Say { text: "  ".into() });
        assert!(matches!(empty, Err(SimError::Invalid(_))), "{empty:?}");
        sim.act(&Action::Dispose {
            code: "resolved".into(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let (id, transcript) = rx.recv().await.unwrap_or_default();
        assert_eq!(id, chat.as_str());
        let transcript = transcript.unwrap_or_default();
        assert!(
            transcript.contains("Ada: Is my order late?\n"),
            "{transcript}"
        );
        assert!(
            transcript.contains("Alex Agent: Let me look.\n"),
            "{transcript}"
        );

        // A declined chat leaves nothing behind.
        let _ = sim
            .inbound(&Inbound::chat("bob@example.com", "Bob"))
            .unwrap_or_else(|e| panic!("{e}"));
        sim.act(&Action::Reject).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..50 {
            if lock(&sim.inner.transcripts).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(lock(&sim.inner.transcripts).is_empty());
    }

    #[test]
    fn the_tone_is_one_second() {
        assert_eq!(tone(0).len(), 8000);
        assert!(tone(3).iter().any(|s| *s > 9000));
    }
}
