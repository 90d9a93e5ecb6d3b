//! The engine: routing to the longest-idle eligible agent, ring, queue and
//! wrap-up timeouts, metadata after its delay, the event stream and its
//! back-pressure, and random command sequences against the invariants.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use cti_media::clock::ManualClock;
use cti_media::engine::{
    AgentId, AgentState, Engine, EngineConfig, EngineError, EngineEvent, QueueId,
};
use cti_media::interaction::{InteractionId, Op, State};
use cti_protocol::model::{Channel, Direction, Party};
use jiff::Timestamp;
use proptest::prelude::*;

fn setup(config: EngineConfig) -> (Engine<ManualClock>, ManualClock, QueueId) {
    let clock = ManualClock::starting_at(Timestamp::UNIX_EPOCH);
    let engine = Engine::new(config, clock.clone());
    let q = QueueId::new("sales");
    engine.add_queue(q.clone(), ["english".into()]);
    (engine, clock, q)
}

fn agent(e: &Engine<ManualClock>, q: &QueueId, name: &str, skills: &[&str]) -> AgentId {
    let id = AgentId::new(name);
    e.add_agent(id.clone(), [q.clone()], skills.iter().map(|s| (*s).into()));
    id
}

fn call(e: &Engine<ManualClock>, q: &QueueId) -> InteractionId {
    e.offer(
        Channel::Voice,
        Direction::Inbound,
        Party::address("+14155552671"),
        q,
    )
    .unwrap()
}

fn state(e: &Engine<ManualClock>, id: &InteractionId) -> State {
    e.get(id).unwrap().state().clone()
}

#[test]
fn routes_to_the_longest_idle_agent_with_the_skills() {
    let (e, clock, q) = setup(EngineConfig::default());
    let ada = agent(&e, &q, "ada", &["english"]);
    let bob = agent(&e, &q, "bob", &["english", "german"]);
    let cy = agent(&e, &q, "cy", &["german"]); // lacks the queue's skill
    e.set_available(&cy).unwrap();
    e.set_available(&bob).unwrap();
    clock.advance(Duration::from_secs(5));
    e.set_available(&ada).unwrap();
    let first = call(&e, &q);
    assert_eq!(
        e.agent_interaction(&bob),
        Some(first.clone()),
        "bob waited longest"
    );
    let second = call(&e, &q);
    assert_eq!(e.agent_interaction(&ada), Some(second.clone()));
    // Nobody left: the third waits, and rings once an agent frees up.
    let third = call(&e, &q);
    assert_eq!(state(&e, &third), State::Offered);
    assert!(
        matches!(e.apply(&third, Op::Answer), Err(EngineError::EngineOnly(_))),
        "still queued"
    );
    assert_eq!(e.agent_interaction(&cy), None);
    e.apply(&first, Op::Answer).unwrap();
    e.apply(&first, Op::HangUp).unwrap();
    assert_eq!(e.agent_state(&bob), Some(AgentState::WrapUp));
    e.apply(
        &first,
        Op::Dispose {
            code: "sale".into(),
        },
    )
    .unwrap();
    assert_eq!(
        e.agent_interaction(&bob),
        Some(third),
        "freed, bob gets the waiting call"
    );
}

#[test]
fn a_ring_timeout_misses_the_offer_and_offers_again() {
    let (e, clock, q) = setup(EngineConfig::default());
    let ada = agent(&e, &q, "ada", &["english"]);
    let bob = agent(&e, &q, "bob", &["english"]);
    e.set_available(&ada).unwrap();
    clock.advance(Duration::from_secs(1));
    e.set_available(&bob).unwrap();
    let mut events = e.subscribe();
    let id = call(&e, &q);
    assert_eq!(e.agent_interaction(&ada), Some(id.clone()));
    clock.advance(Duration::from_secs(31));
    assert!(e.run_due() >= 1);
    assert_eq!(
        e.agent_state(&ada),
        Some(AgentState::Offline),
        "not ready after a missed offer"
    );
    assert_eq!(e.agent_interaction(&bob), Some(id.clone()));
    let seen: Vec<_> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    assert!(
        seen.contains(&EngineEvent::OfferMissed {
            id: id.clone(),
            agent: ada.clone()
        }),
        "{seen:?}"
    );
    assert!(
        seen.contains(&EngineEvent::Offered { id, agent: bob }),
        "{seen:?}"
    );
}

#[test]
fn a_queue_timeout_misses_for_good() {
    let (e, clock, q) = setup(EngineConfig::default());
    let id = call(&e, &q);
    clock.advance(Duration::from_secs(601));
    e.run_due();
    assert_eq!(state(&e, &id), State::Missed("queue_timeout".into()));
}

