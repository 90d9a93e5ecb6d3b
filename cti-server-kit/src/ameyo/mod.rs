//! Ameyo, both sides of the wire.
//!
//! **CRM side** (what a CRM exposes to Ameyo):
//! - [`sso`]: the single SSO endpoint that takes `login` and `logout`,
//!   as a JSON body or the form field `request=`, with sessions on a
//!   [`SessionStore`](crate::store::SessionStore), constant-time checks
//!   and login rate limits per user and per client address;
//! - [`params`]: typed extractors for the knowledge-base, customer,
//!   preview and dispose URLs Ameyo opens, a `crmSessionId` guard and a
//!   dispose-callback route.
//!
//! **Vendor side** (for vendors building an Ameyo-compatible CTI
//! server): [`vendor`], the dispose, click-to-dial, dispose-and-dial,
//! voice-log and legacy `dacx` dispose routes over a [`CtiBackend`]
//! trait, with Ameyo's token policies.
//!
//! Every route answers in Ameyo's own JSON shapes, rejects bad input with
//! a 4xx that says what is wrong, and never shows a password, token or
//! session id in `Debug` output or logs.
//!
//! [`CtiBackend`]: vendor::CtiBackend

pub mod params;
pub mod sso;
pub mod vendor;
