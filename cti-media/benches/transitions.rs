//! Engine transitions against plain `HashMap` updates of the same
//! `Interaction` struct, in the same run: hold and resume, alternately,
//! over 10,000 connected calls. `ratio = time(hashmap) / time(engine)`:
//! what the engine's sharding, agent bookkeeping and event plumbing cost
//! over the bare state machine.
//!
//! `cargo bench -p cti-media --bench transitions`, then
//! `python3 scripts/bench_ratio.py transitions engine hashmap`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cti_media::clock::SystemClock;
use cti_media::engine::{AgentId, Engine, EngineConfig, QueueId};
use cti_media::interaction::{Interaction, InteractionId, Op};
use cti_protocol::model::{Channel, Direction, Party};
use jiff::Timestamp;

const N: usize = 10_000;

fn bench(c: &mut Criterion) {
    let mut config = EngineConfig::default();
    config.ring_timeout = Duration::from_secs(3600);
    let engine = Engine::new(config, SystemClock);
    let q = QueueId::new("q");
    engine.add_queue(q.clone(), []);
    let mut ids = Vec::new();
    let mut plain: HashMap<InteractionId, Interaction> = HashMap::new();
    for i in 0..N {
        let agent = AgentId::new(format!("a{i}"));
        engine.add_agent(agent.clone(), [q.clone()], []);
        engine.set_available(&agent).unwrap();
        let id = engine
            .offer(
                Channel::Voice,
                Direction::Inbound,
                Party::address("+14155552671"),
                &q,
            )
            .unwrap();
        engine.apply(&id, Op::Answer).unwrap();
        plain.insert(id.clone(), engine.get(&id).unwrap());
        ids.push(id);
    }
    let mut group = c.benchmark_group("transitions");
    group.throughput(Throughput::Elements(2 * N as u64));
    group.bench_function("hashmap", |b| {
        b.iter(|| {
            let now = Timestamp::now();
            for id in &ids {
                let i = plain.get_mut(id).unwrap();
                i.apply(Op::Hold, now).unwrap();
                i.apply(Op::Resume, now).unwrap();
            }
        });
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            for id in &ids {
                engine.apply(id, Op::Hold).unwrap();
                engine.apply(id, Op::Resume).unwrap();
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
