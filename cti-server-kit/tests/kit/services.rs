//! Tests that need a real service skip loudly when it is absent, and fail
//! instead under `CI=true` or `CTI_REQUIRE_SERVICES=1`.

/// `true` when services must be present.
pub(crate) fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("CTI_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Reports a missing service: panics when services are required,
/// otherwise prints a loud skip line and returns.
pub(crate) fn missing(test: &str, what: &str) {
    assert!(
        !required(),
        "{test}: {what} is required (CI=true or CTI_REQUIRE_SERVICES=1) but not available"
    );
    eprintln!("SKIPPED {test}: {what} is not available; set it up or run .ci/run");
}

/// The Redis URL from `CTI_REDIS_URL`, when set.
#[cfg(feature = "redis")]
pub(crate) fn redis_url() -> Option<String> {
    std::env::var("CTI_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty())
}
