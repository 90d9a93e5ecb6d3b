#![no_main]
//! Fuzzes the session update e-mail parser: any bytes give a record or a
//! typed error, never a panic; a parsed update built again parses equal.

use cti_media::email::{build_update, parse_update};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(update) = parse_update(data) {
        let again = build_update(
            "a@b.example",
            "c@d.example",
            &update.metadata,
            update.transcript.as_deref(),
        )
        .expect("a parsed update builds");
        let back = parse_update(&again).expect("and parses again");
        assert_eq!(back.metadata, update.metadata);
    }
});
