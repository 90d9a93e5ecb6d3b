#![no_main]
//! Fuzzes what the media stores read back: an interaction record and an
//! event. No panic; whatever decodes re-encodes to something that decodes
//! equal (the stores' round trip).

use cti_media::interaction::Interaction;
use cti_media::store::{StoreEvent, decode_interaction};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(i) = decode_interaction("fuzz", data) {
        let again = serde_json::to_vec(&i).expect("an interaction encodes");
        let back: Interaction = decode_interaction("fuzz", &again).expect("and decodes again");
        assert_eq!(back, i);
    }
    if let Ok(e) = serde_json::from_slice::<StoreEvent>(data) {
        let again = serde_json::to_vec(&e).expect("an event encodes");
        let back: StoreEvent = serde_json::from_slice(&again).expect("and decodes again");
        assert_eq!(back, e);
    }
});
