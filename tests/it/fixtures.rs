//! Every fixture decodes, is a known type (but for the deliberate unknown
//! ones), normalises, and re-encodes to equal JSON; every catalogue type
//! has a fixture.

use std::collections::BTreeSet;
use std::path::PathBuf;

use cti_protocol::ccai::{AdapterEvent, WireForm};
use cti_protocol::leaddesk::{self, TalkCommand, TalkEvent, TalkMessage};
use cti_protocol::message::JsonType;
use cti_protocol::zoom::{ZoomCommand, ZoomEvent, ZoomMessage};
use cti_protocol::{Body, Vendor, decode};
use serde_json::Value;

fn fixture(path: &str) -> Vec<String> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The JSON the frame meant: for a CCAI string message, the object inside.
fn posted_value(line: &str) -> Value {
    match serde_json::from_str(line).unwrap() {
        Value::String(inner) => serde_json::from_str(&inner).unwrap(),
        v => v,
    }
}

fn round_trip(vendor: Vendor, path: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in fixture(path) {
        let msg = decode(vendor, &line).unwrap_or_else(|e| panic!("{path}: {line}: {e}"));
        assert_eq!(
            msg.to_value(),
            posted_value(&line),
            "{path}: re-encoding changed {line}"
        );
        assert_eq!(
            msg.encode(),
            line,
            "{path}: the raw text is kept byte for byte"
        );
        assert!(
            msg.unreadable().is_empty(),
            "{path}: {line}: {:?}",
            msg.unreadable()
        );
        // The typed message re-encodes to the same JSON too (members
        // this version does not model aside).
        let typed = match msg.body() {
            Body::Zoom(m) => serde_json::to_value(m).unwrap(),
            Body::LeadDesk(m) => serde_json::to_value(m).unwrap(),
            Body::Ccai(m) => serde_json::to_value(m).unwrap(),
            _ => posted_value(&line),
        };
        assert_subset(&typed, &posted_value(&line), &line);
        if msg.is_known() {
            seen.insert(msg.wire_type().to_owned());
        }
        // Normalising never panics, and keeps the message.
        let _ = msg.event_kind();
    }
    seen
}

/// Every member of `typed` is in `posted` with the same value (`posted`
/// may have more: members this version does not model).
fn assert_subset(typed: &Value, posted: &Value, line: &str) {
    match (typed, posted) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in t {
                match p.get(k) {
                    Some(pv) => assert_subset(v, pv, line),
                    // Absent on the wire and empty in the typed form
                    // (`data` of a message posted without one).
                    None => assert!(
                        v.is_null() || v == &Value::Object(serde_json::Map::new()),
                        "{line}: `{k}` was not posted"
                    ),
                }
            }
        }
        (Value::Array(t), Value::Array(p)) => {
            assert_eq!(t.len(), p.len(), "{line}");
            for (a, b) in t.iter().zip(p) {
                assert_subset(a, b, line);
            }
        }
        _ => assert_eq!(typed, posted, "{line}"),
    }
}

fn assert_covers(seen: &BTreeSet<String>, catalogue: &[&str], what: &str) {
    let missing: Vec<_> = catalogue.iter().filter(|t| !seen.contains(**t)).collect();
    assert!(missing.is_empty(), "{what}: no fixture for {missing:?}");
}

#[test]
fn zoom_events_round_trip_and_cover_the_catalogue() {
    let seen = round_trip(Vendor::Zoom, "zoom/events.jsonl");
    assert_covers(&seen, ZoomEvent::known_types(), "zoom events");
}

#[test]
fn zoom_commands_round_trip_and_cover_the_catalogue() {
    let seen = round_trip(Vendor::Zoom, "zoom/commands.jsonl");
    assert_covers(&seen, ZoomCommand::known_types(), "zoom commands");
    for line in fixture("zoom/commands.jsonl") {
        let msg = decode(Vendor::Zoom, &line).unwrap();
        assert!(
            matches!(msg.body(), Body::Zoom(ZoomMessage::Command(_))),
            "{line}"
        );
    }
}

#[test]
fn leaddesk_events_round_trip_and_cover_the_catalogue() {
    let seen = round_trip(Vendor::LeadDesk, "leaddesk/events.jsonl");
    assert_covers(&seen, TalkEvent::known_types(), "leaddesk events");
}

#[test]
fn leaddesk_commands_round_trip_and_cover_the_catalogue() {
    let mut seen = BTreeSet::new();
    for line in fixture("leaddesk/commands.jsonl") {
        // `call` is ambiguous on the wire; decode commands as commands.
        let cmd = leaddesk::decode_command(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            matches!(cmd.body(), Body::LeadDesk(TalkMessage::Command(_))),
            "{line}"
        );
        assert_eq!(cmd.to_value(), posted_value(&line));
        seen.insert(cmd.wire_type().to_owned());
    }
    assert_covers(&seen, TalkCommand::known_types(), "leaddesk commands");
}

