//! Property tests: typed values survive encode → decode; arbitrary JSON
//! never panics a decoder, and whatever decodes re-encodes to equal JSON.

use cti_protocol::leaddesk::{self, TalkEvent};
use cti_protocol::types::{EngagementId, NumOrStr, TalkTime};
use cti_protocol::zoom::{self, ZoomCommand, ZoomEvent};
use cti_protocol::{Vendor, decode};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including the characters JSON has to escape.
    prop_oneof![any::<String>(), "[+&=#%/?\"\\\\\u{0}-\u{1f}a-z ]{0,12}"]
}

fn num_or_str() -> impl Strategy<Value = NumOrStr> {
    prop_oneof![
        any::<i64>().prop_map(NumOrStr::number),
        text().prop_map(NumOrStr::text)
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys a vendor might really send, so that known fields get exercised
/// with wrong and right types alike.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "engagementId", "from", "to", "queueId", "queueName", "createTs", "acceptTs", "completeTs",
            "channel", "direction", "id", "name", "phone", "email", "entity", "query", "comment",
            "objectRecord", "callDuration", "callStartTime", "notes", "reasonCode", "statusCode",
            "number", "ringStart", "callStart", "callEnd", "call", "answered", "duration", "reason",
            "agent_id", "call_id", "chat_id", "queue_id", "session_type", "cobrowse_session_id",
            "cobrowse_session_requested_by", "cobrowse_session_remote_control", "recordUrl", "jwt",
        ]).prop_map(str::to_owned),
        1 => text(),
    ]
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json_value(), 0..8).prop_map(|m| m.into_iter().collect())
}

fn any_type() -> impl Strategy<Value = String> {
    let mut known: Vec<&str> = Vec::new();
    known.extend(ZoomEvent::KNOWN_TYPES);
    known.extend(ZoomCommand::KNOWN_TYPES);
    known.extend(TalkEvent::KNOWN_TYPES);
    known.extend(leaddesk::TalkCommand::KNOWN_TYPES);
    known.extend(cti_protocol::ccai::AdapterEvent::KNOWN_TYPES);
    prop_oneof![3 => prop::sample::select(known).prop_map(str::to_owned), 1 => text()]
}

fn message() -> impl Strategy<Value = Value> {
    prop_oneof![
        (any_type(), object(), prop::option::of(object())).prop_map(|(t, data, extra)| {
            let mut m = extra.unwrap_or_default();
            m.insert("type".into(), Value::String(t));
            m.insert("data".into(), Value::Object(data));
            Value::Object(m)
        }),
        (any_type(), object()).prop_map(|(t, mut m)| {
            m.insert("action".into(), Value::String(t));
            Value::Object(m)
        }),
        json_value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_json_never_panics_and_decoded_messages_round_trip(msg in message()) {
        let text = serde_json::to_string(&msg).unwrap();
        for vendor in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
            if let Ok(decoded) = decode(vendor, &text) {
                let _ = decoded.event_kind();
                prop_assert_eq!(decoded.to_value(), msg.clone(), "{:?} {}", vendor, text);
            }
        }
        // The CCAI string form too.
        let as_string = serde_json::to_string(&text).unwrap();
        if let Ok(decoded) = decode(Vendor::Ccai, &as_string) {
            prop_assert_eq!(decoded.to_value(), msg);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for vendor in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
                let _ = decode(vendor, text);
            }
        }
    }

    #[test]
    fn typed_zoom_values_round_trip(
        id in text(), from in prop::option::of(text()), ts in prop::option::of(any::<i64>()),
        flags in prop::option::of(any::<bool>()), extra in object(),
        notes in prop::option::of(prop::collection::vec(text(), 0..4)), secs in 0u64..100_000,
    ) {
        let mut ringing = zoom::CallRinging::default()
            .engagement_id(EngagementId::from(id.clone()))
            .from(from.clone().map(Into::into))
            .create_ts(ts.map(cti_protocol::types::EpochMillis))
            .is_transfer(flags);
        for (k, v) in &extra {
            if !["channel", "createTs", "engagementId", "from", "queueName", "to", "isConference", "isTransfer"].contains(&k.as_str()) {
                ringing.extra.insert(k.clone(), v.clone());
            }
        }
        let event = ZoomEvent::CallRinging(Box::new(ringing));
        prop_assert_eq!(ZoomEvent::decode(&event.encode()).unwrap(), event.clone());

        let record = zoom::CallLogRecord::default()
            .call_duration(cti_protocol::types::ClockDuration::minutes_seconds(secs))
            .notes(notes.map(|n| n.into_iter().map(Into::into).collect::<Vec<_>>()))
            .from(from.map(Into::into));
        let log = ZoomEvent::PhoneCallLog(Box::new(zoom::PhoneCallLog::default().object_record(record).engagement_id(EngagementId::from(id))));
        let back = ZoomEvent::decode(&log.encode()).unwrap();
        prop_assert_eq!(&back, &log);
        if let ZoomEvent::PhoneCallLog(l) = back {
            prop_assert_eq!(l.object_record.call_duration.and_then(|d| d.seconds()), Some(secs));
        }

        let contacts: Vec<zoom::Contact> = vec![zoom::Contact::new("c1", "n").phone(Some("+1".into()))];
        let cmd = ZoomCommand::IncomingPhoneResponse(Box::new(zoom::ContactMatches::list(contacts)));
        prop_assert_eq!(ZoomCommand::decode(&cmd.encode()).unwrap(), cmd);
    }

    #[test]
    fn typed_leaddesk_values_round_trip(
        number in num_or_str(), id in any::<i64>(), comment in prop::option::of(text()),
        y in 1970i16..2100, mo in 1i8..=12, d in 1i8..=28, h in 0i8..24, mi in 0i8..60, s in 0i8..60,
    ) {
        let at = jiff::civil::DateTime::new(y, mo, d, h, mi, s, 0).unwrap();
        let call = TalkEvent::Call(Box::new(
            leaddesk::RingingCall::default()
                .id(Some(cti_protocol::types::TalkCallId::from(id)))
                .number(number)
                .ring_start(TalkTime::from_datetime(at)),
        ));
        prop_assert_eq!(TalkEvent::decode(&call.encode()).unwrap(), call);
        let done = TalkEvent::Completed(Box::new(leaddesk::Completed::default().call(
            leaddesk::CompletedCall::default().id(Some(cti_protocol::types::TalkCallId::from(id))).comment(comment.map(Into::into)).answered(false),
        )));
        prop_assert_eq!(TalkEvent::decode(&done.encode()).unwrap(), done);
    }
}
