//! The reference deployment: every HTTP route of the kit, mounted as a
//! CRM and a vendor would, on in-memory backends. Shared by
//! `examples/api_server.rs` (which schemathesis tests in CI) and the test
//! that keeps the committed `openapi.json` current.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use cti_protocol::ameyo::DisposeParams;
use cti_protocol::ameyo::api::{
    ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest,
    LegacyDisposeRequest, VoiceLogFormat,
};
use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint};
use cti_protocol::ccai::template::RequestFormat;
use cti_protocol::endpoint::Method;
use cti_server_kit::ameyo::params::{
    CrmSessionGuard, Customer, DisposeCallback, DisposeRoute, KnowledgeBase, Preview,
};
use cti_server_kit::ameyo::sso::{SsoEndpoint, StaticCredentials, StoreSso};
use cti_server_kit::ameyo::vendor::{AmeyoRoutes, CtiBackend, VendorAuth, VendorFailure, VoiceLog};
use cti_server_kit::ccai::{CrmApi, CrmApiAuth, CrmBackend, CrmFailure, CrmFile, CrmParams};
use cti_server_kit::harden::Hardening;
use cti_server_kit::openapi::{ApiDoc, ScreenPop};
use cti_server_kit::store::MemoryStore;
use serde_json::{Value, json};

/// The demo credentials.
pub(crate) const REST_TOKEN: &str = "demo-token";
pub(crate) const HASH_KEY: &str = "demo-hash";
pub(crate) const CRM_KEY: &str = "demo-key";

