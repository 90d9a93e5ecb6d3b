//! Decode throughput: decode + normalise of a mixed corpus of all three
//! dialects (the documented messages under `tests/fixtures/`), beside a
//! `serde_json::Value` parse of the same bytes in the same run.
//!
//! The floor a user would notice: **1,000,000 messages per second on one
//! core** for decode + normalise (a softphone posts a few messages a
//! second per agent, so this is far above any real load; it is a floor,
//! not a target to tune for).
//!
//! Run `cargo bench -p cti-protocol --bench decode`. Criterion reports
//! each side's throughput in messages per second. Because the machines
//! are shared and noisy, the bench also prints a `paired` line: every
//! iteration runs one pass of each side, in alternating order, so both
//! see the same moment of the machine; the line gives the median over
//! the samples of each side's messages per second and of the ratio of
//! the two.
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

/// One pass of decode + normalisation over the corpus.
fn typed_round(corpus: &[(Vendor, &str)]) {
    for (vendor, line) in corpus {
        let msg = decode(*vendor, black_box(line)).unwrap();
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

const SAMPLES: usize = 100;

fn decode_bench(c: &mut Criterion) {
    let corpus = corpus();
    let messages = corpus.len() as u64;
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(messages));
    group.sample_size(SAMPLES);
    type Round = fn(&[(Vendor, &str)]);
    let sides: [(&str, Round); 2] = [
        ("typed_decode_normalise", typed_round),
        ("serde_json_value", value_round),
    ];
    // Both sides' time in every call, whichever side the call reports.
    let pairs: RefCell<Vec<[Duration; 2]>> = RefCell::new(Vec::new());
    for (me, (name, _)) in sides.iter().enumerate() {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let mut spent = [Duration::ZERO; 2];
                for i in 0..iters {
                    let flip = usize::from(i % 2 == 1);
                    for k in 0..2 {
                        let side = k ^ flip;
                        let start = Instant::now();
                        (sides[side].1)(&corpus);
                        spent[side] += start.elapsed();
                    }
                }
                pairs
                    .borrow_mut()
                    .push(spent.map(|d| d / iters.max(1) as u32));
                spent[me]
            });
        });
    }
    group.finish();
    report(&pairs.into_inner(), messages);
}

/// Prints the medians over the last samples: messages per second of each
/// side and the ratio of the two.
fn report(pairs: &[[Duration; 2]], messages: u64) {
    let recent = &pairs[pairs.len().saturating_sub(2 * SAMPLES)..];
    let rate = |d: Duration| messages as f64 / d.as_secs_f64();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let usable: Vec<_> = recent
        .iter()
        .filter(|[t, v]| !t.is_zero() && !v.is_zero())
        .collect();
    if usable.is_empty() {
        return;
    }
    let typed = median(usable.iter().map(|[t, _]| rate(*t)).collect());
    let value = median(usable.iter().map(|[_, v]| rate(*v)).collect());
    let ratio = median(
        usable
            .iter()
            .map(|[t, v]| v.as_secs_f64() / t.as_secs_f64())
            .collect(),
    );
    println!(
        "decode paired: decode+normalise {typed:.0} msg/s, serde_json::Value {value:.0} msg/s, \
         typed/value throughput {ratio:.2}x ({} samples, {messages} messages per pass)",
        usable.len()
    );
}

criterion_group!(benches, decode_bench);
criterion_main!(benches);