#[test]
fn wrap_up_timeout_forces_the_dispose_and_metadata_follows_after_15_minutes() {
    let (e, clock, q) = setup(EngineConfig::default());
    let ada = agent(&e, &q, "ada", &["english"]);
    e.set_available(&ada).unwrap();
    let id = call(&e, &q);
    let mut events = e.subscribe();
    e.apply(&id, Op::Answer).unwrap();
    e.apply(&id, Op::HangUp).unwrap();
    assert_eq!(state(&e, &id), State::WrapUp);
    clock.advance(Duration::from_secs(119));
    e.run_due();
    assert_eq!(state(&e, &id), State::WrapUp, "not yet");
    clock.advance(Duration::from_secs(2));
    e.run_due();
    let done = e.get(&id).unwrap();
    assert_eq!(
        (done.state(), done.disposition(), done.was_forced()),
        (&State::Completed, Some("auto_dispose"), true)
    );
    assert_eq!(e.agent_state(&ada), Some(AgentState::Available));
    clock.advance(Duration::from_secs(14 * 60));
    e.run_due();
    let seen: Vec<_> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    assert!(!seen.contains(&EngineEvent::MetadataDue { id: id.clone() }));
    clock.advance(Duration::from_secs(61));
    e.run_due();
    assert_eq!(
        events.try_recv().ok(),
        Some(EngineEvent::MetadataDue { id })
    );
}

