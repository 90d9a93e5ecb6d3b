//! Headers for every layer and combination, including merging with
//! headers the application already set.

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use cti_protocol::embed::{EmbedFrame, Permission};
use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_server_kit::csp::Policy;
use cti_server_kit::layer::{CspNonce, FrameAncestors, HostPageCsp, PermissionsPolicy};
use http::header::{CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt as _;

fn origin(s: &str) -> Origin {
    Origin::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn crm() -> OriginAllowlist {
    OriginAllowlist::parse(["https://crm.example", "https://*.crm.example"])
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn headers_of(app: Router) -> HeaderMap {
    let response = app
        .oneshot(
            Request::get("/")
                .body(Body::empty())
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), StatusCode::OK);
    response.headers().clone()
}

fn csp_values(h: &HeaderMap) -> Vec<String> {
    h.get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect()
}

/// A handler that sets headers of its own, as real applications do.
async fn with_headers(pairs: &'static [(&'static str, &'static str)]) -> axum::response::Response {
    let mut response = "page".into_response();
    for (k, v) in pairs {
        response.headers_mut().append(
            http::HeaderName::from_static(k),
            http::HeaderValue::from_static(v),
        );
    }
    response
}

#[tokio::test]
async fn frame_ancestors_alone() {
    let app = Router::new()
        .route("/", get(|| async { "page" }))
        .layer(FrameAncestors::list(&crm()).layer());
    let h = headers_of(app).await;
    assert_eq!(
        csp_values(&h),
        ["frame-ancestors https://crm.example https://*.crm.example"]
    );
    assert!(h.get(X_FRAME_OPTIONS).is_none());
}

#[tokio::test]
async fn frame_ancestors_replaces_conflicts_and_keeps_other_directives() {
    let app = Router::new()
        .route(
            "/",
            get(|| {
                with_headers(&[
                    (
                        "content-security-policy",
                        "default-src 'self'; frame-ancestors 'none'",
                    ),
                    ("content-security-policy", "img-src https:"),
                    ("x-frame-options", "DENY"),
                    (
                        "content-security-policy-report-only",
                        "frame-ancestors 'none'",
                    ),
                ])
            }),
        )
        .layer(FrameAncestors::list(&crm()).and_self().layer());
    let h = headers_of(app).await;
    let value = csp_values(&h).join(", ");
    let policies = Policy::parse_header(&value);
    assert_eq!(policies.len(), 2, "{value}");
    for p in &policies {
        assert_eq!(
            p.get("frame-ancestors").map(<[String]>::join_helper),
            Some("'self' https://crm.example https://*.crm.example".to_owned()),
            "{value}"
        );
    }
    assert_eq!(
        policies[0].get("default-src").map(<[String]>::join_helper),
        Some("'self'".into())
    );
    assert_eq!(
        policies[1].get("img-src").map(<[String]>::join_helper),
        Some("https:".into())
    );
    assert!(
        h.get(X_FRAME_OPTIONS).is_none(),
        "a conflicting X-Frame-Options must go"
    );
    assert_eq!(
        h.get("content-security-policy-report-only")
            .and_then(|v| v.to_str().ok()),
        Some("frame-ancestors 'none'"),
        "report-only policies are left alone"
    );
}

trait JoinHelper {
    fn join_helper(&self) -> String;
}
impl JoinHelper for [String] {
    fn join_helper(&self) -> String {
        self.join(" ")
    }
}

#[tokio::test]
async fn frame_ancestors_none_and_self_set_legacy_header() {
    let none = Router::new()
        .route("/", get(|| async { "page" }))
        .layer(FrameAncestors::none().layer());
    let h = headers_of(none).await;
    assert_eq!(csp_values(&h), ["frame-ancestors 'none'"]);
    assert_eq!(
        h.get(X_FRAME_OPTIONS).and_then(|v| v.to_str().ok()),
        Some("DENY")
    );

    let same = Router::new()
        .route("/", get(|| async { "page" }))
        .layer(FrameAncestors::self_only().layer());
    let h = headers_of(same).await;
    assert_eq!(csp_values(&h), ["frame-ancestors 'self'"]);
    assert_eq!(
        h.get(X_FRAME_OPTIONS).and_then(|v| v.to_str().ok()),
        Some("SAMEORIGIN")
    );

    // An empty allowlist is `none`, never "anyone".
    assert_eq!(
        FrameAncestors::list(&OriginAllowlist::new()).directive_value(),
        Some("'none'".into())
    );
}

#[tokio::test]
async fn frame_ancestors_per_request() {
    let policy = FrameAncestors::per_request(|head| {
        let tenant = head
            .headers
            .get("x-tenant")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match tenant {
            "acme" => OriginAllowlist::parse(["https://acme.example"]).unwrap_or_default(),
            _ => OriginAllowlist::new(),
        }
    });
    let app = Router::new()
        .route("/", get(|| async { "page" }))
        .layer(policy.layer());
    let acme = app
        .clone()
        .oneshot(
            Request::get("/")
                .header("x-tenant", "acme")
                .body(Body::empty())
                .unwrap_or_default(),
        )
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(
        csp_values(acme.headers()),
        ["frame-ancestors https://acme.example"]
    );
    let other = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap_or_default())
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(csp_values(other.headers()), ["frame-ancestors 'none'"]);
    assert_eq!(
        other
            .headers()
            .get(X_FRAME_OPTIONS)
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
}

#[tokio::test]
async fn host_page_csp_fresh_policy_and_nonce_reach_the_handler() {
    let zoom = origin("https://zoom.us");
    let app = Router::new()
        .route(
            "/",
            get(|nonce: CspNonce| async move { nonce.as_str().to_owned() }),
        )
        .layer(
            HostPageCsp::new()
                .frame_origin(&zoom)
                .connect("wss://rt.example")
                .layer(),
        );
    let mut seen = Vec::new();
    for _ in 0..2 {
        let response = app
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).unwrap_or_default())
            .await
            .unwrap_or_else(|e| match e {});
        let csp = csp_values(response.headers()).join("");
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let nonce = String::from_utf8_lossy(&body).into_owned();
        assert!(nonce.len() >= 22, "a nonce of at least 128 bits: {nonce}");
        let p = Policy::parse(&csp);
        assert_eq!(
            p.get("default-src").map(<[String]>::join_helper),
            Some("'self'".into())
        );
        assert_eq!(
            p.get("script-src").map(<[String]>::join_helper),
            Some(format!("'self' 'nonce-{nonce}'"))
        );
        assert_eq!(
            p.get("frame-src").map(<[String]>::join_helper),
            Some("https://zoom.us".into())
        );
        assert_eq!(
            p.get("connect-src").map(<[String]>::join_helper),
            Some("'self' wss://rt.example".into())
        );
        assert_eq!(
            p.get("object-src").map(<[String]>::join_helper),
            Some("'none'".into())
        );
        assert_eq!(
            p.get("base-uri").map(<[String]>::join_helper),
            Some("'none'".into())
        );
        seen.push(nonce);
    }
    assert_ne!(seen[0], seen[1], "every response gets its own nonce");
}

