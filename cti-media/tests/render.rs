//! Dialect rendering: scripted engine sessions rendered as Zoom, LeadDesk
//! and CCAI messages, compared with the fixtures in
//! `tests/fixtures/render/`, and checked on their own: every message is
//! in its vendor's catalogue, Zoom's wrap-up comes in its order, and the
//! neutral events carry their messages.
//!
//! `CTI_UPDATE_FIXTURES=1` rewrites the fixtures (review the diff).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use cti_media::clock::ManualClock;
use cti_media::engine::{AgentId, Engine, EngineConfig, EngineEvent, QueueId};
use cti_media::interaction::{Interaction, Op};
use cti_media::render::{AgentProfile, Moment, Renderer};
use cti_protocol::Vendor;
use cti_protocol::model::{Channel, Direction, EventKind, Party};
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::broadcast;

fn renderer(dialect: Vendor) -> Renderer {
    let mut agent = AgentProfile::default();
    agent.id = Some("1001".into());
    agent.name = Some("Ada Lovelace".into());
    agent.email = Some("ada@example.com".into());
    Renderer::new(dialect)
        .agent(agent)
        .queue("8469", "Sales / English")
        .recording_base("https://media.example.com/recordings/")
}

/// Renders every event the engine emitted since the last call.
fn drain(
    engine: &Engine<ManualClock>,
    rx: &mut broadcast::Receiver<EngineEvent>,
    r: &Renderer,
    out: &mut Vec<Value>,
) {
    while let Ok(event) = rx.try_recv() {
        let id = match &event {
            EngineEvent::Offered { id, .. }
            | EngineEvent::OfferMissed { id, .. }
            | EngineEvent::Changed { id, .. } => Some(id.clone()),
            _ => None,
        };
        let interaction: Option<Interaction> = id.and_then(|id| engine.get(&id));
        let messages = match (&event, interaction) {
            (EngineEvent::Agent { state, .. }, _) => r.agent_state(*state).unwrap(),
            (_, Some(i)) => r.render_event(&event, &i).unwrap(),
            (_, None) => Vec::new(),
        };
        for m in messages {
            assert!(m.is_known(), "{} is in the catalogue", m.wire_type());
            out.push(m.to_value());
        }
    }
}

/// Three sessions: an inbound call with notes, a recording, hold and a
/// disposition; an inbound chat that nobody disposes (forced); and an
/// outbound call that is not answered. Returns every message posted.
fn script(dialect: Vendor) -> Vec<Value> {
    let clock = ManualClock::starting_at(Timestamp::from_second(1_800_000_000).unwrap());
    let engine = Engine::new(EngineConfig::default(), clock.clone());
    let r = renderer(dialect);
    let mut rx = engine.subscribe();
    let mut out = Vec::new();
    let q = QueueId::new("sales");
    let ada = AgentId::new("ada");
    engine.add_queue(q.clone(), []);
    engine.add_agent(ada.clone(), [q.clone()], []);
    engine.set_available(&ada).unwrap();
    drain(&engine, &mut rx, &r, &mut out);

    let tick = |s: u64| clock.advance(Duration::from_secs(s));
    let call = engine
        .offer(
            Channel::Voice,
            Direction::Inbound,
            Party::address("+14155552671"),
            &q,
        )
        .unwrap();
    drain(&engine, &mut rx, &r, &mut out);
    for (wait, op) in [
        (4, Op::Answer),
        (10, Op::Record { on: true }),
        (
            5,
            Op::Note {
                text: "asked about the March invoice".into(),
            },
        ),
        (20, Op::Hold),
        (15, Op::Resume),
        (
            40,
            Op::Note {
                text: "sent a corrected copy".into(),
            },
        ),
        (5, Op::HangUp),
        (
            30,
            Op::Dispose {
                code: "resolved".into(),
            },
        ),
    ] {
        tick(wait);
        engine.apply(&call, op).unwrap();
        drain(&engine, &mut rx, &r, &mut out);
    }

    let chat = engine
        .offer(
            Channel::Chat,
            Direction::Inbound,
            Party::address("grace@example.org"),
            &q,
        )
        .unwrap();
    drain(&engine, &mut rx, &r, &mut out);
    tick(3);
    engine.apply(&chat, Op::Answer).unwrap();
    tick(95);
    engine.apply(&chat, Op::HangUp).unwrap();
    drain(&engine, &mut rx, &r, &mut out);
    tick(121);
    engine.run_due();
    drain(&engine, &mut rx, &r, &mut out);

    let dial = engine
        .dial(&ada, Channel::Voice, Party::address("+442071838750"), &q)
        .unwrap();
    drain(&engine, &mut rx, &r, &mut out);
    tick(25);
    engine
        .apply(
            &dial,
            Op::NotConnected {
                reason: "no_answer".into(),
            },
        )
        .unwrap();
    drain(&engine, &mut rx, &r, &mut out);
    out
}

fn fixture(dialect: Vendor, name: &str) {
    let got = Value::Array(script(dialect));
    let path = format!(
        "{}/tests/fixtures/render/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var("CTI_UPDATE_FIXTURES").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("the fixture exists (CTI_UPDATE_FIXTURES=1)"),
    )
    .unwrap();
    assert_eq!(got, want, "{name}: rendering differs from {path}");
}

