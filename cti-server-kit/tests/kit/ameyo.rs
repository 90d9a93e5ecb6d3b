//! The Ameyo routes: SSO, URL extractors and the dispose callback on the
//! CRM side; the vendor-side routes end to end against cti-client's
//! `AmeyoClient` and `SsoClient`; the seed's curl samples replayed.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::get;
use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_client::sso::SsoClient;
use cti_protocol::ameyo::DisposeParams;
use cti_protocol::ameyo::api::{
    ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest, DispositionParams,
    LegacyDisposeRequest, VoiceLogFormat,
};
use cti_server_kit::ameyo::params::{
    CrmSession, CrmSessionGuard, Customer, DisposeCallback, DisposeRoute, KnowledgeBase,
};
use cti_server_kit::ameyo::sso::{
    ClientAddress, LoginLimits, Rate, SsoEndpoint, SsoProvider as _, StaticCredentials, StoreSso,
};
use cti_server_kit::ameyo::vendor::{AmeyoRoutes, CtiBackend, VendorAuth, VendorFailure, VoiceLog};
use cti_server_kit::store::MemoryStore;
use http::{Request, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub(crate) fn sso_provider(ttl: Duration) -> Arc<StoreSso<StaticCredentials>> {
    Arc::new(StoreSso::new(
        MemoryStore::new(),
        StaticCredentials::new()
            .user("agent", "agent")
            .user("admin4", "admin"),
        ttl,
    ))
}

pub(crate) fn sso_app(
    provider: Arc<StoreSso<StaticCredentials>>,
    limits: Option<LoginLimits>,
) -> Router {
    Router::new().route(
        "/ameyo/sso",
        SsoEndpoint::new(provider, MemoryStore::new())
            .limits(limits)
            .client_address(ClientAddress::LastForwardedFor)
            .into_route(),
    )
}

pub(crate) async fn send(app: &Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, Bytes) {
    let r = app
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = r.status();
    let headers = r.headers().clone();
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (status, headers, body)
}

fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

async fn serve(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        axum::serve(l, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn sso_seed_samples_json_and_form() {
    let app = sso_app(sso_provider(Duration::from_secs(60)), None);
    // The seed's JSON login.
    let (s, h, b) = send(
        &app,
        post(
            "/ameyo/sso",
            "application/json",
            r#"{"password":"agent","userId":"agent","command":"login"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let v = json_of(&b);
    assert_eq!(v["status"], "success");
    let id = v["crmSessionId"].as_str().unwrap_or_default().to_owned();
    // 256 bits, base64url.
    assert_eq!(id.len(), 43, "{id}");
    // The seed's form login.
    let form = format!(
        "request={}",
        percent(r#"{"password":"admin","userId":"admin4","command":"login"}"#)
    );
    let (s, _, b) = send(
        &app,
        post("/ameyo/sso", "application/x-www-form-urlencoded", form),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let other = json_of(&b)["crmSessionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(other, id);
    // Logout, the seed's shape, then the session is gone.
    let logout = json!({"command": "logout", "crmSessionId": id}).to_string();
    let (s, _, b) = send(&app, post("/ameyo/sso", "application/json", logout.clone())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b), json!({"status": "success", "message": ""}));
    let (s, _, b) = send(&app, post("/ameyo/sso", "application/json", logout)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["status"], "failed");
}

fn percent(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn sso_wrong_password_is_the_seeds_failed_answer_and_says_nothing_about_which() {
    let app = sso_app(sso_provider(Duration::from_secs(60)), None);
    for body in [
        r#"{"password":"nope","userId":"agent","command":"login"}"#,
        r#"{"password":"agent","userId":"nobody","command":"login"}"#,
    ] {
        let (s, _, b) = send(&app, post("/ameyo/sso", "application/json", body)).await;
        // Seed 002: failures return `status=failed` with a message.
        assert_eq!(s, StatusCode::OK);
        let v = json_of(&b);
        assert_eq!(
            v,
            json!({"status": "failed", "message": "invalid user id or password"})
        );
    }
}

#[tokio::test]
async fn sso_brute_force_is_rate_limited_per_user_and_per_address() {
    let limits = LoginLimits::new(MemoryStore::new())
        .per_user(Some(Rate::new(3, Duration::from_secs(60))))
        .per_address(Some(Rate::new(5, Duration::from_secs(60))));
    let app = sso_app(sso_provider(Duration::from_secs(60)), Some(limits));
    let attempt = |user: &str, password: &str, ip: &str| {
        let body = json!({"command": "login", "userId": user, "password": password}).to_string();
        Request::post("/ameyo/sso")
            .header("content-type", "application/json")
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // Successes use up nothing: the real user signs in again and again.
    for _ in 0..10 {
        let (s, _, _) = send(&app, attempt("agent", "agent", "198.51.100.7")).await;
        assert_eq!(s, StatusCode::OK);
    }
    for _ in 0..3 {
        let (s, _, b) = send(&app, attempt("agent", "guess", "198.51.100.1")).await;
        assert_eq!(
            (s, json_of(&b)["status"].clone()),
            (StatusCode::OK, json!("failed"))
        );
    }
    // The attacker's fourth try for this user is refused, even with the
    // right password: the password is not even checked.
    let (s, h, b) = send(&app, attempt("agent", "agent", "198.51.100.1")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = h
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(json_of(&b)["status"], "failed");
    // The real user, from elsewhere, is not locked out.
    let (s, _, _) = send(&app, attempt("agent", "agent", "198.51.100.2")).await;
    assert_eq!(s, StatusCode::OK);
    // Per address: 198.51.100.1 has failed 3 of 5; two more users, then
    // every user from there is refused.
    for user in ["u1", "u2"] {
        let (s, _, b) = send(&app, attempt(user, "x", "198.51.100.1")).await;
        assert_eq!(
            (s, json_of(&b)["status"].clone()),
            (StatusCode::OK, json!("failed"))
        );
    }
    let (s, _, _) = send(&app, attempt("admin4", "admin", "198.51.100.1")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // Another user from a fresh address still gets in.
    let (s, _, _) = send(&app, attempt("admin4", "admin", "198.51.100.3")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn sso_limits_hold_without_client_addresses() {
    // No ConnectInfo, no forwarded header: the per-address limit still
    // applies, to every such client together.
    let limits = LoginLimits::new(MemoryStore::new())
        .per_user(None)
        .per_address(Some(Rate::new(4, Duration::from_secs(60))));
    let app = Router::new().route(
        "/ameyo/sso",
        SsoEndpoint::new(sso_provider(Duration::from_secs(60)), MemoryStore::new())
            .limits(Some(limits))
            .into_route(),
    );
    let mut statuses = Vec::new();
    for n in 0..6 {
        let body =
            json!({"command": "login", "userId": format!("user{n}"), "password": "x"}).to_string();
        let (s, _, _) = send(&app, post("/ameyo/sso", "application/json", body)).await;
        statuses.push(s.as_u16());
    }
    // Four refused logins (the seed's `status: failed`, at 200), then the lock.
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn sso_refuses_browser_requests_from_other_sites_and_plain_text() {
    let app = sso_app(sso_provider(Duration::from_secs(60)), None);
    let login = r#"{"password":"agent","userId":"agent","command":"login"}"#;
    let browser = |origin: &str, content_type: &str| {
        Request::post("/ameyo/sso")
            .header("host", "crm.example")
            .header("origin", origin)
            .header("content-type", content_type)
            .body(Body::from(login))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (s, _, b) = send(&app, browser("https://evil.example", "application/json")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&b)["status"], "failed");
    let (s, _, _) = send(&app, browser("https://crm.example", "text/plain")).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _, _) = send(&app, browser("https://crm.example", "application/json")).await;
    assert_eq!(s, StatusCode::OK);
    // Ameyo's own server sends no Origin; its plain bodies still work.
    let (s, _, _) = send(&app, post("/ameyo/sso", "text/plain", login)).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn sso_login_sets_an_http_only_session_cookie_that_gates_routes() {
    use cti_server_kit::ameyo::sso::{RequireSession, SessionCookie, SignedIn};
    let store = MemoryStore::new();
    let provider = Arc::new(StoreSso::new(
        store.clone(),
        StaticCredentials::new().user("agent", "agent"),
        Duration::from_secs(60),
    ));
    let cookie = SessionCookie::new("crm_session").secure(false);
    let app = Router::new()
        .route("/api/me", get(|who: SignedIn| async move { who.user_id }))
        .layer(RequireSession::new(Arc::clone(&provider), cookie.clone()))
        .route(
            "/ameyo/sso",
            SsoEndpoint::new(Arc::clone(&provider), store)
                .session_cookie(cookie)
                .into_route(),
        );
    let (s, _, b) = send(
        &app,
        Request::get("/api/me")
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(&b)["error"], "not_signed_in");
    let login = r#"{"password":"agent","userId":"agent","command":"login"}"#;
    let (s, h, b) = send(&app, post("/ameyo/sso", "application/json", login)).await;
    assert_eq!(s, StatusCode::OK);
    let set = h
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(set.starts_with("crm_session="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    let sid = json_of(&b)["crmSessionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(set.contains(&sid));
    let me = |cookie: String| {
        Request::get("/api/me")
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (s, _, b) = send(&app, me(format!("other=1; crm_session={sid}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, "agent");
    let (s, _, _) = send(&app, me("crm_session=forged".into())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Logout ends the session and clears the cookie.
    let logout = Request::post("/ameyo/sso")
        .header("content-type", "application/json")
        .header("cookie", format!("crm_session={sid}"))
        .body(Body::from(
            json!({"command": "logout", "crmSessionId": sid}).to_string(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, h, _) = send(&app, logout).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h.get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("Max-Age=0"))
    );
    let (s, _, _) = send(&app, me(format!("crm_session={sid}"))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sso_sessions_expire_and_resolve_slides() {
    let provider = sso_provider(Duration::from_millis(150));
    let id = provider
        .login("agent", &SecretString::from("agent"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(
            provider
                .resolve(id.expose_secret())
                .await
                .ok()
                .flatten()
                .as_deref(),
            Some("agent"),
            "renewed by use"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        provider.resolve(id.expose_secret()).await.ok().flatten(),
        None
    );
    // A forged id of the right shape, and one far too long.
    assert_eq!(provider.resolve(&"A".repeat(43)).await.ok().flatten(), None);
    assert_eq!(
        provider.resolve(&"A".repeat(10_000)).await.ok().flatten(),
        None
    );
}

#[tokio::test]
async fn sso_debug_output_is_redacted() {
    let provider = sso_provider(Duration::from_secs(60));
    let id = provider
        .login("agent", &SecretString::from("agent"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let endpoint = SsoEndpoint::new(Arc::clone(&provider), MemoryStore::new());
    let auth = VendorAuth::new()
        .rest_token("12345abc")
        .hash_key("setup.ameyo.net", "tok-9f8e");
    let login: cti_protocol::ameyo::sso::SsoRequest =
        serde_json::from_str(r#"{"password":"hunter22","userId":"agent","command":"login"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
    for text in [
        format!("{provider:?}"),
        format!("{endpoint:?}"),
        format!("{auth:?}"),
        format!("{login:?}"),
    ] {
        for secret in [id.expose_secret(), "hunter22", "12345abc", "tok-9f8e"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // The static table shows user ids only.
    assert!(format!("{provider:?}").contains("agent"));
}

#[tokio::test]
async fn sso_end_to_end_with_the_client_json_and_form() {
    let url = serve(sso_app(sso_provider(Duration::from_secs(60)), None)).await;
    for form in [false, true] {
        let client = SsoClient::new(&format!("{url}/ameyo/sso"))
            .unwrap_or_else(|e| panic!("{e}"))
            .form(form);
        let id = client
            .login("agent", &SecretString::from("agent"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        client.logout(&id).await.unwrap_or_else(|e| panic!("{e}"));
        let again = client.logout(&id).await;
        assert!(again.is_err(), "a second logout must fail");
        let bad = client.login("agent", &SecretString::from("wrong")).await;
        let e = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("invalid user id or password"), "{e}");
    }
}

/// A CRM router with the screen-pop extractors, a guarded screen pop and
/// the dispose callback.
#[derive(Clone, Default)]
struct Dispositions(Arc<Mutex<Vec<Disposed>>>);

/// A disposition and the session user it came with.
type Disposed = (String, Option<String>);

impl DisposeCallback for Dispositions {
    async fn disposed(&self, params: DisposeParams, user: Option<String>) -> Result<(), String> {
        if params.disposition == "not-in-plan" {
            return Err("unknown disposition".into());
        }
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((params.disposition, user));
        Ok(())
    }
}

fn crm_app(provider: Arc<StoreSso<StaticCredentials>>, log: Dispositions) -> Router {
    let guard = CrmSessionGuard::new(Arc::clone(&provider));
    Router::new()
        .route(
            "/kb",
            get(|KnowledgeBase(p): KnowledgeBase| async move { format!("kb for {}", p.user_id) }),
        )
        .route(
            "/customer",
            get(|Customer(p): Customer| async move { format!("pop {} {}", p.crt_object_id, p.phone) }),
        )
        .route(
            "/guarded",
            get(|s: CrmSession<cti_protocol::ameyo::CustomerParams>| async move {
                format!("{} sees {}", s.user, s.params.phone)
            }),
        )
        .route("/dispose", DisposeRoute::new(log).guarded(guard.clone()).into_route())
        .with_state(guard)
}

const CALL: &str = "sessionId=d580-63088cf7-ses-agent-69vHXZtc-175&campaignId=12&crtObjectId=d865-68dbb572-vce-22&userCrtObjectId=d202-5b4d83c1-ses-agent-x-uce-5&userId=agent&phone=%2B14155552671";

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn screen_pop_extractors_and_the_session_guard() {
    let provider = sso_provider(Duration::from_secs(60));
    let log = Dispositions::default();
    let app = crm_app(Arc::clone(&provider), log.clone());
    let (s, _, b) = send(&app, get_req(&format!("/customer?{CALL}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&b[..], b"pop d865-68dbb572-vce-22 +14155552671");
    let (s, _, b) = send(&app, get_req("/kb?userId=agent&sessionId=s-1")).await;
    assert_eq!((s, &b[..]), (StatusCode::OK, &b"kb for agent"[..]));
    // A missing parameter is a 400 that names it.
    let (s, _, b) = send(&app, get_req("/customer?userId=agent")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v = json_of(&b);
    assert_eq!(v["error"], "bad_params");
    assert!(
        v["message"].as_str().unwrap_or("").contains("sessionId"),
        "{v}"
    );
    // The guard: no session, a bad one, a live one.
    let (s, _, b) = send(&app, get_req(&format!("/guarded?{CALL}"))).await;
    assert_eq!(
        (s, json_of(&b)["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("no_session"))
    );
    let (s, _, b) = send(
        &app,
        get_req(&format!("/guarded?{CALL}&crmSessionId=forged")),
    )
    .await;
    assert_eq!(
        (s, json_of(&b)["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("bad_session"))
    );
    let id = provider
        .login("agent", &SecretString::from("agent"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, _, b) = send(
        &app,
        get_req(&format!(
            "/guarded?{CALL}&crmSessionId={}",
            id.expose_secret()
        )),
    )
    .await;
    assert_eq!(
        (s, &b[..]),
        (StatusCode::OK, &b"agent sees +14155552671"[..])
    );
    // The dispose callback, guarded.
    let dispose = format!(
        "/dispose?{CALL}&disposition=sale&dispositionAttribute=after-03-00-0000%2002:01:00&crmSessionId={}",
        id.expose_secret()
    );
    let (s, _, b) = send(&app, get_req(&dispose)).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert_eq!(
        json_of(&b),
        json!({"result": "success", "reason": "success"})
    );
    let (s, _, b) = send(
        &app,
        get_req(&format!("{}&x=1", dispose.replace("=sale", "=not-in-plan"))),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(&b)["reason"], "unknown disposition");
    // POST with a form body works too.
    let body = format!(
        "{CALL}&disposition=callback&crmSessionId={}",
        id.expose_secret()
    );
    let (s, _, _) = send(
        &app,
        post("/dispose", "application/x-www-form-urlencoded", body),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = send(&app, get_req(&format!("/dispose?{CALL}&disposition=sale"))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let seen = log
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(
        seen,
        vec![
            ("sale".to_owned(), Some("agent".to_owned())),
            ("callback".to_owned(), Some("agent".to_owned()))
        ]
    );
}

/// A switch for the vendor routes: one live agent session, one
/// campaign plan, one recording; it counts calls so replays can be
/// checked.
#[derive(Default)]
pub(crate) struct Switch {
    pub(crate) calls: AtomicUsize,
    pub(crate) dialled: Mutex<Vec<String>>,
}

pub(crate) const RECORDING_LEN: usize = 200_000;

pub(crate) fn recording() -> Bytes {
    (0..RECORDING_LEN)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

impl CtiBackend for Switch {
    async fn dispose_call_for_user(
        &self,
        r: DisposeCallForUserRequest,
    ) -> Result<(), VendorFailure> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match r.disposition_code_name.as_str() {
            "sale" | "callback" => Ok(()),
            // Hangs, for cancellation tests.
            "slow" => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            _ => Err(VendorFailure::DispositionNotInPlan),
        }
    }
    async fn click_to_dial(&self, r: ClickToDialRequest) -> Result<(), VendorFailure> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if r.campaign_id != "1" {
            return Err(VendorFailure::InvalidCampaign);
        }
        self.dialled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(r.phone);
        Ok(())
    }
    async fn dispose_and_manual_dial(
        &self,
        session: Option<&str>,
        cookie: Option<&str>,
        r: DisposeAndManualDialRequest,
    ) -> Result<(), VendorFailure> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let live = session == Some("d580-63088cf7-ses-agent-69vHXZtc-175")
            || (session.is_none() && cookie.is_some_and(|c| c.contains("__METADATA__=0ab6aca4")));
        if !live {
            return Err(VendorFailure::InvalidSessionId);
        }
        if !r.crt_object_id.contains("-vce-") {
            return Err(VendorFailure::InvalidCrtObjectId);
        }
        if r.disposition_code != "sale" {
            return Err(VendorFailure::DispositionNotInPlan);
        }
        Ok(())
    }
    async fn voice_log(
        &self,
        crt: &str,
        format: VoiceLogFormat,
    ) -> Result<VoiceLog, VendorFailure> {
        if crt == "d865-68dbb572-vce-22" {
            Ok(VoiceLog::from_bytes(recording(), format))
        } else {
            Err(VendorFailure::RecordingNotFound)
        }
    }
    async fn legacy_dispose(&self, r: LegacyDisposeRequest) -> Result<(), VendorFailure> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if r.disposition_code == "sale" {
            Ok(())
        } else {
            Err(VendorFailure::DispositionNotInPlan)
        }
    }
}

pub(crate) fn vendor_auth() -> VendorAuth {
    VendorAuth::new()
        .rest_token("12345abc")
        .hash_key("setup.ameyo.net", "ameyogeneratedtoken")
}

pub(crate) fn vendor_app(switch: Arc<Switch>) -> Router {
    AmeyoRoutes::new(
        switch,
        vendor_auth().open_voice_logs(true),
        MemoryStore::new(),
    )
    .into_router()
}

#[tokio::test]
async fn vendor_routes_replay_the_seed_curl_samples() {
    let switch = Arc::new(Switch::default());
    let app = vendor_app(Arc::clone(&switch));
    // disposeCallForUser (the sample's path is lower-cased; ours follows
    // public code: camelCase).
    let req = Request::post("/ameyorestapi/voice/disposeCallForUser")
        .header("content-type", "application/json")
        .header("authorization", "12345abc")
        .body(Body::from(r#"{ "userId": "vaptuser1", "dispositionCodeName": "sale", "dispositionParams": {"isSelfCallback": "false", "callbackTime": "", "phone": "7004281599"}, "requestId": "8989898989", "notes": "" }"#))
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, _, b) = send(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert_eq!(
        json_of(&b),
        json!({"result": "success", "reason": "success"})
    );
    // clickToDialWithTokenAsync with the token policy.
    let req = Request::post("/ameyowebaccess/command/?command=clickToDialWithTokenAsync")
        .header("hash-key", "ameyogeneratedtoken")
        .header("requesting-host", "setup.ameyo.net")
        .header("policy-name", "token-based-authorization-policy")
        .header("content-type", "application/json")
        .body(Body::from(r#"{ "userId": "agent", "campaignId": "1", "shouldAddCustomer": false, "phone": "9911337923", "additionalParams": { "recordId": "0015g00000z04cfaab" } }"#))
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, _, b) = send(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert_eq!(
        json_of(&b),
        json!({"result": "success", "reason": "success"})
    );
    // disposeAndManualDial with the sample's empty sessionId and cookie.
    let req = Request::post("/ameyorestapi/voice/disposeAndManualDial")
        .header("sessionId", "")
        .header("content-type", "application/json")
        .header("cookie", "__METADATA__=0ab6aca4-8f2d-4b85-98a9-9730aed1f6e8")
        .body(Body::from(r#"{ "campaignContextId": 8, "userCRTObjectId": "d202-5b4d83c1-ses-agent-VMvUgGpB-1-uce-5", "crtObjectId": "d202-5b4d83c1-vce-5", "dispositionCode": "sale", "phone": "465456", "customerId": "-1", "requestId": "dcf7eec5-0c8f-86c1-8d2f-c9f31db9ae8c" }"#))
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, _, b) = send(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    // downloadVoiceLog, the sample's GET with url-encoded data.
    let (s, h, b) = send(
        &app,
        get_req("/ameyowebaccess/command?command=downloadVoiceLog&data=%7B%22crtObjectId%22%3A%22d865-68dbb572-vce-22%22%2C%22targetFormat%22%3A%22mp3%22%7D"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.get("content-type").map(|v| v.as_bytes()),
        Some(&b"audio/mpeg"[..])
    );
    assert_eq!(b, recording());
    // The single-quoted form some integrations send; WAV by default.
    let (s, h, _) = send(
        &app,
        get_req("/ameyowebaccess/command?command=downloadVoiceLog&data=%7B'crtObjectId'%3A'd865-68dbb572-vce-22'%7D"),
    )
    .await;
    assert_eq!(
        (s, h.get("content-type").map(|v| v.as_bytes())),
        (StatusCode::OK, Some(&b"audio/wav"[..]))
    );
}

#[tokio::test]
async fn vendor_failures_cover_the_documented_cases() {
    let switch = Arc::new(Switch::default());
    let app = vendor_app(Arc::clone(&switch));
    let dial = |session: &str, crt: &str, disposition: &str, request_id: &str| {
        let body = json!({"campaignContextId": 8, "userCRTObjectId": "d202-uce-5", "crtObjectId": crt,
            "dispositionCode": disposition, "phone": "465456", "customerId": "-1", "requestId": request_id});
        Request::post("/ameyorestapi/voice/disposeAndManualDial")
            .header("sessionId", session)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let live = "d580-63088cf7-ses-agent-69vHXZtc-175";
    for (req, status, info) in [
        (
            dial(live, "d202-5b4d83c1-vce-5", "nope", "r1"),
            400,
            "disposition.not.in.plan",
        ),
        (
            dial(live, "garbage", "sale", "r2"),
            400,
            "invalid.crt.object.id",
        ),
        (
            dial("expired", "d202-5b4d83c1-vce-5", "sale", "r3"),
            403,
            "invalid.session.id",
        ),
    ] {
        let (s, _, b) = send(&app, req).await;
        assert_eq!(s.as_u16(), status);
        let v = json_of(&b);
        assert_eq!(v["result"], "failed");
        assert_eq!(v["info"], info);
        assert!(!v["reason"].as_str().unwrap_or("").is_empty());
    }
    // Unknown recording: a JSON message, not audio.
    let (s, h, b) = send(
        &app,
        get_req("/ameyowebaccess/command?command=downloadVoiceLog&data=%7B%22crtObjectId%22%3A%22nope%22%7D"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        h.get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    );
    assert_eq!(json_of(&b)["info"], "voicelog.not.found");
    // Missing or wrong tokens.
    for req in [
        Request::post("/ameyorestapi/voice/disposeCallForUser")
            .header("content-type", "application/json")
            .header("authorization", "wrong")
            .body(Body::from("{}")),
        Request::post("/ameyowebaccess/command/?command=clickToDialWithTokenAsync")
            .header("hash-key", "ameyogeneratedtoken")
            .header("requesting-host", "evil.example")
            .header("content-type", "application/json")
            .body(Body::from("{}")),
        Request::post("/ameyowebaccess/command/?command=clickToDialWithTokenAsync")
            .header("hash-key", "ameyogeneratedtoken")
            .header("requesting-host", "setup.ameyo.net")
            .header("policy-name", "some-other-policy")
            .header("content-type", "application/json")
            .body(Body::from("{}")),
    ] {
        let (s, _, b) = send(&app, req.unwrap_or_else(|e| panic!("{e}"))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(&b)["info"], "invalid.token");
    }
    assert_eq!(
        switch.calls.load(Ordering::SeqCst),
        3,
        "refused requests never reach the backend"
    );
}

#[tokio::test]
async fn vendor_request_ids_make_retries_safe() {
    let switch = Arc::new(Switch::default());
    let app = vendor_app(Arc::clone(&switch));
    let dispose = |disposition: &str, id: &str| {
        Request::post("/ameyorestapi/voice/disposeCallForUser")
            .header("content-type", "application/json")
            .header("authorization", "12345abc")
            .body(Body::from(
                serde_json::to_string(&DisposeCallForUserRequest::new("agent", disposition, id))
                    .unwrap_or_default(),
            ))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = send(&app, dispose("sale", "req-1")).await;
    let again = send(&app, dispose("sale", "req-1")).await;
    assert_eq!((first.0, &first.2), (again.0, &again.2));
    assert_eq!(switch.calls.load(Ordering::SeqCst), 1);
    // A refusal is replayed too; a new id runs again.
    let refused = send(&app, dispose("nope", "req-2")).await;
    let refused_again = send(&app, dispose("nope", "req-2")).await;
    assert_eq!(refused.0, StatusCode::BAD_REQUEST);
    assert_eq!((refused.0, &refused.2), (refused_again.0, &refused_again.2));
    assert_eq!(switch.calls.load(Ordering::SeqCst), 2);
    let _ = send(&app, dispose("sale", "req-3")).await;
    assert_eq!(switch.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_cancelled_request_frees_its_request_id() {
    let switch = Arc::new(Switch::default());
    let app = vendor_app(Arc::clone(&switch));
    let dispose = |disposition: &str| {
        Request::post("/ameyorestapi/voice/disposeCallForUser")
            .header("content-type", "application/json")
            .header("authorization", "12345abc")
            .body(Body::from(
                serde_json::to_string(&DisposeCallForUserRequest::new(
                    "agent",
                    disposition,
                    "req-x",
                ))
                .unwrap_or_default(),
            ))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // The client gives up (the handler future is dropped mid-flight).
    let gave_up =
        tokio::time::timeout(Duration::from_millis(100), send(&app, dispose("slow"))).await;
    assert!(gave_up.is_err());
    // The requestId is not stuck "in progress": a retry runs.
    let mut retried = StatusCode::CONFLICT;
    for _ in 0..50 {
        retried = send(&app, dispose("sale")).await.0;
        if retried != StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(retried, StatusCode::OK);
    assert_eq!(switch.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn vendor_routes_end_to_end_with_the_ameyo_client() {
    let switch = Arc::new(Switch::default());
    let url = serve(
        AmeyoRoutes::new(Arc::clone(&switch), vendor_auth(), MemoryStore::new()).into_router(),
    )
    .await;
    let auth = AmeyoAuth::new()
        .token("12345abc")
        .token_policy("ameyogeneratedtoken", "setup.ameyo.net")
        .session_id("d580-63088cf7-ses-agent-69vHXZtc-175");
    let client = AmeyoClient::new(&url, auth).unwrap_or_else(|e| panic!("{e}"));
    let ok = client
        .dispose_call_for_user(
            &DisposeCallForUserRequest::new("vaptuser1", "sale", "8989898989")
                .params(DispositionParams::new("7004281599")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ok.is_success());
    let refused = client
        .dispose_call_for_user(&DisposeCallForUserRequest::new("vaptuser1", "nope", "x1"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("disposition plan"), "{refused}");
    let req = ClickToDialRequest::new("agent", "1", "9911337923");
    client
        .click_to_dial(&req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .click_to_dial_form(&req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bad_campaign = client
        .click_to_dial(&ClickToDialRequest::new("agent", "9", "1"))
        .await;
    assert!(bad_campaign.is_err());
    let dialled = switch
        .dialled
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(dialled, vec!["9911337923", "9911337923"]);
    let dd =
        DisposeAndManualDialRequest::new(8, "d202-uce-5", "d202-5b4d83c1-vce-5", "sale", "465456");
    client
        .dispose_and_manual_dial(&dd)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let invalid = AmeyoClient::new(&url, AmeyoAuth::new().session_id("stale"))
        .unwrap_or_else(|e| panic!("{e}"))
        .dispose_and_manual_dial(&dd)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(invalid.contains("Invalid session Id"), "{invalid}");
    client
        .legacy_dispose(&serde_json::from_value::<LegacyDisposeRequest>(json!({
            "phone": "+14155552671", "campaignId": "12", "crtObjectId": "d865-68dbb572-vce-22",
            "userCrtObjectId": "d202-uce-5", "customerId": "7", "sessionId": "s", "userId": "agent",
            "dispositionCode": "sale", "dispositionAttr": "after-03-00-0000 02:01:00", "selfCallback": true
        })).unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The voice log, through the client's streaming download.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("call.mp3");
    let _ = client
        .download_voice_log("d865-68dbb572-vce-22", VoiceLogFormat::Mp3)
        .to_path(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let written = std::fs::read(&path).unwrap_or_default();
    assert_eq!(written, recording());
}

#[tokio::test]
async fn voice_logs_honour_range() {
    let app = vendor_app(Arc::new(Switch::default()));
    let uri = "/ameyowebaccess/command?command=downloadVoiceLog&data=%7B%22crtObjectId%22%3A%22d865-68dbb572-vce-22%22%7D";
    let all = recording();
    let with_range = |range: &str| {
        Request::get(uri)
            .header("range", range)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (s, h, b) = send(&app, with_range("bytes=100-199")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        h.get("content-range").map(|v| v.as_bytes()),
        Some(format!("bytes 100-199/{RECORDING_LEN}").as_bytes())
    );
    assert_eq!(b, all.slice(100..200));
    let (s, _, b) = send(&app, with_range("bytes=-10")).await;
    assert_eq!(
        (s, b),
        (StatusCode::PARTIAL_CONTENT, all.slice(RECORDING_LEN - 10..))
    );
    let (s, _, b) = send(&app, with_range("bytes=199990-")).await;
    assert_eq!((s, b), (StatusCode::PARTIAL_CONTENT, all.slice(199_990..)));
    let (s, h, _) = send(&app, with_range("bytes=500000-")).await;
    assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        h.get("content-range").map(|v| v.as_bytes()),
        Some(format!("bytes */{RECORDING_LEN}").as_bytes())
    );
    // Malformed: ignored, the whole file.
    let (s, _, b) = send(&app, with_range("bytes=abc")).await;
    assert_eq!((s, b.len()), (StatusCode::OK, RECORDING_LEN));
    let kinds: BTreeSet<_> = ["bytes=0-0,5-6"].into_iter().collect();
    for r in kinds {
        let (s, _, b) = send(&app, with_range(r)).await;
        assert_eq!((s, b.len()), (StatusCode::OK, RECORDING_LEN));
    }
}
