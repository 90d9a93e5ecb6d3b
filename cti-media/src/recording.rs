//! Call recordings: 16-bit PCM written to WAV while the call runs, MP3 on
//! demand, and decoding for checks.
//!
//! - [`Recordings`] is a directory of recordings named after their
//!   interaction (the id percent-encoded, so no id can leave the
//!   directory). A recording is written to `{name}.wav.part` and renamed
//!   to `{name}.wav` when it is finished, so a reader never sees half a
//!   file under the final name.
//! - [`RecordingWriter`] streams frames to disk through a fixed
//!   [`WRITE_BUFFER`]-byte buffer: memory stays bounded however long the
//!   call, and 1,000 concurrent 8 kHz calls cost 16 MiB of buffers.
//! - [`Recorder`] ties recordings to interactions: it follows each
//!   interaction's [`Change`]s, writes frames only while its recording
//!   flag is on (a pause leaves no audio), and finishes the file when the
//!   call ends.
//! - [`probe`] decodes a WAV or MP3 file with symphonia and measures it;
//!   with the `mp3` feature, [`transcode_to_mp3`] (and
//!   [`Recordings::find`]) makes MP3 from WAV with LAME. LAME is under the
//!   LGPL: a binary you distribute with the `mp3` feature carries LGPL
//!   obligations for the LAME part.
//!
//! # Examples
//!
//! ```
//! use cti_media::interaction::InteractionId;
//! use cti_media::recording::{AudioSpec, Recordings, probe};
//!
//! let dir = tempfile::tempdir()?;
//! let recordings = Recordings::open(dir.path())?;
//! let id = InteractionId::new("call-42");
//! let mut writer = recordings.create(&id, AudioSpec::NARROWBAND)?;
//! // One second of a 440 Hz tone, in 20 ms frames.
//! for frame in 0..50 {
//!     let samples: Vec<i16> = (0..160)
//!         .map(|n| {
//!             let t = f64::from(frame * 160 + n) / 8000.0;
//!             (f64::sin(t * 440.0 * std::f64::consts::TAU) * 8000.0) as i16
//!         })
//!         .collect();
//!     writer.write(&samples)?;
//! }
//! let info = writer.finish()?;
//! assert_eq!(info.frames, 8000);
//! let path = recordings.wav(&id).expect("finished");
//! assert_eq!(probe(&path)?.duration, std::time::Duration::from_secs(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::interaction::{Change, Flag, InteractionId, State};

/// The buffer between a recording and its file, in bytes (16 KiB: half a
/// second of 8 kHz stereo, a second of mono).
pub const WRITE_BUFFER: usize = 16 * 1024;

/// The longest interaction id a recording may be named after, in bytes.
pub const MAX_ID: usize = 128;

/// The PCM layout of a recording: 16-bit signed samples, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioSpec {
    /// Samples per second, per channel.
    pub sample_rate: u32,
    /// Channels (1: mono; 2: agent and customer on their own channels).
    pub channels: u16,
}

impl AudioSpec {
    /// Telephone audio: 8 kHz mono.
    pub const NARROWBAND: Self = Self {
        sample_rate: 8_000,
        channels: 1,
    };

    /// A spec, if it is one a recording can have (1 or 2 channels,
    /// 8 kHz to 48 kHz).
    #[must_use]
    pub fn new(sample_rate: u32, channels: u16) -> Option<Self> {
        ((8_000..=48_000).contains(&sample_rate) && (1..=2).contains(&channels)).then_some(Self {
            sample_rate,
            channels,
        })
    }
}

/// What a finished or decoded recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AudioInfo {
    /// Samples per second, per channel.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Sample frames (one sample per channel each).
    pub frames: u64,
    /// `frames / sample_rate`, to the microsecond.
    pub duration: Duration,
}

impl AudioInfo {
    fn new(sample_rate: u32, channels: u16, frames: u64) -> Self {
        let micros = if sample_rate == 0 {
            0
        } else {
            frames.saturating_mul(1_000_000) / u64::from(sample_rate)
        };
        Self {
            sample_rate,
            channels,
            frames,
            duration: Duration::from_micros(micros),
        }
    }
}

