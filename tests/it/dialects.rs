//! The vendors' dialects in both directions:
//! - messages with odd fields (`tests/fixtures/lenient/`, values from the
//!   vendors' docs and PROTOCOLS.md) decode as the known message, raw
//!   kept, the unreadable fields named, the neutral meaning kept;
//! - rendering a neutral event, decoding what was rendered and
//!   normalising it gives the event back, for every vendor and every
//!   event kind the vendor can express;
//! - each vendor's rendered call is the sequence its docs show.

use cti_protocol::dialect::Softphone;
use cti_protocol::model::{
    AgentRef, AgentStatus, Channel, Completion, ContactLookup, Direction, EventKind, EventTime,
    Interaction, LookupQuery, Party, QueueRef, ReplyKind, ScreenPopTarget,
};
use cti_protocol::{Vendor, decode};
use proptest::prelude::*;
use serde_json::Value;

fn lenient(vendor: Vendor, file: &str) {
    let path = format!("{}/fixtures/lenient/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let posted = match &case["message"] {
            Value::String(s) => serde_json::to_string(s).unwrap(),
            other => other.to_string(),
        };
        let why = case["why"].as_str().unwrap_or("?");
        let msg = decode(vendor, &posted).unwrap_or_else(|e| panic!("{why}: {e}"));
        assert!(msg.is_known(), "{why}: {posted}");
        assert_eq!(msg.encode(), posted, "{why}: the raw text is kept");
        let got: Vec<&str> = msg.unreadable().iter().map(|u| u.path.as_str()).collect();
        let want: Vec<&str> = case["unreadable"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(got, want, "{why}: {posted}");
        let event = msg
            .event_kind()
            .map(|k| serde_json::to_value(k).unwrap()["event"].clone());
        assert_eq!(
            event.unwrap_or(Value::Null),
            case["event"],
            "{why}: {posted}"
        );
        cases += 1;
    }
    assert!(cases >= 5, "{file}: {cases} cases");
}

#[test]
fn zoom_messages_with_odd_fields_are_kept() {
    lenient(Vendor::Zoom, "zoom.jsonl");
}

#[test]
fn leaddesk_messages_with_odd_fields_are_kept() {
    lenient(Vendor::LeadDesk, "leaddesk.jsonl");
}

#[test]
fn ccai_messages_with_odd_fields_are_kept() {
    lenient(Vendor::Ccai, "ccai.jsonl");
}

#[test]
fn a_completion_without_a_duration_is_still_completed() {
    let msg = decode(
        Vendor::Zoom,
        r#"{"type":"zcc-phone-call-log","data":{"engagementId":"E9","objectRecord":{"callDuration":{"m":4}}}}"#,
    )
    .unwrap();
    let Some(EventKind::InteractionCompleted(c)) = msg.event_kind() else {
        panic!("{msg:?}")
    };
    assert_eq!(c.interaction.id.as_deref(), Some("E9"));
    assert_eq!(c.duration_seconds, None);
}

// ---- render → decode → normalise -------------------------------------

fn id() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z][A-Za-z0-9_-]{0,15}", "[1-9][0-9]{0,8}"]
}

fn phone() -> impl Strategy<Value = String> {
    "\\+[1-9][0-9]{6,12}"
}

fn email() -> impl Strategy<Value = String> {
    "[a-z]{1,8}@[a-z]{1,8}\\.example"
}

fn name() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8})?"
}

/// An instant to the millisecond (Zoom's precision).
fn millis() -> impl Strategy<Value = EventTime> {
    (1_600_000_000_000i64..1_900_000_000_000)
        .prop_map(|ms| EventTime::Instant(jiff::Timestamp::from_millisecond(ms).unwrap()))
}

/// A local time to the second (LeadDesk's precision).
fn local() -> impl Strategy<Value = EventTime> {
    (1_600_000_000i64..1_900_000_000).prop_map(|s| {
        let t = jiff::Timestamp::from_second(s).unwrap();
        EventTime::Local(t.to_zoned(jiff::tz::TimeZone::UTC).datetime())
    })
}

fn party(address: String) -> Option<Party> {
    Some(Party::address(address))
}

fn queue_name(name: String) -> Option<QueueRef> {
    let mut q = QueueRef::default();
    q.name = Some(name.into());
    Some(q)
}

