//! Routing shared through a store: agents and queues in the store,
//! several nodes offering, answering and timing out the same
//! interactions, on memory and on a real Redis.
//!
//! - a day in one queue (longest idle first, skills, ring timeout, queue
//!   timeout, wrap-up, dial), seen from two nodes;
//! - answer against ring timeout, and queue timeout against routing,
//!   raced between two nodes: exactly one wins, and agents stay right;
//! - many calls routed by two nodes at once: no agent ever holds two;
//! - a property test over random command sequences on two nodes.
//!
//! Redis tests read `CTI_REDIS_URL`. Without it they skip loudly, and
//! under `CI=true` or `CTI_REQUIRE_SERVICES=1` they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::{call, outbound};

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use cti_media::clock::{Clock as _, ManualClock};
use cti_media::engine::{AgentId, AgentState, QueueId};
use cti_media::interaction::{Interaction, InteractionId, Op, State};
use cti_media::node::{Node, NodeConfig, NodeError};
use cti_media::store::{InteractionStore, MemoryStore, StoreError, StoreEvent};
use futures_util::StreamExt as _;
use jiff::Timestamp;
use proptest::prelude::*;

#[cfg(feature = "redis")]
async fn redis_pair(
    url: &str,
    test: &str,
) -> (cti_media::store::RedisStore, cti_media::store::RedisStore) {
    use cti_media::store::RedisStore;
    let prefix = format!(
        "cti-test:{}:{test}:{}:",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    let a = RedisStore::connect(url).await.unwrap().with_prefix(&prefix);
    let b = RedisStore::connect(url).await.unwrap().with_prefix(&prefix);
    (a, b)
}

fn t0() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn config() -> NodeConfig {
    let mut config = NodeConfig::default();
    config.retries = 1000;
    config
}

fn agent(name: &str) -> AgentId {
    AgentId::new(name)
}

fn iid(name: &str) -> InteractionId {
    InteractionId::new(name)
}

async fn state_of<S: InteractionStore>(n: &Node<S, ManualClock>, id: &str) -> State {
    n.get(&iid(id)).await.unwrap().unwrap().state().clone()
}

async fn agent_of<S: InteractionStore>(
    n: &Node<S, ManualClock>,
    name: &str,
) -> (AgentState, Option<InteractionId>) {
    let a = n.agent(&agent(name)).await.unwrap().unwrap();
    (a.state, a.current)
}

/// A day in one queue, driven from two nodes on one store.
async fn a_day<S: InteractionStore + Clone>(sa: S, sb: S) {
    let clock = ManualClock::starting_at(t0());
    let a = Node::new(sa, clock.clone(), config());
    let b = Node::new(sb, clock.clone(), config());
    let mut events = b.subscribe().await.unwrap();
    let sales = QueueId::new("sales");

    a.add_queue(&sales, ["english".into()]).await.unwrap();
    for name in ["ada", "bob"] {
        a.add_agent(&agent(name), [sales.clone()], ["english".into()])
            .await
            .unwrap();
    }
    // Serves the queue but lacks its skill: never offered its calls.
    b.add_agent(&agent("cyd"), [sales.clone()], ["french".into()])
        .await
        .unwrap();

    // Refusals, typed, changing nothing.
    assert!(matches!(
        a.set_available(&agent("zed")).await,
        Err(NodeError::Store(StoreError::UnknownAgent(_)))
    ));
    assert!(matches!(
        a.offer(call("nowhere", clock.now()), &QueueId::new("nope"))
            .await,
        Err(NodeError::Store(StoreError::UnknownQueue(_)))
    ));
    assert!(a.get(&iid("nowhere")).await.unwrap().is_none());

    a.set_available(&agent("ada")).await.unwrap();
    clock.advance(Duration::from_secs(1));
    b.set_available(&agent("bob")).await.unwrap();
    b.set_available(&agent("cyd")).await.unwrap();

    // The longest idle agent gets the first call, whichever node offers.
    let offers = b.offer(call("c1", clock.now()), &sales).await.unwrap();
    assert_eq!(offers, vec![(iid("c1"), agent("ada"))]);
    let offers = a.offer(call("c2", clock.now()), &sales).await.unwrap();
    assert_eq!(offers, vec![(iid("c2"), agent("bob"))]);
    clock.advance(Duration::from_secs(1));
    assert!(
        a.offer(call("c3", clock.now()), &sales)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        agent_of(&a, "ada").await,
        (AgentState::Busy, Some(iid("c1")))
    );
    assert_eq!(agent_of(&b, "cyd").await, (AgentState::Available, None));
    let c3 = a.assignment(&iid("c3")).await.unwrap().unwrap();
    assert_eq!(c3.agent, None);

    // Nobody answers what waits in the queue; a ringing agent cannot go.
    assert!(matches!(
        b.apply(&iid("c3"), Op::Answer).await,
        Err(NodeError::EngineOnly(_))
    ));
    assert!(matches!(
        b.set_offline(&agent("ada")).await,
        Err(NodeError::Store(StoreError::AgentBusy(_)))
    ));

    // Ada answers on node b; bob lets his ring run out.
    b.apply(&iid("c1"), Op::Answer).await.unwrap();
    clock.advance(Duration::from_secs(31));
    assert!(a.run_due().await.unwrap() >= 1);
    assert_eq!(state_of(&a, "c1").await, State::Connected);
    assert_eq!(state_of(&a, "c2").await, State::Offered);
    assert_eq!(agent_of(&a, "bob").await, (AgentState::Offline, None));
    let c2 = b.assignment(&iid("c2")).await.unwrap().unwrap();
    assert_eq!((c2.agent, c2.ringing), (None, false));
    // A late answer to the missed ring is refused.
    assert!(matches!(
        a.apply(&iid("c2"), Op::Answer).await,
        Err(NodeError::EngineOnly(_))
    ));

    // Ada hangs up (wrap-up), disposes, and gets c2: it kept its place
    // in line ahead of c3.
    a.apply(&iid("c1"), Op::HangUp).await.unwrap();
    assert_eq!(agent_of(&b, "ada").await.0, AgentState::WrapUp);
    b.apply(
        &iid("c1"),
        Op::Dispose {
            code: "sale".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        agent_of(&a, "ada").await,
        (AgentState::Busy, Some(iid("c2")))
    );
    assert!(b.assignment(&iid("c1")).await.unwrap().is_none());
    a.apply(&iid("c2"), Op::Answer).await.unwrap();

    // c3 waits out the queue timeout: missed.
    clock.advance(Duration::from_secs(600));
    b.run_due().await.unwrap();
    assert_eq!(
        state_of(&a, "c3").await,
        State::Missed("queue_timeout".into())
    );
    assert!(a.assignment(&iid("c3")).await.unwrap().is_none());
    // c2 is connected: no timer touched it.
    assert_eq!(state_of(&a, "c2").await, State::Connected);

    // Ada's wrap-up runs out: forced dispose, and she is free again.
    a.apply(&iid("c2"), Op::HangUp).await.unwrap();
    clock.advance(Duration::from_secs(121));
    a.run_due().await.unwrap();
    assert_eq!(state_of(&b, "c2").await, State::Completed);
    assert_eq!(agent_of(&b, "ada").await, (AgentState::Available, None));

    // Click-to-dial: bob must be available; nobody picks up.
    assert!(matches!(
        a.dial(outbound("d1", clock.now()), &agent("bob"), &sales)
            .await,
        Err(NodeError::Store(StoreError::AgentBusy(_)))
    ));
    a.set_available(&agent("bob")).await.unwrap();
    a.dial(outbound("d1", clock.now()), &agent("bob"), &sales)
        .await
        .unwrap();
    assert_eq!(
        agent_of(&b, "bob").await,
        (AgentState::Busy, Some(iid("d1")))
    );
    clock.advance(Duration::from_secs(31));
    b.run_due().await.unwrap();
    assert_eq!(
        state_of(&a, "d1").await,
        State::NotConnected("no_answer".into())
    );
    assert_eq!(agent_of(&a, "bob").await, (AgentState::Available, None));

    // Changing an agent's skills re-indexes them: cyd learns English and
    // takes the next call (the longest idle of the eligible).
    b.add_agent(&agent("cyd"), [sales.clone()], ["english".into()])
        .await
        .unwrap();
    let offers = a.offer(call("c4", clock.now()), &sales).await.unwrap();
    assert_eq!(offers, vec![(iid("c4"), agent("cyd"))]);
    // She rejects it: free again, and it goes... nowhere: rejected is final.
    b.apply(
        &iid("c4"),
        Op::Reject {
            reason: "wrong_number".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(agent_of(&a, "cyd").await, (AgentState::Available, None));

    // Node b saw the routing events of both nodes, in order per call.
    let mut seen = Vec::new();
    while let Ok(Some(Ok(e))) =
        tokio::time::timeout(Duration::from_millis(500), events.next()).await
    {
        match e {
            StoreEvent::Queued { id, .. } => seen.push(format!("queued {id}")),
            StoreEvent::Offered { id, agent } => seen.push(format!("offered {id} {agent}")),
            StoreEvent::OfferMissed { id, agent } => seen.push(format!("missed {id} {agent}")),
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            "queued c1",
            "offered c1 ada",
            "queued c2",
            "offered c2 bob",
            "queued c3",
            "missed c2 bob",
            "offered c2 ada",
            "offered d1 bob",
            "queued c4",
            "offered c4 cyd",
        ]
    );
}

#[tokio::test]
async fn memory_a_day_in_one_queue() {
    let store = MemoryStore::new(4, 1024);
    a_day(store.clone(), store).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_a_day_in_one_queue() {
    let Some(url) = common::redis_url("redis_a_day_in_one_queue") else {
        return;
    };
    let (a, b) = redis_pair(&url, "day").await;
    a_day(a, b).await;
}

/// Answer (node a) against the ring timeout (node b), `n` times: exactly
/// one wins each time, and the agent's record agrees with the winner.
async fn answer_vs_ring_timeout<S: InteractionStore + Clone>(sa: S, sb: S, n: usize) {
    let clock = ManualClock::starting_at(t0());
    let a = Node::new(sa, clock.clone(), config());
    let b = Node::new(sb, clock.clone(), config());
    let q = QueueId::new("q");
    a.add_queue(&q, []).await.unwrap();
    let (mut answered, mut missed) = (0, 0);
    for k in 0..n {
        let who = agent(&format!("agent-{k}"));
        a.add_agent(&who, [q.clone()], []).await.unwrap();
        a.set_available(&who).await.unwrap();
        let id = format!("race-{k}");
        let offers = a.offer(call(&id, clock.now()), &q).await.unwrap();
        assert_eq!(offers, vec![(iid(&id), who.clone())]);
        clock.advance(Duration::from_secs(31));
        let answer = {
            let a = a.clone();
            let id = iid(&id);
            async move { a.apply(&id, Op::Answer).await }
        };
        let timers = {
            let b = b.clone();
            async move { b.run_due().await }
        };
        // Each side starts first half of the time.
        let (answer, timers) = if k % 2 == 0 {
            let answer = tokio::spawn(answer);
            let timers = tokio::spawn(timers);
            (answer.await, timers.await)
        } else {
            let timers = tokio::spawn(timers);
            let answer = tokio::spawn(answer);
            (answer.await, timers.await)
        };
        timers.unwrap().unwrap();
        let record = a.agent(&who).await.unwrap().unwrap();
        match answer.unwrap() {
            Ok(_) => {
                answered += 1;
                assert_eq!(state_of(&a, &id).await, State::Connected);
                assert_eq!(record.state, AgentState::Busy);
                assert_eq!(record.current, Some(iid(&id)));
                // Finish it so the next round starts clean.
                a.apply(&iid(&id), Op::HangUp).await.unwrap();
                a.apply(&iid(&id), Op::Dispose { code: "ok".into() })
                    .await
                    .unwrap();
            }
            Err(NodeError::EngineOnly(_)) => {
                missed += 1;
                assert_eq!(state_of(&a, &id).await, State::Offered);
                assert_eq!(record.state, AgentState::Offline);
                assert_eq!(record.current, None);
                let asg = a.assignment(&iid(&id)).await.unwrap().unwrap();
                assert_eq!(asg.agent, None);
                // Let it go: the queue wait runs out.
                clock.advance(Duration::from_secs(601));
                a.run_due().await.unwrap();
                assert!(state_of(&a, &id).await.is_terminal());
            }
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(b.agent(&who).await.unwrap().is_some());
        a.set_offline(&who).await.unwrap();
    }
    assert_eq!(answered + missed, n);
    eprintln!("answer vs ring timeout: {answered} answered, {missed} missed");
}

/// The queue timeout (node a) against an agent becoming available
/// (node b routes), `n` times: the call is either missed or ringing,
/// never both.
async fn wait_timeout_vs_routing<S: InteractionStore + Clone>(sa: S, sb: S, n: usize) {
    let clock = ManualClock::starting_at(t0());
    let a = Node::new(sa, clock.clone(), config());
    let b = Node::new(sb, clock.clone(), config());
    let q = QueueId::new("q");
    a.add_queue(&q, []).await.unwrap();
    let (mut rung, mut missed) = (0, 0);
    for k in 0..n {
        let who = agent(&format!("late-{k}"));
        a.add_agent(&who, [q.clone()], []).await.unwrap();
        let id = format!("wait-{k}");
        a.offer(call(&id, clock.now()), &q).await.unwrap();
        clock.advance(Duration::from_secs(601));
        let (timers, available) = tokio::join!(
            tokio::spawn({
                let a = a.clone();
                async move { a.run_due().await }
            }),
            tokio::spawn({
                let b = b.clone();
                let who = who.clone();
                async move { b.set_available(&who).await }
            }),
        );
        timers.unwrap().unwrap();
        available.unwrap().unwrap();
        let record = a.agent(&who).await.unwrap().unwrap();
        match state_of(&a, &id).await {
            State::Offered => {
                rung += 1;
                assert_eq!(record.current, Some(iid(&id)));
                assert_eq!(record.state, AgentState::Busy);
                b.apply(&iid(&id), Op::Reject { reason: "x".into() })
                    .await
                    .unwrap();
            }
            State::Missed(_) => {
                missed += 1;
                assert_eq!(record.current, None);
                assert_eq!(record.state, AgentState::Available);
            }
            other => panic!("unexpected {other:?}"),
        }
        a.set_offline(&who).await.unwrap();
    }
    assert_eq!(rung + missed, n);
    eprintln!("queue timeout vs routing: {rung} rung, {missed} missed");
}

/// Two nodes offer and answer `calls` calls at once to `agents` agents;
/// no agent ever holds two, and every call is either with one agent or
/// still waiting.
async fn many_calls_two_nodes<S: InteractionStore + Clone>(
    sa: S,
    sb: S,
    agents: usize,
    calls: usize,
) {
    let clock = ManualClock::starting_at(t0());
    let a = Node::new(sa, clock.clone(), config());
    let b = Node::new(sb, clock.clone(), config());
    let q = QueueId::new("q");
    a.add_queue(&q, []).await.unwrap();
    for k in 0..agents {
        let who = agent(&format!("ag-{k}"));
        b.add_agent(&who, [q.clone()], []).await.unwrap();
        b.set_available(&who).await.unwrap();
    }
    let mut tasks = Vec::new();
    for k in 0..calls {
        let node = if k % 2 == 0 { a.clone() } else { b.clone() };
        let at = clock.now();
        tasks.push(tokio::spawn(async move {
            node.offer(call(&format!("m-{k}"), at), &QueueId::new("q"))
                .await
        }));
    }
    let mut offered = Vec::new();
    for t in tasks {
        offered.extend(t.await.unwrap().unwrap());
    }
    // Every agent got exactly one call; the rest wait.
    assert_eq!(offered.len(), agents.min(calls));
    let distinct: HashSet<_> = offered.iter().map(|(_, ag)| ag.clone()).collect();
    assert_eq!(distinct.len(), offered.len(), "an agent got two calls");
    // Both nodes answer and finish, each finish routes the next.
    let mut done = 0;
    while done < calls {
        let mut ringing = Vec::new();
        for k in 0..agents {
            let rec = a.agent(&agent(&format!("ag-{k}"))).await.unwrap().unwrap();
            if let Some(id) = rec.current {
                ringing.push(id);
            }
        }
        assert!(!ringing.is_empty(), "calls wait but nobody rings");
        let mut tasks = Vec::new();
        for (k, id) in ringing.into_iter().enumerate() {
            let node = if k % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                node.apply(&id, Op::Answer).await?;
                node.apply(&id, Op::HangUp).await?;
                node.apply(&id, Op::Dispose { code: "ok".into() }).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
            done += 1;
        }
    }
    for k in 0..calls {
        assert_eq!(state_of(&a, &format!("m-{k}")).await, State::Completed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_races() {
    let store = MemoryStore::new(8, 65_536);
    answer_vs_ring_timeout(store.clone(), store.clone(), 100).await;
    wait_timeout_vs_routing(store.clone(), store.clone(), 100).await;
    many_calls_two_nodes(store.clone(), store, 8, 200).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_races() {
    let Some(url) = common::redis_url("redis_races") else {
        return;
    };
    let (a, b) = redis_pair(&url, "ring-race").await;
    answer_vs_ring_timeout(a, b, 100).await;
    let (a, b) = redis_pair(&url, "wait-race").await;
    wait_timeout_vs_routing(a, b, 100).await;
    let (a, b) = redis_pair(&url, "many").await;
    many_calls_two_nodes(a, b, 8, 200).await;
}

#[cfg(not(feature = "redis"))]
#[test]
fn redis_routing() {
    common::feature_off("redis_routing", "Redis", "redis");
}

#[derive(Debug, Clone)]
enum Cmd {
    Offer,
    Available(usize),
    Offline(usize),
    Do(usize, usize, Op),
    Wait(u64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Answer),
        1 => Just(Op::Reject { reason: "busy".into() }),
        1 => Just(Op::Hold),
        1 => Just(Op::Resume),
        3 => Just(Op::HangUp),
        3 => Just(Op::Dispose { code: "done".into() }),
        1 => Just(Op::Note { text: "n".into() }),
        1 => Just(Op::Miss { reason: "x".into() }),
    ]
}

fn arb_cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        3 => Just(Cmd::Offer),
        2 => (0..3usize).prop_map(Cmd::Available),
        1 => (0..3usize).prop_map(Cmd::Offline),
        6 => (0..2usize, 0..12usize, arb_op()).prop_map(|(n, i, op)| Cmd::Do(n, i, op)),
        2 => prop_oneof![Just(5u64), Just(31), Just(130), Just(601)].prop_map(Cmd::Wait),
    ]
}

/// Checks the invariants on the store's state.
async fn check<S: InteractionStore>(
    n: &Node<S, ManualClock>,
    agents: &[AgentId],
    ids: &[InteractionId],
    last: &mut HashMap<InteractionId, Interaction>,
) -> Result<(), TestCaseError> {
    let mut held = HashSet::new();
    for a in agents {
        let rec = n.agent(a).await.unwrap().unwrap();
        match &rec.current {
            Some(id) => {
                // One interaction per agent, never a finished one, and
                // never two agents on one.
                prop_assert!(held.insert(id.clone()), "two agents hold {id}");
                let i = n.get(id).await.unwrap().unwrap();
                prop_assert!(!i.state().is_terminal(), "{a} holds finished {id}");
                prop_assert!(matches!(rec.state, AgentState::Busy | AgentState::WrapUp));
                let asg = n.assignment(id).await.unwrap().unwrap();
                prop_assert_eq!(asg.agent.as_ref(), Some(a));
            }
            None => prop_assert!(matches!(
                rec.state,
                AgentState::Available | AgentState::Offline
            )),
        }
    }
    for id in ids {
        let i = n.get(id).await.unwrap().unwrap();
        // A live or wrapping-up interaction is held by exactly one agent.
        if !matches!(i.state(), State::Offered) && !i.state().is_terminal() {
            prop_assert!(
                held.contains(id),
                "{id} in {:?} is held by nobody",
                i.state()
            );
        }
        if i.state().is_terminal() {
            prop_assert!(n.assignment(id).await.unwrap().is_none());
        }
        if let Some(before) = last.get(id) {
            // Completed (and every terminal state) stays put; times only
            // move forward.
            if before.state().is_terminal() {
                prop_assert_eq!(before.state(), i.state());
            }
            prop_assert!(i.version() >= before.version());
            prop_assert!(i.times().last >= before.times().last);
        }
        let t = i.times();
        let stamps = [t.offered, t.connected, t.ended, t.completed];
        let known: Vec<_> = stamps.iter().flatten().collect();
        prop_assert!(
            known.windows(2).all(|w| w[0] <= w[1]),
            "times run backwards"
        );
        last.insert(id.clone(), i);
    }
    Ok(())
}

async fn random_day(cmds: Vec<Cmd>) -> Result<(), TestCaseError> {
    let clock = ManualClock::starting_at(t0());
    let store = MemoryStore::new(4, 1 << 16);
    let nodes = [
        Node::new(store.clone(), clock.clone(), config()),
        Node::new(store, clock.clone(), config()),
    ];
    let q = QueueId::new("q");
    nodes[0].add_queue(&q, []).await.unwrap();
    let agents: Vec<_> = (0..3).map(|k| agent(&format!("a{k}"))).collect();
    for a in &agents {
        nodes[1].add_agent(a, [q.clone()], []).await.unwrap();
    }
    let mut ids = Vec::new();
    let mut last = HashMap::new();
    for cmd in cmds {
        match cmd {
            Cmd::Offer => {
                let id = format!("p{}", ids.len());
                nodes[ids.len() % 2]
                    .offer(call(&id, clock.now()), &q)
                    .await
                    .unwrap();
                ids.push(iid(&id));
            }
            Cmd::Available(a) => {
                let _ = nodes[a % 2].set_available(&agents[a]).await;
            }
            Cmd::Offline(a) => {
                let _ = nodes[0].set_offline(&agents[a]).await;
            }
            Cmd::Do(n, i, op) => {
                if let Some(id) = ids.get(i) {
                    let before = nodes[n].get(id).await.unwrap();
                    if nodes[n].apply(id, op).await.is_err() {
                        prop_assert_eq!(
                            nodes[n].get(id).await.unwrap(),
                            before,
                            "a refused operation changed the interaction"
                        );
                    }
                }
            }
            Cmd::Wait(s) => {
                clock.advance(Duration::from_secs(s));
                nodes[usize::from(s % 2 == 0)].run_due().await.unwrap();
            }
        }
        check(&nodes[0], &agents, &ids, &mut last).await?;
    }
    // Wind down: hang up what is live, then let every timer run, with
    // nobody available. Everything offered ends completed, missed,
    // rejected or not connected.
    for a in &agents {
        let _ = nodes[0].set_offline(a).await;
    }
    for id in &ids {
        let _ = nodes[1].apply(id, Op::Resume).await;
        let _ = nodes[1].apply(id, Op::HangUp).await;
    }
    for _ in 0..40 {
        clock.advance(Duration::from_secs(60));
        nodes[0].run_due().await.unwrap();
    }
    check(&nodes[0], &agents, &ids, &mut last).await?;
    for id in &ids {
        let i = nodes[0].get(id).await.unwrap().unwrap();
        prop_assert!(
            matches!(
                i.state(),
                State::Completed | State::Missed(_) | State::Rejected(_) | State::NotConnected(_)
            ),
            "{id} ended in {:?}",
            i.state()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_days_on_two_nodes_keep_the_invariants(
        cmds in proptest::collection::vec(arb_cmd(), 1..100)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(random_day(cmds))?;
    }
}

/// Unreadable routing data in Redis is a typed error, never a panic, and
/// ids with separators and non-ASCII text route like any other.
#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_hostile_routing_data() {
    let Some(url) = common::redis_url("redis_hostile_routing_data") else {
        return;
    };
    let prefix = format!(
        "cti-test:{}:hostile-routing:{}:",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    let store = cti_media::store::RedisStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(&prefix);
    let clock = ManualClock::starting_at(t0());
    let node = Node::new(store, clock.clone(), config());

    let q = QueueId::new("q|1:ünï");
    let who = agent("agent:|ö \"quoted\"");
    node.add_queue(&q, ["skill \"x\"".into()]).await.unwrap();
    node.add_agent(&who, [q.clone()], ["skill \"x\"".into()])
        .await
        .unwrap();
    node.set_available(&who).await.unwrap();
    let offers = node.offer(call("call|7:ü", clock.now()), &q).await.unwrap();
    assert_eq!(offers, vec![(iid("call|7:ü"), who.clone())]);
    let rec = node.agent(&who).await.unwrap().unwrap();
    assert_eq!(rec.current, Some(iid("call|7:ü")));
    assert!(rec.skills.contains("skill \"x\""));

    // Garbage where an agent and an assignment should be.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}ag:bad"))
        .arg("state")
        .arg("flying")
        .arg("idle")
        .arg("yesterday")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}as:bad"))
        .arg("q")
        .arg("q")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}ag:{}", who.as_str()))
        .arg("queues")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        node.agent(&agent("bad")).await,
        Err(NodeError::Store(StoreError::Corrupt { .. }))
    ));
    assert!(matches!(
        node.assignment(&iid("bad")).await,
        Err(NodeError::Store(StoreError::Corrupt { .. }))
    ));
    assert!(matches!(
        node.agent(&who).await,
        Err(NodeError::Store(StoreError::Corrupt { .. }))
    ));
    // The scripts read the broken agent without failing: the call still
    // answers, ends and frees them.
    node.apply(&iid("call|7:ü"), Op::Answer).await.unwrap();
    node.apply(&iid("call|7:ü"), Op::HangUp).await.unwrap();
    node.apply(&iid("call|7:ü"), Op::Dispose { code: "ok".into() })
        .await
        .unwrap();
    assert_eq!(
        node.get(&iid("call|7:ü")).await.unwrap().unwrap().state(),
        &State::Completed
    );
}
