//! What a finished session leaves behind, in CCAI Platform's external
//! storage layout: the metadata record, the chat transcript and the
//! recording, each named as `cti_protocol::ccai::storage::StoredFile`
//! names it (`ujet-metadata/call-{id}.json`,
//! `ujet-chat-transcripts/chat-{id}.txt`,
//! `ujet-voice-recordings/call-{id}.mp3`, …).
//!
//! - [`session_metadata`] turns an engine [`Interaction`] (plus what the
//!   engine does not know: the numeric session id, the language, the
//!   agent) into the typed CCAI record, with the call/chat spellings
//!   (`subStatus` / `sub_status`) and `ends_at`.
//! - [`Transcript`] is a chat's messages as plain text.
//! - [`session_files`] lists the files to deliver for a session, each
//!   file type switched on or off on its own ([`FileTypes`]), as CCAI's
//!   settings do.
//!
//! # Examples
//!
//! ```
//! use cti_media::artifacts::{SessionInfo, session_metadata};
//! use cti_media::interaction::{Interaction, InteractionId, Op};
//! use cti_protocol::ccai::metadata::SessionMetadata;
//! use cti_protocol::model::{Channel, Direction, Party};
//! use jiff::Timestamp;
//!
//! let t = Timestamp::from_second(1_795_428_000)?;
//! let mut call = Interaction::offered(InteractionId::new("c"), Channel::Voice, Direction::Inbound, Party::address("+14155552671"), t);
//! call.apply(Op::Answer, t + jiff::SignedDuration::from_secs(20))?;
//! call.apply(Op::HangUp, t + jiff::SignedDuration::from_secs(320))?;
//! let record = session_metadata(&call, &SessionInfo::new(103646));
//! let SessionMetadata::Call(c) = record else { unreachable!() };
//! assert_eq!((c.wait_duration, c.call_duration), (Some(20), Some(300)));
//! assert_eq!(c.status.as_deref(), Some("finished"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use bytes::Bytes;
use cti_protocol::ccai::metadata::{AgentInfo, CallMetadata, ChatMetadata, SessionMetadata};
use cti_protocol::ccai::storage::{AudioFormat, Session, StoredFile};
use cti_protocol::model::{Channel, Direction};
use cti_protocol::types::{IsoTime, Str};
use jiff::Timestamp;

use crate::interaction::{Interaction, State};

/// What the engine does not know about a session, for its metadata.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SessionInfo {
    /// CCAI's numeric call or chat id.
    pub session_id: u64,
    /// Language code (`en`).
    pub lang: Option<Str>,
    /// The session type, when not the one derived from the channel and
    /// direction (`Voice Inbound`, `Messaging Inbound (Web Chat)`, …).
    pub session_type: Option<Str>,
    /// Who handled it.
    pub agent: Option<AgentInfo>,
    /// The customer's rating.
    pub rating: Option<i64>,
    /// Seconds on hold, when the media layer measured it.
    pub hold_seconds: Option<u64>,
}

impl SessionInfo {
    /// A session numbered `session_id`, nothing else known.
    #[must_use]
    pub fn new(session_id: u64) -> Self {
        Self {
            session_id,
            ..Self::default()
        }
    }

    /// Sets the language.
    #[must_use]
    pub fn lang(mut self, lang: impl Into<Str>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Sets the agent.
    #[must_use]
    pub fn agent(mut self, agent: AgentInfo) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Sets the session type.
    #[must_use]
    pub fn session_type(mut self, session_type: impl Into<Str>) -> Self {
        self.session_type = Some(session_type.into());
        self
    }
}

/// `true` for the channels CCAI records as chats (messaging, e-mail,
/// work items); calls are voice and video.
#[must_use]
pub fn is_chat(channel: Channel) -> bool {
    !matches!(channel, Channel::Voice | Channel::Video)
}

fn session_type(i: &Interaction) -> &'static str {
    match (i.channel(), i.direction()) {
        (Channel::Voice, Direction::Outbound) => "Voice Outbound",
        (Channel::Voice, _) => "Voice Inbound",
        (Channel::Video, Direction::Outbound) => "Video Outbound",
        (Channel::Video, _) => "Video Inbound",
        (Channel::Sms, _) => "Messaging (SMS)",
        (Channel::Email, _) => "Messaging (Email)",
        (Channel::Chat, Direction::Outbound) => "Messaging Outbound",
        _ => "Messaging Inbound (Web Chat)",
    }
}

