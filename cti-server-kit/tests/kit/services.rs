//! Tests that need a real service skip loudly when it is absent, and fail
//! instead under `CI=true` or `CTI_REQUIRE_SERVICES=1` (the workspace's
//! shared rules, `tests/support/services.rs`).

#[path = "../../../tests/support/services.rs"]
mod shared;

pub(crate) use shared::{ran, skipped};

/// The Redis URL from `CTI_REDIS_URL`, or a loud skip.
#[cfg(feature = "redis")]
pub(crate) fn redis_url(test: &str) -> Option<String> {
    shared::from_env(
        test,
        "Redis",
        "CTI_REDIS_URL",
        "start redis-server and set it, or run .ci/run",
    )
}
