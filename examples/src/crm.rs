//! The CRM demo behind the `crm-demo` binary: a small CRM (contacts, call
//! log, notes) on one loopback origin, embedding the reference softphones
//! of [`cti_server_kit::simulator`] from a second origin.
//!
//! The whole path of a call runs through the crates:
//!
//! 1. the simulator rings the agent; its phone posts the vendor's messages
//!    to the CRM page, whose bridge (`cti_server_kit::bridge`) decodes them
//!    into [`CtiEvent`]s for [`Crm`];
//! 2. the CRM answers the contact lookup and pops the matching contact;
//! 3. the agent answers on the phone, the CRM page takes notes;
//! 4. the CRM disposes the call through Ameyo's REST API with
//!    `cti_client::ameyo::AmeyoClient` (served by the simulator), which
//!    ends it in the engine; the phone posts the completion and the CRM
//!    writes its call log;
//! 5. the recording is fetched with the client's voice-log download, as WAV
//!    or MP3.
//!
//! Click-to-dial goes to the phone as a postMessage command where the
//! dialect has one (Zoom, LeadDesk) and through Ameyo's click-to-dial API
//! otherwise (CCAI). Agents sign in through the CRM's Ameyo SSO endpoint
//! (`POST /ameyo/sso`, demo user `agent` / `agent`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_client::generic::flow::PostSession;
use cti_client::generic::{CrmAuth, GenericCrmClient};
use cti_protocol::Vendor;
use cti_protocol::ameyo::api::{ClickToDialRequest, DisposeCallForUserRequest, VoiceLogFormat};
use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint};
use cti_protocol::ccai::template::{Values, Variable};
use cti_protocol::embed::{EmbedFrame, escape_attr};
use cti_protocol::endpoint::Method as EndpointMethod;
use cti_protocol::model::{
    Channel, Command, CrmContact, CtiEvent, Direction, EventKind, LookupQuery, ScreenPopTarget,
};
use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_server_kit::ameyo::params::Customer;
use cti_server_kit::ameyo::sso::{
    RequireSession, SessionCookie, SignedIn, SsoEndpoint, StaticCredentials, StoreSso,
};
use cti_server_kit::bridge::{Bridge, BridgeError, EventHandler, PageContext, Reply};
use cti_server_kit::ccai::{CrmApi, CrmApiAuth, CrmBackend, CrmFailure, CrmParams};
use cti_server_kit::csrf::{Bodies, CsrfGuard};
use cti_server_kit::harden::Hardening;
use cti_server_kit::layer::HostPageCsp;
use cti_server_kit::page::HostPage;
use cti_server_kit::serve::Server;
use cti_server_kit::simulator::Simulator;
use cti_server_kit::store::MemoryStore;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The CRM page's script.
const CRM_JS: &str = include_str!("../assets/crm.js");
/// The sign-in page's script.
const SIGNIN_JS: &str = include_str!("../assets/signin.js");
/// The CRM page's style sheet.
const CRM_CSS: &str = include_str!("../assets/crm.css");
/// The `requesting-host` the CRM presents to the simulator's Ameyo
/// routes with its hash-key (Ameyo's token policy).
pub const AMEYO_REQUESTING_HOST: &str = "acme-crm";
/// The dispositions of the demo's campaign.
pub const DISPOSITIONS: [&str; 4] = ["resolved", "sale", "callback", "no_answer"];
/// Events kept for the event-log panel.
const EVENT_LOG: usize = 300;

/// Where the demo listens and which dialect it shows first.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The CRM's address (default `127.0.0.1:8080`).
    pub addr: SocketAddr,
    /// The simulator's address (default `127.0.0.1:8081`).
    pub sim_addr: SocketAddr,
    /// The dialect `GET /` embeds when none is asked for.
    pub vendor: Vendor,
    /// The token the simulator's scripting API (`/sim/api/*`) requires
    /// as `Authorization: Bearer …`; a random one when `None`.
    pub sim_token: Option<String>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            sim_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            vendor: Vendor::Zoom,
            sim_token: None,
        }
    }
}

/// The session cookie of the CRM.
const SESSION_COOKIE: &str = "acme_crm_session";
/// Calls kept in the call log (the oldest finished ones go first).
const CALL_LOG: usize = 500;
/// Calls the state API sends.
const CALLS_SHOWN: usize = 100;

/// A failure to start the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A listener could not be bound, or the recordings folder made.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A part was configured wrongly (a bug in the demo).
    #[error("configuration: {0}")]
    Config(String),
    /// An address could not be listened on (taken, or not this
    /// machine's).
    #[error("cannot listen on {addr} for the {what}: {source}{hint}", hint = bind_hint(source))]
    Bind {
        /// What would have listened there (`CRM`, `simulator`).
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why not.
        source: std::io::Error,
    },
}

fn bind_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        " (another program, or another crm-demo, uses it; choose another with --addr / --sim-addr)"
    } else {
        ""
    }
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<tokio::net::TcpListener, DemoError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DemoError::Bind { what, addr, source })
}

fn config_error(e: impl std::fmt::Display) -> DemoError {
    DemoError::Config(e.to_string())
}

/// 128 random bits, as hex.
fn random_token() -> Result<String, DemoError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(config_error)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A running demo: both origins serve until it is dropped with the
/// runtime. Its `Debug` output leaves the tokens out.
pub struct Demo {
    /// The CRM's origin, `http://127.0.0.1:8080`.
    pub crm_url: String,
    /// The simulator's origin, `http://127.0.0.1:8081`.
    pub sim_url: String,
    /// The simulator, for scripting calls from Rust.
    pub sim: Simulator,
    /// The token of the simulator's scripting API.
    pub sim_token: String,
    /// The `Authorization` token of the simulator's Ameyo REST routes
    /// (dispose), random for each run.
    pub ameyo_token: String,
    /// The hash-key of the simulator's Ameyo token policy (dial, voice
    /// logs), for [`AMEYO_REQUESTING_HOST`]; random for each run.
    pub ameyo_hash_key: String,
    /// The CRM's state.
    pub crm: Arc<Crm>,
    _recordings: tempfile::TempDir,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("crm_url", &self.crm_url)
            .field("sim_url", &self.sim_url)
            .field("sim_token", &"[redacted]")
            .field("ameyo_token", &"[redacted]")
            .field("ameyo_hash_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A CRM contact.
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    /// The record id.
    pub id: &'static str,
    /// The name.
    pub name: &'static str,
    /// The company.
    pub company: &'static str,
    /// The phone number (E.164).
    pub phone: &'static str,
    /// The e-mail address.
    pub email: &'static str,
}

/// The sample contacts the demo starts with.
pub const CONTACTS: [Contact; 5] = [
    Contact {
        id: "003A1",
        name: "Ada Lovelace",
        company: "Analytical Engines Ltd",
        phone: "+14155550101",
        email: "ada@engines.example",
    },
    Contact {
        id: "003A2",
        name: "Grace Hopper",
        company: "Compilers Inc",
        phone: "+14155550102",
        email: "grace@compilers.example",
    },
    Contact {
        id: "003A3",
        name: "Alan Turing",
        company: "Bletchley Systems",
        phone: "+442075550103",
        email: "alan@bletchley.example",
    },
    Contact {
        id: "003A4",
        name: "Katherine Johnson",
        company: "Orbital Math",
        phone: "+17575550104",
        email: "katherine@orbital.example",
    },
    Contact {
        id: "003A5",
        name: "Edsger Dijkstra",
        company: "Shortest Path BV",
        phone: "+31205550105",
        email: "edsger@paths.example",
    },
];

/// A call in the CRM's log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallEntry {
    /// The interaction id (the engine's, Ameyo's `crtObjectId`).
    pub id: String,
    /// The dialect it came through.
    pub vendor: String,
    /// `voice`, `chat`, `sms`, …
    pub channel: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The customer's number or address.
    pub customer: String,
    /// The matched contact's id.
    pub contact_id: Option<String>,
    /// The matched contact's name.
    pub contact_name: Option<String>,
    /// `ringing`, `connected`, `ended`, `completed`, `not_connected`.
    pub state: String,
    /// The notes taken.
    pub notes: Vec<String>,
    /// The disposition.
    pub disposition: Option<String>,
    /// When the CRM first heard of it (the ring, or the dial), RFC 3339.
    pub started_at: Option<String>,
    /// The talk time the softphone reported, in seconds.
    pub duration_seconds: Option<u64>,
    /// Whether a recording can be downloaded.
    pub recorded: bool,
    /// Whether a chat transcript can be downloaded.
    pub transcript: bool,
}

