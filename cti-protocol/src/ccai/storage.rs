//! CCAI Platform external storage: folder and file names, and which e-mail
//! address receives the session update.
//!
//! Files land under the configured folder path in five folders:
//!
//! | folder | files |
//! |---|---|
//! | `ujet-voice-recordings` | `call-{id}.mp3`, `call-{id}.wav` |
//! | `ujet-media` | `call-{id}-photo-{photo}.jpg`, `call-{id}-video-{video}.mp4`, and the same for `chat-` |
//! | `ujet-chat-transcripts` | `chat-{id}.txt` |
//! | `ujet-metadata` | `call-{id}.json`, `chat-{id}.json` |
//! | `ujet-voicemails` | `call-{id}.mp3` / `.wav` (the name is inferred from the recordings'; CCAI does not publish it) |
//!
//! Newer CCAI documentation calls the metadata file `metadata.json`
//! without saying where it sits; [`StoredFile::parse`] accepts
//! `ujet-metadata/call-{id}/metadata.json` as well as `call-{id}.json`.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ccai::storage::{AudioFormat, Session, StoredFile};
//!
//! let f = StoredFile::Recording { call_id: 103646, format: AudioFormat::Mp3 };
//! assert_eq!(f.path(), "ujet-voice-recordings/call-103646.mp3");
//! assert_eq!(StoredFile::parse("exports/ujet-metadata/chat-73522.json")?, StoredFile::Metadata(Session::Chat(73522)));
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;

use crate::types::truncate;
use crate::{Error, ErrorKind};

/// A call or a chat, by its numeric id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Session {
    /// A call.
    Call(u64),
    /// A chat.
    Chat(u64),
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Call(id) => write!(f, "call-{id}"),
            Self::Chat(id) => write!(f, "chat-{id}"),
        }
    }
}

/// A recording's audio format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioFormat {
    /// MP3.
    Mp3,
    /// WAV.
    Wav,
}

impl AudioFormat {
    fn ext(self) -> &'static str {
        match self {
            Self::Mp3 => "mp3",
            Self::Wav => "wav",
        }
    }
}

/// One file in CCAI's external-storage layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoredFile {
    /// A call recording.
    Recording {
        /// The call.
        call_id: u64,
        /// Its format.
        format: AudioFormat,
    },
    /// A voicemail.
    Voicemail {
        /// The call.
        call_id: u64,
        /// Its format.
        format: AudioFormat,
    },
    /// A photo the consumer uploaded.
    Photo {
        /// The session.
        session: Session,
        /// The photo's id.
        photo_id: String,
    },
    /// A video the consumer uploaded.
    Video {
        /// The session.
        session: Session,
        /// The video's id.
        video_id: String,
    },
    /// A chat transcript (plain text).
    Transcript {
        /// The chat.
        chat_id: u64,
    },
    /// A session metadata record (JSON).
    Metadata(Session),
}

/// The folders, as CCAI names them.
pub mod folder {
    /// Call recordings.
    pub const VOICE_RECORDINGS: &str = "ujet-voice-recordings";
    /// Consumer photos and videos.
    pub const MEDIA: &str = "ujet-media";
    /// Chat transcripts.
    pub const CHAT_TRANSCRIPTS: &str = "ujet-chat-transcripts";
    /// Session metadata.
    pub const METADATA: &str = "ujet-metadata";
    /// Voicemails.
    pub const VOICEMAILS: &str = "ujet-voicemails";
}

fn storage_error(path: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Format,
        format!(
            "`{}` is not a CCAI storage path: {why}",
            truncate(path, 100)
        ),
    )
}

