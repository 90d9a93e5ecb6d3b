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

#[cfg(feature = "media")]
pub mod media;
pub mod params;
pub mod sso;
pub mod vendor;

use axum::response::{IntoResponse as _, Response};
use http::StatusCode;

/// A stable error code for a status, for the `error` key the kit adds to
/// the vendors' failure bodies.
pub(crate) fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "too_large",
        415 => "unsupported_media_type",
        416 => "range_not_satisfiable",
        422 => "refused",
        429 => "rate_limited",
        503 => "unavailable",
        _ => "error",
    }
}

/// A vendor-shaped JSON answer. On failures (4xx, 5xx) the body also gets
/// the kit's two keys, `error` (a stable code: `code`, or one derived from
/// the status) and `message` (when the vendor shape has none), so every
/// refusal can be read the same way.
pub(crate) fn vendor_json(
    status: StatusCode,
    body: &impl serde::Serialize,
    code: Option<&str>,
    message: &str,
) -> Response {
    if !(status.is_client_error() || status.is_server_error()) {
        return (status, axum::Json(body)).into_response();
    }
    let mut value = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut value {
        map.entry("error")
            .or_insert_with(|| code.unwrap_or_else(|| code_for(status)).into());
        map.entry("message").or_insert_with(|| message.into());
    }
    (status, axum::Json(value)).into_response()
}