/// One line of the event-log panel.
#[derive(Debug, Clone, Serialize)]
pub struct EventLine {
    /// Its number (increasing).
    pub seq: u64,
    /// `in` (from the phone) or `out` (a command to it, or an API call).
    pub dir: &'static str,
    /// The vendor.
    pub vendor: String,
    /// The wire type.
    pub wire: String,
    /// The message as posted.
    pub raw: Value,
    /// The vendor-neutral form (`null` when it has none).
    pub normalized: Value,
}

#[derive(Debug, Default)]
struct Book {
    calls: Vec<CallEntry>,
    /// Chat transcripts, by interaction id (only of calls in the log).
    transcripts: HashMap<String, String>,
    current: Option<String>,
    pages: HashMap<Vendor, String>,
    events: VecDeque<EventLine>,
}

/// The CRM: contacts, the call log, the screen pop and the event log.
pub struct Crm {
    book: Mutex<Book>,
    seq: AtomicU64,
    attempts: AtomicU64,
    ameyo: AmeyoClient,
    campaign: String,
    agent: String,
    origin: String,
}

impl std::fmt::Debug for Crm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm")
            .field("calls", &self.calls().len())
            .finish_non_exhaustive()
    }
}

/// Now, to the second, as RFC 3339 (`2026-12-05T10:04:19Z`).
fn now_to_the_second() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Second).unwrap_or(now).to_string()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A phone number as E.164 (`+` and 8 to 15 digits), from the ways
/// softphones write them: spaces, dashes, dots and brackets between
/// digits, `00` for `+`, and North American numbers without the `+1` (the
/// demo's home region). Anything else (letters, `&`, `=`, a second `+`)
/// is no phone number.
#[must_use]
pub fn e164(text: &str) -> Option<String> {
    let text = text.trim();
    let mut digits = String::with_capacity(text.len());
    let mut plus = false;
    for (i, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if digits.len() == 10 {
        format!("1{digits}")
    } else if digits.len() == 11 && digits.starts_with('1') {
        digits
    } else {
        return None;
    };
    ((8..=15).contains(&international.len()) && !international.starts_with('0'))
        .then(|| format!("+{international}"))
}

/// The contact whose phone (compared as whole E.164 numbers) or e-mail
/// matches `address`.
#[must_use]
pub fn find_contact(address: &str) -> Option<&'static Contact> {
    let number = e164(address);
    CONTACTS.iter().find(|c| {
        c.email.eq_ignore_ascii_case(address.trim())
            || number.as_deref().is_some_and(|n| n == c.phone)
    })
}

fn to_crm_contact(c: &Contact) -> CrmContact {
    CrmContact::new(c.id, c.name)
        .phone(c.phone)
        .email(c.email)
        .entity("Contact")
}

fn channel_name(c: Option<Channel>) -> String {
    c.and_then(|c| serde_json::to_value(c).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "voice".into())
}

impl Crm {
    /// The call log, newest last.
    #[must_use]
    pub fn calls(&self) -> Vec<CallEntry> {
        lock(&self.book).calls.clone()
    }

    /// Keeps a chat's transcript for its call-log row, as the contact
    /// center delivers it at the end of the session.
    pub fn keep_transcript(&self, id: &str, text: String) {
        let mut book = lock(&self.book);
        if let Some(call) = book.calls.iter_mut().find(|c| c.id == id) {
            call.transcript = true;
            book.transcripts.insert(id.to_owned(), text);
        }
    }

    /// A chat's transcript, when the CRM has it.
    #[must_use]
    pub fn transcript(&self, id: &str) -> Option<String> {
        lock(&self.book).transcripts.get(id).cloned()
    }

    /// Forgets the calls, the pop and the event log (the pages stay).
    pub fn reset(&self) {
        let mut book = lock(&self.book);
        book.calls.clear();
        book.transcripts.clear();
        book.current = None;
        book.events.clear();
    }

    /// The event-log lines after `since`.
    #[must_use]
    pub fn events_since(&self, since: u64) -> Vec<EventLine> {
        lock(&self.book)
            .events
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }

    fn log(&self, dir: &'static str, vendor: &str, wire: &str, raw: Value, normalized: Value) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut book = lock(&self.book);
        book.events.push_back(EventLine {
            seq,
            dir,
            vendor: vendor.to_owned(),
            wire: wire.to_owned(),
            raw,
            normalized,
        });
        while book.events.len() > EVENT_LOG {
            book.events.pop_front();
        }
    }

    /// Finds or adds the log entry of interaction `id`, and edits it.
    fn upsert(&self, id: &str, vendor: Vendor, edit: impl FnOnce(&mut CallEntry)) {
        let mut book = lock(&self.book);
        let at = match book.calls.iter().position(|c| c.id == id) {
            Some(at) => at,
            None => {
                if book.calls.len() >= CALL_LOG {
                    // Forget the oldest finished call.
                    if let Some(old) = book
                        .calls
                        .iter()
                        .position(|c| c.state == "completed" || c.state == "not_connected")
                    {
                        let gone = book.calls.remove(old);
                        book.transcripts.remove(&gone.id);
                    } else {
                        let gone = book.calls.remove(0);
                        book.transcripts.remove(&gone.id);
                    }
                }
                book.calls.push(CallEntry {
                    id: id.to_owned(),
                    vendor: vendor.name().to_owned(),
                    channel: "voice".into(),
                    direction: "inbound".into(),
                    state: "ringing".into(),
                    started_at: Some(now_to_the_second()),
                    ..CallEntry::default()
                });
                book.calls.len() - 1
            }
        };
        if let Some(entry) = book.calls.get_mut(at) {
            edit(entry);
        }
    }