#[test]
fn a_day_of_timers_runs_in_milliseconds() {
    let (e, clock, q) = setup(EngineConfig::default());
    let ada = agent(&e, &q, "ada", &["english"]);
    e.set_available(&ada).unwrap();
    let started = std::time::Instant::now();
    let mut completed = 0;
    // 8 hours: a call every 5 minutes, answered, hung up, never disposed
    // (the wrap-up timer does it).
    for _ in 0..96 {
        let id = call(&e, &q);
        e.apply(&id, Op::Answer).unwrap();
        e.apply(&id, Op::HangUp).unwrap();
        clock.advance(Duration::from_secs(300));
        e.run_due();
        if state(&e, &id) == State::Completed {
            completed += 1;
        }
    }
    assert_eq!(completed, 96);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn engine_only_operations_are_refused() {
    let (e, _, q) = setup(EngineConfig::default());
    let ada = agent(&e, &q, "ada", &["english"]);
    e.set_available(&ada).unwrap();
    let id = call(&e, &q);
    for op in [
        Op::Miss { reason: "x".into() },
        Op::StartWrapUp,
        Op::ForceDispose { code: "x".into() },
    ] {
        assert!(matches!(e.apply(&id, op), Err(EngineError::EngineOnly(_))));
    }
    assert!(matches!(
        e.set_offline(&ada),
        Err(EngineError::AgentBusy(_))
    ));
    assert!(matches!(
        e.apply(&InteractionId::new("nope"), Op::Answer),
        Err(EngineError::UnknownInteraction(_))
    ));
    assert!(matches!(
        e.offer(
            Channel::Chat,
            Direction::Inbound,
            Party::default(),
            &QueueId::new("nope")
        ),
        Err(EngineError::UnknownQueue(_))
    ));
}

#[test]
fn slow_subscribers_lag_and_are_told_how_much() {
    let mut config = EngineConfig::default();
    config.event_capacity = 4;
    let (e, _, q) = setup(config);
    let mut events = e.subscribe();
    for _ in 0..10 {
        call(&e, &q);
    }
    match events.try_recv() {
        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => assert_eq!(n, 6),
        other => panic!("{other:?}"),
    }
}

#[derive(Debug, Clone)]
enum Cmd {
    Offer,
    Available(usize),
    Offline(usize),
    Do(usize, Op),
    Wait(u64),
}

fn arb_cmd() -> impl Strategy<Value = Cmd> {
    let ops = vec![
        Op::Answer,
        Op::Reject {
            reason: "busy".into(),
        },
        Op::Hold,
        Op::Resume,
        Op::HangUp,
        Op::Dispose {
            code: "sale".into(),
        },
        Op::BlindTransfer {
            to: Party::address("+1555"),
        },
        Op::StartConsult {
            party: Party::address("+1666"),
        },
        Op::ConsultAnswered,
        Op::MergeConsult,
        Op::CancelConsult,
        Op::Mute { on: true },
        Op::Note { text: "n".into() },
    ];
    prop_oneof![
        3 => Just(Cmd::Offer),
        2 => (0..3usize).prop_map(Cmd::Available),
        1 => (0..3usize).prop_map(Cmd::Offline),
        8 => (0..12usize, 0..ops.len()).prop_map(move |(i, o)| Cmd::Do(i, ops[o].clone())),
        2 => (1..200u64).prop_map(Cmd::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_days_keep_the_invariants(cmds in proptest::collection::vec(arb_cmd(), 1..120)) {
        let (e, clock, q) = setup(EngineConfig::default());
        let agents: Vec<_> = ["a0", "a1", "a2"].iter().map(|n| agent(&e, &q, n, &["english"])).collect();
        let mut ids = Vec::new();
        for cmd in cmds {
            match cmd {
                Cmd::Offer => ids.push(call(&e, &q)),
                Cmd::Available(a) => { let _ = e.set_available(&agents[a]); }
                Cmd::Offline(a) => { let _ = e.set_offline(&agents[a]); }
                Cmd::Do(i, op) => {
                    if let Some(id) = ids.get(i) {
                        let before = e.get(id);
                        if e.apply(id, op).is_err() {
                            prop_assert_eq!(e.get(id), before, "a refused operation changed the interaction");
                        }
                    }
                }
                Cmd::Wait(s) => { clock.advance(Duration::from_secs(s)); e.run_due(); }
            }
            // An agent handles at most one interaction, and only one that is
            // not finished; a handled interaction is held by exactly one agent.
            let mut held = Vec::new();
            for a in &agents {
                if let Some(id) = e.agent_interaction(a) {
                    prop_assert!(!e.get(&id).unwrap().state().is_terminal());
                    prop_assert_ne!(e.agent_state(a), Some(AgentState::Available));
                    held.push(id);
                }
            }
            let n = held.len();
            held.sort();
            held.dedup();
            prop_assert_eq!(held.len(), n, "two agents on one interaction");
        }
        // End the day: agents hang up what is live, then time runs out.
        for id in &ids {
            let _ = e.apply(id, Op::CancelConsult);
            let _ = e.apply(id, Op::HangUp);
        }
        for _ in 0..10 {
            clock.advance(Duration::from_secs(3600));
            e.run_due();
            for id in &ids {
                let _ = e.apply(id, Op::HangUp);
            }
        }
        for id in &ids {
            let s = state(&e, id);
            prop_assert!(
                matches!(s, State::Completed | State::Missed(_) | State::Rejected(_)),
                "{id} ended {s:?}"
            );
        }
        for a in &agents {
            prop_assert_eq!(e.agent_interaction(a), None);
        }
    }
}

#[test]
fn click_to_dial_rings_out_for_the_agent() {
    let (e, clock, q) = setup(EngineConfig::default());
    let ada = agent(&e, &q, "ada", &["english"]);
    assert!(
        matches!(
            e.dial(&ada, Channel::Voice, Party::address("+15550100"), &q),
            Err(EngineError::AgentBusy(_))
        ),
        "an offline agent cannot dial"
    );
    e.set_available(&ada).unwrap();
    let id = e
        .dial(&ada, Channel::Voice, Party::address("+15550100"), &q)
        .unwrap();
    assert_eq!(e.handler(&id), Some(ada.clone()));
    assert_eq!(e.get(&id).unwrap().direction(), Direction::Outbound);
    assert!(matches!(
        e.dial(&ada, Channel::Voice, Party::address("+1"), &q),
        Err(EngineError::AgentBusy(_))
    ));
    e.apply(&id, Op::Answer).unwrap();
    e.apply(&id, Op::HangUp).unwrap();
    e.apply(
        &id,
        Op::Dispose {
            code: "sale".into(),
        },
    )
    .unwrap();
    // Unanswered: it does not connect, and the agent is free again.
    let again = e
        .dial(&ada, Channel::Voice, Party::address("+15550101"), &q)
        .unwrap();
    clock.advance(Duration::from_secs(31));
    e.run_due();
    assert_eq!(state(&e, &again), State::NotConnected("no_answer".into()));
    assert_eq!(e.agent_state(&ada), Some(AgentState::Available));
}

#[test]
fn a_note_in_wrap_up_keeps_the_wrap_up_timer() {
    let (e, clock, q) = setup(EngineConfig::default());
    let ada = agent(&e, &q, "ada", &["english"]);
    e.set_available(&ada).unwrap();
    let id = call(&e, &q);
    e.apply(&id, Op::Answer).unwrap();
    e.apply(&id, Op::HangUp).unwrap();
    e.apply(
        &id,
        Op::Note {
            text: "left a message".into(),
        },
    )
    .unwrap();
    clock.advance(Duration::from_secs(121));
    e.run_due();
    assert_eq!(state(&e, &id), State::Completed);
}
