//! Interaction stores and nodes: the store contract (create, versioned
//! compare-and-set, events, leased timers) on memory and on a real Redis,
//! two nodes racing for one transition, no lost updates, serde round
//! trips, and a node killed mid-interaction whose work another finishes.
//!
//! Redis tests read `CTI_REDIS_URL`. Without it they skip loudly, and
//! under `CI=true` or `CTI_REQUIRE_SERVICES=1` they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::call;

use std::time::Duration;

use cti_media::clock::{Clock as _, ManualClock};
use cti_media::interaction::{Change, Interaction, InteractionId, Op, State};
use cti_media::node::{Node, NodeConfig, NodeError};
use cti_media::store::{InteractionStore, MemoryStore, StoreError, StoreEvent, Timer, Write};
use cti_protocol::model::Party;
use futures_util::StreamExt as _;
use jiff::Timestamp;
use proptest::prelude::*;

#[cfg(feature = "redis")]
async fn redis_pair(
    url: &str,
    test: &str,
) -> (
    cti_media::store::RedisStore,
    cti_media::store::RedisStore,
    String,
) {
    use cti_media::store::RedisStore;
    let prefix = format!(
        "cti-test:{}:{test}:{}:",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    // Two connections: two nodes.
    let a = RedisStore::connect(url).await.unwrap().with_prefix(&prefix);
    let b = RedisStore::connect(url).await.unwrap().with_prefix(&prefix);
    (a, b, prefix)
}

fn t0() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn step(i: &Interaction, op: Op) -> (Interaction, Vec<Change>) {
    let mut next = i.clone();
    let changes = next.apply(op, t0()).unwrap();
    (next, changes)
}

async fn next_event(events: &mut cti_media::store::EventStream) -> StoreEvent {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream is open")
        .expect("a readable event")
}

/// What every store must do. `a` and `b` are two handles on one store
/// (for Redis, two connections).
async fn contract<S: InteractionStore>(a: &S, b: &S) {
    let mut events = b.subscribe().await.unwrap();
    let first = call("c-1", t0());

    // Create, once.
    a.create(&first).await.unwrap();
    assert_eq!(
        a.create(&first).await,
        Err(StoreError::Exists(first.id().clone()))
    );
    assert_eq!(b.load(first.id()).await.unwrap().as_ref(), Some(&first));
    assert_eq!(b.load(&InteractionId::new("nobody")).await.unwrap(), None);
    assert!(matches!(
        next_event(&mut events).await,
        StoreEvent::Created { interaction } if *interaction == first
    ));

    // Compare-and-set: the first writer wins, the second learns its state.
    let (answered, changes) = step(&first, Op::Answer);
    a.compare_and_set(Write::new(first.version(), &answered, &changes))
        .await
        .unwrap();
    let (rejected, rchanges) = step(
        &first,
        Op::Reject {
            reason: "busy".into(),
        },
    );
    match b
        .compare_and_set(Write::new(first.version(), &rejected, &rchanges))
        .await
    {
        Err(StoreError::Conflict { current }) => assert_eq!(*current, answered),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(b.load(first.id()).await.unwrap().as_ref(), Some(&answered));
    assert!(matches!(
        next_event(&mut events).await,
        StoreEvent::Changed { id, version: 2, changes: c } if id == *first.id() && c == changes
    ));

    // A version that does not move forward, and an unknown id.
    assert!(matches!(
        a.compare_and_set(Write::new(answered.version(), &answered, &[]))
            .await,
        Err(StoreError::BadVersion { .. })
    ));
    let ghost = call("ghost", t0());
    let (ghost2, gchanges) = step(&ghost, Op::Answer);
    assert_eq!(
        a.compare_and_set(Write::new(1, &ghost2, &gchanges)).await,
        Err(StoreError::NotFound(ghost.id().clone()))
    );

    // Timers are written with the transition and leased when claimed.
    let (held, hchanges) = step(&answered, Op::Hold);
    let due = t0() + Duration::from_secs(60);
    a.compare_and_set(
        Write::new(answered.version(), &held, &hchanges).schedule(Timer::WrapUp, due),
    )
    .await
    .unwrap();
    let lease = Duration::from_secs(30);
    assert!(
        b.claim_due(t0(), lease, 10).await.unwrap().is_empty(),
        "not due yet"
    );
    let claims = b.claim_due(due, lease, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(
        (&claims[0].id, claims[0].timer),
        (first.id(), Timer::WrapUp)
    );
    assert!(
        a.claim_due(due, lease, 10).await.unwrap().is_empty(),
        "a leased timer goes to one node only"
    );
    // The claimer died: after the lease another node gets it.
    let after_lease = due + lease + Duration::from_millis(1);
    let again = a.claim_due(after_lease, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    // The first claim is stale: finishing it leaves the new lease alone.
    b.finish(&claims[0]).await.unwrap();
    let later = after_lease + lease + Duration::from_millis(1);
    let third = b.claim_due(later, lease, 10).await.unwrap();
    assert_eq!(third.len(), 1, "a stale finish removed nothing");
    b.finish(&third[0]).await.unwrap();
    assert!(
        a.claim_due(later + Duration::from_secs(3600), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "finished timers are gone"
    );

    // Events that go with no write.
    let due_event = StoreEvent::MetadataDue {
        id: first.id().clone(),
    };
    a.publish(&due_event).await.unwrap();
    // The hold's Changed event comes first.
    assert!(matches!(
        next_event(&mut events).await,
        StoreEvent::Changed { version: 3, .. }
    ));
    assert_eq!(next_event(&mut events).await, due_event);
}

#[tokio::test]
async fn memory_store_contract() {
    let store = MemoryStore::new(4, 64);
    contract(&store, &store.clone()).await;
    assert_eq!(store.len(), 1);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_store_contract() {
    let Some(url) = common::redis_url("redis_store_contract") else {
        return;
    };
    let (a, b, _) = redis_pair(&url, "contract").await;
    contract(&a, &b).await;
}

#[cfg(not(feature = "redis"))]
#[test]
fn redis_store_contract() {
    common::feature_off("redis_store_contract", "Redis", "redis");
}

fn config() -> NodeConfig {
    let mut config = NodeConfig::default();
    config.retries = 1000;
    config
}

/// Two nodes race to answer each of `n` calls: exactly one wins each time,
/// and the loser gets a typed refusal computed on the winner's state.
async fn race_for_answer<S: InteractionStore + Clone>(a: S, b: S, n: usize) {
    let clock = ManualClock::starting_at(t0());
    let na = Node::new(a, clock.clone(), config());
    let nb = Node::new(b, clock.clone(), config());
    for k in 0..n {
        let id = InteractionId::new(format!("race-{k}"));
        na.create(call(id.as_str(), clock.now())).await.unwrap();
        // Both nodes know the call (their caches hold version 1).
        nb.get(&id).await.unwrap().unwrap();
        let (ra, rb) = tokio::join!(
            tokio::spawn({
                let (na, id) = (na.clone(), id.clone());
                async move { na.apply(&id, Op::Answer).await }
            }),
            tokio::spawn({
                let (nb, id) = (nb.clone(), id.clone());
                async move {
                    nb.apply(
                        &id,
                        Op::Reject {
                            reason: "busy".into(),
                        },
                    )
                    .await
                }
            }),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(
            ra.is_ok() != rb.is_ok(),
            "exactly one node wins call {k}: {ra:?} / {rb:?}"
        );
        let loser = if ra.is_ok() { rb } else { ra };
        assert!(matches!(loser, Err(NodeError::Transition(_))), "{loser:?}");
        let stored = na.get(&id).await.unwrap().unwrap();
        assert_eq!(stored.version(), 2, "one transition was stored, not two");
    }
}

/// Both nodes add notes to one interaction at once: every note lands.
async fn no_lost_updates<S: InteractionStore + Clone>(a: S, b: S) {
    let clock = ManualClock::starting_at(t0());
    let na = Node::new(a, clock.clone(), config());
    let nb = Node::new(b, clock.clone(), config());
    let id = InteractionId::new("notes");
    na.create(call("notes", clock.now())).await.unwrap();
    na.apply(&id, Op::Answer).await.unwrap();
    let mut tasks = Vec::new();
    for k in 0..40 {
        let node = if k % 2 == 0 { na.clone() } else { nb.clone() };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            node.apply(
                &id,
                Op::Note {
                    text: format!("note {k}"),
                },
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let stored = nb.get(&id).await.unwrap().unwrap();
    assert_eq!(stored.notes().len(), 40);
    assert_eq!(stored.version(), 2 + 40);
    let mut seen: Vec<_> = stored.notes().to_vec();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 40, "no note was written twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_nodes_race() {
    let store = MemoryStore::new(8, 1024);
    race_for_answer(store.clone(), store.clone(), 200).await;
    no_lost_updates(store.clone(), store).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_nodes_race() {
    let Some(url) = common::redis_url("redis_nodes_race") else {
        return;
    };
    let (a, b, _) = redis_pair(&url, "race").await;
    race_for_answer(a.clone(), b.clone(), 200).await;
    no_lost_updates(a, b).await;
}

/// A node's lifecycle on any store: follow-ups, forced dispose by timer,
/// metadata, and events seen by another node.
async fn lifecycle<S: InteractionStore + Clone>(a: S, b: S) {
    let clock = ManualClock::starting_at(t0());
    let na = Node::new(a, clock.clone(), config());
    let nb = Node::new(b, clock.clone(), config());
    let mut events = nb.subscribe().await.unwrap();
    let id = InteractionId::new("life");
    na.create(call("life", clock.now())).await.unwrap();
    assert!(matches!(
        na.apply(&id, Op::StartWrapUp).await,
        Err(NodeError::EngineOnly(_))
    ));
    na.apply(&id, Op::Answer).await.unwrap();
    clock.advance(Duration::from_secs(30));
    let changes = nb.apply(&id, Op::HangUp).await.unwrap();
    assert!(changes.contains(&Change::State {
        from: State::Ended,
        to: State::WrapUp
    }));
    assert_eq!(na.run_due().await.unwrap(), 0, "wrap-up has time left");
    clock.advance(Duration::from_secs(121));
    assert_eq!(na.run_due().await.unwrap(), 1);
    let done = nb.get(&id).await.unwrap().unwrap();
    assert_eq!(done.state(), &State::Completed);
    assert!(done.was_forced());
    assert_eq!(done.disposition(), Some("auto_dispose"));
    // The timer does not run twice.
    assert_eq!(nb.run_due().await.unwrap(), 0);
    clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(nb.run_due().await.unwrap(), 1, "metadata is due");

    let mut kinds = Vec::new();
    while kinds.last() != Some(&"metadata_due") {
        kinds.push(match next_event(&mut events).await {
            StoreEvent::Created { .. } => "created",
            StoreEvent::Changed { .. } => "changed",
            StoreEvent::MetadataDue { .. } => "metadata_due",
            _ => "other",
        });
    }
    assert_eq!(
        kinds,
        ["created", "changed", "changed", "changed", "metadata_due"]
    );
}

#[tokio::test]
async fn memory_node_lifecycle() {
    let store = MemoryStore::default();
    lifecycle(store.clone(), store).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_node_lifecycle() {
    let Some(url) = common::redis_url("redis_node_lifecycle") else {
        return;
    };
    let (a, b, _) = redis_pair(&url, "life").await;
    lifecycle(a, b).await;
}

#[tokio::test]
async fn stale_cache_does_not_refuse_what_the_store_allows() {
    let store = MemoryStore::default();
    let clock = ManualClock::starting_at(t0());
    let na = Node::new(store.clone(), clock.clone(), config());
    let nb = Node::new(store, clock.clone(), config());
    let id = InteractionId::new("stale");
    na.create(call("stale", clock.now())).await.unwrap();
    nb.get(&id).await.unwrap();
    nb.apply(&id, Op::Answer).await.unwrap();
    // `na` still holds "offered"; hold is illegal there but legal now.
    na.apply(&id, Op::Hold).await.unwrap();
    assert_eq!(nb.get(&id).await.unwrap().unwrap().state(), &State::Held);
    // And a refusal on the real state is still a refusal.
    assert!(matches!(
        na.apply(&id, Op::Answer).await,
        Err(NodeError::Transition(_))
    ));
    assert!(matches!(
        na.apply(&InteractionId::new("nobody"), Op::Answer).await,
        Err(NodeError::Store(StoreError::NotFound(_)))
    ));
}

/// The crash test's child: drives a call into wrap-up on Redis, then dies
/// without running a destructor. Run only by the parent, which sets the
/// variables.
#[cfg(feature = "redis")]
#[tokio::test]
#[ignore = "run as a child process by redis_crash_mid_interaction"]
async fn crash_child() {
    let (Ok(url), Ok(prefix)) = (
        std::env::var("CTI_CRASH_URL"),
        std::env::var("CTI_CRASH_PREFIX"),
    ) else {
        panic!("crash_child is run by redis_crash_mid_interaction, which sets CTI_CRASH_URL");
    };
    let store = cti_media::store::RedisStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(prefix);
    let node = Node::new(store, cti_media::clock::SystemClock, config());
    let id = InteractionId::new("crash");
    node.create(call("crash", Timestamp::now())).await.unwrap();
    node.apply(&id, Op::Answer).await.unwrap();
    node.apply(
        &id,
        Op::Note {
            text: "before the crash".into(),
        },
    )
    .await
    .unwrap();
    node.apply(&id, Op::HangUp).await.unwrap();
    // Routing state too: one call rings at an agent, one waits.
    let q = cti_media::engine::QueueId::new("crash-q");
    let agent = cti_media::engine::AgentId::new("crash-agent");
    node.add_queue(&q, []).await.unwrap();
    node.add_agent(&agent, [q.clone()], []).await.unwrap();
    node.set_available(&agent).await.unwrap();
    node.offer(call("crash-ringing", Timestamp::now()), &q)
        .await
        .unwrap();
    node.offer(call("crash-waiting", Timestamp::now()), &q)
        .await
        .unwrap();
    std::process::abort();
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_crash_mid_interaction() {
    let Some(url) = common::redis_url("redis_crash_mid_interaction") else {
        return;
    };
    let prefix = format!("cti-test:{}:crash:", std::process::id());
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CTI_CRASH_URL", &url)
        .env("CTI_CRASH_PREFIX", &prefix)
        .status()
        .unwrap();
    assert!(!status.success(), "the child node died: {status}");

    // A new node on the same Redis takes over.
    let store = cti_media::store::RedisStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(prefix);
    let clock = ManualClock::starting_at(Timestamp::now());
    let node = Node::new(store, clock.clone(), config());
    let id = InteractionId::new("crash");
    let found = node
        .get(&id)
        .await
        .unwrap()
        .expect("the interaction survived");
    assert_eq!(found.state(), &State::WrapUp);
    assert_eq!(found.notes(), ["before the crash"]);
    node.apply(
        &id,
        Op::Note {
            text: "after".into(),
        },
    )
    .await
    .unwrap();
    // The dead node's offer still rings at its agent, who answers here;
    // the waiting call goes to an agent who logs in here.
    let agent = cti_media::engine::AgentId::new("crash-agent");
    let ringing = InteractionId::new("crash-ringing");
    let rec = node.agent(&agent).await.unwrap().unwrap();
    assert_eq!(rec.current.as_ref(), Some(&ringing));
    node.apply(&ringing, Op::Answer).await.unwrap();
    let second = cti_media::engine::AgentId::new("second");
    node.add_agent(&second, [cti_media::engine::QueueId::new("crash-q")], [])
        .await
        .unwrap();
    node.set_available(&second).await.unwrap();
    let waiting = InteractionId::new("crash-waiting");
    assert_eq!(
        node.agent(&second).await.unwrap().unwrap().current.as_ref(),
        Some(&waiting)
    );
    // The dead node's wrap-up timer fires here; the second agent lets
    // the ring run out, and the call then waits out its queue time.
    clock.advance(Duration::from_secs(3 * 3600));
    assert!(node.run_due().await.unwrap() >= 3);
    clock.advance(Duration::from_secs(16 * 60));
    assert!(node.run_due().await.unwrap() >= 1, "then metadata");
    let done = node.get(&id).await.unwrap().unwrap();
    assert_eq!(done.state(), &State::Completed);
    assert!(done.was_forced());
    assert_eq!(done.notes().len(), 2);
    assert_eq!(
        node.get(&ringing).await.unwrap().unwrap().state(),
        &State::Connected
    );
    assert_eq!(
        node.get(&waiting).await.unwrap().unwrap().state(),
        &State::Missed("queue_timeout".into())
    );
    let second = node.agent(&second).await.unwrap().unwrap();
    assert_eq!(
        (second.state, second.current),
        (cti_media::engine::AgentState::Offline, None)
    );
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Answer),
        Just(Op::Hold),
        Just(Op::Resume),
        Just(Op::HangUp),
        Just(Op::StartWrapUp),
        "[a-z_]{1,12}".prop_map(|c| Op::Dispose { code: c.into() }),
        "[a-z_]{1,12}".prop_map(|r| Op::Reject { reason: r.into() }),
        any::<bool>().prop_map(|on| Op::Mute { on }),
        any::<bool>().prop_map(|on| Op::Record { on }),
        "[0-9*#]{1,8}".prop_map(|d| Op::Dtmf { digits: d.into() }),
        "\\PC{0,40}".prop_map(|text| Op::Note { text }),
        "\\+[0-9]{4,12}".prop_map(|a| Op::StartConsult {
            party: Party::address(a)
        }),
        Just(Op::ConsultAnswered),
        Just(Op::MergeConsult),
        Just(Op::CompleteConsult),
        Just(Op::CancelConsult),
        Just(Op::UpgradeToVideo),
        "\\+[0-9]{4,12}".prop_map(|a| Op::BlindTransfer {
            to: Party::address(a)
        }),
    ]
}

proptest! {
    /// What a store writes reads back equal: interactions after any
    /// operations, and the events those operations publish.
    #[test]
    fn serde_round_trips(ops in proptest::collection::vec(arb_op(), 0..24), secs in 0i64..4_000_000_000) {
        let at = Timestamp::from_second(secs).unwrap();
        let mut i = call("rt", at);
        for op in ops {
            if let Ok(changes) = i.apply(op, at) {
                let event = StoreEvent::Changed { id: i.id().clone(), version: i.version(), changes };
                let json = serde_json::to_vec(&event).unwrap();
                prop_assert_eq!(serde_json::from_slice::<StoreEvent>(&json).unwrap(), event);
            }
            let json = serde_json::to_vec(&i).unwrap();
            prop_assert_eq!(&serde_json::from_slice::<Interaction>(&json).unwrap(), &i);
        }
    }
}

#[tokio::test]
async fn hostile_store_data_is_a_typed_error() {
    // Not JSON, the wrong shape, and a version of 0 are refused as
    // corrupt by the Redis decoder; here through serde directly, and
    // through Redis below when available.
    for bad in [&b"not json"[..], b"{}", b"{\"id\":1}", &[0xff, 0xfe][..]] {
        assert!(serde_json::from_slice::<Interaction>(bad).is_err());
        assert!(serde_json::from_slice::<StoreEvent>(bad).is_err());
    }
    #[cfg(feature = "redis")]
    if let Some(url) = common::redis_url("hostile_store_data_is_a_typed_error") {
        let (store, _, prefix) = redis_pair(&url, "hostile").await;
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut good = serde_json::to_value(call("x", t0())).unwrap();
        good["version"] = 0.into();
        for (id, data) in [
            ("garbage", b"\x00\x01garbage".to_vec()),
            ("zero", serde_json::to_vec(&good).unwrap()),
        ] {
            let _: () = redis::cmd("HSET")
                .arg(format!("{prefix}i:{id}"))
                .arg("v")
                .arg(1)
                .arg("d")
                .arg(data)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(matches!(
                store.load(&InteractionId::new(id)).await,
                Err(StoreError::Corrupt { .. })
            ));
        }
        // A timer member that is not `timer|id`.
        let _: () = redis::cmd("ZADD")
            .arg(format!("{prefix}timers"))
            .arg(0)
            .arg("nonsense")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(matches!(
            store.claim_due(t0(), Duration::from_secs(1), 10).await,
            Err(StoreError::Corrupt { .. })
        ));
    }
}