    /// The interaction's id, or the current call's where the dialect
    /// leaves it out (LeadDesk Talk has one call at a time, and names it
    /// only when it rings).
    fn id_of(&self, interaction: &cti_protocol::model::Interaction) -> Option<String> {
        interaction
            .id
            .as_deref()
            .map(str::to_owned)
            .or_else(|| lock(&self.book).current.clone())
    }

    fn pop(&self, interaction: &cti_protocol::model::Interaction, vendor: Vendor, state: &str) {
        let Some(id) = self.id_of(interaction) else {
            return;
        };
        let id = id.as_str();
        let customer = interaction
            .customer()
            .and_then(|p| p.address.as_deref())
            .unwrap_or("")
            .to_owned();
        let contact = find_contact(&customer);
        // Fields a message leaves out (LeadDesk's `connected` names
        // nothing) keep what the call already has.
        let channel = interaction.channel.map(|c| channel_name(Some(c)));
        let direction = interaction.direction.map(|d| match d {
            Direction::Outbound => "outbound",
            _ => "inbound",
        });
        self.upsert(id, vendor, |e| {
            if !customer.is_empty() {
                e.customer.clone_from(&customer);
            }
            if let Some(c) = channel {
                e.channel = c;
            }
            if let Some(d) = direction {
                e.direction = d.into();
            }
            if e.state != "completed" {
                e.state = state.into();
            }
            if let Some(c) = contact {
                e.contact_id = Some(c.id.into());
                e.contact_name = Some(c.name.into());
            }
        });
        lock(&self.book).current = Some(id.to_owned());
    }

    /// Pops the contact a lookup URL of ours names (only our own origin's
    /// `/lookup` is followed: a pop URL is data from the frame).
    fn record_pop(&self, url: &str, vendor: Vendor) {
        let Ok(parsed) = url::Url::parse(url) else {
            return;
        };
        if parsed.origin().ascii_serialization() != self.origin || parsed.path() != "/lookup" {
            tracing::info!("a record pop outside the CRM was ignored");
            return;
        }
        let contact = parsed
            .query_pairs()
            .filter(|(_, v)| !v.is_empty())
            .find_map(|(_, v)| find_contact(&v));
        let Some(id) = lock(&self.book).current.clone() else {
            return;
        };
        if let Some(c) = contact {
            self.upsert(&id, vendor, |e| {
                e.contact_id = Some(c.id.into());
                e.contact_name = Some(c.name.into());
                if e.customer.is_empty() {
                    e.customer = if e.channel == "chat" {
                        c.email
                    } else {
                        c.phone
                    }
                    .into();
                }
            });
        }
    }

    /// The state the CRM page polls.
    fn snapshot(&self, since: u64) -> Value {
        let book = lock(&self.book);
        let current = book
            .current
            .as_ref()
            .and_then(|id| book.calls.iter().find(|c| &c.id == id))
            .filter(|c| c.state != "completed" && c.state != "not_connected")
            .cloned();
        let contact = current
            .as_ref()
            .and_then(|c| c.contact_id.as_deref())
            .and_then(|id| CONTACTS.iter().find(|c| c.id == id));
        let events: Vec<&EventLine> = book.events.iter().filter(|e| e.seq > since).collect();
        json!({
            "current": current,
            "contact": contact,
            "calls": book.calls.iter().rev().filter(|c| c.state == "completed" || c.state == "not_connected").take(CALLS_SHOWN).collect::<Vec<_>>(),
            "events": events,
            "pages": book.pages.keys().map(|v| v.name()).collect::<Vec<_>>(),
        })
    }