/// A recording could not be written, found or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The WAV writer or reader failed.
    #[error("{path}: WAV: {why}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The file is not audio this crate can read.
    #[error("{path}: cannot decode: {why}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// MP3 encoding failed.
    #[error("MP3 encoding: {0}")]
    Encode(String),
    /// A frame's length is not a whole number of sample frames.
    #[error("a frame of {samples} samples does not split into {channels} channels")]
    RaggedFrame {
        /// Samples given.
        samples: usize,
        /// Channels of the recording.
        channels: u16,
    },
    /// The interaction id cannot name a file (empty, or over [`MAX_ID`]
    /// bytes).
    #[error("an interaction id of {0} bytes cannot name a recording")]
    BadId(usize),
    /// A recording of this interaction exists (or is being written).
    #[error("interaction {0} already has a recording")]
    Exists(InteractionId),
    /// The format needs a feature this build lacks (MP3 without `mp3`).
    #[error("{0} needs the `mp3` feature")]
    Unsupported(&'static str),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RecordingError + '_ {
    move |source| RecordingError::Io {
        path: path.to_owned(),
        source,
    }
}

fn wav_err(path: &Path) -> impl FnOnce(hound::Error) -> RecordingError + '_ {
    move |e| match e {
        hound::Error::IoError(source) => RecordingError::Io {
            path: path.to_owned(),
            source,
        },
        other => RecordingError::Wav {
            path: path.to_owned(),
            why: other.to_string(),
        },
    }
}

/// A recording's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// WAV, 16-bit PCM.
    Wav,
    /// MP3.
    Mp3,
}

impl Format {
    /// The file extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
        }
    }
}

/// Everything but letters, digits, `-` and `_` is percent-encoded in a
/// file name (so `.` and `/` never reach the file system as themselves).
const NAME: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// The lock that lets one thread at a time encode the file at `path`
/// (shared by every [`Recordings`] of the process; freed when unused).
fn transcode_gate(path: &Path) -> std::sync::Arc<std::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, Weak};
    static GATES: OnceLock<Mutex<HashMap<PathBuf, Weak<Mutex<()>>>>> = OnceLock::new();
    let mut gates = GATES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(gate) = gates.get(path).and_then(Weak::upgrade) {
        return gate;
    }
    gates.retain(|_, g| g.strong_count() > 0);
    let gate = Arc::new(Mutex::new(()));
    gates.insert(path.to_owned(), Arc::downgrade(&gate));
    gate
}

/// A temporary name beside `path` that no other writer in any process
/// uses: `{path}.{pid}-{n}.part`.
#[cfg(feature = "mp3")]
fn unique_part(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut part = path.to_owned().into_os_string();
    part.push(format!(".{}-{n}.part", std::process::id()));
    PathBuf::from(part)
}

/// A directory of recordings (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Recordings {
    dir: PathBuf,
}

impl Recordings {
    /// The recordings in `dir`, which is created if missing.
    ///
    /// # Errors
    ///
    /// [`RecordingError::Io`] when the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, RecordingError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(Self { dir })
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file name of `id`'s recording in `format`: the id
    /// percent-encoded (letters, digits, `-` and `_` stay).
    ///
    /// # Errors
    ///
    /// [`RecordingError::BadId`] for an empty id or one over [`MAX_ID`]
    /// bytes.
    pub fn file_name(id: &InteractionId, format: Format) -> Result<String, RecordingError> {
        let raw = id.as_str();
        if raw.is_empty() || raw.len() > MAX_ID {
            return Err(RecordingError::BadId(raw.len()));
        }
        Ok(format!(
            "{}.{}",
            utf8_percent_encode(raw, NAME),
            format.extension()
        ))
    }

    /// Where `id`'s recording in `format` is (or would be).
    ///
    /// # Errors
    ///
    /// As [`Self::file_name`].
    pub fn path(&self, id: &InteractionId, format: Format) -> Result<PathBuf, RecordingError> {
        Ok(self.dir.join(Self::file_name(id, format)?))
    }