#[test]
fn ccai_events_round_trip_and_cover_the_catalogue() {
    let seen = round_trip(Vendor::Ccai, "ccai/events.jsonl");
    assert_covers(&seen, AdapterEvent::known_types(), "ccai events");
}

#[test]
fn unknown_types_and_fields_are_kept() {
    let line = r#"{"type":"zcc-call-ringing","data":{"engagementId":"E1","futureField":{"nested":[1,2,3]},"queueName":null},"meta":"kept"}"#;
    let msg = decode(Vendor::Zoom, line).unwrap();
    let Body::Zoom(ZoomMessage::Event(ZoomEvent::CallRinging(r))) = msg.body() else {
        panic!("{msg:?}")
    };
    assert_eq!(r.engagement_id.as_str(), "E1");
    assert_eq!(r.queue_name, None);
    assert!(msg.unreadable().is_empty());
    assert_eq!(msg.encode(), line);
    assert_eq!(msg.to_value()["data"]["futureField"]["nested"][2], 3);

    let unknown = decode(
        Vendor::Zoom,
        r#"{"type":"zcc-future","data":[1,{"a":null}]}"#,
    )
    .unwrap();
    assert!(matches!(unknown.body(), Body::Unknown));
    assert_eq!(unknown.wire_type(), "zcc-future");
    assert_eq!(
        unknown.raw(),
        r#"{"type":"zcc-future","data":[1,{"a":null}]}"#
    );

    let talk = decode(
        Vendor::LeadDesk,
        r#"{"action":"transferred","to":"agent-7"}"#,
    )
    .unwrap();
    assert!(!talk.is_known());
    assert_eq!(talk.wire_type(), "transferred");
}

#[test]
fn leaddesk_quirks() {
    let msg = decode(
        Vendor::LeadDesk,
        r#"{"action":"disconnected","callEnd":"2024 03-05 14:11:02"}"#,
    )
    .unwrap();
    let Body::LeadDesk(TalkMessage::Event(TalkEvent::Disconnected(d))) = msg.body() else {
        panic!()
    };
    let end = d.call_end.as_ref().unwrap();
    assert_eq!(end.at().to_string(), "2024-03-05T14:11:02");
    assert_eq!(msg.to_value()["callEnd"], "2024 03-05 14:11:02");

    // A time that cannot be read leaves the message whole.
    let msg = decode(
        Vendor::LeadDesk,
        r#"{"action":"connected","callStart":"soon"}"#,
    )
    .unwrap();
    let Body::LeadDesk(TalkMessage::Event(TalkEvent::Connected(c))) = msg.body() else {
        panic!()
    };
    assert_eq!(c.call_start, None);
    assert_eq!(msg.unreadable()[0].path, "callStart");
    assert_eq!(msg.unreadable()[0].found, JsonType::String);

    let jwt = decode(
        Vendor::LeadDesk,
        r#"{"action":"jwt","jwt":"top.secret.token"}"#,
    )
    .unwrap();
    assert!(!format!("{jwt:?}").contains("secret"));
    assert_eq!(jwt.to_value()["jwt"], "top.secret.token");
}

#[test]
fn ccai_accepts_both_forms_and_id_types() {
    let object = r#"{"type":"Agent_Login","data":{"agent_id":1}}"#;
    let string = serde_json::to_string(object).unwrap();
    let a = decode(Vendor::Ccai, object).unwrap();
    let b = decode(Vendor::Ccai, &string).unwrap();
    assert_eq!(a.body(), b.body());
    assert_eq!(a.form(), WireForm::Object);
    assert_eq!(b.form(), WireForm::JsonString);
    assert_eq!(b.encode(), string);
    assert_eq!(a.to_value(), b.to_value());

    let s = decode(
        Vendor::Ccai,
        r#"{"type":"Agent_Login","data":{"agent_id":"1"}}"#,
    )
    .unwrap();
    let Body::Ccai(AdapterEvent::AgentLogin(l)) = s.body() else {
        panic!()
    };
    assert_eq!(l.agent_id.as_str(), "1");
    assert_eq!(serde_json::to_value(l).unwrap()["agent_id"], "1");
}