fn time(at: Option<Timestamp>) -> Option<IsoTime> {
    at.map(IsoTime::from_timestamp)
}

fn seconds(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<u64> {
    let (from, to) = (from?, to?);
    u64::try_from(to.duration_since(from).as_secs()).ok()
}

/// The CCAI metadata record of `interaction` (a call record for voice
/// and video, a chat record otherwise).
///
/// Status: offered is `queued` (`in_queue`), connected or held is
/// `connected` (`connected_with_agent`), ended, wrap-up and completed are
/// `finished`, missed, rejected and not connected are `failed` (the
/// reason code in `fail_reason`). Durations are whole seconds: the wait
/// from offer to answer (or to the end, unanswered), the call from answer
/// to end. CCAI's `hold_duration` is `null` unless [`SessionInfo`]
/// measured it.
#[must_use]
pub fn session_metadata(interaction: &Interaction, info: &SessionInfo) -> SessionMetadata {
    let times = interaction.times();
    let (status, sub_status) = match interaction.state() {
        State::Offered => ("queued", Some("in_queue")),
        State::Connected | State::Held => ("connected", Some("connected_with_agent")),
        State::Ended | State::WrapUp | State::Completed => ("finished", None),
        _ => ("failed", None),
    };
    let fail_reason = match interaction.state() {
        State::Missed(r) | State::Rejected(r) | State::NotConnected(r) => Some(r.clone()),
        _ => None,
    };
    let kind: Str = info
        .session_type
        .clone()
        .unwrap_or_else(|| Str::new_static(session_type(interaction)));
    let created = time(times.offered);
    let updated = time(times.last);
    if is_chat(interaction.channel()) {
        let mut chat = ChatMetadata::default();
        chat.id = info.session_id;
        chat.lang.clone_from(&info.lang);
        chat.chat_type = Some(kind.clone());
        chat.session_type = Some(kind.clone());
        chat.session_type_v2 = Some(kind);
        chat.status = Some(Str::new_static(status));
        chat.sub_status = sub_status.map(Str::new_static);
        chat.created_at = created;
        chat.assigned_at = time(times.connected);
        chat.agent_info.clone_from(&info.agent);
        if let Some(at) = time(times.ended) {
            chat.extra
                .insert("ends_at".into(), serde_json::json!(at.as_str()));
        }
        if let Some(reason) = fail_reason {
            chat.extra
                .insert("fail_reason".into(), serde_json::json!(reason.as_str()));
        }
        SessionMetadata::Chat(Box::new(chat))
    } else {
        let wait_until = times.connected.or(times.ended);
        let mut call = CallMetadata::default();
        call.id = info.session_id;
        call.lang.clone_from(&info.lang);
        call.call_type = Some(kind.clone());
        call.session_type = Some(kind.clone());
        call.session_type_v2 = Some(kind);
        call.status = Some(Str::new_static(status));
        call.sub_status = sub_status.map(Str::new_static);
        call.created_at.clone_from(&created);
        call.queued_at = created;
        call.assigned_at = time(times.connected);
        call.connected_at = time(times.connected);
        call.ends_at = time(times.ended);
        call.updated_at = updated;
        call.wait_duration = seconds(times.offered, wait_until);
        call.call_duration = seconds(times.connected, times.ended);
        call.hold_duration = info.hold_seconds;
        call.rating = info.rating;
        call.agent_info.clone_from(&info.agent);
        if let Some(reason) = fail_reason {
            call.extra
                .insert("fail_reason".into(), serde_json::json!(reason.as_str()));
        }
        SessionMetadata::Call(Box::new(call))
    }
}

/// A chat's messages, written as CCAI's plain-text transcript: one line
/// per message, `YYYY-MM-DD HH:MM:SS UTC  Sender: text`, a message's own
/// line breaks indented under it, control characters dropped.
///
/// # Examples
///
/// ```
/// use cti_media::artifacts::Transcript;
/// let t0 = jiff::Timestamp::from_second(1_795_431_600)?;
/// let mut t = Transcript::new();
/// t.push(t0, "Customer", "Hi,\nmy card was declined");
/// t.push(t0, "Ada", "Let me check.");
/// assert_eq!(t.render(), "2026-11-23 11:00:00 UTC  Customer: Hi,\n    my card was declined\n2026-11-23 11:00:00 UTC  Ada: Let me check.\n");
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transcript {
    lines: Vec<(Timestamp, Str, String)>,
}

impl Transcript {
    /// An empty transcript.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a message.
    pub fn push(&mut self, at: Timestamp, from: impl Into<Str>, text: impl Into<String>) {
        self.lines.push((at, from.into(), text.into()));
    }

    /// How many messages.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// `true` without messages.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The plain text.
    #[must_use]
    pub fn render(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_control() || *c == '\n')
                .collect()
        };
        let mut out = String::new();
        for (at, from, text) in &self.lines {
            let from = clean(from).replace('\n', " ");
            let text = clean(text);
            let _ = write!(out, "{} UTC  {from}: ", at.strftime("%Y-%m-%d %H:%M:%S"));
            let mut first = true;
            for line in text.split('\n') {
                if !first {
                    out.push_str("\n    ");
                }
                out.push_str(line);
                first = false;
            }
            out.push('\n');
        }
        out
    }
}

