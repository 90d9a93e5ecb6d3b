//! A bounded load run of the recording writer: `--streams` concurrent
//! 8 kHz mono calls, each a task that receives a 20 ms frame (160
//! samples) every 20 ms, as RTP would deliver it, and writes it to its
//! WAV recording. Two worker threads; it stops by itself after
//! `--seconds`.
//!
//! ```text
//! cargo run --release -p cti-media --example recording_load -- --streams 1000 --seconds 10
//! ```
//!
//! The same run then repeats with each stream appending the same bytes to
//! a plain buffered file (no WAV), the baseline. For each it reports the
//! process CPU time (from `/proc/self/stat`) as a share of the two cores
//! over the run, whether every frame was written, and how late the
//! latest frame was. The last line reads
//! `streams=N seconds=S wav_cpu_share=… baseline_cpu_share=… ratio=… frames_ok=…`.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cti_media::interaction::InteractionId;
use cti_media::recording::{AudioSpec, Recordings};

/// User + system CPU seconds of this process (`/proc/self/stat`, in
/// clock ticks of 1/100 s, Linux's `USER_HZ`).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces).
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Wav,
    Plain,
}

struct Outcome {
    cpu_share: f64,
    frames: u64,
    max_late: Duration,
}

fn run(rt: &tokio::runtime::Runtime, mode: Mode, streams: usize, seconds: u64) -> Outcome {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("recording_load: {e}");
            std::process::exit(1);
        }
    };
    let recordings = match Recordings::open(dir.path()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("recording_load: {e}");
            std::process::exit(1);
        }
    };
    let frames_written = Arc::new(AtomicU64::new(0));
    let max_late = Arc::new(AtomicU64::new(0));
    let ticks = seconds * 50;
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::with_capacity(streams);
        for k in 0..streams {
            let recordings = recordings.clone();
            let frames_written = Arc::clone(&frames_written);
            let max_late = Arc::clone(&max_late);
            let path = dir.path().join(format!("plain-{k}.raw"));
            tasks.push(tokio::spawn(async move {
                // A signal, not silence, so nothing is cheaper than real audio.
                let frame: Vec<i16> = (0..160i16).map(|n| n.wrapping_mul(97 + k as i16)).collect();
                let bytes: Vec<u8> = frame.iter().flat_map(|s| s.to_le_bytes()).collect();
                let mut wav = None;
                let mut plain = None;
                match mode {
                    Mode::Wav => {
                        wav = recordings
                            .create(
                                &InteractionId::new(format!("call-{k}")),
                                AudioSpec::NARROWBAND,
                            )
                            .ok();
                    }
                    Mode::Plain => {
                        plain = std::fs::File::create(&path).ok().map(|f| {
                            std::io::BufWriter::with_capacity(cti_media::recording::WRITE_BUFFER, f)
                        });
                    }
                }
                // Streams start spread over one frame time.
                tokio::time::sleep(Duration::from_micros((k as u64 * 20_000) / streams as u64))
                    .await;
                let start = tokio::time::Instant::now();
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                for n in 0..ticks {
                    tick.tick().await;
                    let due = start + Duration::from_millis(20 * n);
                    let late = tokio::time::Instant::now().saturating_duration_since(due);
                    max_late.fetch_max(late.as_micros() as u64, Ordering::Relaxed);
                    let ok = match (&mut wav, &mut plain) {
                        (Some(w), _) => w.write(&frame).is_ok(),
                        (_, Some(p)) => p.write_all(&bytes).is_ok(),
                        _ => false,
                    };
                    if ok {
                        frames_written.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Some(w) = wav {
                    let _ = w.finish();
                }
                if let Some(mut p) = plain {
                    let _ = p.flush();
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    Outcome {
        cpu_share: cpu / (wall * 2.0),
        frames: frames_written.load(Ordering::Relaxed),
        max_late: Duration::from_micros(max_late.load(Ordering::Relaxed)),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut streams, mut seconds) = (1000usize, 10u64);
    while let Some(a) = args.next() {
        let value = args
            .next()
            .and_then(|v| v.replace('_', "").parse::<u64>().ok());
        match (a.as_str(), value) {
            ("--streams", Some(v)) => streams = v as usize,
            ("--seconds", Some(v)) => seconds = v.max(1),
            _ => {
                eprintln!("usage: recording_load [--streams N] [--seconds S]");
                std::process::exit(2);
            }
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("recording_load: {e}");
            std::process::exit(1);
        }
    };
    let expected = streams as u64 * seconds * 50;
    let wav = run(&rt, Mode::Wav, streams, seconds);
    println!(
        "wav: cpu_share={:.3} frames={}/{expected} max_late_ms={:.1}",
        wav.cpu_share,
        wav.frames,
        wav.max_late.as_secs_f64() * 1000.0
    );
    let plain = run(&rt, Mode::Plain, streams, seconds);
    println!(
        "baseline (plain buffered file): cpu_share={:.3} frames={}/{expected} max_late_ms={:.1}",
        plain.cpu_share,
        plain.frames,
        plain.max_late.as_secs_f64() * 1000.0
    );
    println!(
        "streams={streams} seconds={seconds} wav_cpu_share={:.3} baseline_cpu_share={:.3} ratio={:.2} frames_ok={}",
        wav.cpu_share,
        plain.cpu_share,
        if wav.cpu_share > 0.0 {
            plain.cpu_share / wav.cpu_share
        } else {
            0.0
        },
        wav.frames == expected && plain.frames == expected
    );
}
