//! The Ameyo-compatible vendor routes on a cti-media engine (feature
//! `media`): [`EngineBackend`] implements [`CtiBackend`], so a vendor's
//! dispose and dial requests act on the engine's interactions.
//!
//! | route | on the engine |
//! |---|---|
//! | `disposeCallForUser` | the agent (`userId`)'s current interaction: hung up if still live, then disposed |
//! | `clickToDialWithTokenAsync` | [`Engine::dial`] for the agent, in the campaign's queue |
//! | `disposeAndManualDial` | the call (`crtObjectId`) disposed, then a dial for the same agent; the `sessionId` must be the agent's registered session |
//! | `dacx/dispose` | the call (`crtObjectId`) disposed |
//! | `downloadVoiceLog` | the call's recording from [`EngineBackend::recordings`], WAV as written or MP3 made on first request (with cti-media's `mp3` feature), streamed from the file with `Range`; `voicelog.not.found` without one |
//!
//! Interactions are named by their engine id (Ameyo's `crtObjectId`),
//! agents by their id (Ameyo's `userId`), queues by the campaign id.
//!
//! # Examples
//!
//! ```
//! use cti_media::engine::{AgentId, Engine, EngineConfig, QueueId};
//! use cti_server_kit::ameyo::media::EngineBackend;
//! use cti_server_kit::ameyo::vendor::{AmeyoRoutes, VendorAuth};
//! use cti_server_kit::store::MemoryStore;
//!
//! let engine = Engine::new(EngineConfig::default(), cti_media::clock::SystemClock);
//! engine.add_queue(QueueId::new("1"), []);
//! let backend = EngineBackend::new(engine).dispositions(["sale", "callback"]);
//! backend.register_session("d580-ses-agent-1", AgentId::new("agent"));
//! let app: axum::Router = AmeyoRoutes::new(backend, VendorAuth::new().rest_token("t"), MemoryStore::new()).into_router();
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use cti_media::clock::Clock;
use cti_media::engine::{AgentId, Engine, EngineError, QueueId};
use cti_media::interaction::{InteractionId, Op, State};
use cti_media::recording::{Format, RecordingError, Recordings};
use cti_protocol::ameyo::api::{
    ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest,
    LegacyDisposeRequest, VoiceLogFormat,
};
use cti_protocol::model::{Channel, Party};

use super::vendor::{CtiBackend, VendorFailure, VoiceLog};

/// [`CtiBackend`] on an [`Engine`] (see the [module docs](self)).
pub struct EngineBackend<C: Clock> {
    engine: Engine<C>,
    plan: Option<BTreeSet<String>>,
    sessions: Arc<Mutex<HashMap<String, AgentId>>>,
    recordings: Option<Recordings>,
}

impl<C: Clock> fmt::Debug for EngineBackend<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBackend")
            .field("engine", &self.engine)
            .field("plan", &self.plan)
            .field("recordings", &self.recordings.as_ref().map(Recordings::dir))
            .finish_non_exhaustive()
    }
}

fn failure(e: EngineError) -> VendorFailure {
    match e {
        EngineError::UnknownAgent(_) => VendorFailure::InvalidUserId,
        EngineError::UnknownQueue(_) => VendorFailure::InvalidCampaign,
        EngineError::UnknownInteraction(_) => VendorFailure::InvalidCrtObjectId,
        EngineError::AgentBusy(_) => VendorFailure::Refused("the agent is not available".into()),
        other => VendorFailure::Refused(other.to_string()),
    }
}

impl<C: Clock> EngineBackend<C> {
    /// The routes' backend on `engine`; every disposition is accepted
    /// until [`dispositions`](Self::dispositions) sets the plan.
    #[must_use]
    pub fn new(engine: Engine<C>) -> Self {
        Self {
            engine,
            plan: None,
            sessions: Arc::new(Mutex::new(HashMap::new())),
            recordings: None,
        }
    }

    /// Serves `downloadVoiceLog` from `recordings` (named by interaction
    /// id, that is `crtObjectId`; [`Recordings::alias`] adds a vendor's
    /// call id as a second name).
    #[must_use]
    pub fn recordings(mut self, recordings: Recordings) -> Self {
        self.recordings = Some(recordings);
        self
    }

    /// The disposition plan: other codes are refused with
    /// `disposition.not.in.plan`.
    #[must_use]
    pub fn dispositions<I, S>(mut self, codes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.plan = Some(codes.into_iter().map(Into::into).collect());
        self
    }

