//! Cross-crate tests for cti-rs, compiled as one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod client_ameyo;
mod client_generic;
mod client_properties;
mod client_sso;
mod client_voicelog;
mod demo_attacks;
mod fixtures;
mod hostile;
mod log_capture;
mod properties;
mod schemas;
mod server_kit_logs;
mod simulator;
mod templates;
