//! Recordings: WAV written while the call runs and read back exactly,
//! MP3 made from it (with the `mp3` feature) keeping rate, channels and
//! duration, recordings tied to an interaction's recording flag, hostile
//! ids and files.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use cti_media::interaction::{Interaction, InteractionId, Op};
use cti_media::recording::{
    AudioSpec, Format, Recorder, RecordingError, Recordings, WRITE_BUFFER, probe,
};
use cti_protocol::model::{Channel, Direction, Party};
use proptest::prelude::*;

/// `seconds` of a two-tone test signal, interleaved for `spec`.
fn tone(spec: AudioSpec, seconds: f64) -> Vec<i16> {
    let frames = (f64::from(spec.sample_rate) * seconds) as usize;
    let mut out = Vec::with_capacity(frames * usize::from(spec.channels));
    for n in 0..frames {
        let t = n as f64 / f64::from(spec.sample_rate);
        for c in 0..spec.channels {
            let f = if c == 0 { 440.0 } else { 660.0 };
            out.push((f64::sin(t * f * std::f64::consts::TAU) * 8000.0) as i16);
        }
    }
    out
}

fn id(s: &str) -> InteractionId {
    InteractionId::new(s)
}

fn write_all(recordings: &Recordings, name: &str, spec: AudioSpec, pcm: &[i16], frame: usize) {
    let mut w = recordings.create(&id(name), spec).unwrap();
    let step = frame * usize::from(spec.channels);
    for chunk in pcm.chunks(step) {
        w.write(chunk).unwrap();
    }
    let info = w.finish().unwrap();
    assert_eq!(info.frames, (pcm.len() / usize::from(spec.channels)) as u64);
}

#[test]
fn wav_round_trip_keeps_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = Recordings::open(dir.path()).unwrap();
    for (name, spec, seconds) in [
        ("mono-8k", AudioSpec::NARROWBAND, 3.5),
        ("stereo-16k", AudioSpec::new(16_000, 2).unwrap(), 2.25),
    ] {
        let pcm = tone(spec, seconds);
        write_all(&recordings, name, spec, &pcm, 160);
        let path = recordings.wav(&id(name)).unwrap();
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, spec.sample_rate);
        assert_eq!(reader.spec().channels, spec.channels);
        let back: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(back, pcm, "{name}: samples differ");
        let info = probe(&path).unwrap();
        assert_eq!(info.sample_rate, spec.sample_rate);
        assert_eq!(info.channels, spec.channels);
        assert_eq!(
            info.duration,
            Duration::from_secs_f64(seconds),
            "{name}: duration"
        );
    }
}

#[cfg(feature = "mp3")]
#[test]
fn mp3_round_trip_keeps_rate_channels_and_duration() {
    use cti_media::recording::{Mp3Options, transcode_to_mp3};
    let dir = tempfile::tempdir().unwrap();
    let recordings = Recordings::open(dir.path()).unwrap();
    for (name, spec, seconds) in [
        ("mono-8k", AudioSpec::NARROWBAND, 7.0),
        ("stereo-16k", AudioSpec::new(16_000, 2).unwrap(), 3.0),
        ("mono-44k", AudioSpec::new(44_100, 1).unwrap(), 2.0),
    ] {
        let pcm = tone(spec, seconds);
        write_all(&recordings, name, spec, &pcm, 441);
        // On demand, then kept.
        let mp3 = recordings.find(&id(name), Format::Mp3).unwrap().unwrap();
        let made = std::fs::metadata(&mp3).unwrap().modified().unwrap();
        let again = recordings.find(&id(name), Format::Mp3).unwrap().unwrap();
        assert_eq!(std::fs::metadata(&again).unwrap().modified().unwrap(), made);
        let info = probe(&mp3).unwrap();
        assert_eq!(info.sample_rate, spec.sample_rate, "{name}: rate");
        assert_eq!(info.channels, spec.channels, "{name}: channels");
        // MP3 adds the encoder's delay and pads the last frame: at most
        // a few frames of 1,152 (576 at low rates) samples.
        let diff = info.duration.abs_diff(Duration::from_secs_f64(seconds));
        assert!(
            diff <= Duration::from_millis(250),
            "{name}: {:?} vs {seconds} s",
            info.duration
        );
        // Explicit options work too; a bit rate LAME lacks is refused.
        let out = dir.path().join(format!("{name}-64k.mp3"));
        let mut opts = Mp3Options::default();
        opts.kbps = 64;
        transcode_to_mp3(&recordings.wav(&id(name)).unwrap(), &out, &opts).unwrap();
        assert!(probe(&out).is_ok());
        opts.kbps = 33;
        assert!(matches!(
            transcode_to_mp3(&recordings.wav(&id(name)).unwrap(), &out, &opts),
            Err(RecordingError::Encode(_))
        ));
    }
}