    /// Starts `id`'s recording.
    ///
    /// # Errors
    ///
    /// [`RecordingError::Exists`] when it has one (finished or being
    /// written); [`RecordingError::BadId`]; file errors.
    pub fn create(
        &self,
        id: &InteractionId,
        spec: AudioSpec,
    ) -> Result<RecordingWriter, RecordingError> {
        let path = self.path(id, Format::Wav)?;
        let mut part = path.clone().into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        if path.exists() {
            return Err(RecordingError::Exists(id.clone()));
        }
        // `create_new`: a second writer for the same call fails here.
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    RecordingError::Exists(id.clone())
                } else {
                    RecordingError::Io {
                        path: part.clone(),
                        source: e,
                    }
                }
            })?;
        let wav_spec = hound::WavSpec {
            channels: spec.channels,
            sample_rate: spec.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(BufWriter::with_capacity(WRITE_BUFFER, file), wav_spec)
            .map_err(wav_err(&part))?;
        Ok(RecordingWriter {
            writer: Some(writer),
            part,
            path,
            spec,
            frames: 0,
        })
    }

    /// `id`'s finished WAV recording, if there is one.
    #[must_use]
    pub fn wav(&self, id: &InteractionId) -> Option<PathBuf> {
        self.path(id, Format::Wav).ok().filter(|p| p.is_file())
    }

    /// `id`'s recording in `format`: the WAV as written, the MP3 made
    /// from it on first request (then kept beside it). `None` when the
    /// interaction has no finished recording.
    ///
    /// Blocking (file I/O, encoding): from async code, call it in
    /// `spawn_blocking`.
    ///
    /// # Errors
    ///
    /// [`RecordingError::Unsupported`] for MP3 without the `mp3` feature;
    /// [`RecordingError::BadId`]; file, decoding and encoding errors.
    pub fn find(
        &self,
        id: &InteractionId,
        format: Format,
    ) -> Result<Option<PathBuf>, RecordingError> {
        let wav = self.path(id, Format::Wav)?;
        if !wav.is_file() {
            return Ok(None);
        }
        match format {
            Format::Wav => Ok(Some(wav)),
            Format::Mp3 => {
                let mp3 = self.path(id, Format::Mp3)?;
                if mp3.is_file() {
                    return Ok(Some(mp3));
                }
                // One encoding per recording at a time: the others wait
                // for it and then find the finished file.
                let gate = transcode_gate(&mp3);
                let _turn = gate
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if !mp3.is_file() {
                    transcode_to_mp3(&wav, &mp3, &Mp3Options::default())?;
                }
                Ok(Some(mp3))
            }
        }
    }

    /// Makes `alias` (a vendor's call id, say) name `id`'s finished
    /// recordings too, by hard links: no copy, and either name finds them.
    ///
    /// # Errors
    ///
    /// [`RecordingError::Exists`] when `alias` names a recording already;
    /// file errors (there is nothing to link before the recording is
    /// finished: `NotFound`).
    pub fn alias(&self, alias: &InteractionId, id: &InteractionId) -> Result<(), RecordingError> {
        for format in [Format::Wav, Format::Mp3] {
            let from = self.path(id, format)?;
            let to = self.path(alias, format)?;
            if format == Format::Mp3 && !from.is_file() {
                continue;
            }
            std::fs::hard_link(&from, &to).map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    RecordingError::Exists(alias.clone())
                } else {
                    RecordingError::Io {
                        path: from.clone(),
                        source: e,
                    }
                }
            })?;
        }
        Ok(())
    }
}

/// A recording being written (see [`Recordings::create`]). Dropping it
/// unfinished keeps the `.part` file, readable up to its last
/// [`flush`](Self::flush), for salvage; it never takes the final name.
pub struct RecordingWriter {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    part: PathBuf,
    path: PathBuf,
    spec: AudioSpec,
    frames: u64,
}

