#![no_main]
//! Fuzzes the CCAI session metadata decoder: no panic; whatever decodes
//! re-encodes to JSON equal to the input, and decodes again equal.

use cti_protocol::ccai::metadata::SessionMetadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = SessionMetadata::decode(text) {
        let again = m.to_json();
        let a: serde_json::Value = serde_json::from_str(text).expect("decoded input is JSON");
        let b: serde_json::Value = serde_json::from_str(&again).expect("output is JSON");
        assert_eq!(a, b);
        assert_eq!(SessionMetadata::decode(&again).expect("decodes again"), m);
    }
});