    async fn fetch_recording(&self, id: &str, format: VoiceLogFormat) -> Result<Vec<u8>, String> {
        let mut last = String::new();
        // The simulator finishes a recording as the call ends; a dispose
        // that ends the call may get here first.
        for _ in 0..10 {
            let mut bytes = Vec::new();
            match self
                .ameyo
                .download_voice_log(id, format)
                .to_writer(&mut bytes)
                .await
            {
                Ok(_) => return Ok(bytes),
                Err(e) if e.kind() == cti_client::error::ErrorKind::NotFound => {
                    last = e.to_string();
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(last)
    }
}

impl EventHandler for Crm {
    async fn on_event(&self, page: &PageContext, event: CtiEvent) -> Reply {
        let vendor = page.vendor;
        lock(&self.book).pages.insert(vendor, page.page_id.clone());
        let mut normalized = serde_json::to_value(&event.kind).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut normalized {
            map.insert("vendor".into(), json!(vendor.name()));
        }
        self.log(
            "in",
            vendor.name(),
            event.original.wire_type(),
            event.original.to_value(),
            normalized,
        );
        match event.kind {
            EventKind::ConfigRequested => Reply::command(Command::Configure {
                screen_pop_on: Some("RINGING".into()),
                // After wrap-up Zoom says where the recording is, also
                // when the call was disposed on the phone.
                recording_urls: Some(true),
                prevent_manual_dialing: None,
            }),
            EventKind::ContactLookupRequested(lookup) => {
                let found = match &lookup.query {
                    LookupQuery::Phone(q) | LookupQuery::Email(q) | LookupQuery::Text(q) => {
                        find_contact(q)
                    }
                    _ => None,
                };
                if let Some(i) = &lookup.interaction {
                    self.pop(i, vendor, "ringing");
                }
                Reply::command(Command::AnswerLookup {
                    reply_to: lookup.reply_kind,
                    contacts: found.map(to_crm_contact).into_iter().collect(),
                })
            }
            EventKind::ScreenPop(ScreenPopTarget::Url(url)) => {
                // A CCAI record pop: our own lookup URL, naming the customer.
                self.record_pop(&url, vendor);
                Reply::none()
            }
            EventKind::InteractionOffered(i) => {
                self.pop(&i, vendor, "ringing");
                Reply::none()
            }
            EventKind::InteractionConnected(i) | EventKind::InteractionResumed(i) => {
                self.pop(&i, vendor, "connected");
                Reply::none()
            }
            EventKind::InteractionHeld(i) => {
                self.pop(&i, vendor, "held");
                Reply::none()
            }
            EventKind::InteractionEnded(i) => {
                if let Some(id) = self.id_of(&i) {
                    let recorded = i.recording_url.is_some();
                    self.upsert(&id, vendor, |e| {
                        if e.state != "completed" {
                            e.state = "ended".into();
                        }
                        // LeadDesk names the recording when the call ends.
                        e.recorded |= recorded;
                    });
                }
                Reply::none()
            }
            EventKind::InteractionCompleted(c) => {
                if let Some(id) = self.id_of(&c.interaction) {
                    // Keyed on the vendor's id: a completion posted twice,
                    // or after a dispose in the CRM, edits the same row.
                    self.upsert(&id, vendor, |e| {
                        // An attempt that never connected stays "not
                        // connected" through its wrap-up.
                        if !(c.answered == Some(false) && e.state == "not_connected") {
                            e.state = "completed".into();
                        }
                        if e.disposition.is_none() {
                            e.disposition = c.disposition.as_deref().map(str::to_owned);
                        }
                        if c.duration_seconds.is_some() {
                            e.duration_seconds = c.duration_seconds;
                        }
                        if c.recording_url.is_some() {
                            e.recorded = true;
                        }
                        // Notes taken on the phone (Zoom's call log
                        // carries them) join the CRM's own.
                        for note in &c.notes {
                            let note = note.trim();
                            if !note.is_empty()
                                && e.notes.len() < 50
                                && !e.notes.iter().any(|n| n == note)
                            {
                                e.notes.push(note.to_owned());
                            }
                        }
                    });
                }
                Reply::none()
            }
            EventKind::RecordingAvailable {
                interaction_id: Some(id),
                ..
            } => {
                // The phone says the call was recorded (Zoom after
                // wrap-up): its recording links show in the call log.
                self.upsert(&id, vendor, |e| e.recorded = true);
                Reply::none()
            }
            EventKind::InteractionNotConnected { interaction, .. } => {
                if let Some(id) = self.id_of(&interaction) {
                    self.upsert(&id, vendor, |e| e.state = "not_connected".into());
                }
                Reply::none()
            }
            _ => Reply::none(),
        }
    }
}

/// The CRM's side of CCAI's generic CRM API: what CCAI's post call
/// actions reach after a call handled through the CCAI adapter.
struct CcaiApi(Arc<Crm>);

/// The header and the paths of the demo's generic API (one description,
/// for the CRM's routes and for the platform's client).
const CCAI_API_KEY_HEADER: &str = "x-ccai-key";

fn ccai_endpoints(base: &str) -> Result<Vec<GenericEndpoint>, cti_protocol::Error> {
    Ok(vec![
        GenericEndpoint::new(
            EndpointKind::FindAccountByQuery,
            EndpointMethod::Get,
            &format!("{base}/ccai/api/accounts"),
        )?
        .param("phone", "{PHONE_NUMBER}")?,
        GenericEndpoint::new(
            EndpointKind::FindRecordByQuery,
            EndpointMethod::Get,
            &format!("{base}/ccai/api/records"),
        )?
        .param("callId", "=DEFAULT_VALUE({Call_ID}, {Chat_ID})")?,
        GenericEndpoint::new(
            EndpointKind::Comment,
            EndpointMethod::Post,
            &format!("{base}/ccai/api/records/{{RECORD_ID}}/comments"),
        )?
        .param("comment", "{COMMENT_BODY}")?,
    ])
}

impl CrmBackend for CcaiApi {
    async fn find_account(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
        Ok(p.field("phone")
            .and_then(find_contact)
            .map(|c| json!({"id": c.id, "name": c.name})))
    }

    async fn find_record(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
        // A call of the call log is the record.
        let id = p.field("callId").unwrap_or_default();
        Ok(self
            .0
            .calls()
            .iter()
            .any(|c| c.id == id)
            .then(|| json!({"id": id})))
    }

    async fn comment(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let id = p.var("RECORD_ID").unwrap_or_default().to_owned();
        let text = p.field("comment").unwrap_or_default();
        if let Some((code, notes)) = cti_client::generic::flow::disposition_comment(text) {
            // Disposed on the phone: the call is final, once, in the log.
            let recorded = self
                .0
                .fetch_recording(&id, VoiceLogFormat::Wav)
                .await
                .is_ok();
            self.0.upsert(&id, Vendor::Ccai, |e| {
                e.state = "completed".into();
                if e.disposition.is_none() {
                    e.disposition = code;
                }
                if e.notes.is_empty() {
                    e.notes = notes;
                }
                e.recorded |= recorded;
            });
            self.0.log(
                "in",
                "ccai",
                "comment",
                json!({"record": id, "comment": text}),
                json!({"event": "disposition_set", "id": id}),
            );
        }
        Ok(json!({"ok": true}))
    }
}

/// CCAI's post call actions for a call the simulator completed, when the
/// CRM knows it as a CCAI call: the platform's side of the generic API.
fn post_session(
    crm: &Arc<Crm>,
    client: &Arc<GenericCrmClient>,
    interaction: &cti_media::interaction::Interaction,
) {
    let id = interaction.id().as_str().to_owned();
    let ccai = crm
        .calls()
        .iter()
        .any(|c| c.id == id && c.vendor == Vendor::Ccai.name());
    if !ccai {
        return;
    }
    let mut values = Values::new().with(
        if interaction.channel() == Channel::Voice {
            Variable::CallId
        } else {
            Variable::ChatId
        },
        id.clone(),
    );
    if let Some(address) = interaction
        .parties()
        .first()
        .and_then(|p| p.address.as_deref())
    {
        values.set(Variable::PhoneNumber, address);
    }
    let mut session = PostSession::new(if interaction.channel() == Channel::Voice {
        "call"
    } else {
        "chat"
    });
    session.started = interaction.times().connected;
    session.ended = interaction.times().ended;
    session.disposition = interaction.disposition().map(str::to_owned);
    session.notes = interaction.notes().to_vec();
    let client = Arc::clone(client);
    tokio::spawn(async move {
        match client.run_post_session(&mut values, &session).await {
            Ok(report) if !report.is_complete() => {
                tracing::warn!(call = %id, "post call actions incomplete: {report:?}");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(call = %id, error = %e, "post call actions failed"),
        }
    });
}

/// Starts both origins: the CRM at `config.addr`, the simulator at
/// `config.sim_addr`.
///
/// # Errors
///
/// [`DemoError::Bind`] when an address is taken.
pub async fn start(config: DemoConfig) -> Result<Demo, DemoError> {
    let crm_listener = bind("CRM", config.addr).await?;
    let sim_listener = bind("simulator", config.sim_addr).await?;
    // LeadDesk Talk runs from a second origin of the simulator, as a real
    // Talk frame moves from one login host to another (seed 004): the CRM
    // must follow the origin Talk's login names.
    let talk_listener = bind(
        "simulator's LeadDesk Talk origin",
        SocketAddr::new(config.sim_addr.ip(), 0),
    )
    .await?;
    let crm_addr = crm_listener.local_addr()?;
    let sim_addr = sim_listener.local_addr()?;
    let talk_addr = talk_listener.local_addr()?;
    let crm_url = format!("http://{crm_addr}");
    let sim_url = format!("http://{sim_addr}");
    let talk_url = format!("http://{talk_addr}");
    let talk_origin = Origin::parse(&talk_url).map_err(config_error)?;
    let crm_origin = Origin::parse(&crm_url).map_err(config_error)?;
    let sim_origin = Origin::parse(&sim_url).map_err(config_error)?;
    let hosts = OriginAllowlist::parse([crm_origin.to_string()]).map_err(config_error)?;

    let dir = tempfile::tempdir()?;
    let recordings = cti_media::recording::Recordings::open(dir.path()).map_err(config_error)?;
    let sim_token = match config.sim_token {
        Some(t) if !t.trim().is_empty() => t,
        _ => random_token()?,
    };
    // CCAI's post call actions reach the CRM's generic API (below) once
    // the CRM exists.
    let ccai_key = random_token()?;
    let ameyo_token = random_token()?;
    let ameyo_hash_key = random_token()?;
    let post_call: Arc<std::sync::OnceLock<(Arc<Crm>, Arc<GenericCrmClient>)>> =
        Arc::new(std::sync::OnceLock::new());
    let hook = Arc::clone(&post_call);
    let sim = Simulator::builder(hosts.clone())
        .on_session_end(move |interaction, transcript| {
            if let Some((crm, client)) = hook.get() {
                // The chat's transcript reaches the CRM with the end of
                // the session, as a contact center's export delivers it.
                if let Some(t) = transcript {
                    crm.keep_transcript(interaction.id().as_str(), t.render());
                }
                post_session(crm, client, interaction);
            }
        })
        .api_token(&sim_token)
        .recordings(recordings)
        .ameyo_token(&ameyo_token)
        .ameyo_hash_key(AMEYO_REQUESTING_HOST, &ameyo_hash_key)
        .dispositions(DISPOSITIONS)
        .ameyo_customer_url(&format!("{crm_url}/ameyo/customer"))
        .map_err(config_error)?
        .ccai_lookup_url(&format!("{crm_url}/lookup?phone={{ANI}}&email={{EMAIL}}"))
        .map_err(config_error)?
        .leaddesk_talk_origin(talk_origin.clone())
        // The phones name the CRM's own (session-guarded) download route
        // as a recorded call's recording.
        .recording_url_base(format!("{crm_url}/api/calls/"))
        .build()
        .map_err(config_error)?;

    let ameyo = AmeyoClient::new(
        &sim_url,
        AmeyoAuth::new()
            .token(ameyo_token.as_str())
            .token_policy(ameyo_hash_key.as_str(), AMEYO_REQUESTING_HOST),
    )
    .map_err(config_error)?;
    let crm = Arc::new(Crm {
        book: Mutex::new(Book::default()),
        seq: AtomicU64::new(0),
        attempts: AtomicU64::new(0),
        ameyo,
        campaign: sim.queue().as_str().to_owned(),
        agent: sim.agent().as_str().to_owned(),
        origin: crm_origin.to_string(),
    });
    let mut ccai_client = GenericCrmClient::new(CrmAuth::header(CCAI_API_KEY_HEADER, &ccai_key));
    let mut ccai_api = CrmApi::new(
        CcaiApi(Arc::clone(&crm)),
        CrmApiAuth::header(CCAI_API_KEY_HEADER, &ccai_key),
    );
    for ep in ccai_endpoints(&crm_url).map_err(config_error)? {
        ccai_api = ccai_api.endpoint(ep.clone()).map_err(config_error)?;
        ccai_client = ccai_client.endpoint(ep);
    }
    let _ = post_call.set((Arc::clone(&crm), Arc::new(ccai_client)));
    let bridge = Bridge::builder(Handler(Arc::clone(&crm)))
        .host_origins(hosts.clone())
        // Talk's login comes from its own origin; only that one is heard.
        .login_origins(OriginAllowlist::parse([talk_origin.to_string()]).map_err(config_error)?)
        // A dial waits this long for the phone to be ready, then the REST
        // API dials instead.
        .ready_timeout(Duration::from_secs(5))
        // Pages belong to the session that loaded them; only signed-in
        // agents get pages at all.
        .identify(|head| {
            head.extensions
                .get::<SignedIn>()
                .map(|s| s.session_digest.clone())
        })
        .build()
        .await
        .map_err(config_error)?;

    let mut pages = HashMap::new();
    for vendor in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
        let src = match vendor {
            Vendor::Zoom => format!("{sim_url}/zoom/?origin={crm_origin}"),
            Vendor::LeadDesk => format!("{sim_url}/leaddesk/"),
            _ => format!("{sim_url}/ccai/"),
        };
        // Framed exactly as the vendor's own softphone: its `allow` list
        // (LeadDesk's `microphone *`), sandbox and size.
        let frame = EmbedFrame::with_vendor_settings(vendor, src).map_err(config_error)?;
        let page = HostPage::new("Acme CRM", vendor, frame)
            .stylesheet("/static/crm.css")
            .body_html(body_html(vendor, &sim_url))
            .script("/static/crm.js");
        pages.insert(vendor, Arc::new(page));
    }
    let store = MemoryStore::new();
    let sso_provider = Arc::new(StoreSso::new(
        store.clone(),
        StaticCredentials::new().user("agent", "agent"),
        Duration::from_secs(8 * 3600),
    ));
    let csp = HostPageCsp::new()
        .frame_origin(&sim_origin)
        .frame_origin(&talk_origin)
        .directive("style-src", ["'self'"]);
    let app_state = AppState {
        sso: Arc::clone(&sso_provider),
        cookie: SessionCookie::new(SESSION_COOKIE).secure(false),
        crm: Arc::clone(&crm),
        bridge: bridge.clone(),
        pages: Arc::new(pages),
        default_vendor: config.vendor,
        sim_url: sim_url.clone(),
        sim: sim.clone(),
    };
    let sso = sso_provider;
    // Plain HTTP on loopback: a `Secure` cookie would not be kept.
    let cookie = SessionCookie::new(SESSION_COOKIE).secure(false);
    let crm_host = crm_addr.to_string();
    // Personal data and actions: a live session, JSON from this origin.
    let api = Router::new()
        .route("/api/state", get(api_state))
        .route("/api/contacts/{id}/dial", post(api_dial))
        .route("/api/notes", post(api_note))
        .route("/api/dispose", post(api_dispose))
        .route("/api/sign-out", post(api_sign_out))
        .route("/api/reset", post(api_reset))
        .route("/api/calls/{id}/voicelog", get(api_voicelog))
        .route("/api/calls/{id}/transcript", get(api_transcript))
        // The recording URL the phones name: the WAV download.
        .route(
            "/api/calls/{id}",
            get(|Path(id): Path<String>| async move {
                let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
                Redirect::to(&format!("/api/calls/{id}/voicelog?format=wav"))
            }),
        )
        .route("/ameyo/customer", get(ameyo_customer))
        .layer(CsrfGuard::new(hosts.clone()).layer())
        .layer(RequireSession::new(Arc::clone(&sso), cookie.clone()));
    // The page: the CRM for a signed-in agent, a sign-in form otherwise.
    let pages = Router::new()
        .route("/", get(crm_page))
        .route("/contacts/{id}", get(contact_page))
        .route("/lookup", get(lookup_page))
        .layer(csp.layer())
        .layer(RequireSession::new(Arc::clone(&sso), cookie.clone()).optional());
    let crm_app = Router::new()
        .merge(pages)
        .merge(api)
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/crm.js", get(crm_js))
        .route("/static/signin.js", get(signin_js))
        .route("/static/crm.css", get(crm_css))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(app_state)
        .route(
            "/ameyo/sso",
            SsoEndpoint::new(Arc::clone(&sso), store)
                .session_cookie(cookie.clone())
                .into_route(),
        )
        // CCAI's generic API: server to server, with its own key.
        .merge(ccai_api.into_router())
        .merge(
            Router::new()
                .nest("/cti", bridge.router())
                .layer(RequireSession::new(Arc::clone(&sso), cookie.clone()).optional()),
        )
        // Every route: only the CRM's own Host (no DNS rebinding), and no
        // state change from another site.
        .layer(
            CsrfGuard::new(hosts)
                .hosts([crm_host])
                .bodies(Bodies::JsonOrForm)
                .layer(),
        )
        .layer(Hardening::new().body_limit(64 * 1024).layer());
    let sim_app = sim.router();
    tokio::spawn(Server::new(crm_listener, crm_app).run());
    tokio::spawn(Server::new(talk_listener, sim_app.clone()).run());
    tokio::spawn(Server::new(sim_listener, sim_app).run());
    Ok(Demo {
        crm_url,
        sim_url,
        sim,
        sim_token,
        ameyo_token,
        ameyo_hash_key,
        crm,
        _recordings: dir,
    })
}

struct Handler(Arc<Crm>);

impl EventHandler for Handler {
    async fn on_event(&self, page: &PageContext, event: CtiEvent) -> Reply {
        self.0.on_event(page, event).await
    }
}

#[derive(Clone)]
struct AppState {
    sso: Arc<StoreSso<StaticCredentials>>,
    cookie: SessionCookie,
    crm: Arc<Crm>,
    bridge: Bridge,
    pages: Arc<HashMap<Vendor, Arc<HostPage>>>,
    default_vendor: Vendor,
    sim_url: String,
    sim: Simulator,
}

fn body_html(vendor: Vendor, sim_url: &str) -> String {
    let tab = |v: Vendor, label: &str| {
        let on = if v == vendor { " class=\"on\"" } else { "" };
        format!(
            "<a href=\"/?vendor={}\"{on} data-vendor=\"{}\">{label}</a>",
            v.name(),
            v.name()
        )
    };
    let options: String = DISPOSITIONS
        .iter()
        .map(|d| format!("<option value=\"{d}\">{d}</option>"))
        .collect();
    format!(
        "<header class=\"top\"><strong>Acme CRM</strong><nav id=\"vendors\">{}{}{}</nav>\
         <button type=\"button\" id=\"reset\" title=\"End any call on the phone and empty the call and event logs\">Reset demo</button>\
         <form id=\"sso\"><span id=\"sso-state\" data-ok=\"yes\">Signed in</span>\
         <button type=\"submit\" id=\"sign-out\">Sign out</button></form></header>\n\
         <main class=\"crm\" data-vendor=\"{}\" data-sim=\"{}\">\
         <section id=\"contacts\"><h2>Contacts</h2><ul id=\"contact-list\"></ul></section>\
         <section id=\"pop\"><h2>Screen pop</h2><p id=\"flash\" role=\"status\" hidden></p><div id=\"pop-empty\">No call</div>\
         <div id=\"pop-card\" hidden><div id=\"pop-name\"></div><div id=\"pop-company\"></div>\
         <div id=\"pop-number\"></div><div id=\"pop-state\"></div>\
         <form id=\"note-form\"><textarea id=\"note\" maxlength=\"2000\" placeholder=\"Notes\"></textarea>\
         <button type=\"submit\">Add note</button></form><ul id=\"notes\"></ul>\
         <form id=\"dispose-form\"><select id=\"disposition\">{options}</select>\
         <button type=\"submit\">Dispose (Ameyo API)</button></form><p id=\"dispose-result\"></p></div>\
         <h2>Call log</h2><table id=\"calls\"><thead><tr><th>Time</th><th>Contact</th><th>Channel</th>\
         <th>Direction</th><th>Duration</th><th>Disposition</th><th>Notes</th><th>Files</th></tr></thead>\
         <tbody></tbody></table></section></main>\n\
         <section id=\"events\"><h2>Event log <small>raw vendor message → normalized event</small></h2>\
         <div class=\"tools\"><input id=\"event-filter\" type=\"search\" placeholder=\"Filter (type, vendor, text)\" aria-label=\"Filter the event log\">\
         <button type=\"button\" id=\"event-clear\">Clear</button>\
         <button type=\"button\" id=\"event-export\">Export JSON</button></div>\
         <table><thead><tr><th>#</th><th></th><th>Message</th><th>Raw</th><th>Normalized</th></tr></thead>\
         <tbody id=\"event-rows\"></tbody></table></section>\n",
        tab(Vendor::Zoom, "Zoom"),
        tab(Vendor::LeadDesk, "LeadDesk"),
        tab(Vendor::Ccai, "CCAI"),
        vendor.name(),
        escape_attr(sim_url),
    )
}

fn parse_vendor(name: &str) -> Option<Vendor> {
    match name {
        "zoom" => Some(Vendor::Zoom),
        "leaddesk" => Some(Vendor::LeadDesk),
        "ccai" => Some(Vendor::Ccai),
        _ => None,
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message.into()})),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    vendor: Option<String>,
}

async fn crm_page(
    State(app): State<AppState>,
    Query(q): Query<PageQuery>,
    request: axum::extract::Request,
) -> Response {
    let vendor = match q.vendor.as_deref() {
        None => app.default_vendor,
        Some(name) => match parse_vendor(name) {
            Some(v) => v,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_vendor",
                    "vendor is zoom, leaddesk or ccai",
                );
            }
        },
    };
    if request.extensions().get::<SignedIn>().is_none() {
        // No page, no softphone and nothing stored until the agent signs in.
        return signin_page();
    }
    match app.pages.get(&vendor) {
        Some(page) => app.bridge.serve_page(page, request).await,
        None => error(StatusCode::NOT_FOUND, "not_found", "no page"),
    }
}

