//! What `cti` says when something goes wrong: the cause in words a user
//! can act on, never a bare parser position or "error sending request".
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;
use common::{cti, text};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn decode_says_a_line_is_not_json() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cti"))
        .args(["decode", "zoom"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello\n{\"type\":\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], false);
    let first = lines[0]["error"].as_str().unwrap();
    assert!(first.starts_with("not valid JSON: "), "{first}");
    let second = lines[1]["error"].as_str().unwrap();
    assert!(
        second.starts_with("not valid JSON: it ends too soon"),
        "{second}"
    );
}

#[tokio::test]
async fn voicelog_with_bad_credentials_says_refused_not_no_recording() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ameyowebaccess/command"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"result":"failed","reason":"invalid hash key"})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("call.wav");
    let o = cti(
        &[
            "ameyo",
            "voicelog",
            "--base",
            &server.uri(),
            "--crt-object-id",
            "c1",
            "--hash-key-env",
            "CTI_TEST_KEY",
            "--requesting-host",
            "crm.example",
            "--output",
            out.to_str().unwrap(),
        ],
        &[("CTI_TEST_KEY", "wrong-key")],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("downloadVoiceLog refused: invalid hash key (HTTP 401)"),
        "{err}"
    );
    assert!(!err.contains("no recording"), "{err}");
    assert!(!err.contains("wrong-key"), "{err}");
    assert!(!out.exists());
}

#[tokio::test]
async fn sso_against_a_wrong_url_says_there_is_no_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let url = format!("{}/not-sso", server.uri());
    let o = cti(
        &[
            "sso",
            "login",
            "--url",
            &url,
            "--user-id",
            "agent",
            "--password-env",
            "CTI_TEST_PW",
        ],
        &[("CTI_TEST_PW", "pw")],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("sso failed: no SSO endpoint at this URL (HTTP 404)"),
        "{err}"
    );
}

#[tokio::test]
async fn preflight_and_the_clients_name_a_refused_connection() {
    let port = closed_port();
    let o = cti(
        &[
            "preflight",
            "--host-origin",
            "http://127.0.0.1:8080",
            &format!("http://127.0.0.1:{port}/"),
        ],
        &[],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("failed: connection refused"), "{err}");
    assert!(!err.contains("error sending request"), "{err}");

    let o = cti(
        &[
            "ameyo",
            "dispose",
            "--base",
            &format!("http://127.0.0.1:{port}"),
            "--token-env",
            "CTI_TEST_TOKEN",
            "--user-id",
            "agent",
            "--disposition",
            "sale",
        ],
        &[("CTI_TEST_TOKEN", "tok-SECRET")],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("could not connect: connection refused"),
        "{err}"
    );
    assert!(!err.contains("tok-SECRET"), "{err}");
}

#[tokio::test]
async fn secrets_come_from_the_environment() {
    // A variable that is not set is a usage error that names it.
    let o = cti(
        &[
            "ameyo",
            "dispose",
            "--base",
            "http://127.0.0.1:9",
            "--token-env",
            "CTI_TEST_UNSET_TOKEN",
            "--user-id",
            "agent",
            "--disposition",
            "sale",
        ],
        &[],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the environment variable CTI_TEST_UNSET_TOKEN (for --token) is not set"),
        "{err}"
    );
    // The token is sent from the variable.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ameyorestapi/voice/disposeCallForUser"))
        .and(wiremock::matchers::header("authorization", "tok-from-env"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"result":"success","reason":"ok"})),
        )
        .mount(&server)
        .await;
    let o = cti(
        &[
            "ameyo",
            "dispose",
            "--base",
            &server.uri(),
            "--token-env",
            "CTI_TEST_TOKEN",
            "--user-id",
            "agent",
            "--disposition",
            "sale",
        ],
        &[("CTI_TEST_TOKEN", "tok-from-env")],
    )
    .await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A dial with a requesting host but no key says what is missing.
    let o = cti(
        &[
            "ameyo",
            "dial",
            "--base",
            &server.uri(),
            "--requesting-host",
            "crm.example",
            "--user-id",
            "agent",
            "--campaign-id",
            "1",
            "--phone",
            "123",
        ],
        &[],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--requesting-host goes with --hash-key-env"),
        "{err}"
    );
}
