//! CCAI record pop: the agent adapter posts `CRM_Record_Pop` with the URL
//! of the record to show. The host page checks who sent it (CCAI's
//! origins only), decodes it (an object or a JSON string, as the adapter
//! may post either), and opens the record only when it is on the CRM's
//! own origin: a message cannot send the agent elsewhere.
//!
//! Run: `cargo run -p cti-examples --example ccai_record_pop`

use cti_protocol::Body;
use cti_protocol::ccai::{self, AdapterEvent};
use cti_protocol::origin::{Origin, vendor};

/// What the page does with one `message` event.
fn on_message(sender: &str, data: &str, crm: &Origin) -> String {
    let Ok(sender) = Origin::parse(sender) else {
        return format!("ignored: `{sender}` is not an origin");
    };
    if !vendor::ccai().allows(&sender) {
        return format!("ignored: {sender} is not a CCAI origin");
    }
    let message = match ccai::decode(data) {
        Ok(message) => message,
        Err(e) => return format!("ignored: {e}"),
    };
    match message.body() {
        Body::Ccai(AdapterEvent::CrmRecordPop(pop)) => {
            let target = url::Url::parse(&pop.record_url)
                .ok()
                .and_then(|u| Origin::parse(u.origin().ascii_serialization().as_str()).ok());
            match target {
                Some(o) if o == *crm => format!("open {}", pop.record_url),
                _ => format!("refused: {} is not on {crm}", pop.record_url),
            }
        }
        _ => format!("not a record pop: {}", message.wire_type()),
    }
}

fn main() -> Result<(), cti_protocol::Error> {
    let crm = Origin::parse("https://crm.example")?;
    let adapter = "https://acme.us1.ccaiplatform.com";
    for (sender, data) in [
        (
            adapter,
            r#"{"type":"CRM_Record_Pop","data":{"recordUrl":"https://crm.example/contacts/42"}}"#,
        ),
        // The same, posted as a JSON string.
        (
            adapter,
            r#""{\"type\":\"CRM_Record_Pop\",\"data\":{\"recordUrl\":\"https://crm.example/contacts/7\"}}""#,
        ),
        // A record URL off the CRM: refused.
        (
            adapter,
            r#"{"type":"CRM_Record_Pop","data":{"recordUrl":"https://evil.example/phish"}}"#,
        ),
        // The right message from the wrong sender: ignored.
        (
            "https://evil.example",
            r#"{"type":"CRM_Record_Pop","data":{"recordUrl":"https://crm.example/contacts/1"}}"#,
        ),
        (
            adapter,
            r#"{"type":"New_Call","data":{"agent_id":7,"call_id":103646}}"#,
        ),
    ] {
        println!("{}", on_message(sender, data, &crm));
    }
    Ok(())
}