fn signin_page() -> Response {
    (
        [(CACHE_CONTROL, "no-store")],
        axum::response::Html(signin_html()),
    )
        .into_response()
}

/// The sign-in page: the form only.
fn signin_html() -> String {
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
     <title>Acme CRM: sign in</title><link rel=\"stylesheet\" href=\"/static/crm.css\"></head>\
     <body><header class=\"top\"><strong>Acme CRM</strong>\
     <form id=\"sso\"><span id=\"sso-state\">Not signed in</span>\
     <input id=\"sso-user\" placeholder=\"user\" autocomplete=\"username\" value=\"agent\">\
     <input id=\"sso-pass\" type=\"password\" placeholder=\"password\" autocomplete=\"current-password\">\
     <button type=\"submit\">Sign in (Ameyo SSO)</button></form></header>\
     <main class=\"signin\"><p>Sign in to see contacts, calls and the softphone \
     (demo user <code>agent</code>, password <code>agent</code>).</p></main>\
     <script src=\"/static/signin.js\"></script></body></html>"
        .to_owned()
}

async fn signin_js() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        SIGNIN_JS,
    )
        .into_response()
}

/// Ends the session in the cookie and clears the cookie.
async fn api_sign_out(State(app): State<AppState>, headers: http::HeaderMap) -> Response {
    use cti_server_kit::ameyo::sso::SsoProvider as _;
    if let Some(id) = app.cookie.read(&headers)
        && let Err(e) = app.sso.logout(id).await
    {
        tracing::info!(error = %e, "sign-out of an unknown session");
    }
    (
        [(http::header::SET_COOKIE, app.cookie.clear_value())],
        axum::Json(json!({"signed_out": true})),
    )
        .into_response()
}

