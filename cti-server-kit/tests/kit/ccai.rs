//! The CCAI generic CRM API server end to end against cti-client's
//! `GenericCrmClient`, configured from the same endpoint descriptions:
//! the account and record flows, comments, base64 and multipart uploads,
//! the three auth methods, the body formats and response locations.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use cti_client::generic::{CrmAuth, GenericCrmClient, OAuthConfig, Upload};
use cti_protocol::ccai::generic::{AttachmentResult, EndpointKind, GenericEndpoint, UploadType};
use cti_protocol::ccai::template::{RequestFormat, UrlTemplate, Values, Variable};
use cti_protocol::endpoint::Method;
use cti_server_kit::ccai::{CrmApi, CrmApiAuth, CrmBackend, CrmFailure, CrmFile, CrmParams};
use http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::ameyo::send;

/// An in-memory CRM.
#[derive(Default)]
struct Crm {
    accounts: Mutex<BTreeMap<u64, Value>>,
    records: Mutex<BTreeMap<u64, Value>>,
    comments: Mutex<Vec<(String, String)>>,
    files: Mutex<Vec<(String, CrmFile)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CrmBackend for Crm {
    async fn find_account(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
        let phone = p.field("phone").unwrap_or_default().to_owned();
        Ok(lock(&self.accounts)
            .values()
            .find(|a| a["phone"] == phone)
            .cloned())
    }
    async fn account_by_id(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
        let id: u64 = p
            .var("ACCOUNT_ID")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok(lock(&self.accounts).get(&id).cloned())
    }
    async fn create_account(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let name = p
            .field("name")
            .ok_or_else(|| CrmFailure::Invalid("`name` is required".into()))?;
        let mut accounts = lock(&self.accounts);
        let id = accounts.len() as u64 + 100;
        let account =
            json!({"id": id, "name": name, "phone": p.field("phone").unwrap_or_default()});
        accounts.insert(id, account.clone());
        Ok(account)
    }
    async fn create_record(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let mut records = lock(&self.records);
        let id = records.len() as u64 + 500;
        let record = json!({"id": id.to_string(), "subject": p.field("subject"), "account": p.field("accountId")});
        records.insert(id, record.clone());
        Ok(record)
    }
    async fn update_record(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let id: u64 = p.var("RECORD_ID").and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut records = lock(&self.records);
        let record = records
            .get_mut(&id)
            .ok_or_else(|| CrmFailure::Invalid("no such record".into()))?;
        record["description"] = json!(p.field("description"));
        Ok(record.clone())
    }
    async fn comment(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let record = p.var("RECORD_ID").unwrap_or_default().to_owned();
        lock(&self.comments).push((record, p.field("body").unwrap_or_default().to_owned()));
        Ok(json!({"ok": true}))
    }
    async fn upload_file(&self, p: CrmParams, file: CrmFile) -> Result<Value, CrmFailure> {
        let mut files = lock(&self.files);
        files.push((p.var("RECORD_ID").unwrap_or_default().to_owned(), file));
        Ok(json!({"id": format!("f{}", files.len())}))
    }
}

fn endpoints(base: &str, multipart: bool) -> Vec<GenericEndpoint> {
    let ep = |kind, method, path: &str| {
        GenericEndpoint::new(kind, method, &format!("{base}{path}"))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let ok = |r: cti_protocol::Result<GenericEndpoint>| r.unwrap_or_else(|e| panic!("{e}"));
    let mut upload = ok(ep(
        EndpointKind::UploadFile,
        Method::Post,
        "/api/records/{RECORD_ID}/files",
    )
    .param("file", "{FILE_DATA}"))
    .response_location("data");
    upload.attachment = Some(AttachmentResult::Id {
        location: "id".into(),
        builder: UrlTemplate::parse(&format!("{base}/files/{{RECORD_ID}}/{{ATTACHMENT_ID}}"))
            .unwrap_or_else(|e| panic!("{e}")),
    });
    if multipart {
        upload.upload = UploadType::Multipart;
    }
    vec![
        ep(
            EndpointKind::FindAccountById,
            Method::Get,
            "/api/accounts/{ACCOUNT_ID}",
        )
        .response_location("account"),
        ok(ep(
            EndpointKind::FindAccountByQuery,
            Method::Get,
            "/api/accounts?limit=1",
        )
        .param("phone", "{PHONE_NUMBER}"))
        .response_location("data[0]"),
        ok(ok(
            ep(EndpointKind::CreateAccount, Method::Post, "/api/accounts").param("name", "{NAME}"),
        )
        .param("phone", "{PHONE_NUMBER}"))
        .format(RequestFormat::ContainerMap("account".into()))
        .response_location("data"),
        ok(
            ok(ep(EndpointKind::CreateRecord, Method::Post, "/api/records")
                .param("subject", "Call from {NAME}"))
            .param("accountId", "{ACCOUNT_ID}"),
        )
        .format(RequestFormat::ContainerArray("records".into()))
        .response_location("data.record"),
        ok(ep(
            EndpointKind::UpdateRecord,
            Method::Patch,
            "/api/records/{RECORD_ID}",
        )
        .param("description", "Talked to {NAME}")),
        ok(ep(
            EndpointKind::Comment,
            Method::Post,
            "/api/records/{RECORD_ID}/comments",
        )
        .param("body", "{COMMENT_BODY}")),
        upload,
    ]
}

async fn start(auth: CrmApiAuth, multipart: bool, extra: Router) -> (String, Arc<Crm>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let crm = Arc::new(Crm::default());
    let mut api = CrmApi::new(Arc::clone(&crm), auth);
    for e in endpoints(&base, multipart) {
        api = api.endpoint(e).unwrap_or_else(|e| panic!("{e}"));
    }
    let app = api.into_router().merge(extra);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, crm)
}

fn client(base: &str, auth: CrmAuth, multipart: bool) -> GenericCrmClient {
    let mut c = GenericCrmClient::new(auth);
    for e in endpoints(base, multipart) {
        c = c.endpoint(e);
    }
    c
}

async fn full_flow(c: &GenericCrmClient, crm: &Crm) {
    let mut values = Values::new()
        .with(Variable::PhoneNumber, "+14155552671")
        .with(Variable::Name, "Ada Lovelace");
    let created = c
        .find_or_create_account(&mut values)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(created.created);
    assert_eq!(created.id, "100");
    assert_eq!(created.data["name"], "Ada Lovelace");
    // Found again, by id this time (ACCOUNT_ID is now set).
    let again = c
        .find_or_create_account(&mut values)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.created);
    assert_eq!(again.id, "100");
    // By query, for a session without the id.
    let mut fresh = Values::new().with(Variable::PhoneNumber, "+14155552671");
    let by_query = c
        .find_or_create_account(&mut fresh)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((by_query.id.as_str(), by_query.created), ("100", false));
    let record = c
        .find_or_create_record(&mut values)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record.id, "500");
    assert_eq!(record.data["subject"], "Call from Ada Lovelace");
    assert_eq!(record.data["account"], "100");
    let updated = c
        .update_record(&values)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        updated.as_ref().map(|v| v["description"].clone()),
        Some(json!("Talked to Ada Lovelace"))
    );
    c.comment(&values, "called back")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let file = Upload::new(
        "call-500.mp3",
        "audio/mpeg",
        vec![0xffu8, 0xfb, 0x90, 0x00, 1, 2, 3],
    );
    let attachment = c
        .upload_file(&values, &file, Some("recording"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(attachment.id.as_deref(), Some("f1"));
    assert!(
        attachment.url.ends_with("/files/500/f1"),
        "{}",
        attachment.url
    );
    // What the CRM stored: the file's bytes intact, and the comments.
    let files = lock(&crm.files);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "500");
    assert_eq!(&files[0].1.data[..], &file.data[..]);
    let comments = lock(&crm.comments).clone();
    assert_eq!(comments[0], ("500".to_owned(), "called back".to_owned()));
    assert!(
        comments[1].1.starts_with("recording\n") && comments[1].1.ends_with("/files/500/f1"),
        "{comments:?}"
    );
}

