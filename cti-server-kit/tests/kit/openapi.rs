//! The committed OpenAPI document of the reference deployment
//! (`cti-server-kit/openapi.json`) matches what the code produces, and it
//! describes every route the deployment serves. Set
//! `CTI_UPDATE_OPENAPI=1` to rewrite the file after a deliberate change.

use axum::body::Body;
use http::{Request, StatusCode};

#[path = "../../examples/common/reference.rs"]
#[allow(dead_code)]
mod reference;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

#[test]
fn committed_openapi_document_is_current() {
    let fresh = reference::doc().to_json() + "\n";
    if std::env::var_os("CTI_UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &fresh).unwrap_or_else(|e| panic!("{COMMITTED}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == fresh,
        "{COMMITTED} is stale: run `CTI_UPDATE_OPENAPI=1 cargo test -p cti-server-kit --features openapi --test kit openapi` and commit it"
    );
}

#[tokio::test]
async fn the_document_is_served_and_names_every_route() {
    let (status, headers, body) = crate::ameyo::send(
        &reference::router(),
        Request::get("/openapi.json")
            .body(Body::empty())
            .unwrap_or_default(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for path in [
        "/healthz",
        "/ameyo/sso",
        "/ameyo/kb",
        "/ameyo/customer",
        "/ameyo/preview",
        "/ameyo/dispose",
        "/ameyorestapi/voice/disposeCallForUser",
        "/ameyorestapi/voice/disposeAndManualDial",
        "/ameyowebaccess/command",
        "/ameyowebaccess/command/",
        "/dacx/dispose",
        "/api/accounts",
        "/api/accounts/{ACCOUNT_ID}",
        "/api/records",
        "/api/records/{RECORD_ID}",
        "/api/records/{RECORD_ID}/comments",
        "/api/records/{RECORD_ID}/files",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    // Every documented operation answers something other than 404/405
    // from the router (it exists at that method).
    let app = reference::router();
    for (path, item) in &paths {
        for method in ["get", "post", "put", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            let uri = path
                .replace("{ACCOUNT_ID}", "1")
                .replace("{RECORD_ID}", "1");
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap_or_default();
            let (status, _, _) = crate::ameyo::send(&app, req).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            assert!(!status.is_server_error(), "{method} {uri}: {status}");
        }
    }
}