async fn crm_js() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        CRM_JS,
    )
        .into_response()
}

async fn crm_css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        CRM_CSS,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct StateQuery {
    #[serde(default)]
    since: u64,
}

async fn api_state(
    State(app): State<AppState>,
    who: SignedIn,
    Query(q): Query<StateQuery>,
) -> Response {
    let mut v = app.crm.snapshot(q.since);
    if let Value::Object(map) = &mut v {
        map.insert("user".into(), json!(who.user_id));
        map.insert("contacts".into(), json!(CONTACTS));
        map.insert("sim".into(), json!(app.sim_url));
    }
    ([(CACHE_CONTROL, "no-store")], axum::Json(v)).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DialBody {
    vendor: String,
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

async fn api_dial(
    State(app): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    Path(id): Path<String>,
    bytes: bytes::Bytes,
) -> Response {
    let dial: DialBody = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", e),
    };
    let Some(vendor) = parse_vendor(&dial.vendor) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_vendor",
            "vendor is zoom, leaddesk or ccai",
        );
    };
    let Some(contact) = CONTACTS.iter().find(|c| c.id == id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such contact");
    };
    let command = Command::Dial {
        number: contact.phone.into(),
        immediately: true,
        contact: Some(to_crm_contact(contact)),
    };
    let crm = &app.crm;
    // Where the dialect can dial by message, the phone dials; otherwise
    // Ameyo's click-to-dial API does.
    // Why the phone did not dial, when it could have: said to the page.
    let mut phone_said = None;
    // The page this agent has open: the newest of the session's pages,
    // whether or not its phone has said anything yet.
    let page = match app.bridge.newest_page(&signed.session_digest, vendor).await {
        Ok(page) => page,
        Err(e) => {
            tracing::warn!(error = %e, "the bridge's store failed");
            None
        }
    };
    if let (Ok(rendered), Some(page)) = (command.render(vendor), page) {
        match app.bridge.send(&page, &command).await {
            Ok(()) => {
                crm.log(
                    "out",
                    vendor.name(),
                    rendered.wire_type(),
                    rendered.to_value(),
                    serde_json::to_value(&command).unwrap_or(Value::Null),
                );
                return axum::Json(json!({"via": "postMessage"})).into_response();
            }
            Err(e) => {
                tracing::info!(error = %e, "dial by message failed; using the REST API");
                phone_said = Some(match e {
                    BridgeError::NotReady => "not_ready",
                    BridgeError::NotConnected | BridgeError::NoSuchPage => "not_connected",
                    _ => "failed",
                });
            }
        }
    }
    let request = ClickToDialRequest::new(crm.agent.as_str(), crm.campaign.as_str(), contact.phone);
    match crm.ameyo.click_to_dial(&request).await {
        Ok(_) => {
            crm.log(
                "out",
                "ameyo",
                "clickToDialWithTokenAsync",
                serde_json::to_value(&request).unwrap_or(Value::Null),
                serde_json::to_value(&command).unwrap_or(Value::Null),
            );
            axum::Json(json!({"via": "ameyo", "phone": phone_said})).into_response()
        }
        Err(e) => match phone_said {
            Some(why) => error(
                StatusCode::BAD_GATEWAY,
                "dial_failed",
                format!(
                    "{}, and Ameyo's click-to-dial failed: {e}",
                    phone_words(why)
                ),
            ),
            None => error(StatusCode::BAD_GATEWAY, "dial_failed", e.to_string()),
        },
    }
}