fn ccai_endpoints() -> Vec<GenericEndpoint> {
    let base = "https://crm.example";
    let ep = |kind, method, path: &str| {
        GenericEndpoint::new(kind, method, &format!("{base}{path}"))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let p = |e: cti_protocol::Result<GenericEndpoint>| e.unwrap_or_else(|e| panic!("{e}"));
    vec![
        ep(
            EndpointKind::FindAccountById,
            Method::Get,
            "/api/accounts/{ACCOUNT_ID}",
        )
        .response_location("account"),
        p(ep(
            EndpointKind::FindAccountByQuery,
            Method::Get,
            "/api/accounts",
        )
        .param("phone", "{PHONE_NUMBER}"))
        .response_location("data[0]"),
        p(p(
            ep(EndpointKind::CreateAccount, Method::Post, "/api/accounts").param("name", "{NAME}"),
        )
        .param("phone", "{PHONE_NUMBER}"))
        .format(RequestFormat::ContainerMap("account".into()))
        .response_location("data"),
        p(ep(EndpointKind::CreateRecord, Method::Post, "/api/records")
            .param("subject", "Call from {NAME}"))
        .format(RequestFormat::ContainerArray("records".into()))
        .response_location("data.record"),
        p(ep(
            EndpointKind::UpdateRecord,
            Method::Patch,
            "/api/records/{RECORD_ID}",
        )
        .param("description", "{COMMENT_BODY}")),
        p(ep(
            EndpointKind::Comment,
            Method::Post,
            "/api/records/{RECORD_ID}/comments",
        )
        .param("body", "{COMMENT_BODY}")),
        p(ep(
            EndpointKind::UploadFile,
            Method::Post,
            "/api/records/{RECORD_ID}/files",
        )
        .param("file", "{FILE_DATA}")),
    ]
}

/// The document of [`router`].
pub(crate) fn doc() -> ApiDoc {
    ApiDoc::new("cti-server-kit reference deployment", "0.1.0")
        .health("/healthz")
        .sso("/ameyo/sso")
        .screen_pop(ScreenPop::KnowledgeBase, "/ameyo/kb", false)
        .screen_pop(ScreenPop::Customer, "/ameyo/customer", false)
        .screen_pop(ScreenPop::Preview, "/ameyo/preview", false)
        .dispose_callback("/ameyo/dispose", true)
        .ameyo_vendor()
        .ccai(&ccai_endpoints(), &CrmApiAuth::header("x-api-key", CRM_KEY))
}

/// A switch with one live agent session and one recording.
struct DemoSwitch;

impl CtiBackend for DemoSwitch {
    async fn dispose_call_for_user(
        &self,
        r: DisposeCallForUserRequest,
    ) -> Result<(), VendorFailure> {
        match r.disposition_code_name.as_str() {
            "sale" | "callback" | "no-answer" => Ok(()),
            _ => Err(VendorFailure::DispositionNotInPlan),
        }
    }
    async fn click_to_dial(&self, r: ClickToDialRequest) -> Result<(), VendorFailure> {
        if r.campaign_id == "1" {
            Ok(())
        } else {
            Err(VendorFailure::InvalidCampaign)
        }
    }
    async fn dispose_and_manual_dial(
        &self,
        session: Option<&str>,
        _: Option<&str>,
        r: DisposeAndManualDialRequest,
    ) -> Result<(), VendorFailure> {
        if session != Some("demo-session") {
            return Err(VendorFailure::InvalidSessionId);
        }
        if !r.crt_object_id.contains("-vce-") {
            return Err(VendorFailure::InvalidCrtObjectId);
        }
        Ok(())
    }
    async fn voice_log(
        &self,
        crt: &str,
        format: VoiceLogFormat,
    ) -> Result<VoiceLog, VendorFailure> {
        if crt == "d865-68dbb572-vce-22" {
            Ok(VoiceLog::from_bytes(
                Bytes::from_static(&[0u8; 4096]),
                format,
            ))
        } else {
            Err(VendorFailure::RecordingNotFound)
        }
    }
    async fn legacy_dispose(&self, r: LegacyDisposeRequest) -> Result<(), VendorFailure> {
        if r.disposition_code == "sale" {
            Ok(())
        } else {
            Err(VendorFailure::DispositionNotInPlan)
        }
    }
}

/// Accounts and records in memory.
#[derive(Default)]
struct DemoCrm {
    accounts: Mutex<BTreeMap<String, Value>>,
    records: Mutex<BTreeMap<String, Value>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CrmBackend for DemoCrm {
    async fn find_account(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
        let phone = p.field("phone").unwrap_or_default();
        Ok(lock(&self.accounts)
            .values()
            .find(|a| a["phone"] == phone)
            .cloned())
    }
    async fn account_by_id(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
        Ok(lock(&self.accounts)
            .get(p.var("ACCOUNT_ID").unwrap_or_default())
            .cloned())
    }
    async fn create_account(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let mut accounts = lock(&self.accounts);
        if accounts.len() >= 10_000 {
            return Err(CrmFailure::Invalid("the demo CRM is full".into()));
        }
        let id = (accounts.len() + 1).to_string();
        let a = json!({"id": id, "name": p.field("name"), "phone": p.field("phone")});
        accounts.insert(id, a.clone());
        Ok(a)
    }
    async fn create_record(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let mut records = lock(&self.records);
        if records.len() >= 10_000 {
            return Err(CrmFailure::Invalid("the demo CRM is full".into()));
        }
        let id = (records.len() + 1).to_string();
        let r = json!({"id": id, "subject": p.field("subject")});
        records.insert(id, r.clone());
        Ok(r)
    }
    async fn update_record(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let mut records = lock(&self.records);
        let r = records
            .get_mut(p.var("RECORD_ID").unwrap_or_default())
            .ok_or_else(|| CrmFailure::Invalid("no such record".into()))?;
        r["description"] = json!(p.field("description"));
        Ok(r.clone())
    }
    async fn comment(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        if lock(&self.records).contains_key(p.var("RECORD_ID").unwrap_or_default()) {
            Ok(json!({"ok": true}))
        } else {
            Err(CrmFailure::Invalid("no such record".into()))
        }
    }
    async fn upload_file(&self, p: CrmParams, file: CrmFile) -> Result<Value, CrmFailure> {
        if lock(&self.records).contains_key(p.var("RECORD_ID").unwrap_or_default()) {
            Ok(json!({"id": format!("file-{}", file.data.len())}))
        } else {
            Err(CrmFailure::Invalid("no such record".into()))
        }
    }
}

/// Dispositions are accepted and logged.
struct Log;

impl DisposeCallback for Log {
    async fn disposed(&self, params: DisposeParams, user: Option<String>) -> Result<(), String> {
        tracing::info!(disposition = %params.disposition, user = ?user, "disposed");
        Ok(())
    }
}

/// Every route, with `/openapi.json` and `/healthz`.
pub(crate) fn router() -> Router {
    let store = MemoryStore::new();
    let sso = Arc::new(StoreSso::new(
        store.clone(),
        StaticCredentials::new().user("agent", "agent"),
        Duration::from_secs(8 * 3600),
    ));
    let guard = CrmSessionGuard::new(Arc::clone(&sso));
    let crm_pages = Router::new()
        .route(
            "/ameyo/kb",
            get(|KnowledgeBase(p): KnowledgeBase| async move {
                format!("knowledge base for {}", p.user_id)
            }),
        )
        .route(
            "/ameyo/customer",
            get(|Customer(p): Customer| async move { format!("customer {}", p.phone) }),
        )
        .route(
            "/ameyo/preview",
            get(|Preview(p): Preview| async move { format!("preview {}", p.phone) }),
        )
        .route(
            "/ameyo/dispose",
            DisposeRoute::new(Log).guarded(guard.clone()).into_route(),
        )
        .with_state(guard);
    let mut ccai = CrmApi::new(DemoCrm::default(), CrmApiAuth::header("x-api-key", CRM_KEY));
    for e in ccai_endpoints() {
        ccai = ccai.endpoint(e).unwrap_or_else(|e| panic!("{e}"));
    }
    let vendor = AmeyoRoutes::new(
        DemoSwitch,
        VendorAuth::new()
            .rest_token(REST_TOKEN)
            .hash_key("demo", HASH_KEY),
        store.clone(),
    );
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", doc().into_route())
        .route("/ameyo/sso", SsoEndpoint::new(sso, store).into_route())
        .merge(crm_pages)
        .merge(vendor.into_router())
        .merge(ccai.into_router())
        .layer(
            Hardening::new()
                .body_limit(1024 * 1024)
                .timeout(Duration::from_secs(10))
                .layer(),
        )
}
