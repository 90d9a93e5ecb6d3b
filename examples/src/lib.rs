//! Runnable examples for the cti-rs crates; see `examples/examples/`.
//!
//! - `zoom_host_logic`: the logic behind a CRM page that embeds the Zoom
//!   Smart Embed softphone: check the sender's origin, decode, answer
//!   contact lookups from a small CRM, log completed calls.
//! - `leaddesk_click_to_call`: the messages a host page exchanges with
//!   LeadDesk Talk for click-to-call, with the target origin pinned from
//!   Talk's own `login` message.
//! - `streem_button`: a Salesforce-style "Start Streem" link for a case,
//!   every value escaped, and the server-side parse that refuses an
//!   outside redirect.
//! - `ccai_record_pop`: a host page's handling of CCAI's
//!   `CRM_Record_Pop`: sender checked, object or string form decoded,
//!   only records on the CRM's own origin opened.
//! - `ccai_generic_crm_server`: a CRM serving CCAI's generic CRM API
//!   (find and create contacts), exercised by cti-client's engine with the
//!   same endpoint descriptions.
//! - `ameyo_dispose_client`: a CRM disposing calls and dialling the next
//!   through Ameyo's REST API with cti-client, refusals as typed errors.
//! - `ameyo_sso_server`: the CRM's SSO endpoint for Ameyo logins, with
//!   cti-client's `SsoClient` playing Ameyo.
//! - `vendor_cti_server`: a vendor CTI server on cti-media (routing,
//!   recording, the Ameyo-compatible routes), driven by a CRM that
//!   disposes a call and downloads its recording with cti-client.
//!
//! The binary `crm-demo` runs [`crm`]: a small CRM embedding the
//! reference softphones from a second origin.

pub mod crm;

/// The repository README's Rust snippets, compiled and run as doctests so
/// the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