/// Neutral events Zoom can express, filled with exactly what its
/// messages carry.
fn zoom_event() -> impl Strategy<Value = EventKind> {
    // A voice call with both parties, a named queue and a time.
    let voice = || {
        (id(), phone(), phone(), name(), millis(), any::<bool>()).prop_map(
            |(id, a, b, q, at, outbound)| {
                let dir = if outbound {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                };
                let mut i = Interaction::new(id, Channel::Voice, dir);
                i.from = party(a);
                i.to = party(b);
                i.queue = queue_name(q);
                i.at = Some(at);
                Box::new(i)
            },
        )
    };
    let offered_voice = voice().prop_map(EventKind::InteractionOffered);
    let offered_chat = (id(), email(), name(), name()).prop_map(|(id, addr, who, q)| {
        let mut i = Interaction::new(id, Channel::Chat, Direction::Inbound);
        let mut p = Party::address(addr);
        p.name = Some(who.into());
        i.from = Some(p);
        i.queue = queue_name(q);
        EventKind::InteractionOffered(Box::new(i))
    });
    let connected = voice().prop_map(EventKind::InteractionConnected);
    let ended = (
        id(),
        prop::sample::select(vec![
            Channel::Voice,
            Channel::Chat,
            Channel::Sms,
            Channel::Video,
        ]),
        millis(),
    )
        .prop_map(|(id, ch, at)| {
            let mut i = Interaction::default();
            i.id = Some(id.into());
            i.channel = Some(ch);
            i.at = Some(at);
            EventKind::InteractionEnded(Box::new(i))
        });
    let completed = (
        id(),
        phone(),
        phone(),
        name(),
        millis(),
        0u64..5000,
        0u64..600,
        prop::collection::vec("[a-z ]{1,20}", 0..3),
        prop::option::of("[A-Za-z]{1,10}"),
    )
        .prop_map(|(id, a, b, q, start, secs, wrap, notes, disposition)| {
            let mut c = Completion::default();
            let mut i = Interaction::new(id, Channel::Voice, Direction::Inbound);
            i.from = party(a);
            i.to = party(b);
            i.queue = queue_name(q);
            c.interaction = i;
            c.answered = Some(true);
            c.started = Some(start);
            let EventTime::Instant(t) = start else {
                unreachable!()
            };
            let end = t
                .checked_add(jiff::SignedDuration::from_secs(secs as i64))
                .unwrap();
            c.ended = Some(EventTime::Instant(end));
            c.duration_seconds = Some(secs);
            c.wrap_up_seconds = Some(wrap);
            c.notes = notes.into_iter().map(Into::into).collect();
            c.disposition = disposition.map(Into::into);
            EventKind::InteractionCompleted(Box::new(c))
        });
    let lookup = (id(), phone()).prop_map(|(id, number)| {
        let mut i = Interaction::new(id, Channel::Voice, Direction::Inbound);
        i.from = party(number.clone());
        EventKind::ContactLookupRequested(ContactLookup::new(
            LookupQuery::Phone(number.into()),
            ReplyKind::IncomingPhone,
            Some(Box::new(i)),
        ))
    });
    let pop = id().prop_map(|id| EventKind::ScreenPop(ScreenPopTarget::Record(id.into())));
    // Zoom names each status too; the name comes back as the label.
    let status = prop::sample::select(vec![
        (AgentStatus::Available, "Ready"),
        (AgentStatus::Busy, "Occupied"),
        (AgentStatus::Offline, "Offline"),
    ])
    .prop_map(|(status, label)| EventKind::AgentStatusChanged {
        status,
        label: Some(label.into()),
    });
    let error = (
        "[a-z-]{1,12}",
        "[A-Za-z ]{1,30}",
        prop::option::of("[a-z0-9-]{1,12}"),
    )
        .prop_map(|(code, message, request_id)| EventKind::Error {
            code: Some(code.into()),
            message: Some(message.into()),
            request_id: request_id.map(Into::into),
        });
    prop_oneof![
        offered_voice,
        offered_chat,
        connected,
        ended,
        completed,
        lookup,
        pop,
        status,
        error
    ]
}