/// Which files a session delivers; each is switched on its own (CCAI's
/// storage settings: recordings, metadata, transcripts, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileTypes {
    /// `ujet-voice-recordings/call-{id}.{mp3|wav}`.
    pub recordings: bool,
    /// The format recordings are delivered in.
    pub recording_format: AudioFormat,
    /// `ujet-metadata/{call|chat}-{id}.json`.
    pub metadata: bool,
    /// `ujet-chat-transcripts/chat-{id}.txt`.
    pub transcripts: bool,
    /// `ujet-media/{call|chat}-{id}-photo-{photo}.jpg` and `-video-….mp4`.
    pub media: bool,
    /// `ujet-voicemails/call-{id}.{mp3|wav}` (in the recording format).
    pub voicemails: bool,
}

impl Default for FileTypes {
    /// Everything, recordings as MP3.
    fn default() -> Self {
        Self {
            recordings: true,
            recording_format: AudioFormat::Mp3,
            metadata: true,
            transcripts: true,
            media: true,
            voicemails: true,
        }
    }
}

impl FileTypes {
    /// Nothing (switch on what you want).
    #[must_use]
    pub fn none() -> Self {
        Self {
            recordings: false,
            recording_format: AudioFormat::Mp3,
            metadata: false,
            transcripts: false,
            media: false,
            voicemails: false,
        }
    }

    /// Sets `recordings`.
    #[must_use]
    pub fn recordings(mut self, on: bool, format: AudioFormat) -> Self {
        self.recordings = on;
        self.recording_format = format;
        self
    }

    /// Sets `metadata`.
    #[must_use]
    pub fn metadata(mut self, on: bool) -> Self {
        self.metadata = on;
        self
    }

    /// Sets `transcripts`.
    #[must_use]
    pub fn transcripts(mut self, on: bool) -> Self {
        self.transcripts = on;
        self
    }

    /// Sets `media`.
    #[must_use]
    pub fn media(mut self, on: bool) -> Self {
        self.media = on;
        self
    }

