//! Decode throughput: typed decode + normalisation of a mixed corpus of
//! all three dialects, against parsing the same bytes into
//! `serde_json::Value` in the same run. Goal: ratio ≥ 1.5.
//!
//! Also measured: typed decode alone (`decode_only`) and each dialect on its
//! own against its own `Value` parse (`{vendor}_typed` / `{vendor}_value`).
//!
//! Run `cargo bench -p cti-protocol --bench decode`. The headline ratio is
//! the `decode_interleaved paired` line it prints: the median, over
//! criterion's samples, of each sample's ratio of the two sides' times.
//! `python3 scripts/bench_ratio.py decode_interleaved typed_decode_normalise serde_json_value`
//! gives the ratio of criterion's means instead, and the same with group
//! `decode` the separate-window figures.
//!
//! The `decode` group times each side in its own window of a few seconds.
//! On a shared machine that moves the ratio by ±10 % between runs, and the
//! side that runs second reads 15–20 % slower (with the `Value` parse
//! moved first, the ratio fell from 1.75× to 1.45× in one session). The
//! `decode_interleaved` group removes both effects: every iteration runs
//! one round of each side, in alternating order, and each side reports
//! only the time of its own rounds, so both see the same heap, caches and
//! neighbours. Criterion still measures the two benchmarks of the group
//! in windows of their own, and the ratio of its two means moved by
//! ±15 % between runs; the ratio taken within each sample moves by a few
//! per cent, which is why the paired line is the figure to read. For a third opinion run
//! `cargo run --release -p cti-protocol --example decode_mix compare`, or
//! count instructions with callgrind on the same example.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cti_protocol::{Vendor, decode};

const ZOOM: &str = include_str!("../../tests/fixtures/zoom/events.jsonl");
const LEADDESK: &str = include_str!("../../tests/fixtures/leaddesk/events.jsonl");
const CCAI: &str = include_str!("../../tests/fixtures/ccai/events.jsonl");

fn corpus() -> Vec<(Vendor, &'static str)> {
    let mut out = Vec::new();
    for (vendor, text) in [
        (Vendor::Zoom, ZOOM),
        (Vendor::LeadDesk, LEADDESK),
        (Vendor::Ccai, CCAI),
    ] {
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| (vendor, l)),
        );
    }
    out
}

/// One pass of typed decode + normalisation over the corpus.
fn typed_round(corpus: &[(Vendor, &str)]) {
    for (vendor, line) in corpus {
        let msg = decode(*vendor, black_box(line)).unwrap();
        // Keep the original message inside the neutral event.
        match msg.into_event() {
            Ok(event) => {
                black_box(event);
            }
            Err(msg) => {
                black_box(msg);
            }
        }
    }
}

/// One pass of the baseline over the same bytes.
fn value_round(corpus: &[(Vendor, &str)]) {
    for (_, line) in corpus {
        let v: serde_json::Value = serde_json::from_str(black_box(line)).unwrap();
        black_box(v);
    }
}

/// Samples criterion takes per benchmark (its default, set explicitly
/// because [`paired_report`] keeps that many of the last calls).
const SAMPLES: usize = 100;

/// Both sides in the same window: see the module docs.
fn interleaved(c: &mut Criterion) {
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(|(_, l)| l.len()).sum();
    let mut group = c.benchmark_group("decode_interleaved");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(SAMPLES);
    type Round = fn(&[(Vendor, &str)]);
    let sides: [(&str, Round); 2] = [
        ("typed_decode_normalise", typed_round),
        ("serde_json_value", value_round),
    ];
    // Both sides' time in every call, whichever side the call reports:
    // the pairs give a ratio per sample, untouched by drift between samples.
    let pairs: RefCell<Vec<Vec<[Duration; 2]>>> = RefCell::new(vec![Vec::new(); sides.len()]);
    for (me, (name, _)) in sides.iter().enumerate() {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let mut spent = [Duration::ZERO; 2];
                for i in 0..iters {
                    // Alternate which side goes first.
                    let flip = usize::from(i % 2 == 1);
                    for k in 0..2 {
                        let side = k ^ flip;
                        let start = Instant::now();
                        (sides[side].1)(&corpus);
                        spent[side] += start.elapsed();
                    }
                }
                pairs.borrow_mut()[me].push(spent);
                spent[me]
            });
        });
    }
    group.finish();
    paired_report(&pairs.into_inner());
}

/// Prints the median and quartiles of the per-sample ratio `value / typed`
/// over the measured samples of both benchmarks of `decode_interleaved`
/// (criterion's warm-up calls come first and are left out). Each sample
/// timed both sides in the same loop, so a slow moment of the machine
/// slows both and leaves the ratio alone; criterion's mean of each side
/// on its own is pulled by such moments, one side at a time.
fn paired_report(calls: &[Vec<[Duration; 2]>]) {
    let mut ratios: Vec<f64> = calls
        .iter()
        .flat_map(|list| list.iter().skip(list.len().saturating_sub(SAMPLES)))
        .filter(|[typed, _]| !typed.is_zero())
        .map(|[typed, value]| value.as_secs_f64() / typed.as_secs_f64())
        .collect();
    if ratios.is_empty() {
        return;
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    println!(
        "decode_interleaved paired: value/typed per sample: median {:.2}x (quartiles {:.2}x to {:.2}x) over {} samples",
        at(0.5),
        at(0.25),
        at(0.75),
        ratios.len()
    );
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(|(_, l)| l.len()).sum();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(bytes as u64));

    group.bench_function("typed_decode_normalise", |b| {
        b.iter(|| typed_round(&corpus));
    });

    for v in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
        let sub: Vec<_> = corpus.iter().filter(|(x, _)| *x == v).collect();
        group.bench_function(format!("{v}_typed"), |b| {
            b.iter(|| {
                for (vendor, line) in &sub {
                    black_box(decode(*vendor, black_box(line)).unwrap());
                }
            });
        });
        group.bench_function(format!("{v}_value"), |b| {
            b.iter(|| {
                for (_, line) in &sub {
                    let v: serde_json::Value = serde_json::from_str(black_box(line)).unwrap();
                    black_box(v);
                }
            });
        });
    }
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            for (vendor, line) in &corpus {
                black_box(decode(*vendor, black_box(line)).unwrap());
            }
        });
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| value_round(&corpus));
    });
    group.finish();
}

criterion_group!(benches, interleaved, bench);
criterion_main!(benches);