/// Neutral events LeadDesk Talk can express.
fn leaddesk_event() -> impl Strategy<Value = EventKind> {
    let login = ("[a-z]{2}", "[a-z0-9-]{1,12}").prop_map(|(lang, host)| EventKind::AgentLoggedIn {
        agent: None,
        language: Some(lang.into()),
        vendor_origin: Some(format!("https://{host}.leaddesk.com").into()),
    });
    let offered = (
        "[1-9][0-9]{0,8}",
        "[1-9][0-9]{6,12}",
        local(),
        any::<bool>(),
    )
        .prop_map(|(id, number, at, outbound)| {
            let dir = if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            let mut i = Interaction::new(id, Channel::Voice, dir);
            if outbound {
                i.to = party(number);
            } else {
                i.from = party(number);
            }
            i.at = Some(at);
            EventKind::InteractionOffered(Box::new(i))
        });
    let connected = local().prop_map(|at| {
        let mut i = Interaction::default();
        i.channel = Some(Channel::Voice);
        i.at = Some(at);
        EventKind::InteractionConnected(Box::new(i))
    });
    let ended = (
        local(),
        prop::option::of("https://rec\\.example/[a-z0-9]{1,8}"),
    )
        .prop_map(|(at, url)| {
            let mut i = Interaction::default();
            i.channel = Some(Channel::Voice);
            i.at = Some(at);
            i.recording_url = url.map(Into::into);
            EventKind::InteractionEnded(Box::new(i))
        });
    let completed = (
        "[1-9][0-9]{0,8}",
        "[1-9][0-9]{6,12}",
        local(),
        prop::option::of(0u64..4000),
        prop::option::of("[A-Za-z]{1,10}"),
        prop::option::of("[a-z]{1,12}"),
    )
        .prop_map(|(id, number, at, talk, disposition, note)| {
            let mut c = Completion::default();
            let mut i = Interaction::new(id, Channel::Voice, Direction::Inbound);
            i.from = party(number);
            c.answered = Some(talk.is_some());
            c.offered = Some(at);
            let EventTime::Local(dt) = at else {
                unreachable!()
            };
            if let Some(secs) = talk {
                c.started = Some(EventTime::Local(
                    dt.checked_add(jiff::Span::new().seconds(5)).unwrap(),
                ));
                c.duration_seconds = Some(secs);
            }
            let end = dt.checked_add(jiff::Span::new().seconds(5000)).unwrap();
            c.ended = Some(EventTime::Local(end));
            i.at = c.ended;
            c.interaction = i;
            c.disposition = disposition.map(Into::into);
            c.notes = note.into_iter().map(Into::into).collect();
            EventKind::InteractionCompleted(Box::new(c))
        });
    let sms =
        ("[1-9][0-9]{0,8}", "[A-Za-z ]{1,40}").prop_map(|(id, text)| EventKind::MessageSent {
            interaction_id: Some(id.into()),
            text: text.into(),
        });
    prop_oneof![login, offered, connected, ended, completed, sms]
}

/// Neutral events the CCAI adapter can express.
fn ccai_event() -> impl Strategy<Value = EventKind> {
    let agent = || {
        ("[1-9][0-9]{0,6}", email()).prop_map(|(id, mail)| {
            let mut a = AgentRef::default();
            a.id = Some(id.into());
            a.email = Some(mail.into());
            a
        })
    };
    let session = (
        id(),
        any::<bool>(),
        agent(),
        "[1-9][0-9]{0,4}",
        name(),
        prop::sample::select(vec![
            ("Voice Inbound", true),
            ("Voice Outbound", true),
            ("Messaging Inbound (Web Chat)", false),
        ]),
    )
        .prop_map(|(id, _, agent, qid, qname, (kind, call))| {
            let dir = if kind.contains("Outbound") {
                Some(Direction::Outbound)
            } else if kind.contains("Inbound") {
                Some(Direction::Inbound)
            } else {
                None
            };
            let mut i = Interaction::default();
            i.id = Some(id.into());
            i.channel = Some(if call { Channel::Voice } else { Channel::Chat });
            i.direction = dir;
            let mut q = QueueRef::default();
            q.id = Some(qid.into());
            q.name = Some(qname.into());
            i.queue = Some(q);
            i.agent = Some(agent);
            i.session_type = Some(kind.into());
            i
        })
        .boxed();
    let login = agent().prop_map(|a| EventKind::AgentLoggedIn {
        agent: Some(Box::new(a)),
        language: None,
        vendor_origin: None,
    });
    let connected = session
        .clone()
        .prop_map(|i| EventKind::InteractionConnected(Box::new(i)));
    let ended = session
        .clone()
        .prop_map(|i| EventKind::InteractionEnded(Box::new(i)));
    let chat_only = session
        .clone()
        .prop_filter("chats", |i| i.channel == Some(Channel::Chat))
        .boxed();
    let activated = chat_only
        .clone()
        .prop_map(|i| EventKind::InteractionActivated(Box::new(i)));
    let dismissed = chat_only.prop_map(|i| EventKind::InteractionDismissed(Box::new(i)));
    let pop = "https://crm\\.example/r/[a-z0-9]{1,8}"
        .prop_map(|u| EventKind::ScreenPop(ScreenPopTarget::Url(u.into())));
    prop_oneof![login, connected, ended, activated, dismissed, pop]
}