impl fmt::Debug for RecordingWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingWriter")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl RecordingWriter {
    /// The layout.
    #[must_use]
    pub fn spec(&self) -> AudioSpec {
        self.spec
    }

    /// Sample frames written so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Appends interleaved samples (a whole number of sample frames).
    ///
    /// # Errors
    ///
    /// [`RecordingError::RaggedFrame`] (nothing is written); file errors,
    /// and a WAV error past 4 GiB of audio (about 74 hours of 8 kHz
    /// mono).
    pub fn write(&mut self, samples: &[i16]) -> Result<(), RecordingError> {
        let channels = usize::from(self.spec.channels);
        if !samples.len().is_multiple_of(channels) {
            return Err(RecordingError::RaggedFrame {
                samples: samples.len(),
                channels: self.spec.channels,
            });
        }
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let n = u32::try_from(samples.len()).map_err(|_| RecordingError::Wav {
            path: self.part.clone(),
            why: "frame too long".into(),
        })?;
        let mut out = writer.get_i16_writer(n);
        for &s in samples {
            out.write_sample(s);
        }
        out.flush().map_err(wav_err(&self.part))?;
        self.frames += (samples.len() / channels) as u64;
        Ok(())
    }

    /// Writes the buffer out and updates the header, so the `.part` file
    /// is a valid WAV of everything so far (call it now and then to
    /// bound what a crash loses).
    ///
    /// # Errors
    ///
    /// File errors.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        match self.writer.as_mut() {
            Some(w) => w.flush().map_err(wav_err(&self.part)),
            None => Ok(()),
        }
    }

    /// Finishes the file and gives it its final name.
    ///
    /// # Errors
    ///
    /// File errors (the `.part` file is then left as it is).
    pub fn finish(mut self) -> Result<AudioInfo, RecordingError> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(wav_err(&self.part))?;
        }
        std::fs::rename(&self.part, &self.path).map_err(io_err(&self.part))?;
        Ok(AudioInfo::new(
            self.spec.sample_rate,
            self.spec.channels,
            self.frames,
        ))
    }
}

/// Decodes a WAV or MP3 file to its end with symphonia and measures it.
/// Decoding every packet (not trusting the header) is what makes this a
/// check: a truncated or corrupt file is an error, not a wrong duration.
///
/// # Errors
///
/// [`RecordingError::Decode`] for anything that is not readable audio;
/// file errors.
pub fn probe(path: &Path) -> Result<AudioInfo, RecordingError> {
    let file = File::open(path).map_err(io_err(path))?;
    let ext = path.extension().and_then(|e| e.to_str());
    probe_source(Box::new(file), ext, path)
}

/// [`probe`] for audio in memory; `format` is a hint (the content
/// decides).
///
/// # Errors
///
/// [`RecordingError::Decode`] for anything that is not readable audio.
///
/// # Examples
///
/// ```
/// use cti_media::recording::{Format, RecordingError, probe_bytes};
/// assert!(matches!(probe_bytes(b"RIFF....".to_vec(), Some(Format::Wav)), Err(RecordingError::Decode { .. })));
/// ```
pub fn probe_bytes(data: Vec<u8>, format: Option<Format>) -> Result<AudioInfo, RecordingError> {
    probe_source(
        Box::new(io::Cursor::new(data)),
        format.map(Format::extension),
        Path::new("(memory)"),
    )
}

fn probe_source(
    source: Box<dyn symphonia::core::io::MediaSource>,
    ext: Option<&str>,
    path: &Path,
) -> Result<AudioInfo, RecordingError> {
    let decode = |why: String| RecordingError::Decode {
        path: path.to_owned(),
        why,
    };
    let mut source = source;
    check_riff(&mut source).map_err(decode)?;
    let skip = id3v2_len(&mut source).map_err(decode)?;
    let mut source: Box<dyn symphonia::core::io::MediaSource> = if skip > 0 {
        Box::new(Skipped::new(source, skip).map_err(decode)?)
    } else {
        source
    };
    let kind = container(&mut source).map_err(decode)?;
    // symphonia 0.5 still has panics on some malformed input (two found
    // by our fuzz target are pre-empted above); whatever remains becomes
    // a typed error here rather than unwinding into the caller.
    let ext = ext.map(str::to_owned);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        decode_all(source, kind, ext.as_deref(), path)
    }))
    .unwrap_or_else(|_| Err(decode("the decoder failed on malformed input".into())))
}

/// The length of an ID3v2 tag at the start of `source` (0 when there is
/// none); the source is rewound. Tags are skipped rather than parsed:
/// recordings carry none, and symphonia 0.5's tag reader panics on some
/// malformed ones.
fn id3v2_len(source: &mut Box<dyn symphonia::core::io::MediaSource>) -> Result<u64, String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut head = [0u8; 10];
    let found = source.read_exact(&mut head).is_ok() && &head[0..3] == b"ID3";
    source.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    if !found {
        return Ok(0);
    }
    if head[6..10].iter().any(|b| b & 0x80 != 0) {
        return Err("the ID3v2 tag size is not syncsafe".into());
    }
    let size = head[6..10]
        .iter()
        .fold(0u64, |n, b| (n << 7) | u64::from(*b));
    let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
    Ok(10 + size + footer)
}

