//! Hardening for every HTTP route of the kit: a body size limit and a
//! request timeout, as one layer.
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

use http::StatusCode;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

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

    /// The layer: the body limit, then the timeout.
    pub fn layer(self) -> (RequestBodyLimitLayer, TimeoutLayer) {
        (
            RequestBodyLimitLayer::new(self.body_limit),
            TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, self.timeout),
        )
    }
}
