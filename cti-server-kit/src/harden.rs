//! Hardening for every HTTP route of the kit: a body size limit and a
//! request timeout, as one layer, with every refusal the fence or the
//! router makes (404, 405, 408, 413) turned into the kit's JSON
//! `{"error", "message"}` body.
//!
//! The kit's own routes also bound what they read (each has a body limit
//! of its own, and parsers refuse control characters, repeated parameters
//! and oversized fields); this layer is the outer fence for everything
//! mounted beside them. hyper itself bounds the request line and headers
//! (about 400 KiB and 100 headers by default) and refuses CR/LF inside
//! them.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use cti_server_kit::harden::Hardening;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "ok" }))
//!     .layer(Hardening::new().body_limit(64 * 1024).timeout(Duration::from_secs(10)).layer());
//! ```

use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse as _;
use http::{Response, StatusCode, header};
use tower::util::MapResponseLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::limit::ResponseBody;
use tower_http::timeout::TimeoutLayer;

use crate::Rejection;

/// The response mapping of [`Hardening::layer`].
pub type JsonRefusals = fn(Response<ResponseBody<Body>>) -> Response<Body>;

/// Gives the fence's and the router's bodiless refusals the kit's JSON
/// body, keeping their status and headers (`Allow` on a 405).
fn json_refusals(response: Response<ResponseBody<Body>>) -> Response<Body> {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this route does not take this method")
        }
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the body is larger than the limit"),
        _ => return response.map(Body::new),
    };
    if is_json {
        return response.map(Body::new);
    }
    let (mut parts, _) = response.into_parts();
    let json = Rejection::new(status, code, message).into_response();
    let (json_parts, body) = json.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &json_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// Body limit and timeout settings (1 MiB and 30 s by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Hardening {
    body_limit: usize,
    timeout: Duration,
}

impl Default for Hardening {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

impl Hardening {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest request body (413 beyond it).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The longest a request may take (408 beyond it).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The layer: JSON refusals around the body limit around the
    /// timeout.
    pub fn layer(
        self,
    ) -> (
        MapResponseLayer<JsonRefusals>,
        RequestBodyLimitLayer,
        TimeoutLayer,
    ) {
        (
            MapResponseLayer::new(json_refusals as JsonRefusals),
            RequestBodyLimitLayer::new(self.body_limit),
            TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, self.timeout),
        )
    }
}