fn media_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl StoredFile {
    /// The folder the file goes in.
    #[must_use]
    pub fn folder(&self) -> &'static str {
        match self {
            Self::Recording { .. } => folder::VOICE_RECORDINGS,
            Self::Voicemail { .. } => folder::VOICEMAILS,
            Self::Photo { .. } | Self::Video { .. } => folder::MEDIA,
            Self::Transcript { .. } => folder::CHAT_TRANSCRIPTS,
            Self::Metadata(_) => folder::METADATA,
        }
    }

    /// The file name. Media ids are reduced to `[A-Za-z0-9_-]` so a name
    /// can never climb out of its folder.
    #[must_use]
    pub fn file_name(&self) -> String {
        let clean = |id: &str| {
            id.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                .collect::<String>()
        };
        match self {
            Self::Recording { call_id, format } | Self::Voicemail { call_id, format } => {
                format!("call-{call_id}.{}", format.ext())
            }
            Self::Photo { session, photo_id } => format!("{session}-photo-{}.jpg", clean(photo_id)),
            Self::Video { session, video_id } => format!("{session}-video-{}.mp4", clean(video_id)),
            Self::Transcript { chat_id } => format!("chat-{chat_id}.txt"),
            Self::Metadata(session) => format!("{session}.json"),
        }
    }

    /// `folder/file`, relative to the configured folder path.
    #[must_use]
    pub fn path(&self) -> String {
        format!("{}/{}", self.folder(), self.file_name())
    }

    /// `prefix/folder/file` under a configured folder path (empty for none).
    #[must_use]
    pub fn path_under(&self, prefix: &str) -> String {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            self.path()
        } else {
            format!("{prefix}/{}", self.path())
        }
    }

    /// Recognises a stored file from its path (any folder prefix allowed).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Format`] when the path is not in CCAI's layout.
    pub fn parse(path: &str) -> crate::Result<Self> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let n = parts.len();
        let file = parts[n - 1];
        let folder_at = |i: usize| if n > i { Some(parts[n - 1 - i]) } else { None };
        let session = |text: &str| -> Option<Session> {
            let (kind, id) = text.split_once('-')?;
            let id = id.parse::<u64>().ok()?;
            match kind {
                "call" => Some(Session::Call(id)),
                "chat" => Some(Session::Chat(id)),
                _ => None,
            }
        };
        let bad = |why: &str| storage_error(path, why);
        // `ujet-metadata/call-{id}/metadata.json`
        if file == "metadata.json" && folder_at(2) == Some(folder::METADATA) {
            let s = folder_at(1)
                .and_then(session)
                .ok_or_else(|| bad("metadata.json must sit in a call-{id} or chat-{id} folder"))?;
            return Ok(Self::Metadata(s));
        }
        let folder = folder_at(1).ok_or_else(|| bad("no ujet-* folder"))?;
        let (stem, ext) = file
            .rsplit_once('.')
            .ok_or_else(|| bad("no file extension"))?;
        let audio = |ext: &str| match ext {
            "mp3" => Some(AudioFormat::Mp3),
            "wav" => Some(AudioFormat::Wav),
            _ => None,
        };
        let call_id = |stem: &str| match session(stem) {
            Some(Session::Call(id)) => Some(id),
            _ => None,
        };
        let out = match folder {
            folder::VOICE_RECORDINGS | folder::VOICEMAILS => {
                let (call_id, format) = call_id(stem)
                    .zip(audio(ext))
                    .ok_or_else(|| bad("expected call-{id}.mp3 or .wav"))?;
                if folder == folder::VOICEMAILS {
                    Self::Voicemail { call_id, format }
                } else {
                    Self::Recording { call_id, format }
                }
            }
            folder::CHAT_TRANSCRIPTS => match (session(stem), ext) {
                (Some(Session::Chat(chat_id)), "txt") => Self::Transcript { chat_id },
                _ => return Err(bad("expected chat-{id}.txt")),
            },
            folder::METADATA => match (session(stem), ext) {
                (Some(s), "json") => Self::Metadata(s),
                _ => return Err(bad("expected call-{id}.json or chat-{id}.json")),
            },
            folder::MEDIA => {
                let (head, media) = stem
                    .split_once("-photo-")
                    .map(|(h, m)| (h, (m, true)))
                    .or_else(|| stem.split_once("-video-").map(|(h, m)| (h, (m, false))))
                    .ok_or_else(|| {
                        bad("expected {session}-photo-{id}.jpg or {session}-video-{id}.mp4")
                    })?;
                let s = session(head)
                    .ok_or_else(|| bad("the media file must start with call-{id} or chat-{id}"))?;
                match (media, ext) {
                    ((id, true), "jpg") if media_id_ok(id) => Self::Photo {
                        session: s,
                        photo_id: id.to_owned(),
                    },
                    ((id, false), "mp4") if media_id_ok(id) => Self::Video {
                        session: s,
                        video_id: id.to_owned(),
                    },
                    _ => return Err(bad("expected a .jpg photo or .mp4 video with a plain id")),
                }
            }
            _ => return Err(bad("not in a ujet-* folder")),
        };
        Ok(out)
    }
}

