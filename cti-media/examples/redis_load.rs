//! Transitions per second on the Redis store, against `redis-benchmark`'s
//! pipelined `SET` throughput measured in the same run.
//!
//! ```text
//! cargo run --release -p cti-media --features redis --example redis_load -- \
//!     --url redis://127.0.0.1:6379/ --interactions 20000 --concurrency 128
//! ```
//!
//! N interactions are created, then `--concurrency` tasks on two threads
//! take each through answer, hold, resume, a note, hang-up (with wrap-up
//! and its timer in the same write) and dispose: six compare-and-set
//! transitions, each one Lua script call with its event published. The
//! tasks share one multiplexed connection, so their commands are
//! pipelined onto one socket. Then `redis-benchmark -t set -P 16` runs
//! against the same server. The last line reads
//! `redis_transitions_per_sec=… redis_benchmark_set_per_sec=… ratio=…`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cti_media::clock::{Clock as _, SystemClock};
use cti_media::interaction::{Interaction, InteractionId, Op};
use cti_media::node::{Node, NodeConfig};
use cti_media::store::RedisStore;
use cti_protocol::model::{Channel, Direction, Party};

const OPS_PER_INTERACTION: usize = 6;

fn ops() -> [Op; OPS_PER_INTERACTION] {
    [
        Op::Answer,
        Op::Hold,
        Op::Resume,
        Op::Note {
            text: "customer asked for a callback".into(),
        },
        Op::HangUp,
        Op::Dispose {
            code: "resolved".into(),
        },
    ]
}

/// `redis-benchmark`'s pipelined SET requests per second on `host:port`.
fn redis_benchmark(host: &str, port: u16) -> Result<f64, String> {
    let out = std::process::Command::new("redis-benchmark")
        .args(["-h", host, "-p", &port.to_string()])
        .args([
            "-t", "set", "-n", "400000", "-P", "16", "-c", "50", "-q", "--csv",
        ])
        .output()
        .map_err(|e| format!("redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            let mut fields = l.split(',').map(|f| f.trim_matches('"'));
            (fields.next() == Some("SET"))
                .then(|| fields.next().and_then(|rps| rps.parse().ok()))
                .flatten()
        })
        .ok_or_else(|| format!("no SET figure in redis-benchmark's output: {text}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut url =
        std::env::var("CTI_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let mut n: usize = 20_000;
    let mut concurrency: usize = 128;
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--url" => url = value("--url")?,
            "--interactions" => n = value("--interactions")?.parse()?,
            "--concurrency" => concurrency = value("--concurrency")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let client = redis::Client::open(url.as_str())?;
    let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr().clone() else {
        return Err("redis-benchmark needs a TCP address".into());
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let prefix = format!("cti-load:{}:", std::process::id());
    let rate = rt.block_on(async {
        let store = RedisStore::connect(&url)
            .await?
            .with_prefix(prefix.clone())
            .with_retention(Some(Duration::from_secs(60)));
        let node = Node::new(store, SystemClock, NodeConfig::default());
        let ids: Arc<Vec<InteractionId>> = Arc::new(
            (0..n)
                .map(|k| InteractionId::new(format!("load-{k}")))
                .collect(),
        );
        for id in ids.iter() {
            node.create(Interaction::offered(
                id.clone(),
                Channel::Voice,
                Direction::Inbound,
                Party::address("+14155552671"),
                SystemClock.now(),
            ))
            .await?;
        }
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (node, ids, next) = (node.clone(), Arc::clone(&ids), Arc::clone(&next));
            tasks.push(tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(k) else {
                        return Ok::<(), cti_media::node::NodeError>(());
                    };
                    for op in ops() {
                        node.apply(id, op).await?;
                    }
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        let elapsed = started.elapsed().as_secs_f64();
        // Leave nothing behind but the expiring interactions.
        let mut conn = client.get_multiplexed_async_connection().await?;
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{prefix}timers"))
            .query_async(&mut conn)
            .await?;
        #[allow(clippy::cast_precision_loss)]
        let transitions = (n * OPS_PER_INTERACTION) as f64;
        Ok::<f64, Box<dyn std::error::Error>>(transitions / elapsed)
    })?;
    let baseline = redis_benchmark(&host, port)?;
    println!(
        "interactions={n} concurrency={concurrency} transitions={}",
        n * OPS_PER_INTERACTION
    );
    println!(
        "redis_transitions_per_sec={rate:.0} redis_benchmark_set_per_sec={baseline:.0} ratio={:.3}",
        rate / baseline
    );
    Ok(())
}
