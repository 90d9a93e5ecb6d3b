#![no_main]
//! Fuzzes the CSP parser and editor and the header layers' merging with
//! whatever headers an application (or an attacker upstream) left:
//!
//! - parse → serialise → parse is stable;
//! - `add_sources` only widens: afterwards the directive allows the new
//!   source, and re-parsing the text gives the same policy;
//! - source matching never panics;
//! - the layers never panic, and after `FrameAncestors` every enforced
//!   policy carries exactly our `frame-ancestors`.

use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_server_kit::csp::{Policy, source_allows};
use cti_server_kit::layer::{FrameAncestors, HeaderPolicy, HostPageCsp, PermissionsPolicy};
use http::{HeaderMap, HeaderValue, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for policy in Policy::parse_header(&text) {
        let again = Policy::parse(&policy.to_string());
        assert_eq!(again, policy, "serialising is not stable");
        let mut wider = policy.clone();
        if wider.add_sources("frame-src", ["https://x.example"]) {
            let fs = wider.effective("frame-src").unwrap_or_default();
            assert!(fs.iter().any(|v| v == "https://x.example"));
        }
        assert_eq!(Policy::parse(&wider.to_string()), wider);
        let own = Origin::parse("https://own.example").expect("a valid origin");
        let other = Origin::parse("http://127.0.0.1:8080").expect("a valid origin");
        for d in policy.directives() {
            for v in &d.values {
                let _ = source_allows(v, &own, &own);
                let _ = source_allows(v, &other, &own);
            }
        }
    }

    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.insert("content-security-policy", value.clone());
    headers.insert("permissions-policy", value.clone());
    headers.insert("x-frame-options", value);

    let allow = OriginAllowlist::parse(["https://crm.example"]).expect("a valid allowlist");
    let fa = FrameAncestors::list(&allow);
    let pending = fa.on_request(&mut Request::new(()));
    let mut h = headers.clone();
    fa.on_response(pending, &mut h);
    assert!(h.get("x-frame-options").is_none());
    for v in h.get_all("content-security-policy") {
        for p in Policy::parse_header(&String::from_utf8_lossy(v.as_bytes())) {
            assert_eq!(p.get("frame-ancestors"), Some(&["https://crm.example".to_owned()][..]));
        }
    }

    let zoom = Origin::parse("https://zoom.us").expect("a valid origin");
    let csp = HostPageCsp::new().frame_origin(&zoom);
    let pending = csp.on_request(&mut Request::new(()));
    let mut h = headers.clone();
    csp.on_response(pending, &mut h);

    let pp = PermissionsPolicy::new().allow_self(cti_protocol::embed::Permission::Microphone);
    pp.on_response((), &mut headers);
    assert!(headers.get("permissions-policy").is_some());
});