#[test]
fn zoom_fixture() {
    fixture(Vendor::Zoom, "zoom");
}

#[test]
fn leaddesk_fixture() {
    fixture(Vendor::LeadDesk, "leaddesk");
}

#[test]
fn ccai_fixture() {
    fixture(Vendor::Ccai, "ccai");
}

fn types(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| {
            m.get("type")
                .or_else(|| m.get("action"))
                .and_then(Value::as_str)
                .unwrap()
        })
        .collect()
}

#[test]
fn zoom_wrap_up_order_and_call_log() {
    let messages = script(Vendor::Zoom);
    let t = types(&messages);
    let ended = t.iter().position(|t| *t == "zcc-call-ended").unwrap();
    // The agent's status (occupied, in wrap-up) may come between.
    let at = ended
        + t[ended..]
            .iter()
            .position(|t| *t == "zcc-add-note")
            .unwrap()
        - 1;
    assert!(at - ended <= 1, "{t:?}");
    assert_eq!(
        t[at + 1..at + 6],
        [
            "zcc-add-note",
            "zcc-add-note",
            "zcc-end-post-engagement",
            "zcc-phone-call-log",
            "zcc-call-recording"
        ],
        "notes, disposition, call log, recording: {t:?}"
    );
    let log = &messages[at + 4]["data"]["objectRecord"];
    assert_eq!(
        log["callDuration"], "1:35",
        "answer to hang-up: 10+5+20+15+40+5 s"
    );
    assert_eq!(log["wrapUpTimeDuration"], "00:00:30");
    assert_eq!(log["dispositionCode"], "resolved");
    assert_eq!(log["notes"][0], "asked about the March invoice");
    assert_eq!(log["callStartTime"], "2027-01-15T08:00:04.000Z");
    // The chat was never disposed: the forced code, and no recording.
    let chat_log = messages
        .iter()
        .filter(|m| m["type"] == "zcc-phone-call-log")
        .nth(1)
        .unwrap();
    assert_eq!(
        chat_log["data"]["objectRecord"]["dispositionCode"],
        "auto_dispose"
    );
    assert_eq!(chat_log["data"]["objectRecord"]["type"], "chat");
    assert_eq!(
        t.iter().filter(|t| **t == "zcc-call-recording").count(),
        1,
        "only the recorded call"
    );
    assert_eq!(t.last(), Some(&"zcc-agent-status-notification"));
    assert!(t.contains(&"zcc-outbound-not-connected"));
}

#[test]
fn leaddesk_sequence() {
    let messages = script(Vendor::LeadDesk);
    assert_eq!(
        types(&messages),
        [
            "call",
            "connected",
            "disconnected",
            "completed",
            // The chat is not Talk's; the outbound attempt is.
            "call",
            "disconnected",
            "completed"
        ]
    );
    let done = &messages[3]["call"];
    assert_eq!(done["answered"], true);
    assert_eq!(done["duration"], 95);
    assert_eq!(done["reason"]["name"], "resolved");
    assert_eq!(
        done["comment"],
        "asked about the March invoice\nsent a corrected copy"
    );
    assert_eq!(messages[6]["call"]["answered"], false);
}

#[test]
fn ccai_sequence() {
    let messages = script(Vendor::Ccai);
    assert_eq!(
        types(&messages),
        [
            "New_Call",
            "End_Call",
            "New_Chat",
            "End_Chat",
            "Dismissed_Chat",
            "End_Call"
        ]
    );
    assert_eq!(messages[0]["data"]["agent_id"], 1001);
    assert_eq!(messages[0]["data"]["queue_id"], 8469);
}

#[test]
fn neutral_events_carry_their_messages() {
    let t = Timestamp::from_second(1_800_000_000).unwrap();
    let mut call = Interaction::offered(
        cti_media::interaction::InteractionId::new("77"),
        Channel::Voice,
        Direction::Inbound,
        Party::address("+14155552671"),
        t,
    );
    for dialect in [Vendor::Zoom, Vendor::LeadDesk] {
        let events = renderer(dialect).events(&call, &Moment::Ringing).unwrap();
        assert_eq!(events.len(), 1);
        assert!(
            matches!(&events[0].kind, EventKind::InteractionOffered(i) if i.id.as_deref() == Some("77")),
            "{dialect:?}: {:?}",
            events[0].kind
        );
    }
    let changes = call.apply(Op::Answer, t).unwrap();
    for dialect in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
        let events = renderer(dialect)
            .events(&call, &Moment::Changed(&changes))
            .unwrap();
        assert!(
            matches!(events[0].kind, EventKind::InteractionConnected(_)),
            "{dialect:?}: {:?}",
            events[0].kind
        );
        assert_eq!(events[0].original.vendor(), events[0].vendor);
    }
    // Holds and mutes are not posted by any of them.
    let changes = call.apply(Op::Hold, t).unwrap();
    for dialect in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
        assert!(
            renderer(dialect)
                .render(&call, &Moment::Changed(&changes))
                .unwrap()
                .is_empty()
        );
    }
}
