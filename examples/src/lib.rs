//! Runnable examples for the cti-rs crates; see `examples/examples/`.
//!
//! - `zoom_host_logic`: the logic behind a CRM page that embeds the Zoom
//!   Smart Embed softphone: check the sender's origin, decode, answer
//!   contact lookups from a small CRM, log completed calls.
//! - `leaddesk_click_to_call`: the messages a host page exchanges with
//!   LeadDesk Talk for click-to-call, with the target origin pinned from
//!   Talk's own `login` message.

/// The repository README's Rust snippets, compiled and run as doctests so
/// the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
