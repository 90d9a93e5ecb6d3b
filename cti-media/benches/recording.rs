//! The recording writer's cost per stream-second: 50 frames of 20 ms of
//! 8 kHz mono (one second of a call) written through `RecordingWriter`,
//! against the same bytes appended to a plain buffered file of the same
//! buffer size, in the same run. The ratio says what the WAV writer adds;
//! `examples/recording_load.rs` runs 1,000 such streams at once in real
//! time and reports the CPU share.
//!
//! ```text
//! cargo bench -p cti-media --bench recording
//! python3 scripts/bench_ratio.py recording wav_writer plain_file
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cti_media::interaction::InteractionId;
use cti_media::recording::{AudioSpec, Recordings, WRITE_BUFFER};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let recordings = Recordings::open(dir.path().join("wav")).unwrap();
    let frame: Vec<i16> = (0..160i16).map(|n| n.wrapping_mul(97)).collect();
    let bytes: Vec<u8> = frame.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut group = c.benchmark_group("recording");
    group.throughput(Throughput::Elements(8000));
    // Ten-minute recordings, one after another (the files are removed as
    // they fill, so the disk stays small); the plain files rotate the
    // same way.
    const SECONDS_PER_FILE: u32 = 600;
    let mut n = 0u64;
    let mut seconds = 0;
    let mut writer = recordings
        .create(&InteractionId::new("bench-0"), AudioSpec::NARROWBAND)
        .unwrap();
    group.bench_function("wav_writer", |b| {
        b.iter(|| {
            for _ in 0..50 {
                writer.write(std::hint::black_box(&frame)).unwrap();
            }
            seconds += 1;
            if seconds == SECONDS_PER_FILE {
                seconds = 0;
                n += 1;
                let id = InteractionId::new(format!("bench-{n}"));
                let full = std::mem::replace(
                    &mut writer,
                    recordings.create(&id, AudioSpec::NARROWBAND).unwrap(),
                );
                full.finish().unwrap();
                let done = InteractionId::new(format!("bench-{}", n - 1));
                std::fs::remove_file(recordings.wav(&done).unwrap()).unwrap();
            }
        });
    });
    let plain_path = dir.path().join("plain.raw");
    let open = || {
        std::io::BufWriter::with_capacity(WRITE_BUFFER, std::fs::File::create(&plain_path).unwrap())
    };
    let mut plain = open();
    let mut seconds = 0;
    group.bench_function("plain_file", |b| {
        b.iter(|| {
            for _ in 0..50 {
                plain.write_all(std::hint::black_box(&bytes)).unwrap();
            }
            seconds += 1;
            if seconds == SECONDS_PER_FILE {
                seconds = 0;
                plain.flush().unwrap();
                plain = open();
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