    /// Sets `voicemails`.
    #[must_use]
    pub fn voicemails(mut self, on: bool) -> Self {
        self.voicemails = on;
        self
    }
}

/// What a delivered file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A file on disk, read when delivered (recordings).
    File(PathBuf),
}

/// One file to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Artifact {
    /// Where it goes (the storage layout).
    pub file: StoredFile,
    /// What it holds.
    pub body: Body,
}

/// What a session left besides its metadata, for [`session_files`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Sources<'a> {
    /// A chat's messages.
    pub transcript: Option<&'a Transcript>,
    /// A call's recording (a file in the delivered format).
    pub recording: Option<PathBuf>,
    /// A call's voicemail (a file in the delivered format).
    pub voicemail: Option<PathBuf>,
    /// Photos the customer sent: (photo id, JPEG file).
    pub photos: Vec<(String, PathBuf)>,
    /// Videos the customer sent: (video id, MP4 file).
    pub videos: Vec<(String, PathBuf)>,
}

impl<'a> Sources<'a> {
    /// Nothing but the metadata.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// With a chat transcript.
    #[must_use]
    pub fn transcript(mut self, transcript: &'a Transcript) -> Self {
        self.transcript = Some(transcript);
        self
    }

    /// With a call recording.
    #[must_use]
    pub fn recording(mut self, file: impl Into<PathBuf>) -> Self {
        self.recording = Some(file.into());
        self
    }

    /// With a voicemail.
    #[must_use]
    pub fn voicemail(mut self, file: impl Into<PathBuf>) -> Self {
        self.voicemail = Some(file.into());
        self
    }

    /// With a photo.
    #[must_use]
    pub fn photo(mut self, id: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        self.photos.push((id.into(), file.into()));
        self
    }

    /// With a video.
    #[must_use]
    pub fn video(mut self, id: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        self.videos.push((id.into(), file.into()));
        self
    }
}

/// The files a finished session delivers under `types`: its metadata,
/// its transcript (chats with messages), its recording and voicemail
/// (calls), and the photos and videos the customer sent.
#[must_use]
pub fn session_files(
    interaction: &Interaction,
    info: &SessionInfo,
    sources: &Sources<'_>,
    types: FileTypes,
) -> Vec<Artifact> {
    let chat = is_chat(interaction.channel());
    let session = if chat {
        Session::Chat(info.session_id)
    } else {
        Session::Call(info.session_id)
    };
    let mut out = Vec::new();
    if types.metadata {
        out.push(Artifact {
            file: StoredFile::Metadata(session),
            body: Body::Bytes(Bytes::from(session_metadata(interaction, info).to_json())),
        });
    }
    if types.transcripts
        && chat
        && let Some(t) = sources.transcript.filter(|t| !t.is_empty())
    {
        out.push(Artifact {
            file: StoredFile::Transcript {
                chat_id: info.session_id,
            },
            body: Body::Bytes(Bytes::from(t.render())),
        });
    }
    if types.recordings
        && !chat
        && let Some(path) = &sources.recording
    {
        out.push(Artifact {
            file: StoredFile::Recording {
                call_id: info.session_id,
                format: types.recording_format,
            },
            body: Body::File(path.clone()),
        });
    }
    if types.voicemails
        && !chat
        && let Some(path) = &sources.voicemail
    {
        out.push(Artifact {
            file: StoredFile::Voicemail {
                call_id: info.session_id,
                format: types.recording_format,
            },
            body: Body::File(path.clone()),
        });
    }
    if types.media {
        for (id, path) in &sources.photos {
            out.push(Artifact {
                file: StoredFile::Photo {
                    session,
                    photo_id: id.clone(),
                },
                body: Body::File(path.clone()),
            });
        }
        for (id, path) in &sources.videos {
            out.push(Artifact {
                file: StoredFile::Video {
                    session,
                    video_id: id.clone(),
                },
                body: Body::File(path.clone()),
            });
        }
    }
    out
}