#[test]
fn errors_name_what_is_wrong() {
    use cti_protocol::ErrorKind;
    let cases: &[(Vendor, &str, ErrorKind, &str)] = &[
        (Vendor::Zoom, "", ErrorKind::Syntax, "EOF"),
        (Vendor::Zoom, "{\"type\":", ErrorKind::Syntax, "EOF"),
        (Vendor::Zoom, "[1,2]", ErrorKind::Envelope, "JSON object"),
        (Vendor::Zoom, "{\"data\":{}}", ErrorKind::Envelope, "`type`"),
        (
            Vendor::Zoom,
            "{\"type\":5}",
            ErrorKind::Envelope,
            "expected `type` to be a string",
        ),
        (
            Vendor::LeadDesk,
            "{\"number\":1}",
            ErrorKind::Envelope,
            "`action`",
        ),
        (
            Vendor::Ccai,
            "\"not a message\"",
            ErrorKind::Syntax,
            "posted string",
        ),
        (
            Vendor::Zoom,
            "{\"type\":\"a\",\"type\":\"b\"}",
            ErrorKind::Envelope,
            "duplicate",
        ),
    ];
    for (vendor, input, kind, needle) in cases {
        let err = decode(*vendor, input).unwrap_err();
        assert_eq!(err.kind(), *kind, "{input}: {err}");
        assert!(
            err.to_string().contains(needle),
            "{input}: `{err}` does not mention {needle}"
        );
    }
}

/// Known messages with a missing or unreadable field are that message,
/// with the field named; they used to be refused whole.
#[test]
fn known_messages_with_odd_fields_are_kept() {
    let cases: &[(Vendor, &str, &[&str])] = &[
        (Vendor::Zoom, r#"{"type":"zcc-call-ended","data":{}}"#, &[]),
        (
            Vendor::Zoom,
            r#"{"type":"zcc-call-ended","data":{"engagementId":"e","completeTs":"x"}}"#,
            &["completeTs"],
        ),
        (Vendor::Zoom, r#"{"type":"zcc-call-ended"}"#, &[]),
        (Vendor::LeadDesk, r#"{"action":"call","id":1}"#, &[]),
        (
            Vendor::Ccai,
            r#"{"type":"New_Call","data":{"agent_id":1,"call_id":1.5}}"#,
            &["call_id"],
        ),
    ];
    for (vendor, input, unreadable) in cases {
        let msg = decode(*vendor, input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert!(msg.is_known(), "{input}");
        let paths: Vec<_> = msg.unreadable().iter().map(|u| u.path.as_str()).collect();
        assert_eq!(&paths, unreadable, "{input}");
        assert_eq!(msg.encode(), *input);
        assert!(msg.event_kind().is_some(), "{input} still has its meaning");
    }
}

/// CCAI session metadata records: the call and chat spellings, both
/// agent_info shapes, unknown keys kept, and an exact round trip.
#[test]
fn ccai_session_metadata_fixtures_round_trip() {
    use cti_protocol::ccai::metadata::{AgentInfo, SessionMetadata};
    use cti_protocol::ccai::storage::{Session, StoredFile};

    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ccai/metadata");
    for name in ["call-103646.json", "chat-73522.json"] {
        let text = std::fs::read_to_string(format!("{root}/{name}"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoded = SessionMetadata::decode(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back: Value = serde_json::from_str(&decoded.to_json()).unwrap_or_default();
        let original: Value = serde_json::from_str(&text).unwrap_or_default();
        // Equal but for `null` members of modelled keys, which are left out.
        assert_eq!(
            crate::without_nulls(&back),
            crate::without_nulls(&original),
            "{name}"
        );
        // The file name and the record agree.
        let file = StoredFile::parse(&format!("ujet-metadata/{name}"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match (&decoded, file) {
            (SessionMetadata::Call(call), StoredFile::Metadata(Session::Call(id))) => {
                assert_eq!(call.id, id);
                assert_eq!(call.call_duration, Some(434));
                assert_eq!(call.sub_status, None);
                assert_eq!(
                    call.ends_at
                        .as_ref()
                        .and_then(|t| t.at())
                        .map(|t| t.as_second()),
                    Some(1_795_428_598)
                );
                assert!(
                    matches!(&call.agent_info, Some(AgentInfo::Human(h)) if h.email.as_deref() == Some("ada@example.com"))
                );
                assert!(call.extra.contains_key("menu") && call.extra.contains_key("transfers"));
            }
            (SessionMetadata::Chat(chat), StoredFile::Metadata(Session::Chat(id))) => {
                assert_eq!(chat.id, id);
                assert_eq!(chat.sub_status.as_deref(), Some("connected_with_agent"));
                assert!(
                    matches!(&chat.agent_info, Some(AgentInfo::Virtual(v)) if v.va_alias == "helper-bot")
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // Typed errors, never panics.
    for bad in [
        "",
        "[]",
        "{}",
        r#"{"id": -1}"#,
        r#"{"id": 1, "call_duration": "long"}"#,
        r#"{"id": 1, "agent_info": 7}"#,
        // Found by the fuzz target: a key given twice decided the shape.
        r#"{"id": 1, "chat_type": "x", "agent_info": {"va_alias": "a", "va_alias": "b"}}"#,
        r#"{"id": 1, "agent_info": {"va_alias": null}}"#,
    ] {
        assert!(SessionMetadata::decode(bad).is_err(), "{bad}");
    }
}
