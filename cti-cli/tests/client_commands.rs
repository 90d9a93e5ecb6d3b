//! The `cti ameyo …` and `cti sso …` contract, run as a process against
//! wiremock.
#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::json;
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;
use common::{cti, text};

#[tokio::test]
async fn ameyo_dispose_success_and_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ameyorestapi/voice/disposeCallForUser"))
        .and(header("authorization", "12345abc"))
        .and(body_json(json!({
            "userId": "vaptuser1", "dispositionCodeName": "sale",
            "dispositionParams": {"isSelfCallback": "true", "callbackTime": "2026-11-24 10:00:00", "phone": "7004281599"},
            "requestId": "8989898989", "notes": "vip"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result":"success","reason":"success"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"result":"failed","reason":"Disposition is not assigned to campaign"}),
        ))
        .mount(&server)
        .await;
    let base = server.uri();
    let ok = cti(
        &[
            "ameyo",
            "dispose",
            "--base",
            &base,
            "--token",
            "12345abc",
            "--user-id",
            "vaptuser1",
            "--disposition",
            "sale",
            "--phone",
            "7004281599",
            "--callback-time",
            "2026-11-24 10:00:00",
            "--self-callback",
            "--request-id",
            "8989898989",
            "--notes",
            "vip",
        ],
        &[],
    )
    .await;
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let bad = cti(
        &[
            "ameyo",
            "dispose",
            "--base",
            &base,
            "--token",
            "12345abc",
            "--user-id",
            "u",
            "--disposition",
            "nope",
        ],
        &[],
    )
    .await;
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("Disposition is not assigned to campaign"),
        "{}",
        text(&bad.stderr)
    );
    assert!(!text(&bad.stderr).contains("12345abc"));
}

#[tokio::test]
async fn ameyo_dial_and_dispose_and_dial() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ameyowebaccess/command/"))
        .and(query_param("command", "clickToDialWithTokenAsync"))
        .and(header("hash-key", "K"))
        .and(header("requesting-host", "H"))
        .and(body_partial_json(
            json!({"userId": "agent", "campaignId": "1", "phone": "9911337923"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"result":"success","reason":"success"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ameyorestapi/voice/disposeAndManualDial"))
        .and(header("sessionId", "S"))
        .and(body_partial_json(json!({"campaignContextId": 8, "userCRTObjectId": "X", "crtObjectId": "Y", "customerId": "-1", "requestId": "R"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result":"success","reason":"success"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"message":null,"code":99999,"info":"invalid.session.id","status":403}),
        ))
        .mount(&server)
        .await;
    let base = server.uri();
    let dial = cti(
        &[
            "ameyo",
            "dial",
            "--base",
            &base,
            "--hash-key",
            "K",
            "--requesting-host",
            "H",
            "--user-id",
            "agent",
            "--campaign-id",
            "1",
            "--phone",
            "9911337923",
        ],
        &[],
    )
    .await;
    assert!(dial.status.success(), "{}", text(&dial.stderr));
    let dmd = cti(
        &[
            "ameyo",
            "dispose-and-dial",
            "--base",
            &base,
            "--session-id",
            "S",
            "--campaign-context-id",
            "8",
            "--user-crt-object-id",
            "X",
            "--crt-object-id",
            "Y",
            "--disposition",
            "sale",
            "--phone",
            "465456",
            "--request-id",
            "R",
        ],
        &[],
    )
    .await;
    assert!(dmd.status.success(), "{}", text(&dmd.stderr));
    let bad = cti(
        &[
            "ameyo",
            "dispose-and-dial",
            "--base",
            &base,
            "--session-id",
            "WRONG",
            "--campaign-context-id",
            "8",
            "--user-crt-object-id",
            "X",
            "--crt-object-id",
            "Y",
            "--disposition",
            "sale",
            "--phone",
            "465456",
        ],
        &[],
    )
    .await;
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("invalid.session.id"),
        "{}",
        text(&bad.stderr)
    );
    // Either credential form is required.
    let usage = cti(
        &[
            "ameyo",
            "dial",
            "--base",
            &base,
            "--user-id",
            "a",
            "--campaign-id",
            "1",
            "--phone",
            "2",
        ],
        &[],
    )
    .await;
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test]
async fn ameyo_voicelog_writes_the_file_only_on_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param(
            "data",
            r#"{"crtObjectId":"c-1","targetFormat":"mp3"}"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![7u8; 100_000], "audio/mpeg"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"status":"failed","message":"Voice log not found"}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c-1.mp3");
    let base = server.uri();
    let ok = cti(
        &[
            "ameyo",
            "voicelog",
            "--base",
            &base,
            "--crt-object-id",
            "c-1",
            "--format",
            "mp3",
            "--output",
            out.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), vec![7u8; 100_000]);
    let missing = dir.path().join("c-2.wav");
    let bad = cti(
        &[
            "ameyo",
            "voicelog",
            "--base",
            &base,
            "--crt-object-id",
            "c-2",
            "--output",
            missing.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("Voice log not found"),
        "{}",
        text(&bad.stderr)
    );
    assert!(!missing.exists());
}

#[tokio::test]
async fn sso_login_prints_the_session_and_never_the_password() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_json(json!({"command":"login","userId":"agent","password":"pw-SECRET"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status":"success","crmSessionId":"crm-sess-norah-123-434343","message":"message"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status":"failed","message":"bad password"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_json(
            json!({"command":"logout","crmSessionId":"crm-1234-hjsdch"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status":"success","message":""})),
        )
        .mount(&server)
        .await;
    let url = server.uri();
    let env = [("CTI_TEST_PW", "pw-SECRET")];
    let ok = cti(
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
        &env,
    )
    .await;
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "crm-sess-norah-123-434343");
    let bad = cti(
        &[
            "sso",
            "login",
            "--url",
            &url,
            "--user-id",
            "agent",
            "--password-env",
            "CTI_TEST_PW",
            "--form",
        ],
        &env,
    )
    .await;
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("bad password"));
    for o in [&ok, &bad] {
        assert!(!text(&o.stdout).contains("pw-SECRET") && !text(&o.stderr).contains("pw-SECRET"));
    }
    let unset = cti(
        &[
            "sso",
            "login",
            "--url",
            &url,
            "--user-id",
            "a",
            "--password-env",
            "CTI_TEST_UNSET",
        ],
        &[],
    )
    .await;
    assert!(!unset.status.success());
    assert!(text(&unset.stderr).contains("CTI_TEST_UNSET"));
    let out = cti(
        &[
            "sso",
            "logout",
            "--url",
            &url,
            "--crm-session-id",
            "crm-1234-hjsdch",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}