/// The e-mail update setting at one level (global or queue).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailSetting {
    /// "Send session outcome via Email" is on.
    pub enabled: bool,
    /// The address to send to.
    pub address: Option<String>,
}

impl EmailSetting {
    /// An enabled setting with an address.
    #[must_use]
    pub fn to(address: impl Into<String>) -> Self {
        Self {
            enabled: true,
            address: Some(address.into()),
        }
    }

    /// A disabled setting.
    #[must_use]
    pub fn off() -> Self {
        Self::default()
    }
}

/// Where a finished session's e-mail update goes, by CCAI's inheritance
/// rules; `None` means no e-mail.
///
/// | global | queue | result |
/// |---|---|---|
/// | off | off | none |
/// | off | on | the queue's address |
/// | on | off | the global address (the queue inherits) |
/// | on | on | the queue's address; none if it is empty |
///
/// ```
/// use cti_protocol::ccai::storage::{email_recipient, EmailSetting};
///
/// let global = EmailSetting::to("crm@example.com");
/// assert_eq!(email_recipient(&global, &EmailSetting::off()).as_deref(), Some("crm@example.com"));
/// assert_eq!(email_recipient(&global, &EmailSetting::to("")).as_deref(), None);
/// ```
#[must_use]
pub fn email_recipient(global: &EmailSetting, queue: &EmailSetting) -> Option<String> {
    let address = |s: &EmailSetting| s.address.clone().filter(|a| !a.trim().is_empty());
    match (global.enabled, queue.enabled) {
        (false, false) => None,
        (_, true) => address(queue),
        (true, false) => address(global),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips() {
        let files = [
            StoredFile::Recording {
                call_id: 1,
                format: AudioFormat::Mp3,
            },
            StoredFile::Recording {
                call_id: 2,
                format: AudioFormat::Wav,
            },
            StoredFile::Voicemail {
                call_id: 3,
                format: AudioFormat::Wav,
            },
            StoredFile::Photo {
                session: Session::Call(4),
                photo_id: "p1".into(),
            },
            StoredFile::Video {
                session: Session::Chat(5),
                video_id: "v-9".into(),
            },
            StoredFile::Transcript { chat_id: 6 },
            StoredFile::Metadata(Session::Call(7)),
            StoredFile::Metadata(Session::Chat(8)),
        ];
        for f in files {
            assert_eq!(
                StoredFile::parse(&f.path_under("/exports/acme/")).unwrap(),
                f
            );
        }
        assert_eq!(
            StoredFile::parse("ujet-metadata/call-9/metadata.json").unwrap(),
            StoredFile::Metadata(Session::Call(9))
        );
        let evil = StoredFile::Photo {
            session: Session::Call(1),
            photo_id: "../../etc/passwd".into(),
        };
        assert_eq!(evil.file_name(), "call-1-photo-etcpasswd.jpg");
        for bad in [
            "",
            "call-1.mp3",
            "ujet-voice-recordings/chat-1.mp3",
            "ujet-metadata/call-x.json",
            "ujet-media/call-1-photo-.jpg",
            "elsewhere/call-1.mp3",
            "ujet-metadata/metadata.json",
        ] {
            assert!(StoredFile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inheritance_table() {
        let g_on = EmailSetting::to("global@example.com");
        let q_on = EmailSetting::to("queue@example.com");
        let off = EmailSetting::off();
        assert_eq!(email_recipient(&off, &off), None);
        assert_eq!(
            email_recipient(&off, &q_on).as_deref(),
            Some("queue@example.com")
        );
        assert_eq!(
            email_recipient(&g_on, &off).as_deref(),
            Some("global@example.com")
        );
        assert_eq!(
            email_recipient(&g_on, &q_on).as_deref(),
            Some("queue@example.com")
        );
        assert_eq!(email_recipient(&g_on, &EmailSetting::to(" ")), None);
    }
}