#[cfg(feature = "mp3")]
#[test]
fn concurrent_first_mp3_requests_all_get_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = Recordings::open(dir.path()).unwrap();
    let spec = AudioSpec::NARROWBAND;
    write_all(&recordings, "busy", spec, &tone(spec, 20.0), 160);
    // Sixteen requests for an MP3 nobody has made yet, all at once.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (recordings, barrier) = (recordings.clone(), std::sync::Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    let path = recordings.find(&id("busy"), Format::Mp3).unwrap().unwrap();
                    std::fs::read(path).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(!bodies[0].is_empty());
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the downloads differ"
    );
    let info = cti_media::recording::probe_bytes(bodies[0].clone(), Some(Format::Mp3)).unwrap();
    assert!(
        info.duration >= Duration::from_secs(19),
        "{:?}",
        info.duration
    );
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[cfg(not(feature = "mp3"))]
#[test]
fn mp3_needs_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = Recordings::open(dir.path()).unwrap();
    write_all(
        &recordings,
        "c",
        AudioSpec::NARROWBAND,
        &tone(AudioSpec::NARROWBAND, 0.1),
        160,
    );
    assert!(matches!(
        recordings.find(&id("c"), Format::Mp3),
        Err(RecordingError::Unsupported(_))
    ));
}

#[test]
fn hostile_ids_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("recordings");
    let recordings = Recordings::open(&inner).unwrap();
    // An id cannot leave the directory or hide as a dot file.
    for name in [
        "../../escape",
        "/etc/passwd",
        "..",
        ".hidden",
        "a/b\\c",
        "call 7 ü",
    ] {
        let mut w = recordings.create(&id(name), AudioSpec::NARROWBAND).unwrap();
        w.write(&[1, 2, 3]).unwrap();
        w.finish().unwrap();
        let path = recordings.wav(&id(name)).unwrap();
        assert_eq!(path.parent().unwrap(), inner, "{name}");
        let file = path.file_name().unwrap().to_str().unwrap();
        assert!(!file.starts_with('.'), "{file}");
        assert_eq!(file.matches('.').count(), 1, "{file}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(matches!(
        recordings.create(&id(""), AudioSpec::NARROWBAND),
        Err(RecordingError::BadId(0))
    ));
    assert!(matches!(
        recordings.create(&id(&"x".repeat(129)), AudioSpec::NARROWBAND),
        Err(RecordingError::BadId(129))
    ));
    // One recording per interaction, even while the first is written.
    let first = recordings
        .create(&id("once"), AudioSpec::NARROWBAND)
        .unwrap();
    assert!(matches!(
        recordings.create(&id("once"), AudioSpec::NARROWBAND),
        Err(RecordingError::Exists(_))
    ));
    // Unfinished: no final name; the part file stays for salvage.
    drop(first);
    assert!(recordings.wav(&id("once")).is_none());
    assert!(recordings.find(&id("once"), Format::Wav).unwrap().is_none());
    // A stereo frame must hold whole sample frames; nothing is written.
    let spec = AudioSpec::new(8_000, 2).unwrap();
    let mut w = recordings.create(&id("stereo"), spec).unwrap();
    assert!(matches!(
        w.write(&[1, 2, 3]),
        Err(RecordingError::RaggedFrame {
            samples: 3,
            channels: 2
        })
    ));
    assert_eq!(w.frames(), 0);
    w.write(&[1, 2]).unwrap();
    assert_eq!(w.finish().unwrap().frames, 1);
    // Specs a recording cannot have.
    assert!(AudioSpec::new(4_000, 1).is_none());
    assert!(AudioSpec::new(8_000, 3).is_none());
    // Files that are not audio are a typed error.
    for (name, bytes) in [
        ("garbage.wav", b"not a wave at all".to_vec()),
        ("empty.mp3", Vec::new()),
        (
            "riff.wav",
            b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0".to_vec(),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        assert!(
            matches!(probe(&path), Err(RecordingError::Decode { .. })),
            "{name}"
        );
    }
    // Found by the fuzz target: a zero sample rate and a malformed ID3v2
    // extended header made symphonia panic.
    for bytes in [
        include_bytes!("fixtures/probe/zero-rate.wav").to_vec(),
        include_bytes!("fixtures/probe/bad-id3.mp3").to_vec(),
        include_bytes!("fixtures/probe/riff-inside.bin").to_vec(),
        include_bytes!("fixtures/probe/two-fmt.wav").to_vec(),
    ] {
        for hint in [Some(Format::Wav), Some(Format::Mp3), None] {
            assert!(cti_media::recording::probe_bytes(bytes.clone(), hint).is_err());
        }
    }
    assert!(matches!(
        probe(&dir.path().join("missing.wav")),
        Err(RecordingError::Io { .. })
    ));
}

