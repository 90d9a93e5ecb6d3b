//! A bounded load run of the engine: N concurrent interactions, each
//! through its whole lifecycle, on two threads; then it stops by itself.
//!
//! ```text
//! cargo run --release -p cti-media --example load -- --interactions N
//! ```
//!
//! N agents serve one queue. All N interactions are offered and answered,
//! so N are live at once; the resident memory is read there. Then each is
//! held, resumed, hung up (the engine starts wrap-up) and disposed, split
//! over two threads, and the state transitions per second are counted.
//! The last line reads
//! `interactions=N rss_bytes=… bytes_per_interaction=… transitions_per_sec=…`,
//! where `rss_bytes` is the growth of resident memory from before the
//! interactions existed to when all N were live.

use std::time::{Duration, Instant};

use cti_media::clock::SystemClock;
use cti_media::engine::{AgentId, Engine, EngineConfig, QueueId};
use cti_media::interaction::{InteractionId, Op, State};
use cti_protocol::model::{Channel, Direction, Party};

/// Resident memory, from `/proc/self/status` (0 where there is none).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut n: usize = 100_000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--interactions" => {
                n = args
                    .next()
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .unwrap_or_else(|| {
                        eprintln!("--interactions takes a number");
                        std::process::exit(2)
                    });
            }
            other => {
                eprintln!("unknown argument `{other}`; usage: load [--interactions N]");
                std::process::exit(2);
            }
        }
    }
    let mut config = EngineConfig::default();
    config.shards = 256;
    config.ring_timeout = Duration::from_secs(3600);
    config.queue_timeout = Duration::from_secs(3600);
    config.wrap_up_timeout = Duration::from_secs(3600);
    let engine = Engine::new(config, SystemClock);
    let queue = QueueId::new("load");
    engine.add_queue(queue.clone(), []);
    for i in 0..n {
        let agent = AgentId::new(format!("agent-{i}"));
        engine.add_agent(agent.clone(), [queue.clone()], []);
        if let Err(e) = engine.set_available(&agent) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    // The example's own list of ids is not the engine's memory.
    let mut ids: Vec<InteractionId> = Vec::with_capacity(n);
    let before = rss_bytes();
    for i in 0..n {
        let customer = Party::address(format!("+1415{:07}", i % 10_000_000));
        match engine.offer(Channel::Voice, Direction::Inbound, customer, &queue) {
            Ok(id) => ids.push(id),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let run = |ids: &[InteractionId], ops: &[Op]| -> usize {
        let mut transitions = 0;
        for id in ids {
            for op in ops {
                match engine.apply(id, op.clone()) {
                    Ok(changes) => {
                        transitions += changes
                            .iter()
                            .filter(|c| matches!(c, cti_media::interaction::Change::State { .. }))
                            .count();
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                }
            }
        }
        transitions
    };
    let (left, right) = ids.split_at(n / 2);
    let started = Instant::now();
    let mut transitions = std::thread::scope(|s| {
        let a = s.spawn(|| run(left, &[Op::Answer]));
        let b = s.spawn(|| run(right, &[Op::Answer]));
        a.join().unwrap_or(0) + b.join().unwrap_or(0)
    });
    let mut busy = started.elapsed();
    let live = rss_bytes();
    let lifecycle = [
        Op::Hold,
        Op::Resume,
        Op::HangUp,
        Op::Dispose {
            code: "done".into(),
        },
    ];
    let started = Instant::now();
    transitions += std::thread::scope(|s| {
        let a = s.spawn(|| run(left, &lifecycle));
        let b = s.spawn(|| run(right, &lifecycle));
        a.join().unwrap_or(0) + b.join().unwrap_or(0)
    });
    busy += started.elapsed();
    let completed = ids
        .iter()
        .filter(|id| {
            engine
                .get(id)
                .is_some_and(|i| i.state() == &State::Completed)
        })
        .count();
    if completed != n {
        eprintln!("only {completed} of {n} interactions completed");
        std::process::exit(1);
    }
    let grown = live.saturating_sub(before);
    let per = if n == 0 { 0 } else { grown / n as u64 };
    let rate = transitions as f64 / busy.as_secs_f64().max(1e-9);
    println!("completed {completed} interactions, {transitions} transitions in {busy:.2?}");
    println!(
        "interactions={n} rss_bytes={grown} bytes_per_interaction={per} transitions_per_sec={rate:.0}"
    );
}
