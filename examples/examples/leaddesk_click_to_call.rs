//! Click-to-call with LeadDesk Talk: wait for Talk's `login`, pin the
//! target origin it announces, then post a `call` command there.
//!
//! Run: `cargo run -p cti-examples --example leaddesk_click_to_call`

use cti_protocol::model::{Command, EventKind};
use cti_protocol::origin::{Origin, vendor};
use cti_protocol::{Vendor, decode};

fn main() -> Result<(), cti_protocol::Error> {
    let login = r#"{"action":"login","language":"en","origin":"https://login-ce2.leaddesk.com"}"#;
    let event = decode(Vendor::LeadDesk, login)?.into_event().ok();
    let Some(EventKind::AgentLoggedIn {
        vendor_origin: Some(announced),
        ..
    }) = event.map(|e| e.kind)
    else {
        println!("Talk has not logged in yet: click-to-call stays disabled");
        return Ok(());
    };
    // Trust the announced origin only if it is one of LeadDesk's.
    let target = Origin::parse(announced.trim_end_matches('/'))?;
    if !vendor::leaddesk().allows(&target) {
        println!("refusing to post to {target}: not a LeadDesk origin");
        return Ok(());
    }
    let dial = Command::Dial {
        number: "+358401234567".into(),
        immediately: true,
        contact: None,
    };
    println!(
        "postMessage({}, \"{target}\")",
        dial.render(Vendor::LeadDesk)?.encode()
    );

    // Talk answers failures with an `error` message, never with a reply.
    let reply = decode(
        Vendor::LeadDesk,
        r#"{"action":"error","message":"general"}"#,
    )?;
    println!("Talk said: {:?}", reply.event_kind());
    Ok(())
}
