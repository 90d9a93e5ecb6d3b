#![no_main]
//! Fuzzes the kit's HTTP surface in process: an arbitrary method, path,
//! query, content type, headers and body against the Ameyo SSO, screen-pop,
//! dispose-callback and vendor routes and the CCAI generic CRM API, behind
//! `Hardening`. No input may panic a route or draw a 5xx (the backends here
//! never fail), and every refusal carries `{error, message}` as JSON.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use cti_protocol::ameyo::api::{
    ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest,
    LegacyDisposeRequest, VoiceLogFormat,
};
use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint};
use cti_protocol::ccai::template::RequestFormat;
use cti_protocol::endpoint::Method;
use cti_server_kit::ameyo::params::{CrmSessionGuard, Customer, DisposeCallback, DisposeRoute};
use cti_server_kit::ameyo::sso::{SsoEndpoint, StaticCredentials, StoreSso};
use cti_server_kit::ameyo::vendor::{AmeyoRoutes, CtiBackend, VendorAuth, VendorFailure, VoiceLog};
use cti_server_kit::ccai::{CrmApi, CrmApiAuth, CrmBackend, CrmFailure, CrmFile, CrmParams};
use cti_server_kit::harden::Hardening;
use cti_server_kit::store::MemoryStore;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Switch;

impl CtiBackend for Switch {
    async fn dispose_call_for_user(&self, _: DisposeCallForUserRequest) -> Result<(), VendorFailure> {
        Ok(())
    }
    async fn click_to_dial(&self, _: ClickToDialRequest) -> Result<(), VendorFailure> {
        Ok(())
    }
    async fn dispose_and_manual_dial(
        &self,
        _: Option<&str>,
        _: Option<&str>,
        _: DisposeAndManualDialRequest,
    ) -> Result<(), VendorFailure> {
        Err(VendorFailure::InvalidSessionId)
    }
    async fn voice_log(&self, _: &str, f: VoiceLogFormat) -> Result<VoiceLog, VendorFailure> {
        Ok(VoiceLog::from_bytes(axum::body::Bytes::from_static(&[1u8; 512]), f))
    }
    async fn legacy_dispose(&self, _: LegacyDisposeRequest) -> Result<(), VendorFailure> {
        Ok(())
    }
}

struct Crm;

impl CrmBackend for Crm {
    async fn find_account(&self, _: CrmParams) -> Result<Option<Value>, CrmFailure> {
        Ok(None)
    }
    async fn create_account(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        Ok(json!({"id": 1, "name": p.field("name")}))
    }
    async fn upload_file(&self, _: CrmParams, f: CrmFile) -> Result<Value, CrmFailure> {
        Ok(json!({"id": f.data.len()}))
    }
}

struct Accept;

impl DisposeCallback for Accept {
    async fn disposed(&self, _: cti_protocol::ameyo::DisposeParams, _: Option<String>) -> Result<(), String> {
        Ok(())
    }
}

fn app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| {
        let store = MemoryStore::new();
        let sso = Arc::new(StoreSso::new(
            store.clone(),
            StaticCredentials::new().user("agent", "agent"),
            Duration::from_secs(60),
        ));
        let guard = CrmSessionGuard::new(Arc::clone(&sso));
        let ep = |kind, method, path: &str| {
            GenericEndpoint::new(kind, method, &format!("https://crm.example{path}")).expect("a valid endpoint")
        };
        let api = CrmApi::new(Crm, CrmApiAuth::None)
            .endpoint(ep(EndpointKind::FindAccountByQuery, Method::Get, "/api/accounts"))
            .and_then(|a| {
                a.endpoint(
                    ep(EndpointKind::CreateAccount, Method::Post, "/api/accounts")
                        .format(RequestFormat::ContainerMap("account".into())),
                )
            })
            .and_then(|a| {
                a.endpoint(
                    ep(EndpointKind::UploadFile, Method::Post, "/api/records/{RECORD_ID}/files")
                        .param("file", "{FILE_DATA}")
                        .expect("a valid parameter"),
                )
            })
            .expect("valid routes");
        Router::new()
            .route("/sso", SsoEndpoint::new(Arc::clone(&sso), store.clone()).limits(None).into_route())
            .route("/customer", axum::routing::get(|Customer(p): Customer| async move { p.phone }))
            .route("/dispose", DisposeRoute::new(Accept).guarded(guard.clone()).into_route())
            .with_state(guard)
            .merge(AmeyoRoutes::new(Switch, VendorAuth::new().rest_token("t"), store).into_router())
            .merge(api.into_router())
            .layer(Hardening::new().body_limit(64 * 1024).layer())
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

const PATHS: &[&str] = &[
    "/sso",
    "/customer",
    "/dispose",
    "/ameyorestapi/voice/disposeCallForUser",
    "/ameyorestapi/voice/disposeAndManualDial",
    "/ameyowebaccess/command",
    "/ameyowebaccess/command/",
    "/dacx/dispose",
    "/api/accounts",
    "/api/records/7/files",
];
const TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let path = PATHS[usize::from(data[0]) % PATHS.len()];
    let content_type = TYPES[usize::from(data[1]) % TYPES.len()];
    let method = if data[2] & 1 == 0 { "GET" } else { "POST" };
    let rest = &data[3..];
    // The first line is the query (and, after a tab, one header value);
    // the rest is the body.
    let (head, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let (query, header) = head.split_once('\t').unwrap_or((&head, ""));
    let query: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>().replace("%3D", "=").replace("%26", "&");
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("{path}?{query}"));
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    if let Ok(v) = http::HeaderValue::from_str(header) {
        req = req.header("authorization", v.clone()).header("range", v.clone()).header("sessionId", v);
    }
    let Ok(req) = req.body(Body::from(body.to_vec())) else { return };
    let response = runtime().block_on(app().clone().oneshot(req)).unwrap_or_else(|e| match e {});
    let status = response.status();
    assert!(!status.is_server_error(), "{method} {path}: {status}");
    if status.is_client_error() {
        let bytes = runtime()
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap_or_default();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(
            v["error"].is_string() && v["message"].is_string(),
            "{method} {path}: {status} without {{error, message}}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
});