/// What the page says for the bridge's reason a phone did not dial.
fn phone_words(why: &str) -> &'static str {
    match why {
        "not_ready" => "the phone is not signed in",
        "not_connected" => "the phone is not connected",
        _ => "the phone could not dial",
    }
}

/// Back to the start: a call still on the phone is ended and wrapped up,
/// then the call log, the pop and the event log are emptied.
async fn api_reset(State(app): State<AppState>, bytes: bytes::Bytes) -> Response {
    if let Err(e) = body::<serde_json::Map<String, Value>>(&bytes) {
        return error(StatusCode::BAD_REQUEST, "bad_request", e);
    }
    let phone = app.sim.state();
    let live = !phone["interaction"].is_null();
    if live {
        use cti_server_kit::simulator::Action;
        // A ringing call is declined; any other is ended and disposed.
        let action = if phone["interaction"]["state"] == "offered" {
            Action::Reject
        } else {
            Action::Dispose {
                code: DISPOSITIONS[0].into(),
            }
        };
        if let Err(e) = app.sim.act(&action) {
            tracing::warn!(error = %e, "the reset could not end the phone's call");
        }
        // Let the phone's last messages reach the CRM before it forgets.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    app.crm.reset();
    axum::Json(json!({"reset": true, "ended_a_call": live})).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn api_note(State(app): State<AppState>, bytes: bytes::Bytes) -> Response {
    let note: NoteBody = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", e),
    };
    let text = note.text.trim();
    if text.is_empty() || text.len() > 2000 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_note",
            "a note is 1 to 2000 characters",
        );
    }
    let crm = &app.crm;
    let mut book = lock(&crm.book);
    let Some(id) = book.current.clone() else {
        return error(
            StatusCode::CONFLICT,
            "no_call",
            "there is no call to take notes on",
        );
    };
    match book.calls.iter_mut().find(|c| c.id == id) {
        Some(call) if call.notes.len() < 50 => {
            call.notes.push(text.to_owned());
            axum::Json(json!({"notes": call.notes})).into_response()
        }
        Some(_) => error(
            StatusCode::CONFLICT,
            "too_many_notes",
            "a call keeps 50 notes",
        ),
        None => error(
            StatusCode::CONFLICT,
            "no_call",
            "there is no call to take notes on",
        ),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisposeBody {
    disposition: String,
}

async fn api_dispose(State(app): State<AppState>, bytes: bytes::Bytes) -> Response {
    let d: DisposeBody = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", e),
    };
    let crm = &app.crm;
    let (id, notes, vendor) = {
        let book = lock(&crm.book);
        let Some(id) = book.current.clone() else {
            return error(
                StatusCode::CONFLICT,
                "no_call",
                "there is no call to dispose",
            );
        };
        let call = book.calls.iter().find(|c| c.id == id);
        // Already disposed (on the phone, or by an earlier click): the
        // call is final; nothing is sent again and nothing changes.
        if let Some(done) = call.filter(|c| c.state == "completed") {
            return axum::Json(json!({
                "id": done.id,
                "disposition": done.disposition,
                "recorded": done.recorded,
                "already_disposed": true,
            }))
            .into_response();
        }
        (
            id,
            call.map(|c| c.notes.join("\n")).unwrap_or_default(),
            call.and_then(|c| parse_vendor(&c.vendor))
                .unwrap_or(Vendor::Zoom),
        )
    };
    // A fresh request id per attempt: Ameyo replays the answer of a
    // request id it has seen (a retry of the same attempt is safe).
    let attempt = crm.attempts.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("dispose-{id}-{attempt}");
    let mut request =
        DisposeCallForUserRequest::new(crm.agent.as_str(), d.disposition.as_str(), request_id);
    if !notes.is_empty() {
        request = request.notes(notes);
    }
    match crm.ameyo.dispose_call_for_user(&request).await {
        Ok(_) => {
            crm.log(
                "out",
                "ameyo",
                "disposeCallForUser",
                serde_json::to_value(&request).unwrap_or(Value::Null),
                json!({"event": "disposition_set", "id": id, "disposition": d.disposition}),
            );
            let is_voice = lock(&crm.book)
                .calls
                .iter()
                .any(|c| c.id == id && c.channel == "voice");
            let recorded = is_voice
                && match crm.fetch_recording(&id, VoiceLogFormat::Wav).await {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "the recording could not be fetched");
                        false
                    }
                };
            crm.upsert(&id, vendor, |e| {
                e.disposition = Some(d.disposition.clone());
                e.state = "completed".into();
                e.recorded = recorded;
            });
            axum::Json(json!({"id": id, "disposition": d.disposition, "recorded": recorded}))
                .into_response()
        }
        Err(e) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "dispose_refused",
            e.to_string(),
        ),
    }
}

