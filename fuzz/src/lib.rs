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
