#![doc = include_str!("../README.md")]

pub mod ameyo;
pub mod bridge;
pub mod ccai;
pub mod csp;
pub mod csrf;
pub mod harden;
pub mod layer;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod page;
#[cfg(feature = "preflight")]
pub mod preflight;
mod secret;
pub mod serve;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod store;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// A refusal with a JSON body, `{"error": "<code>", "message": "<text>"}`:
/// a stable machine-readable code and a sentence for people.
///
/// Every extractor and endpoint of the kit rejects with this, so clients
/// always get a machine-readable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Rejection {
    /// A rejection with `status`, a stable `code` and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code (`bad_origin`, `bad_token`, …).
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code,
            "message": self.message,
        });
        (self.status, Json(body)).into_response()
    }
}

/// A `cti.http` span around each request of a kit route, carrying the
/// operation, the method and the status, and nothing else: no path, query,
/// header or body (where ids, phone numbers and tokens travel).
pub(crate) async fn in_span<F>(operation: &str, method: &http::Method, work: F) -> Response
where
    F: std::future::Future<Output = Response>,
{
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "cti.http",
        operation,
        method = %method,
        status = tracing::field::Empty,
    );
    async move {
        let response = work.await;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        if status >= 500 {
            tracing::warn!(status, "answered with a server error");
        } else {
            tracing::debug!(status, "answered");
        }
        response
    }
    .instrument(span)
    .await
}

/// [`in_span`] as axum middleware, for routes whose handlers are generic
/// over their state.
pub(crate) async fn traced(
    axum::extract::State(operation): axum::extract::State<std::sync::Arc<str>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    in_span(&operation, &method, next.run(request)).await
}
