//! Shared checks for the fuzz targets.

use cti_protocol::{Vendor, decode};

/// Decoding any text never panics; whatever decodes re-encodes to JSON
/// that decodes to the same message, and normalising it never panics.
pub fn check_decode(vendor: Vendor, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(msg) = decode(vendor, text) else { return };
    let _ = msg.event_kind();
    let value = msg.to_value();
    let again = decode(vendor, &value.to_string()).expect("a re-encoded message decodes");
    assert_eq!(again.to_value(), value, "re-encoding is not stable");
}

/// The decoders' fast path gives serde_json's answer: the same message
/// (and the same re-encoding), or the same error, in every dialect.
pub fn check_fast_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for vendor in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
        let fast = decode(vendor, text);
        let slow = cti_protocol::__private::decode_without_fast_path(vendor, text);
        match (&fast, &slow) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{text}");
                assert_eq!(a.to_value(), b.to_value(), "{text}");
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.kind(), b.kind(), "{text}");
                assert_eq!(a.to_string(), b.to_string(), "{text}");
            }
            _ => panic!("{text}: fast {fast:?} against serde {slow:?}"),
        }
    }
}
