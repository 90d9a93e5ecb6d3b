//! Runs one side of the decode benchmark a fixed number of times, for
//! instruction counting under `valgrind --tool=callgrind`, which is
//! repeatable where wall-clock time on a shared machine is not:
//!
//! ```text
//! cargo build --release -p cti-protocol --example decode_mix
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/decode_mix typed 200
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/decode_mix value 200
//! ```
//!
//! Modes: `typed` (decode and normalise, as the benchmark), `decode` (typed
//! decode alone), `value` (`serde_json::Value`, the baseline) and `ignored`
//! (`serde::de::IgnoredAny`: serde_json only checks the syntax, the floor
//! under any serde_json-based decoder).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use cti_protocol::{Vendor, decode};

const ZOOM: &str = include_str!("../../tests/fixtures/zoom/events.jsonl");
const LEADDESK: &str = include_str!("../../tests/fixtures/leaddesk/events.jsonl");
const CCAI: &str = include_str!("../../tests/fixtures/ccai/events.jsonl");

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "typed".into());
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
    let mut corpus = Vec::new();
    for (vendor, text) in [
        (Vendor::Zoom, ZOOM),
        (Vendor::LeadDesk, LEADDESK),
        (Vendor::Ccai, CCAI),
    ] {
        corpus.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| (vendor, l)),
        );
    }
    for _ in 0..rounds {
        for (vendor, line) in &corpus {
            match mode.as_str() {
                "typed" => match decode(*vendor, black_box(line)).unwrap().into_event() {
                    Ok(e) => drop(black_box(e)),
                    Err(m) => drop(black_box(m)),
                },
                "decode" => drop(black_box(decode(*vendor, black_box(line)).unwrap())),
                "ignored" => drop(black_box(
                    serde_json::from_str::<serde::de::IgnoredAny>(black_box(line)).unwrap(),
                )),
                _ => drop(black_box(
                    serde_json::from_str::<serde_json::Value>(black_box(line)).unwrap(),
                )),
            }
        }
    }
}
