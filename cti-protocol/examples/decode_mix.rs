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
//!
//! `compare [ROUNDS] [REPEATS]` is the wall-clock second opinion to the
//! criterion benchmark, which times each side in its own window of a few
//! seconds and so takes in whatever else the machine did meanwhile. It
//! times `typed`, `decode` and `value` in turn, `REPEATS` times (default
//! 15), each over `ROUNDS` passes of the corpus (default 2000), and prints
//! the best and the median of each repeat's ratio `value / typed` (and
//! `value / decode`): the throughput of the typed side against the
//! `Value` parse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use cti_protocol::{Vendor, decode};

const ZOOM: &str = include_str!("../../tests/fixtures/zoom/events.jsonl");
const LEADDESK: &str = include_str!("../../tests/fixtures/leaddesk/events.jsonl");
const CCAI: &str = include_str!("../../tests/fixtures/ccai/events.jsonl");

fn run(mode: &str, corpus: &[(Vendor, &str)], rounds: usize) {
    for _ in 0..rounds {
        for (vendor, line) in corpus {
            match mode {
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

fn compare(corpus: &[(Vendor, &str)], rounds: usize, repeats: usize) {
    let modes = ["typed", "decode", "value"];
    let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for r in 0..repeats {
        let mut secs = [0.0; 3];
        // Rotate the order so no side always runs first.
        for k in 0..3 {
            let m = (r + k) % 3;
            let t = Instant::now();
            run(modes[m], corpus, rounds);
            secs[m] = t.elapsed().as_secs_f64();
        }
        ratios[0].push(secs[2] / secs[0]);
        ratios[1].push(secs[2] / secs[1]);
    }
    for (name, mut list) in ["typed decode + normalise", "typed decode alone"]
        .into_iter()
        .zip(ratios)
    {
        list.sort_by(f64::total_cmp);
        let best = list.last().copied().unwrap_or_default();
        let median = list.get(list.len() / 2).copied().unwrap_or_default();
        println!(
            "{name} against the Value parse: median {median:.2}x, best {best:.2}x over {repeats} interleaved repeats of {rounds} rounds"
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "typed".into());
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
    if mode == "compare" {
        let rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
        let repeats = args.next().and_then(|n| n.parse().ok()).unwrap_or(15);
        compare(&corpus, rounds, repeats);
        return;
    }
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
    run(&mode, &corpus, rounds);
}