/// A media source seen from byte `offset` on.
struct Skipped {
    inner: Box<dyn symphonia::core::io::MediaSource>,
    offset: u64,
}

impl Skipped {
    fn new(
        mut inner: Box<dyn symphonia::core::io::MediaSource>,
        offset: u64,
    ) -> Result<Self, String> {
        use std::io::{Seek as _, SeekFrom};
        inner
            .seek(SeekFrom::Start(offset))
            .map_err(|e| e.to_string())?;
        Ok(Self { inner, offset })
    }
}

impl io::Read for Skipped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl io::Seek for Skipped {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let pos = match pos {
            io::SeekFrom::Start(n) => io::SeekFrom::Start(n.saturating_add(self.offset)),
            other => other,
        };
        let at = self.inner.seek(pos)?;
        if at < self.offset {
            self.inner.seek(io::SeekFrom::Start(self.offset))?;
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        }
        Ok(at - self.offset)
    }
}

impl symphonia::core::io::MediaSource for Skipped {
    fn is_seekable(&self) -> bool {
        self.inner.is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len().map(|n| n.saturating_sub(self.offset))
    }
}

/// The container a file starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Wav,
    Mpeg,
}

/// Tells WAV (`RIFF….WAVE` at the start) from MPEG audio (a frame sync
/// at the start) by the first bytes; the source is rewound. Anything
/// else is not a recording. Deciding here, and giving symphonia a probe
/// with that one reader, keeps symphonia from scanning for markers
/// further in (where it found a `RIFF` with a zero sample rate and
/// panicked: fuzz input kept as a fixture).
fn container(source: &mut Box<dyn symphonia::core::io::MediaSource>) -> Result<Container, String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut head = [0u8; 12];
    let mut n = 0;
    while n < head.len() {
        match source.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    source.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    if n >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        Ok(Container::Wav)
    } else if n >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
        Ok(Container::Mpeg)
    } else {
        Err("neither WAV (RIFF/WAVE) nor MPEG audio".into())
    }
}

/// A probe with one container reader and no metadata readers
/// (symphonia's default probe also parses ID3v2 tags wherever it finds
/// one, and its tag reader panics on some malformed ones).
fn audio_probe(kind: Container) -> &'static symphonia::core::probe::Probe {
    use std::sync::OnceLock;
    use symphonia::core::probe::Probe;
    static WAV: OnceLock<Probe> = OnceLock::new();
    static MPEG: OnceLock<Probe> = OnceLock::new();
    match kind {
        Container::Wav => WAV.get_or_init(|| {
            let mut probe = Probe::default();
            probe.register_all::<symphonia::default::formats::WavReader>();
            probe
        }),
        Container::Mpeg => MPEG.get_or_init(|| {
            let mut probe = Probe::default();
            probe.register_all::<symphonia::default::formats::MpaReader>();
            probe
        }),
    }
}

fn decode_all(
    source: Box<dyn symphonia::core::io::MediaSource>,
    kind: Container,
    ext: Option<&str>,
    path: &Path,
) -> Result<AudioInfo, RecordingError> {
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::errors::Error as SymErr;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let decode = |why: String| RecordingError::Decode {
        path: path.to_owned(),
        why,
    };
    let stream = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let probed = audio_probe(kind)
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| decode(e.to_string()))?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or_else(|| decode("no audio track".into()))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| decode(e.to_string()))?;
    let mut frames: u64 = 0;
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut channels = params.channels.map_or(0, |c| c.count());
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymErr::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(decode(e.to_string())),
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = buf.spec();
                rate = spec.rate;
                channels = spec.channels.count();
                frames += buf.frames() as u64;
            }
            // A damaged MP3 frame: skipped, as players do.
            Err(SymErr::DecodeError(_)) => {}
            Err(e) => return Err(decode(e.to_string())),
        }
    }
    if rate == 0 || channels == 0 {
        return Err(decode("no decodable audio".into()));
    }
    Ok(AudioInfo::new(
        rate,
        u16::try_from(channels).unwrap_or(u16::MAX),
        frames,
    ))
}

