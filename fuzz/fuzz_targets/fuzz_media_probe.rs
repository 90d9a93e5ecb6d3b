#![no_main]
//! Fuzzes the recording decoder (symphonia, WAV and MP3): any bytes give
//! measures or a typed error, never a panic or a hang.

use cti_media::recording::{Format, probe_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for hint in [Some(Format::Wav), Some(Format::Mp3), None] {
        if let Ok(info) = probe_bytes(data.to_vec(), hint) {
            assert!(info.sample_rate > 0 && info.channels > 0);
        }
    }
});
