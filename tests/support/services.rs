//! The rules for tests that need a real service (Redis, an SFTP or SMTP
//! server, Chromium), shared by every test binary of the workspace:
//!
//! - without the service the test skips loudly, and fails instead under
//!   `CI=true` or `CTI_REQUIRE_SERVICES=1`;
//! - a skip is written straight to standard error, so it shows in a
//!   passing run (the test harness keeps a passing test's own output);
//! - each outcome is added to the file `CTI_SERVICE_REPORT` names, when it
//!   is set, from which `scripts/services-summary.py` (run by
//!   `scripts/test.sh` and by CI) writes the run's closing
//!   summary of what ran and what skipped, and why.
//!
//! Included with `#[path]` by each test crate that needs it.
#![allow(dead_code)]

use std::io::Write as _;

/// `true` when services must be present (CI, or asked for).
pub(crate) fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("CTI_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Records that `test` ran against `service`.
pub(crate) fn ran(test: &str, service: &str) {
    record(&format!("ran\t{service}\t{test}\t"));
}

/// Records that `test` skipped because `service` is missing, and says so
/// on standard error; `why` says what is missing and how to get it.
///
/// # Panics
///
/// When services are required: the test fails instead.
pub(crate) fn skipped(test: &str, service: &str, why: &str) {
    assert!(
        !required(),
        "{test}: {service} is required (CI=true or CTI_REQUIRE_SERVICES=1) but {why}"
    );
    // Not eprintln!: the harness would keep it from a passing run.
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
    record(&format!("skipped\t{service}\t{test}\t{why}"));
}

/// The value of the environment variable `var`, recording the outcome
/// for `service`: ran when it is set, skipped (see [`skipped`]) when not.
pub(crate) fn from_env(test: &str, service: &str, var: &str, how: &str) -> Option<String> {
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(v) => {
            ran(test, service);
            Some(v)
        }
        None => {
            skipped(test, service, &format!("{var} is not set; {how}"));
            None
        }
    }
}

/// A test that needs a cargo feature the run was built without.
///
/// # Panics
///
/// When services are required (the README's test command turns every
/// feature on).
pub(crate) fn feature_off(test: &str, service: &str, feature: &str) {
    skipped(
        test,
        service,
        &format!("built without the `{feature}` feature; run the README's test command"),
    );
}

fn record(line: &str) {
    let Some(path) = std::env::var_os("CTI_SERVICE_REPORT") else {
        return;
    };
    // One short append per line: lines from parallel test processes do
    // not interleave.
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(format!("{}\n", line.replace('\n', " ")).as_bytes());
    }
}