/// Refuses a RIFF/WAVE file whose format chunk has no channels, no
/// sample rate or no sample size, before symphonia sees it: symphonia
/// 0.5 panics on a zero sample rate (our fuzz target found it). Other
/// content is left to symphonia. The source is rewound.
fn check_riff(source: &mut Box<dyn symphonia::core::io::MediaSource>) -> Result<(), String> {
    use std::io::{Read as _, Seek as _, SeekFrom};

    let rewind = |source: &mut Box<dyn symphonia::core::io::MediaSource>| {
        source
            .seek(SeekFrom::Start(0))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let mut head = [0u8; 12];
    if source.read_exact(&mut head).is_err() || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return rewind(source);
    }
    // Walk the chunks up to `data`, where symphonia stops reading them
    // (a few, normally; give up after 4,096).
    for _ in 0..4096 {
        let mut chunk = [0u8; 8];
        if source.read_exact(&mut chunk).is_err() {
            break;
        }
        let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        if &chunk[0..4] == b"data" {
            break;
        }
        if &chunk[0..4] == b"fmt " {
            let mut fmt = [0u8; 16];
            if len < 16 || source.read_exact(&mut fmt).is_err() {
                return Err("the WAV format chunk is too short".into());
            }
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
            let block_align = u16::from_le_bytes([fmt[12], fmt[13]]);
            let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
            if channels == 0 || rate == 0 || block_align == 0 || bits == 0 {
                return Err(format!(
                    "the WAV format chunk says {channels} channels, {rate} Hz, {bits}-bit samples in {block_align}-byte blocks"
                ));
            }
            // Every format chunk is checked (a file may carry several).
            let rest = i64::from(len - 16) + i64::from(len & 1);
            if source.seek(SeekFrom::Current(rest)).is_err() {
                break;
            }
            continue;
        }
        // Chunks are padded to an even length.
        let skip = i64::from(len) + i64::from(len & 1);
        if source.seek(SeekFrom::Current(skip)).is_err() {
            break;
        }
    }
    rewind(source)
}

/// MP3 settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mp3Options {
    /// Constant bit rate in kbit/s (32: clear speech at 8 kHz). One of
    /// LAME's: 8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192,
    /// 224, 256, 320.
    pub kbps: u16,
    /// LAME's algorithm quality, 0 (best, slowest) to 9; 5 is LAME's
    /// "good" and its command's default.
    pub quality: u8,
}

impl Default for Mp3Options {
    fn default() -> Self {
        Self {
            kbps: 32,
            quality: 5,
        }
    }
}

/// Encodes the WAV file `wav` as MP3 into `mp3`, streaming (a fixed
/// buffer, whatever the length), through `mp3.part` renamed at the end.
///
/// # Errors
///
/// [`RecordingError::Unsupported`] without the `mp3` feature; WAV, file
/// and encoding errors.
#[cfg(not(feature = "mp3"))]
pub fn transcode_to_mp3(
    wav: &Path,
    mp3: &Path,
    options: &Mp3Options,
) -> Result<AudioInfo, RecordingError> {
    let _ = (wav, mp3, options);
    Err(RecordingError::Unsupported("MP3"))
}

