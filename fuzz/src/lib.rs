//! Shared checks for the fuzz targets.

use cti_protocol::{Vendor, decode};

/// Decoding any text never panics; whatever decodes keeps its raw text
/// byte for byte, decodes again to the same message, and normalising it
/// never panics. Its typed form, re-encoded, decodes as the same known
/// type with nothing left unreadable.
pub fn check_decode(vendor: Vendor, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(msg) = decode(vendor, text) else { return };
    let _ = msg.event_kind();
    assert_eq!(msg.encode(), text, "the raw text is kept");
    let again = decode(vendor, msg.encode()).expect("a decoded message decodes again");
    assert_eq!(again, msg, "decoding is not stable");
    let typed = match msg.body() {
        cti_protocol::Body::Zoom(m) => serde_json::to_string(m).ok(),
        cti_protocol::Body::LeadDesk(m) => serde_json::to_string(m).ok(),
        cti_protocol::Body::Ccai(m) => serde_json::to_string(m).ok(),
        _ => None,
    };
    if let Some(typed) = typed {
        let back = decode(vendor, &typed).expect("a typed message encodes to a message");
        assert_eq!(back.wire_type(), msg.wire_type(), "{typed}");
        assert!(back.unreadable().is_empty(), "{typed}: {:?}", back.unreadable());
    }
}

