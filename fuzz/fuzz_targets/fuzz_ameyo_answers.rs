#![no_main]
//! Fuzzes the decoders of the server-to-server answers the clients read
//! (Ameyo's `{result, reason}` family, the SSO request and response): no
//! panic, whatever decodes re-encodes to JSON that decodes to the same
//! value, and secrets never show in `Debug`.

use cti_protocol::ameyo::api::AmeyoResult;
use cti_protocol::ameyo::sso::{SsoRequest, SsoResponse};
use libfuzzer_sys::fuzz_target;

fn round_trip<T>(data: &[u8])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(v) = serde_json::from_slice::<T>(data) else { return };
    let text = serde_json::to_string(&v).expect("a decoded answer encodes");
    let again: T = serde_json::from_str(&text).expect("a re-encoded answer decodes");
    assert_eq!(again, v, "re-encoding is not stable");
}

fuzz_target!(|data: &[u8]| {
    round_trip::<AmeyoResult>(data);
    round_trip::<SsoResponse>(data);
    round_trip::<SsoRequest>(data);
    if let Ok(r) = serde_json::from_slice::<AmeyoResult>(data) {
        let _ = r.is_success();
        let _ = r.explanation();
    }
    if let Ok(SsoRequest::Login { password, .. }) = serde_json::from_slice::<SsoRequest>(data) {
        let secret = password.expose();
        if secret.len() >= 4 {
            let shown = format!("{password:?}");
            assert!(!shown.contains(secret), "a password shows in Debug");
        }
    }
});