/// Encodes the WAV file `wav` as MP3 into `mp3`, streaming (a fixed
/// buffer, whatever the length), through a temporary file of its own
/// beside `mp3` renamed at the end (removed on failure), so concurrent
/// encodings of one file never mix. Returns the input's measures.
///
/// # Errors
///
/// WAV, file and encoding errors; a WAV that is not 16-bit PCM is a
/// [`RecordingError::Wav`].
#[cfg(feature = "mp3")]
pub fn transcode_to_mp3(
    wav: &Path,
    mp3: &Path,
    options: &Mp3Options,
) -> Result<AudioInfo, RecordingError> {
    use mp3lame_encoder::{Bitrate, Builder, Quality};

    let enc = |what: &str, e: &dyn fmt::Display| RecordingError::Encode(format!("{what}: {e}"));
    let mut reader = hound::WavReader::open(wav).map_err(wav_err(wav))?;
    let spec = reader.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(RecordingError::Wav {
            path: wav.to_owned(),
            why: format!(
                "{}-bit {:?} samples; recordings are 16-bit PCM",
                spec.bits_per_sample, spec.sample_format
            ),
        });
    }
    let channels = u8::try_from(spec.channels)
        .ok()
        .filter(|c| (1..=2).contains(c))
        .ok_or_else(|| RecordingError::Wav {
            path: wav.to_owned(),
            why: format!("{} channels; MP3 takes 1 or 2", spec.channels),
        })?;
    let bitrate = match options.kbps {
        8 => Bitrate::Kbps8,
        16 => Bitrate::Kbps16,
        24 => Bitrate::Kbps24,
        32 => Bitrate::Kbps32,
        40 => Bitrate::Kbps40,
        48 => Bitrate::Kbps48,
        64 => Bitrate::Kbps64,
        80 => Bitrate::Kbps80,
        96 => Bitrate::Kbps96,
        112 => Bitrate::Kbps112,
        128 => Bitrate::Kbps128,
        160 => Bitrate::Kbps160,
        192 => Bitrate::Kbps192,
        224 => Bitrate::Kbps224,
        256 => Bitrate::Kbps256,
        320 => Bitrate::Kbps320,
        other => {
            return Err(RecordingError::Encode(format!(
                "{other} kbit/s is not a LAME rate"
            )));
        }
    };
    let quality = match options.quality {
        0 => Quality::Best,
        1 => Quality::SecondBest,
        2 => Quality::NearBest,
        3 => Quality::VeryNice,
        4 => Quality::Nice,
        5 => Quality::Good,
        6 => Quality::Decent,
        7 => Quality::Ok,
        8 => Quality::SecondWorst,
        _ => Quality::Worst,
    };
    let mut builder =
        Builder::new().ok_or_else(|| RecordingError::Encode("LAME did not start".into()))?;
    builder
        .set_num_channels(channels)
        .map_err(|e| enc("channels", &format_args!("{e:?}")))?;
    builder
        .set_sample_rate(spec.sample_rate)
        .map_err(|e| enc("sample rate", &format_args!("{e:?}")))?;
    // Keep the recording's rate when MPEG has it (LAME would otherwise
    // halve it at speech bit rates).
    if [
        8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
    ]
    .contains(&spec.sample_rate)
    {
        builder
            .set_output_sample_rate(std::num::NonZeroU32::new(spec.sample_rate))
            .map_err(|e| enc("output rate", &format_args!("{e:?}")))?;
    }
    builder
        .set_brate(bitrate)
        .map_err(|e| enc("bit rate", &format_args!("{e:?}")))?;
    builder
        .set_quality(quality)
        .map_err(|e| enc("quality", &format_args!("{e:?}")))?;
    let mut encoder = builder
        .build()
        .map_err(|e| enc("setup", &format_args!("{e:?}")))?;

    let part = unique_part(mp3);
    let result = encode_into(&mut encoder, &mut reader, channels, wav, &part).and_then(|total| {
        std::fs::rename(&part, mp3).map_err(io_err(&part))?;
        Ok(total)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    let total = result?;
    Ok(AudioInfo::new(
        spec.sample_rate,
        spec.channels,
        total / u64::from(spec.channels),
    ))
}

/// Encodes every sample of `reader` into the new file `part`; the number
/// of samples read.
#[cfg(feature = "mp3")]
fn encode_into<R: std::io::Read>(
    encoder: &mut mp3lame_encoder::Encoder,
    reader: &mut hound::WavReader<R>,
    channels: u8,
    wav: &Path,
    part: &Path,
) -> Result<u64, RecordingError> {
    use std::io::Write as _;

    use mp3lame_encoder::{FlushNoGap, InterleavedPcm, MonoPcm};
    let enc =
        |what: &str, detail: &dyn fmt::Display| RecordingError::Encode(format!("{what}: {detail}"));
    let part = part.to_owned();
    let file = File::create(&part).map_err(io_err(&part))?;
    let mut out_file = BufWriter::with_capacity(64 * 1024, file);
    // About a second of 8 kHz mono per round.
    const CHUNK: usize = 1152 * 8;
    let mut pcm: Vec<i16> = Vec::with_capacity(CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(CHUNK));
    let mut samples = reader.samples::<i16>();
    let mut total: u64 = 0;
    loop {
        pcm.clear();
        for s in samples.by_ref().take(CHUNK) {
            pcm.push(s.map_err(wav_err(wav))?);
        }
        if pcm.is_empty() {
            break;
        }
        total += pcm.len() as u64;
        out.clear();
        let encoded = if channels == 1 {
            encoder.encode_to_vec(MonoPcm(pcm.as_slice()), &mut out)
        } else {
            encoder.encode_to_vec(InterleavedPcm(pcm.as_slice()), &mut out)
        };
        encoded.map_err(|e| enc("encode", &format_args!("{e:?}")))?;
        out_file.write_all(&out).map_err(io_err(&part))?;
    }
    out.clear();
    encoder
        .flush_to_vec::<FlushNoGap>(&mut out)
        .map_err(|e| enc("flush", &format_args!("{e:?}")))?;
    out_file.write_all(&out).map_err(io_err(&part))?;
    out_file
        .into_inner()
        .map_err(|e| RecordingError::Io {
            path: part.clone(),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(io_err(&part))?;
    Ok(total)
}

/// Recordings tied to interactions: feed it each interaction's changes
/// and its audio, and it writes what should be recorded (see the
/// [module docs](self)).
///
/// # Examples
///
/// ```
/// use cti_media::interaction::{Interaction, InteractionId, Op};
/// use cti_media::recording::{AudioSpec, Recorder, Recordings};
/// use cti_protocol::model::{Channel, Direction, Party};
///
/// let dir = tempfile::tempdir()?;
/// let mut recorder = Recorder::new(Recordings::open(dir.path())?, AudioSpec::NARROWBAND);
/// let t = jiff::Timestamp::UNIX_EPOCH;
/// let mut call = Interaction::offered(InteractionId::new("c1"), Channel::Voice, Direction::Inbound, Party::address("+1555"), t);
/// let id = call.id().clone();
/// recorder.observe(&id, &call.apply(Op::Answer, t)?)?;
/// assert!(!recorder.frame(&id, &[0; 160])?, "not recording yet");
/// recorder.observe(&id, &call.apply(Op::Record { on: true }, t)?)?;
/// assert!(recorder.frame(&id, &[0; 160])?);
/// let finished = recorder.observe(&id, &call.apply(Op::HangUp, t)?)?;
/// assert_eq!(finished.map(|info| info.frames), Some(160));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Recorder {
    recordings: Recordings,
    spec: AudioSpec,
    live: HashMap<InteractionId, Live>,
}

#[derive(Debug)]
struct Live {
    writer: Option<RecordingWriter>,
    on: bool,
}

impl Recorder {
    /// A recorder writing `spec` audio into `recordings`.
    #[must_use]
    pub fn new(recordings: Recordings, spec: AudioSpec) -> Self {
        Self {
            recordings,
            spec,
            live: HashMap::new(),
        }
    }

    /// The recordings it writes.
    #[must_use]
    pub fn recordings(&self) -> &Recordings {
        &self.recordings
    }

    /// How many interactions it follows now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// `true` when it follows no interaction.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Follows `id`'s changes: recording on opens (or resumes) its file,
    /// off pauses it, and the end of the call finishes it. Returns the
    /// finished recording's measures when this closed it.
    ///
    /// # Errors
    ///
    /// File errors opening or finishing the recording.
    pub fn observe(
        &mut self,
        id: &InteractionId,
        changes: &[Change],
    ) -> Result<Option<AudioInfo>, RecordingError> {
        for change in changes {
            match change {
                Change::Flag {
                    flag: Flag::Recording,
                    on,
                } => {
                    let live = self.live.entry(id.clone()).or_insert(Live {
                        writer: None,
                        on: false,
                    });
                    if *on && live.writer.is_none() {
                        live.writer = Some(self.recordings.create(id, self.spec)?);
                    }
                    live.on = *on;
                }
                Change::State { to, .. }
                    if matches!(to, State::Ended | State::WrapUp) || to.is_terminal() =>
                {
                    return self.finish(id);
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Writes a frame of `id`'s audio if it is being recorded; returns
    /// whether it was.
    ///
    /// # Errors
    ///
    /// As [`RecordingWriter::write`].
    pub fn frame(&mut self, id: &InteractionId, samples: &[i16]) -> Result<bool, RecordingError> {
        match self.live.get_mut(id) {
            Some(Live {
                writer: Some(w),
                on: true,
            }) => {
                w.write(samples)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Finishes `id`'s recording now, if it has one.
    ///
    /// # Errors
    ///
    /// As [`RecordingWriter::finish`].
    pub fn finish(&mut self, id: &InteractionId) -> Result<Option<AudioInfo>, RecordingError> {
        match self.live.remove(id) {
            Some(Live {
                writer: Some(w), ..
            }) => w.finish().map(Some),
            _ => Ok(None),
        }
    }
}