#[test]
fn aliases_name_the_same_recording() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = Recordings::open(dir.path()).unwrap();
    let pcm = tone(AudioSpec::NARROWBAND, 0.5);
    write_all(&recordings, "crt-88", AudioSpec::NARROWBAND, &pcm, 160);
    recordings.alias(&id("call-103646"), &id("crt-88")).unwrap();
    let a = std::fs::read(recordings.wav(&id("crt-88")).unwrap()).unwrap();
    let b = std::fs::read(recordings.wav(&id("call-103646")).unwrap()).unwrap();
    assert_eq!(a, b);
    assert!(matches!(
        recordings.alias(&id("call-103646"), &id("crt-88")),
        Err(RecordingError::Exists(_))
    ));
}

#[test]
fn the_recorder_follows_the_recording_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::new(Recordings::open(dir.path()).unwrap(), AudioSpec::NARROWBAND);
    let t = jiff::Timestamp::UNIX_EPOCH;
    let mut call = Interaction::offered(
        id("paused"),
        Channel::Voice,
        Direction::Inbound,
        Party::address("+14155552671"),
        t,
    );
    let cid = call.id().clone();
    let second = tone(AudioSpec::NARROWBAND, 1.0);
    let feed = |recorder: &mut Recorder| {
        second
            .chunks(160)
            .map(|f| recorder.frame(&cid, f).unwrap())
            .filter(|w| *w)
            .count()
    };
    recorder
        .observe(&cid, &call.apply(Op::Answer, t).unwrap())
        .unwrap();
    assert_eq!(feed(&mut recorder), 0, "not recording");
    recorder
        .observe(&cid, &call.apply(Op::Record { on: true }, t).unwrap())
        .unwrap();
    assert_eq!(feed(&mut recorder), 50);
    // Paused (card details, say): nothing is kept.
    recorder
        .observe(&cid, &call.apply(Op::Record { on: false }, t).unwrap())
        .unwrap();
    assert_eq!(feed(&mut recorder), 0);
    recorder
        .observe(&cid, &call.apply(Op::Record { on: true }, t).unwrap())
        .unwrap();
    assert_eq!(feed(&mut recorder), 50);
    assert_eq!(recorder.len(), 1);
    let info = recorder
        .observe(&cid, &call.apply(Op::HangUp, t).unwrap())
        .unwrap()
        .expect("finished at the hang-up");
    assert_eq!(info.duration, Duration::from_secs(2));
    assert!(recorder.is_empty());
    assert_eq!(
        probe(&recorder.recordings().wav(&cid).unwrap())
            .unwrap()
            .duration,
        Duration::from_secs(2)
    );
    // A call never recorded leaves no file.
    assert_eq!(recorder.finish(&id("never")).unwrap(), None);
    const { assert!(WRITE_BUFFER <= 64 * 1024) };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sequence of frames comes back sample for sample, and the
    /// decoded duration is the frame count over the rate.
    #[test]
    fn any_frames_round_trip(
        frames in proptest::collection::vec(proptest::collection::vec(any::<i16>(), 0..400), 0..40),
        stereo in any::<bool>(),
        rate in prop_oneof![Just(8_000u32), Just(16_000), Just(48_000)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let recordings = Recordings::open(dir.path()).unwrap();
        let spec = AudioSpec::new(rate, if stereo { 2 } else { 1 }).unwrap();
        let mut w = recordings.create(&id("p"), spec).unwrap();
        let mut all = Vec::new();
        for mut f in frames {
            if stereo && f.len() % 2 == 1 {
                f.pop();
            }
            w.write(&f).unwrap();
            all.extend(f);
        }
        let info = w.finish().unwrap();
        let path = recordings.wav(&id("p")).unwrap();
        let back: Vec<i16> = hound::WavReader::open(&path).unwrap().samples::<i16>().map(Result::unwrap).collect();
        prop_assert_eq!(&back, &all);
        let frames_n = (all.len() / usize::from(spec.channels)) as u64;
        prop_assert_eq!(info.frames, frames_n);
        if frames_n > 0 {
            let probed = probe(&path).unwrap();
            prop_assert_eq!(probed.frames, frames_n);
            prop_assert_eq!(probed.duration, info.duration);
        }
    }
}