/// Renders `event`, decodes every message as a frame's post, and returns
/// the neutral events of what was posted.
fn round_trip(vendor: Vendor, event: &EventKind) -> Vec<EventKind> {
    let posted = vendor
        .render_events(std::slice::from_ref(event), &Softphone::default())
        .unwrap();
    assert!(
        !posted.is_empty(),
        "{vendor} rendered nothing for {event:?}"
    );
    posted
        .iter()
        .map(|m| {
            assert!(m.is_known(), "{}", m.encode());
            assert!(m.unreadable().is_empty(), "{}", m.encode());
            let again = decode(vendor, m.encode()).unwrap();
            again
                .event_kind()
                .unwrap_or_else(|| panic!("{}", m.encode()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn zoom_renders_what_it_reads(event in zoom_event()) {
        let back = round_trip(Vendor::Zoom, &event);
        prop_assert!(back.contains(&event), "{:?}\n  came back as {:?}", event, back);
    }

    #[test]
    fn leaddesk_renders_what_it_reads(event in leaddesk_event()) {
        let back = round_trip(Vendor::LeadDesk, &event);
        prop_assert!(back.contains(&event), "{:?}\n  came back as {:?}", event, back);
    }

    #[test]
    fn ccai_renders_what_it_reads(event in ccai_event()) {
        let back = round_trip(Vendor::Ccai, &event);
        prop_assert!(back.contains(&event), "{:?}\n  came back as {:?}", event, back);
    }
}

// ---- documented call sequences ----------------------------------------

/// An inbound voice call from ring to wrap-up, as neutral events.
fn inbound_call() -> Vec<EventKind> {
    let t = |s: i64| EventTime::Instant(jiff::Timestamp::from_second(1_800_000_000 + s).unwrap());
    let call = |at: i64| {
        let mut i = Interaction::new("4711", Channel::Voice, Direction::Inbound);
        i.from = party("+14155550100".into());
        i.at = Some(t(at));
        Box::new(i)
    };
    let mut done = Completion::default();
    done.interaction = *call(120);
    done.answered = Some(true);
    done.offered = Some(t(0));
    done.started = Some(t(5));
    done.ended = Some(t(95));
    done.notes = vec!["wants a refund".into()];
    done.disposition = Some("Resolved".into());
    done.recording_url = Some("https://rec.example/4711".into());
    vec![
        EventKind::InteractionOffered(call(0)),
        EventKind::InteractionConnected(call(5)),
        EventKind::InteractionEnded(call(95)),
        EventKind::InteractionCompleted(Box::new(done)),
    ]
}

fn sequence(vendor: Vendor) -> Vec<String> {
    vendor
        .render_events(&inbound_call(), &Softphone::default())
        .unwrap()
        .iter()
        .map(|m| m.wire_type().to_owned())
        .collect()
}

#[test]
fn each_vendor_posts_a_call_in_its_documented_order() {
    // PROTOCOLS.md §1: ringing, connected, ended; at wrap-up the notes,
    // the end-post-engagement disposition, the call log, then the
    // recording.
    assert_eq!(
        sequence(Vendor::Zoom),
        [
            "zcc-call-ringing",
            "zcc-call-connected",
            "zcc-call-ended",
            "zcc-add-note",
            "zcc-end-post-engagement",
            "zcc-phone-call-log",
            "zcc-call-recording",
        ]
    );
    // Seed 004 (LeadDesk Talk): call, connected, disconnected, completed.
    assert_eq!(
        sequence(Vendor::LeadDesk),
        ["call", "connected", "disconnected", "completed"]
    );
    // Seed 001 (CCAI adapter): New_Call when the agent is connected,
    // End_Call when it ends; nothing while it rings or after.
    assert_eq!(sequence(Vendor::Ccai), ["New_Call", "End_Call"]);
}

#[test]
fn zoom_search_answers_and_automatic_pops() {
    use cti_protocol::model::{Command, CrmContact};
    // Seed 003: one contact answers a search as an object; none as `{}`.
    let one = Command::AnswerLookup {
        reply_to: ReplyKind::Search,
        contacts: vec![CrmContact::new("c-42", "Ada Lovelace").phone("+14155550100")],
    };
    let wire = one.render(Vendor::Zoom).unwrap().to_value();
    assert_eq!(wire["type"], "zcc-contact-search-response");
    assert_eq!(wire["data"]["id"], "c-42");
    let none = Command::AnswerLookup {
        reply_to: ReplyKind::Search,
        contacts: vec![],
    };
    assert_eq!(
        none.render(Vendor::Zoom).unwrap().to_value()["data"],
        serde_json::json!({})
    );
    let two = Command::AnswerLookup {
        reply_to: ReplyKind::Search,
        contacts: vec![CrmContact::new("a", "A"), CrmContact::new("b", "B")],
    };
    assert!(two.render(Vendor::Zoom).unwrap().to_value()["data"].is_array());
    // The incoming-call answers stay arrays.
    let phone = Command::AnswerLookup {
        reply_to: ReplyKind::IncomingPhone,
        contacts: vec![CrmContact::new("c-42", "Ada")],
    };
    assert!(phone.render(Vendor::Zoom).unwrap().to_value()["data"].is_array());

    // PROTOCOLS.md §1 message 9: an automatic pop carries the raw number
    // or address, a chosen contact its record id.
    for (id, want) in [
        (
            "+14155550100",
            ScreenPopTarget::Address("+14155550100".into()),
        ),
        (
            "ada@example.com",
            ScreenPopTarget::Address("ada@example.com".into()),
        ),
        ("003A000001", ScreenPopTarget::Record("003A000001".into())),
        ("12345", ScreenPopTarget::Record("12345".into())),
    ] {
        let msg = decode(
            Vendor::Zoom,
            &format!(r#"{{"type":"zcc-screen-pop","data":{{"id":"{id}"}}}}"#),
        )
        .unwrap();
        assert_eq!(msg.event_kind(), Some(EventKind::ScreenPop(want)), "{id}");
    }
}

/// The accessors a CRM reaches for first, on the vendors' own examples:
/// the caller's number is one call away, whichever vendor rang.
#[test]
fn caller_and_interaction_id_are_one_call_away() {
    let event = |vendor: Vendor, posted: &str| {
        cti_protocol::decode(vendor, posted)
            .unwrap_or_else(|e| panic!("{posted}: {e}"))
            .into_event()
            .unwrap_or_else(|m| panic!("no neutral meaning: {}", m.raw()))
    };
    // Zoom's ring and its contact lookup (seed 003).
    let ring = event(
        Vendor::Zoom,
        r#"{"type":"zcc-call-ringing","data":{"channel":"voice","createTs":1714557600000,"engagementId":"WSgT4SxZT1GD8RgAgkebfg","from":"+14155550100","queueName":"Billing","to":"+18005550199","isConference":false,"isTransfer":false}}"#,
    );
    assert_eq!(ring.caller(), Some("+14155550100"));
    assert_eq!(ring.interaction_id(), Some("WSgT4SxZT1GD8RgAgkebfg"));
    let lookup = event(
        Vendor::Zoom,
        r#"{"type":"zcc-incomingPhone-request","data":{"incomingPhoneNumber":"+14155550100","engagementId":"WSgT4SxZT1GD8RgAgkebfg","channel":"voice"}}"#,
    );
    assert_eq!(lookup.caller(), Some("+14155550100"));
    // LeadDesk's incoming call, its number written as a JSON number
    // (seed 004).
    let call = event(
        Vendor::LeadDesk,
        r#"{"action":"call","id":123,"number":358401234567,"direction":"in","ringStart":"2024-03-05 14:07:09"}"#,
    );
    assert_eq!(call.caller(), Some("358401234567"));
    assert_eq!(call.interaction_id(), Some("123"));
    // CCAI's adapter names the call, not the customer (seed 001).
    let new_call = event(
        Vendor::Ccai,
        r#"{"type":"New_Call","data":{"agent_id":1,"agent_custom_id":"007","agent_email":"agent.one@example.com","queue_id":8469,"queue_path":"Developers / Team A","campaign_id":1432,"campaign_name":"Survey","call_id":103646,"session_type":"Voice Campaign (UJET)"}}"#,
    );
    assert_eq!(new_call.caller(), None);
    assert_eq!(new_call.interaction_id(), Some("103646"));
    // Events about no interaction have neither (PROTOCOLS.md §1).
    let status = event(
        Vendor::Zoom,
        r#"{"type":"zcc-agent-status-notification","data":{"statusCode":"21","parentStatusCode":"2","status":"Not Ready","subReason":"Lunch"}}"#,
    );
    assert_eq!((status.caller(), status.interaction_id()), (None, None));
}
