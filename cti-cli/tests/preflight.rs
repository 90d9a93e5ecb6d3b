//! `cti preflight`, run as a process against pages served by wiremock.
#![allow(clippy::unwrap_used, missing_docs)]

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;
use common::{cti, text};

#[tokio::test]
async fn preflight_says_yes_no_and_why() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/open"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "content-security-policy",
                    "frame-ancestors http://127.0.0.1:4000",
                )
                .insert_header("permissions-policy", "microphone=(self), camera=()"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/moved"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/open"))
        .mount(&server)
        .await;

    let url = format!("{}/moved", server.uri());
    let out = cti(
        &["preflight", "--host-origin", "http://127.0.0.1:4000", &url],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    // The camera is off in the page's own policy: exit 1, with the reason.
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("framing: OK"), "{stdout}");
    assert!(stdout.contains("microphone: OK"), "{stdout}");
    assert!(stdout.contains("camera: BLOCKED"), "{stdout}");
    assert!(
        stdout.contains("fetch 1:") && stdout.contains("-> 302"),
        "{stdout}"
    );

    let out = cti(
        &[
            "preflight",
            "--json",
            "--host-origin",
            "https://elsewhere.example",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["framing"]["ok"], false);
    assert!(
        line["framing"]["reason"]
            .as_str()
            .unwrap()
            .contains("frame-ancestors")
    );
    assert_eq!(line["hops"].as_array().unwrap().len(), 2);

    let out = cti(
        &[
            "preflight",
            "--host-origin",
            "http://127.0.0.1:4000",
            "http://127.0.0.1:1/",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "an unreachable page exits 2");
    let out = cti(&["preflight", "--host-origin", "null", &server.uri()], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("real origin"));
}