#[tokio::test]
async fn host_page_csp_merges_into_existing_policy() {
    let zoom = origin("https://zoom.us");
    let app = Router::new()
        .route(
            "/",
            get(|| {
                with_headers(&[(
                    "content-security-policy",
                    "default-src 'self' https://cdn.example; img-src *; frame-ancestors 'self'",
                )])
            }),
        )
        .layer(HostPageCsp::new().frame_origin(&zoom).layer());
    let h = headers_of(app).await;
    let values = csp_values(&h);
    assert_eq!(values.len(), 1, "merged, not a second header: {values:?}");
    let p = Policy::parse(&values[0]);
    // Untouched directives stay exactly as the application wrote them.
    assert_eq!(
        p.get("img-src").map(<[String]>::join_helper),
        Some("*".into())
    );
    assert_eq!(
        p.get("frame-ancestors").map(<[String]>::join_helper),
        Some("'self'".into())
    );
    assert_eq!(
        p.get("default-src").map(<[String]>::join_helper),
        Some("'self' https://cdn.example".into())
    );
    // Directives governed by default-src start from its sources.
    let script = p
        .get("script-src")
        .map(<[String]>::join_helper)
        .unwrap_or_default();
    assert!(
        script.starts_with("'self' https://cdn.example 'nonce-"),
        "{script}"
    );
    assert_eq!(
        p.get("frame-src").map(<[String]>::join_helper),
        Some("'self' https://cdn.example https://zoom.us".into())
    );
    assert_eq!(
        p.get("connect-src").map(<[String]>::join_helper),
        Some("'self' https://cdn.example".into())
    );
}