#[tokio::test]
async fn generic_api_end_to_end_with_basic_auth_and_base64_upload() {
    let (base, crm) = start(CrmApiAuth::basic("ccai", "pa55:word"), false, Router::new()).await;
    full_flow(
        &client(&base, CrmAuth::basic("ccai", "pa55:word"), false),
        &crm,
    )
    .await;
    // Wrong password: a 401 the client reports.
    let e = client(&base, CrmAuth::basic("ccai", "nope"), false)
        .find_or_create_account(&mut Values::new().with(Variable::PhoneNumber, "1"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("401") || e.to_lowercase().contains("unauthorized") || e.contains("credentials"),
        "{e}"
    );
}

#[tokio::test]
async fn generic_api_end_to_end_with_a_custom_header_and_multipart_upload() {
    let (base, crm) = start(
        CrmApiAuth::header("x-api-key", "k-123"),
        true,
        Router::new(),
    )
    .await;
    full_flow(
        &client(&base, CrmAuth::header("x-api-key", "k-123"), true),
        &crm,
    )
    .await;
    let files = lock(&crm.files);
    assert_eq!(
        (
            files[0].1.file_name.as_str(),
            files[0].1.content_type.as_str()
        ),
        ("call-500.mp3", "audio/mpeg")
    );
}

#[tokio::test]
async fn generic_api_end_to_end_with_an_oauth_bearer_hook() {
    // The CRM's token endpoint: a refresh token buys `tok-1`.
    let token = Router::new().route(
        "/oauth/token",
        post(|body: String| async move {
            if body.contains("grant_type=refresh_token") && body.contains("refresh_token=r-1") {
                (StatusCode::OK, axum::Json(json!({"access_token": "tok-1", "token_type": "bearer", "expires_in": 3600})))
            } else {
                (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"})))
            }
        }),
    );
    let auth = CrmApiAuth::bearer(|t: String| async move { t == "tok-1" });
    let (base, crm) = start(auth, false, token).await;
    let oauth = OAuthConfig::new(
        &format!("{base}/oauth/authorize"),
        &format!("{base}/oauth/token"),
        "ccai",
        "secret",
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .refresh_token("r-1");
    full_flow(&client(&base, CrmAuth::OAuth(Box::new(oauth)), false), &crm).await;
}

#[tokio::test]
async fn generic_api_refuses_bad_requests_with_4xx() {
    let base = "http://crm.test";
    let mut api = CrmApi::new(Crm::default(), CrmApiAuth::header("x-api-key", "k"));
    for e in endpoints(base, false) {
        api = api.endpoint(e).unwrap_or_else(|e| panic!("{e}"));
    }
    let app: Router = api.into_router();
    let with_key = |r: http::request::Builder| r.header("x-api-key", "k");
    let cases: Vec<(Request<Body>, u16)> = vec![
        (
            Request::get("/api/accounts?phone=1")
                .body(Body::empty())
                .unwrap_or_default(),
            401,
        ),
        (
            with_key(Request::get("/api/accounts?phone=1&phone=2"))
                .body(Body::empty())
                .unwrap_or_default(),
            400,
        ),
        (
            with_key(Request::get("/api/accounts?phone=1%00"))
                .body(Body::empty())
                .unwrap_or_default(),
            400,
        ),
        (
            with_key(Request::get("/api/accounts/999"))
                .body(Body::empty())
                .unwrap_or_default(),
            404,
        ),
        (
            with_key(Request::post("/api/accounts").header("content-type", "text/plain"))
                .body(Body::from("x"))
                .unwrap_or_default(),
            415,
        ),
        (
            with_key(Request::post("/api/accounts").header("content-type", "application/json"))
                .body(Body::from("{"))
                .unwrap_or_default(),
            400,
        ),
        (
            with_key(Request::post("/api/accounts").header("content-type", "application/json"))
                .body(Body::from(r#"{"name":"x"}"#))
                .unwrap_or_default(),
            400,
        ),
        (
            with_key(Request::post("/api/accounts").header("content-type", "application/json"))
                .body(Body::from(r#"{"account":{"name":{"a":1}}}"#))
                .unwrap_or_default(),
            400,
        ),
        (
            with_key(Request::post("/api/accounts").header("content-type", "application/json"))
                .body(Body::from(r#"{"account":{"phone":"1"}}"#))
                .unwrap_or_default(),
            400,
        ),
        (
            with_key(Request::post("/api/records").header("content-type", "application/json"))
                .body(Body::from(r#"{"records":[]}"#))
                .unwrap_or_default(),
            400,
        ),
        (
            with_key(
                Request::post("/api/records/1/files").header("content-type", "application/json"),
            )
            .body(Body::from(r#"{"file":"!!notbase64"}"#))
            .unwrap_or_default(),
            400,
        ),
        (
            with_key(
                Request::post("/api/records/1/files").header("content-type", "application/json"),
            )
            .body(Body::from("[".repeat(100_000)))
            .unwrap_or_default(),
            400,
        ),
        (
            with_key(Request::delete("/api/records/1"))
                .body(Body::empty())
                .unwrap_or_default(),
            405,
        ),
    ];
    for (i, (req, want)) in cases.into_iter().enumerate() {
        let (status, _, body) = send(&app, req).await;
        assert_eq!(
            status.as_u16(),
            want,
            "case {i}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Endpoints a router cannot serve are refused up front.
    let odd = GenericEndpoint::new(
        EndpointKind::CreateAccount,
        Method::Post,
        "http://crm.test/a-{ACCOUNT_ID}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        CrmApi::new(Crm::default(), CrmApiAuth::None)
            .endpoint(odd)
            .is_err()
    );
    // Debug shows no secrets.
    let text = format!("{:?}", CrmApiAuth::basic("ccai", "pa55:word"));
    assert!(!text.contains("pa55"), "{text}");
}
