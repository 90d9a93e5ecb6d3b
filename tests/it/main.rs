//! Cross-crate tests for cti-rs, compiled as one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod client_ameyo;
mod client_generic;
mod client_properties;
mod client_sso;
mod client_voicelog;
mod demo_attacks;
mod dialects;
mod fixtures;
mod hostile;
mod log_capture;
mod properties;
mod schemas;
mod server_kit_logs;
mod simulator;
mod templates;

/// A size this process reports in `/proc/self/status`, in KiB: `VmRSS`
/// (resident now) or `VmHWM` (peak resident).
pub(crate) fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// `v` without `null` members, at any depth.
pub(crate) fn without_nulls(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}
