//! Endpoints described as data: method, path, required headers, how the
//! request body travels, and the request and response types.
//!
//! The descriptions are the single source of truth for the server-to-server
//! APIs: `cti-client` executes them and `cti-server-kit` serves them, so
//! the two cannot disagree about a path or a body.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ameyo::api::DisposeAndManualDial;
//! use cti_protocol::endpoint::{Endpoint, Method};
//!
//! let m = DisposeAndManualDial::METADATA;
//! assert_eq!(m.method, Method::Post);
//! assert_eq!(m.path, "/ameyorestapi/voice/disposeAndManualDial");
//! assert_eq!(m.headers, &["sessionId"]);
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
}

impl Method {
    /// The method's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
        }
    }
}

/// How the request body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyEncoding {
    /// No body; everything is in the path and query.
    None,
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded` with the JSON text in one field
    /// (Ameyo's `data=`, the SSO `request=`).
    FormField(&'static str),
    /// The JSON text in one query parameter (Ameyo's `…&data=` on GET).
    QueryField(&'static str),
    /// The request's fields as query parameters (the legacy dispose GET).
    Query,
}

/// What the response body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseKind {
    /// A JSON document.
    Json,
    /// Plain text.
    Text,
    /// A binary stream (a recording); errors come back as JSON or HTML.
    Binary,
}

/// The description of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// A short name (`disposeCallForUser`).
    pub name: &'static str,
    /// The method.
    pub method: Method,
    /// The path below the server's base URL, with a fixed query when the
    /// API routes by one (`/ameyowebaccess/command/?command=…`).
    pub path: &'static str,
    /// Headers the request must carry (their values come from the caller's
    /// authentication configuration).
    pub headers: &'static [&'static str],
    /// How the body travels.
    pub body: BodyEncoding,
    /// What comes back.
    pub response: ResponseKind,
    /// Whether sending the same request twice is harmless. Dispose and
    /// dial are not: they may be retried only with the same `requestId`.
    pub idempotent: bool,
}

/// An endpoint: its metadata and its typed bodies.
pub trait Endpoint {
    /// The request body (or query) type.
    type Request: Serialize;
    /// The success response type.
    type Response: DeserializeOwned;
    /// The description.
    const METADATA: Metadata;
}
