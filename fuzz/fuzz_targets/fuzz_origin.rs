#![no_main]
//! Fuzzes origin and allowlist parsing: no panic; a parsed origin prints
//! to text that parses back to the same origin; an allowlist built from a
//! pattern never admits `null`, and admits an exact origin it was built from.

use cti_protocol::origin::{Origin, OriginAllowlist};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(origin) = Origin::parse(text) {
        let printed = origin.to_string();
        let back = Origin::parse(&printed).expect("a printed origin parses");
        assert_eq!(back, origin);
        if !origin.is_opaque() {
            let list = OriginAllowlist::parse([printed.as_str()]).expect("an origin is a pattern");
            assert!(list.allows(&origin));
        }
    }
    if let Ok(list) = OriginAllowlist::parse(text.split(',')) {
        assert!(!list.allows(&Origin::opaque()));
        assert!(!list.allows_str("null"));
        for p in list.patterns() {
            OriginAllowlist::parse([p.as_str()]).expect("a printed pattern parses");
        }
    }
});