#[derive(Debug, Deserialize)]
struct VoiceLogQuery {
    format: Option<String>,
}

async fn api_transcript(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    match app.crm.transcript(&id) {
        Some(text) => (
            [
                (CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!("inline; filename=\"chat-{}.txt\"", digits_and_letters(&id)),
                ),
            ],
            text,
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no transcript for that call",
        ),
    }
}

async fn api_voicelog(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<VoiceLogQuery>,
) -> Response {
    let (format, mime, ext) = match q.format.as_deref().unwrap_or("wav") {
        "wav" => (VoiceLogFormat::Wav, "audio/wav", "wav"),
        "mp3" => (VoiceLogFormat::Mp3, "audio/mpeg", "mp3"),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_format",
                "format is wav or mp3",
            );
        }
    };
    if !app.crm.calls().iter().any(|c| c.id == id && c.recorded) {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no recording for that call",
        );
    }
    match app.crm.fetch_recording(&id, format).await {
        Ok(bytes) => (
            [
                (CONTENT_TYPE, mime.to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"call-{}.{ext}\"",
                        digits_and_letters(&id)
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, "voicelog_failed", e),
    }
}

fn digits_and_letters(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect()
}

/// Ameyo's customer URL pop: the contact of the call's number.
/// Ameyo's customer screen pop: the customer's record page.
async fn ameyo_customer(Customer(params): Customer) -> Response {
    match find_contact(&params.phone) {
        Some(c) => Redirect::to(&format!("/contacts/{}", c.id)).into_response(),
        None => no_match_page(&params.phone),
    }
}

#[derive(Debug, Deserialize)]
struct LookupParams {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

/// CCAI's lookup URL (`/lookup?phone={ANI}&email={EMAIL}`), which its
/// `CRM_Record_Pop` opens: the matching record page.
async fn lookup_page(request: axum::extract::Request) -> Response {
    if request.extensions().get::<SignedIn>().is_none() {
        return signin_page();
    }
    let q: LookupParams = match Query::try_from_uri(request.uri()) {
        Ok(Query(q)) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_query", e.body_text()),
    };
    let found = [q.phone.as_str(), q.email.as_str()]
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .find_map(find_contact);
    match found {
        Some(c) => Redirect::to(&format!("/contacts/{}", c.id)).into_response(),
        None => no_match_page(if q.phone.trim().is_empty() {
            &q.email
        } else {
            &q.phone
        }),
    }
}

/// A contact's record page: what a screen pop opens, with the calls the
/// CRM logged with them.
async fn contact_page(
    State(app): State<AppState>,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Response {
    if request.extensions().get::<SignedIn>().is_none() {
        return signin_page();
    }
    let Some(contact) = CONTACTS.iter().find(|c| c.id == id) else {
        return record_page(
            StatusCode::NOT_FOUND,
            "No such contact",
            "<p>No contact has that id.</p>".into(),
            app.default_vendor,
        );
    };
    let rows: String = app
        .crm
        .calls()
        .iter()
        .rev()
        .filter(|c| c.contact_id.as_deref() == Some(contact.id))
        .map(|c| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(c.started_at.as_deref().unwrap_or("")),
                html(&c.channel),
                html(&c.direction),
                html(c.disposition.as_deref().unwrap_or(&c.state)),
                html(&c.notes.join(" · ")),
            )
        })
        .collect();
    let calls = if rows.is_empty() {
        "<p>No calls yet.</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>Time</th><th>Channel</th><th>Direction</th>\
             <th>Disposition</th><th>Notes</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let body = format!(
        "<dl class=\"record\" id=\"record\" data-id=\"{id}\"><dt>Company</dt><dd>{company}</dd>\
         <dt>Phone</dt><dd class=\"mono\">{phone}</dd><dt>E-mail</dt><dd>{email}</dd></dl>\
         <h2>Calls</h2>{calls}",
        id = escape_attr(contact.id),
        company = html(contact.company),
        phone = html(contact.phone),
        email = html(contact.email),
    );
    record_page(StatusCode::OK, contact.name, body, app.default_vendor)
}

/// A screen pop that names nobody the CRM knows.
fn no_match_page(what: &str) -> Response {
    record_page(
        StatusCode::OK,
        "No matching contact",
        format!(
            "<p id=\"no-match\">No contact has <span class=\"mono\">{}</span>.</p>",
            html(what)
        ),
        Vendor::Zoom,
    )
}

/// A record page of the CRM (no softphone: the agent's phone stays in
/// the CRM's own page).
fn record_page(status: StatusCode, title: &str, body: String, vendor: Vendor) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}: Acme CRM</title><link rel=\"stylesheet\" href=\"/static/crm.css\"></head>\
         <body><header class=\"top\"><strong>Acme CRM</strong>\
         <nav><a href=\"/?vendor={vendor}\" id=\"back\">Back to the CRM</a></nav></header>\
         <main class=\"record-page\"><h1>{title}</h1>{body}</main></body></html>",
        title = html(title),
        vendor = vendor.name(),
    );
    (
        status,
        [(CACHE_CONTROL, "no-store")],
        axum::response::Html(page),
    )
        .into_response()
}

/// Text for HTML element content.
fn html(text: &str) -> String {
    escape_attr(text)
}
