#![no_main]
//! Fuzzes the Zoom decoder: no panic, and stable re-encoding.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cti_fuzz::check_decode(cti_protocol::Vendor::Zoom, data);
});
