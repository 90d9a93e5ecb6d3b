//! The Ameyo CRM routes against bare axum handlers doing the same work,
//! measured in the same run (in-process, `Router::oneshot`: time per
//! request, so `bare / kit` is the requests-per-second ratio).
//!
//! - `sso_login`: `kit` is `SsoEndpoint` + `StoreSso` + `StaticCredentials`
//!   with login limits counted in the memory store (set high enough never
//!   to refuse); `bare` reads the JSON body with axum's `Json`, checks the
//!   same credentials and starts the same kind of session.
//! - `screen_pop`: `kit` is the `Customer` extractor; `bare` parses the
//!   same query with `CustomerParams::from_query` in the handler.
//!
//! Goal: ratio ≥ 0.9. Run `cargo bench -p cti-server-kit --bench ameyo`,
//! then `scripts/bench_ratio.py sso_login kit bare` (and `screen_pop`).
#![allow(missing_docs)]

use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Json, Router};
use criterion::{Criterion, criterion_group, criterion_main};
use cti_protocol::ameyo::CustomerParams;
use cti_protocol::ameyo::sso::{SsoRequest, SsoResponse};
use cti_server_kit::ameyo::params::Customer;
use cti_server_kit::ameyo::sso::{
    Credentials as _, LoginLimits, Rate, SsoEndpoint, StaticCredentials, StoreSso,
};
use cti_server_kit::store::{MemoryStore, SsoSessions};
use http::{Request, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use tower::ServiceExt as _;

const LOGIN: &str = r#"{"password":"agent","userId":"agent","command":"login"}"#;
const CALL: &str = "/customer?sessionId=d580-63088cf7-ses-agent-69vHXZtc-175&campaignId=12&crtObjectId=d865-68dbb572-vce-22&userCrtObjectId=d202-5b4d83c1-ses-agent-x-uce-5&userId=agent&customerId=77&phone=%2B14155552671&queueId=3&queueName=Sales%20EU&callType=inbound";

/// Sessions live 2 s here, so both stores stay at a steady size (the
/// store sweeps expired sessions) instead of growing for the whole run,
/// which made the figures swing with hash-map resizes.
const SESSION_TTL: Duration = Duration::from_secs(2);

fn users() -> StaticCredentials {
    StaticCredentials::new().user("agent", "agent")
}

fn kit_sso() -> Router {
    let store = MemoryStore::new();
    let sso = StoreSso::new(store.clone(), users(), SESSION_TTL);
    let never = Some(Rate::new(u32::MAX, Duration::from_secs(3600)));
    let limits = LoginLimits::new(store.clone())
        .per_user(never)
        .per_address(never);
    Router::new().route(
        "/sso",
        SsoEndpoint::new(sso, store)
            .limits(Some(limits))
            .into_route(),
    )
}

fn bare_sso() -> Router {
    let sessions = SsoSessions::new(MemoryStore::new(), SESSION_TTL);
    let users = users();
    Router::new().route(
        "/sso",
        post(move |Json(req): Json<SsoRequest>| {
            let sessions = sessions.clone();
            let users = users.clone();
            async move {
                let SsoRequest::Login { user_id, password } = req else {
                    return (
                        StatusCode::BAD_REQUEST,
                        Json(SsoResponse::failed("login only")),
                    );
                };
                let password = SecretString::from(password.expose().to_owned());
                match users.verify(&user_id, &password).await {
                    Ok(Some(user)) => match sessions.login(&user).await {
                        Ok(id) => (
                            StatusCode::OK,
                            Json(SsoResponse::logged_in(id.expose_secret(), "logged in")),
                        ),
                        Err(_) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            Json(SsoResponse::failed("down")),
                        ),
                    },
                    _ => (
                        StatusCode::UNAUTHORIZED,
                        Json(SsoResponse::failed("invalid user id or password")),
                    ),
                }
            }
        }),
    )
}

fn kit_pop() -> Router {
    Router::new().route(
        "/customer",
        get(|Customer(p): Customer| async move { p.crt_object_id }),
    )
}

fn bare_pop() -> Router {
    Router::new().route(
        "/customer",
        get(|uri: http::Uri| async move {
            match CustomerParams::from_query(uri.query().unwrap_or("")) {
                Ok(p) => (StatusCode::OK, p.crt_object_id),
                Err(e) => (StatusCode::BAD_REQUEST, e.to_string()),
            }
        }),
    )
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("sso_login");
    group.measurement_time(Duration::from_secs(10));
    for (name, app) in [("bare", bare_sso()), ("kit", kit_sso())] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let app = app.clone();
                async move {
                    let req = Request::post("/sso")
                        .header("content-type", "application/json")
                        .body(Body::from(LOGIN))
                        .unwrap_or_default();
                    let r = app.oneshot(req).await.unwrap_or_else(|e| match e {});
                    assert_eq!(r.status(), StatusCode::OK);
                    r
                }
            });
        });
    }
    group.finish();
    let mut group = c.benchmark_group("screen_pop");
    for (name, app) in [("bare", bare_pop()), ("kit", kit_pop())] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let app = app.clone();
                async move {
                    let req = Request::get(CALL).body(Body::empty()).unwrap_or_default();
                    let r = app.oneshot(req).await.unwrap_or_else(|e| match e {});
                    assert_eq!(r.status(), StatusCode::OK);
                    r
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
