//! The simulator's HTTP surface against hostile input: every refusal is a
//! JSON 4xx with a stable code, nothing is created by a refused request,
//! and the pages only ever name the allowed host.

use axum::body::Body;
use cti_protocol::origin::OriginAllowlist;
use cti_server_kit::simulator::{Action, Inbound, Script, Simulator};
use http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;

const HOST: &str = "http://127.0.0.1:8080";

fn sim(token: Option<&str>) -> Simulator {
    let mut b = Simulator::builder(OriginAllowlist::parse([HOST]).unwrap());
    if let Some(t) = token {
        b = b.api_token(t);
    }
    b.build().unwrap()
}

async fn call(sim: &Simulator, req: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let res = sim.router().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 4 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn inbound_refuses_bad_input_and_creates_nothing() {
    let sim = sim(None);
    let json = "application/json";
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post("/sim/api/inbound", "text/plain", r#"{"from":"+1"}"#),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post("/sim/api/inbound", json, "{not json"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post("/sim/api/inbound", json, r#"{"from":"+1","evil":1}"#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post("/sim/api/inbound", json, r#"{"from":"   "}"#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post(
                "/sim/api/inbound",
                json,
                format!(r#"{{"from":"{}"}}"#, "9".repeat(300)),
            ),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post(
                "/sim/api/inbound",
                json,
                r#"{"from":"a@b","channel":"email"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post(
                "/sim/api/inbound",
                json,
                r#"{"from":"+1","channel":"carrier-pigeon"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post("/sim/api/inbound", json, "[".repeat(100_000)),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (req, status, code) in cases {
        let (s, _, body) = call(&sim, req).await;
        assert_eq!(s, status, "{body}");
        assert_eq!(body["error"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Too large: refused before it is read.
    let (s, _, _) = call(&sim, post("/sim/api/inbound", json, vec![b' '; 512 * 1024])).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        sim.engine().is_empty(),
        "a refused request created an interaction"
    );

    let (s, _, body) = call(
        &sim,
        post("/sim/api/inbound", json, r#"{"from":"+14155550101"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(sim.engine().len(), 1);
}

#[tokio::test]
async fn actions_and_scripts_are_checked() {
    let sim = sim(None);
    let json = "application/json";
    let (s, _, body) = call(&sim, post("/sim/api/action", json, r#"{"op":"answer"}"#)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_interaction"))
    );
    let (s, _, body) = call(&sim, post("/sim/api/action", json, r#"{"op":"explode"}"#)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (s, _, _) = call(
        &sim,
        post("/sim/api/action", json, r#"{"op":"dial","number":""}"#),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let too_long = format!(
        r#"{{"steps":[{}]}}"#,
        vec![r#"{"action":{"op":"ready"}}"#; Script::MAX_STEPS + 1].join(",")
    );
    let (s, _, _) = call(&sim, post("/sim/api/script", json, too_long)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = call(
        &sim,
        post("/sim/api/script", json, r#"{"steps":[{"after_ms":1}]}"#),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a step needs inbound or action");
    let (s, _, body) = call(
        &sim,
        post("/sim/api/script", json, r#"{"steps":[{"action":{"op":"ready"}},{"after_ms":10,"inbound":{"from":"+14155550101"}}]}"#),
    )
    .await;
    assert_eq!((s, body["steps"].as_u64()), (StatusCode::ACCEPTED, Some(2)));
    for _ in 0..100 {
        if sim.state()["interaction"]["state"] == "offered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        sim.state()["interaction"]["state"],
        "offered",
        "the script rang the agent"
    );
    sim.act(&Action::Answer).unwrap();
    assert!(
        sim.act(&Action::Answer).is_err(),
        "a second answer is refused"
    );
    assert!(
        sim.inbound(&Inbound::sms("+14155550102")).is_ok(),
        "it queues behind the call"
    );
}

#[tokio::test]
async fn the_api_token_is_enforced_and_never_shown() {
    let sim = sim(Some("s3cret-token"));
    let req = |auth: Option<&str>| {
        let mut b = Request::get("/sim/api/state");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(Body::empty()).unwrap()
    };
    for bad in [
        None,
        Some("Bearer nope"),
        Some("s3cret-token"),
        Some("Bearer s3cret-token "),
    ] {
        let (s, _, body) = call(&sim, req(bad)).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("bad_token"))
        );
    }
    let (s, _, _) = call(&sim, req(Some("Bearer s3cret-token"))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!format!("{sim:?}").contains("s3cret"));
}

#[tokio::test]
async fn pages_and_sockets_keep_to_the_allowlist() {
    let sim = sim(None);
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let (s, _, body) = call(&sim, get("/zoom/")).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("origin_required"))
    );
    for evil in [
        "https://evil.example",
        "null",
        "*",
        "http://127.0.0.1:8080.evil.example",
    ] {
        let uri = format!(
            "/zoom/?origin={}",
            url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
        );
        let (s, _, body) = call(&sim, get(&uri)).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("bad_origin")),
            "{evil}"
        );
    }
    let (s, _, _) = call(&sim, get("/genesys/")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for page in [
        "/zoom/?origin=http%3A%2F%2F127.0.0.1%3A8080",
        "/leaddesk/",
        "/ccai/",
    ] {
        let res = sim.router().oneshot(get(page)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(csp.contains(&format!("frame-ancestors {HOST}")), "{csp}");
        assert!(!csp.contains('*'), "{csp}");
        assert_eq!(
            res.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
    }
    // A socket opened from another site is refused before the upgrade.
    let ws = Request::get("/sim/ws?dialect=zoom&host=http%3A%2F%2F127.0.0.1%3A8080")
        .header("host", "127.0.0.1:8081")
        .header("origin", "https://evil.example")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(Body::empty())
        .unwrap();
    let (s, _, body) = call(&sim, ws).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad_origin"))
    );
    // A Streem invite may only send the customer back to an allowed host.
    let (s, _, _) = call(
        &sim,
        get("/embed?name=A&redirect=https%3A%2F%2Fevil.example%2F"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let ok = sim
        .router()
        .oneshot(get("/embed?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&redirect=http%3A%2F%2F127.0.0.1%3A8080%2F"))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let html = axum::body::to_bytes(ok.into_body(), 1 << 20).await.unwrap();
    let html = String::from_utf8_lossy(&html);
    assert!(
        !html.contains("<script>alert"),
        "the name is escaped: {html}"
    );
}