    /// Records that Ameyo session `session_id` belongs to `agent`
    /// (`disposeAndManualDial` checks it).
    pub fn register_session(&self, session_id: &str, agent: AgentId) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session_id.to_owned(), agent);
    }

    /// The engine.
    #[must_use]
    pub fn engine(&self) -> &Engine<C> {
        &self.engine
    }

    fn check_plan(&self, code: &str) -> Result<(), VendorFailure> {
        match &self.plan {
            Some(plan) if !plan.contains(code) => Err(VendorFailure::DispositionNotInPlan),
            _ => Ok(()),
        }
    }

    /// Hangs up a live interaction, then disposes it in wrap-up.
    fn dispose(&self, id: &InteractionId, code: &str) -> Result<(), VendorFailure> {
        self.check_plan(code)?;
        let state = self
            .engine
            .get(id)
            .map(|i| i.state().clone())
            .ok_or(VendorFailure::InvalidCrtObjectId)?;
        if state.is_live() {
            self.engine.apply(id, Op::HangUp).map_err(failure)?;
        }
        self.engine
            .apply(id, Op::Dispose { code: code.into() })
            .map(|_| ())
            .map_err(|e| match (e, state) {
                (EngineError::Transition(_), State::Offered) => {
                    VendorFailure::Refused("the call has not been answered".into())
                }
                (EngineError::Transition(_), s) if s.is_terminal() => {
                    VendorFailure::Refused("the call is already disposed".into())
                }
                (e, _) => failure(e),
            })
    }
}

impl<C: Clock> CtiBackend for EngineBackend<C> {
    async fn dispose_call_for_user(
        &self,
        r: DisposeCallForUserRequest,
    ) -> Result<(), VendorFailure> {
        let agent = AgentId::new(r.user_id.as_str());
        if self.engine.agent_state(&agent).is_none() {
            return Err(VendorFailure::InvalidUserId);
        }
        let id = self
            .engine
            .agent_interaction(&agent)
            .ok_or_else(|| VendorFailure::Refused("the agent has no call to dispose".into()))?;
        self.dispose(&id, &r.disposition_code_name)
    }

    async fn click_to_dial(&self, r: ClickToDialRequest) -> Result<(), VendorFailure> {
        self.engine
            .dial(
                &AgentId::new(r.user_id.as_str()),
                Channel::Voice,
                Party::address(r.phone.as_str()),
                &QueueId::new(r.campaign_id.as_str()),
            )
            .map(|_| ())
            .map_err(failure)
    }

    async fn dispose_and_manual_dial(
        &self,
        session_id: Option<&str>,
        _cookie: Option<&str>,
        r: DisposeAndManualDialRequest,
    ) -> Result<(), VendorFailure> {
        let id = InteractionId::new(r.crt_object_id.as_str());
        let handler = self.engine.handler(&id);
        let session_agent = session_id.and_then(|s| {
            self.sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(s)
                .cloned()
        });
        let agent = match (session_agent, handler) {
            (Some(a), Some(h)) if a == h => a,
            (Some(_), None) if self.engine.get(&id).is_none() => {
                return Err(VendorFailure::InvalidCrtObjectId);
            }
            _ => return Err(VendorFailure::InvalidSessionId),
        };
        self.dispose(&id, &r.disposition_code)?;
        let queue = QueueId::new(r.campaign_context_id.to_string());
        self.engine
            .dial(
                &agent,
                Channel::Voice,
                Party::address(r.phone.as_str()),
                &queue,
            )
            .map(|_| ())
            .map_err(failure)
    }

    async fn voice_log(
        &self,
        crt_object_id: &str,
        format: VoiceLogFormat,
    ) -> Result<VoiceLog, VendorFailure> {
        let Some(recordings) = self.recordings.clone() else {
            return Err(VendorFailure::RecordingNotFound);
        };
        let id = InteractionId::new(crt_object_id);
        let wanted = match format {
            VoiceLogFormat::Mp3 => Format::Mp3,
            _ => Format::Wav,
        };
        // Finding may transcode: off the async threads.
        let found = tokio::task::spawn_blocking(move || recordings.find(&id, wanted))
            .await
            .map_err(|e| VendorFailure::Unavailable(format!("recording lookup: {e}")))?;
        let path = match found {
            Ok(Some(path)) => path,
            Ok(None) | Err(RecordingError::BadId(_)) => {
                return Err(VendorFailure::RecordingNotFound);
            }
            Err(RecordingError::Unsupported(_)) => {
                // This server cannot make MP3: as Ameyo, "not in that
                // format".
                return Err(VendorFailure::RecordingNotFound);
            }
            Err(e) => return Err(VendorFailure::Unavailable(e.to_string())),
        };
        VoiceLog::from_file(&path, format)
            .await
            .map_err(|e| VendorFailure::Unavailable(format!("{}: {e}", path.display())))
    }

    async fn legacy_dispose(&self, r: LegacyDisposeRequest) -> Result<(), VendorFailure> {
        self.dispose(
            &InteractionId::new(r.crt_object_id.as_str()),
            &r.disposition_code,
        )
    }
}
