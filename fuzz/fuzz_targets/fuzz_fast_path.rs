#![no_main]
//! Fuzzes the decoders' fast path against serde_json alone: for every
//! dialect, the two must give the same message or the same error.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cti_fuzz::check_fast_path(data);
});