#[tokio::test]
async fn host_page_csp_leaves_unrestricted_directives_open() {
    let zoom = origin("https://zoom.us");
    let app = Router::new()
        .route(
            "/",
            get(|| with_headers(&[("content-security-policy", "img-src 'self'")])),
        )
        .layer(HostPageCsp::new().frame_origin(&zoom).layer());
    let h = headers_of(app).await;
    // Nothing restricted scripts or frames: adding a directive would
    // *restrict* them, so those are left as they were. Framing of the
    // page itself is restricted on purpose (clickjacking).
    assert_eq!(csp_values(&h), ["img-src 'self'; frame-ancestors 'self'"]);
}

#[tokio::test]
async fn permissions_policy_alone_and_merged() {
    let zoom = origin("https://zoom.us");
    let policy = PermissionsPolicy::new()
        .allow(Permission::Microphone, true, [zoom.clone()])
        .allow(Permission::Camera, false, [zoom.clone()])
        .deny(Permission::Geolocation);
    let app = Router::new()
        .route("/", get(|| async { "page" }))
        .layer(policy.clone().layer());
    let h = headers_of(app).await;
    assert_eq!(
        h.get("permissions-policy").and_then(|v| v.to_str().ok()),
        Some(r#"microphone=(self "https://zoom.us"), camera=("https://zoom.us"), geolocation=()"#)
    );

    let app = Router::new()
        .route(
            "/",
            get(|| with_headers(&[("permissions-policy", r#"usb=(), microphone=*"#)])),
        )
        .layer(policy.clone().layer());
    let h = headers_of(app).await;
    assert_eq!(
        h.get("permissions-policy").and_then(|v| v.to_str().ok()),
        Some(
            r#"usb=(), microphone=(self "https://zoom.us"), camera=("https://zoom.us"), geolocation=()"#
        ),
        "the application's other features are kept; ours replace theirs"
    );

    let app = Router::new()
        .route(
            "/",
            get(|| with_headers(&[("permissions-policy", "this is (not valid")])),
        )
        .layer(policy.layer());
    let h = headers_of(app).await;
    assert_eq!(
        h.get_all("permissions-policy").iter().count(),
        1,
        "an invalid header (ignored by browsers) is replaced"
    );
}

#[tokio::test]
async fn permissions_policy_for_frames_and_all_layers_together()
-> Result<(), Box<dyn std::error::Error>> {
    let frame = EmbedFrame::zoom(
        &origin("https://crm.example"),
        &cti_protocol::embed::ZoomHost::Default,
    )?;
    let pp = PermissionsPolicy::for_frames([&frame])?;
    let value = pp.header_value().unwrap_or_default();
    assert!(
        value.contains(r#"microphone=(self "https://zoom.us")"#),
        "{value}"
    );
    assert!(
        value.contains(r#"geolocation=(self "https://zoom.us")"#)
            || value.contains("geolocation=()"),
        "{value}"
    );

    let app = Router::new()
        .route(
            "/",
            get(|nonce: CspNonce| async move { nonce.as_str().len().to_string() }),
        )
        .layer(HostPageCsp::new().frame(&frame)?.layer())
        .layer(pp.layer())
        .layer(FrameAncestors::list(&crm()).layer());
    let h = headers_of(app).await;
    let values = csp_values(&h);
    assert_eq!(values.len(), 1, "{values:?}");
    let p = Policy::parse(&values[0]);
    assert_eq!(
        p.get("frame-ancestors").map(<[String]>::join_helper),
        Some("https://crm.example https://*.crm.example".into())
    );
    assert!(
        p.get("script-src")
            .is_some_and(|s| s.iter().any(|v| v.starts_with("'nonce-")))
    );
    assert_eq!(
        p.get("frame-src").map(<[String]>::join_helper),
        Some("https://zoom.us".into())
    );
    assert!(h.get("permissions-policy").is_some());
    Ok(())
}

#[tokio::test]
async fn nonce_extractor_without_layer_is_a_json_500() {
    let app = Router::new().route("/", get(|n: CspNonce| async move { n.as_str().to_owned() }));
    let response = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap_or_default())
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(json["error"], "csp_nonce_missing");
}

#[test]
fn nonce_never_shows_in_debug() {
    let n = CspNonce::generate().unwrap_or_else(|e| panic!("{e}"));
    assert!(!format!("{n:?}").contains(n.as_str()));
}

/// Found by fuzz_csp: a CSP holding a byte outside ASCII must still be
/// merged, never dropped (dropping it would lift the whole policy).
#[tokio::test]
async fn csp_with_non_ascii_bytes_is_kept_and_merged() {
    async fn handler() -> axum::response::Response {
        let mut r = "page".into_response();
        r.headers_mut().insert(
            CONTENT_SECURITY_POLICY,
            http::HeaderValue::from_bytes(
                b"default-src 'self'; \x9cframe-x 'none'; img-src 'none'",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        r
    }
    for layered in [
        Router::new()
            .route("/", get(handler))
            .layer(FrameAncestors::list(&crm()).layer()),
        Router::new()
            .route(
                "/",
                get(|| async {
                    let mut r = "page".into_response();
                    r.headers_mut().append(
                        CONTENT_SECURITY_POLICY,
                        http::HeaderValue::from_static("script-src 'self'"),
                    );
                    r.headers_mut().append(
                        CONTENT_SECURITY_POLICY,
                        http::HeaderValue::from_bytes(
                            b"default-src 'self'; \x9cframe-x 'none'; img-src 'none'",
                        )
                        .unwrap_or_else(|e| panic!("{e}")),
                    );
                    r
                }),
            )
            .layer(FrameAncestors::list(&crm()).layer()),
    ] {
        let h = headers_of(layered).await;
        let text: Vec<String> = h
            .get_all(CONTENT_SECURITY_POLICY)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let policies: Vec<Policy> = text.iter().flat_map(|t| Policy::parse_header(t)).collect();
        assert!(
            policies.iter().any(|p| p.get("default-src").is_some()),
            "the policy was dropped: {text:?}"
        );
        assert!(
            policies.iter().any(|p| p.get("img-src").is_some()),
            "{text:?}"
        );
        assert!(
            policies.iter().all(|p| p.get("frame-ancestors").is_some()),
            "{text:?}"
        );
    }
}

/// `EmbedHeaders` gives the same headers as the three layers stacked,
/// with and without headers of the application's own.
#[tokio::test]
async fn embed_headers_equal_the_three_layers() -> Result<(), Box<dyn std::error::Error>> {
    use cti_server_kit::layer::EmbedHeaders;
    let frame = EmbedFrame::zoom(
        &origin("https://crm.example"),
        &cti_protocol::embed::ZoomHost::Default,
    )?;
    let stacked = |app: Router| -> Result<Router, Box<dyn std::error::Error>> {
        Ok(app.layer(
            tower::ServiceBuilder::new()
                .layer(FrameAncestors::list(&crm()).layer())
                .layer(PermissionsPolicy::for_frames([&frame])?.layer())
                .layer(HostPageCsp::new().frame(&frame)?.layer()),
        ))
    };
    let combined = |app: Router| -> Result<Router, Box<dyn std::error::Error>> {
        Ok(app.layer(EmbedHeaders::for_frames([&frame], FrameAncestors::list(&crm()))?.layer()))
    };
    let plain = || Router::new().route("/", get(|| async { "page" }));
    let with_own = || {
        Router::new().route(
            "/",
            get(|| {
                with_headers(&[
                    (
                        "content-security-policy",
                        "default-src 'self' https://cdn.example; frame-ancestors 'none'",
                    ),
                    ("permissions-policy", "usb=()"),
                    ("x-frame-options", "DENY"),
                ])
            }),
        )
    };
    // Some of the application's own headers but not others: each header
    // takes its own path through the one-pass layer.
    let with_pp_only = || {
        Router::new().route(
            "/",
            get(|| {
                with_headers(&[
                    ("permissions-policy", "usb=()"),
                    ("x-frame-options", "DENY"),
                ])
            }),
        )
    };
    let with_csp_only = || {
        Router::new().route(
            "/",
            get(|| {
                with_headers(&[(
                    "content-security-policy",
                    "script-src 'self'; img-src 'self'",
                )])
            }),
        )
    };
    for (a, b) in [
        (stacked(plain())?, combined(plain())?),
        (stacked(with_own())?, combined(with_own())?),
        (stacked(with_pp_only())?, combined(with_pp_only())?),
        (stacked(with_csp_only())?, combined(with_csp_only())?),
    ] {
        let (ha, hb) = (headers_of(a).await, headers_of(b).await);
        let strip_nonce = |h: &HeaderMap| {
            let csp = csp_values(h).join(", ");
            let p: Vec<String> = Policy::parse_header(&csp)
                .into_iter()
                .map(|mut p| {
                    let script: Vec<String> = p
                        .get("script-src")
                        .unwrap_or_default()
                        .iter()
                        .filter(|v| !v.starts_with("'nonce-"))
                        .cloned()
                        .collect();
                    p.set("script-src", script);
                    let mut ds: Vec<String> = p
                        .directives()
                        .iter()
                        .map(|d| format!("{} {}", d.name, d.values.join(" ")))
                        .collect();
                    ds.sort();
                    ds.join("; ")
                })
                .collect();
            p
        };
        assert_eq!(strip_nonce(&ha), strip_nonce(&hb));
        assert_eq!(ha.get("permissions-policy"), hb.get("permissions-policy"));
        assert_eq!(ha.get(X_FRAME_OPTIONS), hb.get(X_FRAME_OPTIONS));
        assert!(csp_values(&hb).join("").contains("'nonce-"));
    }
    Ok(())
}

/// `and_self` on a per-request policy that is shared (cloned) still adds
/// `'self'` (it used to be dropped silently when the policy was shared).
#[tokio::test]
async fn and_self_on_a_shared_per_request_policy() {
    let policy = FrameAncestors::per_request(|_| {
        OriginAllowlist::parse(["https://acme.example"]).unwrap_or_default()
    });
    let _keep_shared = policy.clone();
    let app = Router::new()
        .route("/", get(|| async { "page" }))
        .layer(policy.and_self().layer());
    let h = headers_of(app).await;
    assert_eq!(
        csp_values(&h),
        ["frame-ancestors 'self' https://acme.example"]
    );
    let shared = FrameAncestors::list(&crm());
    let _keep = shared.clone();
    assert_eq!(
        shared.and_self().directive_value(),
        Some("'self' https://crm.example https://*.crm.example".into())
    );
}

/// LeadDesk's frame keeps the microphone on any origin (seed 004:
/// `allow="microphone *"`), so the page delegates it to any origin.
#[tokio::test]
async fn permissions_policy_for_leaddesk_delegates_the_microphone_anywhere() {
    let talk =
        EmbedFrame::leaddesk("https://login-ce2.leaddesk.com/").unwrap_or_else(|e| panic!("{e}"));
    assert!(talk.to_html().contains(r#"allow="microphone *""#));
    let policy = PermissionsPolicy::for_frames([&talk]).unwrap_or_else(|e| panic!("{e}"));
    let app = Router::new()
        .route("/", get(|| async { "page" }))
        .layer(policy.layer());
    let h = headers_of(app).await;
    let value = h
        .get("permissions-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(value.contains("microphone=*"), "{value}");
    assert!(value.contains("camera=()"), "{value}");
}
