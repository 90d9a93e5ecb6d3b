//! `SsoClient` against wiremock, in both encodings.

use cti_client::ErrorKind;
use cti_client::sso::SsoClient;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn login_and_logout_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/sso"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"command":"login","userId":"agent","password":"agent-pw"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status":"success","crmSessionId":"crm-sess-norah-123-434343","message":"message"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/sso"))
        .and(body_json(
            json!({"command":"logout","crmSessionId":"crm-sess-norah-123-434343"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status":"success","message":""})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let sso = SsoClient::new(&format!("{}/crm/sso", server.uri())).unwrap();
    let session = sso
        .login("agent", &SecretString::from("agent-pw"))
        .await
        .unwrap();
    assert_eq!(session.expose_secret(), "crm-sess-norah-123-434343");
    assert!(!format!("{session:?}").contains("norah"));
    sso.logout(&session).await.unwrap();
}

#[tokio::test]
async fn login_form_and_typed_failures() {
    let server = MockServer::start().await;
    let login = r#"{"command":"login","userId":"admin4","password":"admin"}"#;
    let form = format!(
        "request={}",
        url::form_urlencoded::byte_serialize(login.as_bytes()).collect::<String>()
    );
    Mock::given(method("POST"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(form))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status":"failed","message":"bad password"})),
        )
        .mount(&server)
        .await;
    let sso = SsoClient::new(&server.uri()).unwrap().form(true);
    let err = sso
        .login("admin4", &SecretString::from("admin"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert!(err.to_string().contains("bad password"), "{err}");
    assert!(!format!("{err:?}").contains("admin\""));

    for (resp, kind) in [
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"status":"success","message":"no session"})),
            ErrorKind::Decode,
        ),
        (
            ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"),
            ErrorKind::Decode,
        ),
        (
            ResponseTemplate::new(200).set_body_raw("{\"status\":", "application/json"),
            ErrorKind::Decode,
        ),
        (
            ResponseTemplate::new(500)
                .set_body_json(json!({"status":"failed","message":"db down"})),
            ErrorKind::Status,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(resp)
            .mount(&server)
            .await;
        let sso = SsoClient::new(&server.uri()).unwrap();
        let err = sso
            .login("a", &SecretString::from("pw-SECRET"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(!format!("{err} {err:?}").contains("pw-SECRET"));
        // SSO is not idempotent: one request, never repeated.
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
    assert_eq!(
        SsoClient::new("not a url").unwrap_err().kind(),
        ErrorKind::Config
    );
}
