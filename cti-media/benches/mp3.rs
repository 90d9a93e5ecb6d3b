//! WAV → MP3 speed: [`transcode_to_mp3`] against Debian's `lame` command
//! on the same file with the same settings (32 kbit/s CBR, quality 5,
//! output rate kept at 8 kHz), in the same run. Goal: ours ≥ 0.9× the
//! command's throughput.
//!
//! ```text
//! cargo bench -p cti-media --features mp3 --bench mp3
//! python3 scripts/bench_ratio.py mp3 ours lame_command
//! ```
//!
//! The input is 60 s of 8 kHz mono speech-band noise and tones (a few
//! hundred KiB, what one call leaves). Without the `lame` command only
//! `ours` runs, and the bench says so.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use cti_media::interaction::InteractionId;
use cti_media::recording::{AudioSpec, Mp3Options, Recordings, transcode_to_mp3};

fn input(dir: &Path) -> std::path::PathBuf {
    let recordings = Recordings::open(dir).unwrap();
    let id = InteractionId::new("bench");
    let mut w = recordings.create(&id, AudioSpec::NARROWBAND).unwrap();
    let mut x: u32 = 1;
    for n in 0..(60 * 8000 / 160) {
        let frame: Vec<i16> = (0..160)
            .map(|k| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let t = f64::from(n * 160 + k) / 8000.0;
                let tone = f64::sin(t * 300.0 * std::f64::consts::TAU) * 6000.0;
                (tone + f64::from((x >> 20) as i32 - 2048)) as i16
            })
            .collect();
        w.write(&frame).unwrap();
    }
    w.finish().unwrap();
    recordings.wav(&id).unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let wav = input(dir.path());
    let ours_out = dir.path().join("ours.mp3");
    let lame_out = dir.path().join("lame.mp3");
    let mut group = c.benchmark_group("mp3");
    group.sample_size(20);
    group.bench_function("ours", |b| {
        b.iter(|| transcode_to_mp3(&wav, &ours_out, &Mp3Options::default()).unwrap());
    });
    let has_lame = Command::new("lame").arg("--version").output().is_ok();
    if has_lame {
        group.bench_function("lame_command", |b| {
            b.iter(|| {
                let status = Command::new("lame")
                    .args(["--silent", "-b", "32", "-q", "5", "--resample", "8"])
                    .arg(&wav)
                    .arg(&lame_out)
                    .status()
                    .unwrap();
                assert!(status.success());
            });
        });
    } else {
        eprintln!(
            "mp3 bench: the `lame` command is not installed (apt-get install lame); only `ours` ran"
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
