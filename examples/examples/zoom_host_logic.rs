//! The logic of a CRM page that embeds Zoom Smart Embed, without the
//! browser: every message is checked against Zoom's origins, decoded,
//! normalised, and answered in Zoom's dialect.
//!
//! Run: `cargo run -p cti-examples --example zoom_host_logic`

use std::collections::BTreeMap;

use cti_protocol::model::{Command, CrmContact, EventKind, LookupQuery};
use cti_protocol::origin::vendor;
use cti_protocol::{Vendor, decode};

/// A tiny CRM: contacts by phone number.
fn crm() -> BTreeMap<&'static str, CrmContact> {
    BTreeMap::from([
        (
            "+14155550100",
            CrmContact::new("c-1", "Ada Lovelace")
                .phone("+14155550100")
                .entity("contact"),
        ),
        (
            "+14155550101",
            CrmContact::new("c-2", "Alan Turing")
                .phone("+14155550101")
                .entity("lead"),
        ),
    ])
}

fn main() -> Result<(), cti_protocol::Error> {
    let crm = crm();
    let allowed = vendor::zoom();
    // What arrives in `window.onmessage`: (event.origin, event.data).
    let inbox = [
        ("https://zoom.us", r#"{"type":"zcc-init-config-request"}"#),
        (
            "https://evil.example",
            r#"{"type":"zcc-screen-pop","data":{"id":"c-1"}}"#,
        ),
        (
            "https://zoom.us",
            r#"{"type":"zcc-incomingPhone-request","data":{"incomingPhoneNumber":"+14155550100","engagementId":"WSgT4SxZT1GD8RgAgkebfg","channel":"voice"}}"#,
        ),
        (
            "https://zoom.us",
            r#"{"type":"zcc-screen-pop","data":{"id":"c-1"}}"#,
        ),
        (
            "https://zoom.us",
            r#"{"type":"zcc-phone-call-log","data":{"engagementId":"WSgT4SxZT1GD8RgAgkebfg","objectRecord":{"callType":"inbound","callDuration":"4:07","notes":["Wants a refund"],"dispositionCode":"Resolved"}}}"#,
        ),
    ];

    for (origin, data) in inbox {
        if !allowed.allows_str(origin) {
            println!("ignored a message from {origin}: not a Zoom origin");
            continue;
        }
        let Ok(event) = decode(Vendor::Zoom, data)?.into_event() else {
            continue;
        };
        let reply = match &event.kind {
            EventKind::ConfigRequested => Some(Command::Configure {
                screen_pop_on: Some("RINGING".into()),
                recording_urls: Some(true),
                prevent_manual_dialing: None,
            }),
            EventKind::ContactLookupRequested(lookup) => {
                let contacts = match &lookup.query {
                    LookupQuery::Phone(p) => crm.get(p.as_str()).cloned().into_iter().collect(),
                    _ => Vec::new(),
                };
                Some(Command::AnswerLookup {
                    reply_to: lookup.reply_kind,
                    contacts,
                })
            }
            EventKind::ScreenPop(target) => {
                println!("screen pop: open {target:?}");
                None
            }
            EventKind::InteractionCompleted(done) => {
                println!(
                    "call log: {} s, disposition {:?}, notes {:?}",
                    done.duration_seconds.unwrap_or_default(),
                    done.disposition,
                    done.notes
                );
                None
            }
            other => {
                println!("noted: {other:?}");
                None
            }
        };
        if let Some(command) = reply {
            // Post this to the iframe with the pinned target origin, never '*'.
            println!(
                "postMessage({}, \"{origin}\")",
                command.render(Vendor::Zoom)?.encode()
            );
        }
    }
    Ok(())
}
