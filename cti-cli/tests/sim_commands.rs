//! `cti sim …` against a stand-in for the simulator's scripting API.
#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;
use common::{cti, text};

#[tokio::test]
async fn ring_act_and_state() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sim/api/inbound"))
        .and(header("authorization", "Bearer sim-tok"))
        .and(body_json(
            json!({"channel": "chat", "from": "ada@example.com", "name": "Ada"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "i-7"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/sim/api/action"))
        .and(header("authorization", "Bearer sim-tok"))
        .and(body_json(json!({"op": "dispose", "code": "sale"})))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/sim/api/state"))
        .and(header("authorization", "Bearer sim-tok"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"agent": {"state": "available"}})),
        )
        .mount(&server)
        .await;
    let sim = server.uri();
    let env = [("CTI_DEMO_SIM_TOKEN", "sim-tok")];
    let ring = cti(
        &[
            "sim",
            "ring",
            "--sim",
            &sim,
            "--channel",
            "chat",
            "--from",
            "ada@example.com",
            "--name",
            "Ada",
        ],
        &env,
    )
    .await;
    assert!(ring.status.success(), "{}", text(&ring.stderr));
    assert_eq!(text(&ring.stdout).trim(), "i-7");
    let act = cti(
        &["sim", "act", "--sim", &sim, "dispose", "--code", "sale"],
        &env,
    )
    .await;
    assert!(act.status.success(), "{}", text(&act.stderr));
    let state = cti(&["sim", "state", "--sim", &sim], &env).await;
    assert!(state.status.success(), "{}", text(&state.stderr));
    assert!(text(&state.stdout).contains("available"));
    Mock::given(method("POST"))
        .and(path("/sim/api/action"))
        .and(body_json(json!({"op": "say", "text": "Which version?"})))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let say = cti(
        &[
            "sim",
            "act",
            "--sim",
            &sim,
            "say",
            "--text",
            "Which version?",
        ],
        &env,
    )
    .await;
    assert!(say.status.success(), "{}", text(&say.stderr));
    // What the simulator refuses, it names, and cti passes it on.
    Mock::given(method("POST"))
        .and(path("/sim/api/action"))
        .and(body_json(json!({"op": "dance"})))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "bad_request", "message": "unknown variant `dance`, expected one of `answer`, `reject`"}),
        ))
        .mount(&server)
        .await;
    let bad = cti(&["sim", "act", "--sim", &sim, "dance"], &env).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("unknown variant `dance`, expected one of"),
        "{}",
        text(&bad.stderr)
    );
}

#[tokio::test]
async fn a_wrong_token_and_a_missing_one_are_named() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "unauthorized", "message": "a bearer token is required"}),
        ))
        .mount(&server)
        .await;
    let sim = server.uri();
    let o = cti(
        &["sim", "ring", "--sim", &sim],
        &[("CTI_DEMO_SIM_TOKEN", "wrong")],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "a bearer token is required (HTTP 401) (is the token the one crm-demo printed?)"
        ),
        "{err}"
    );
    let o = cti(
        &[
            "sim",
            "ring",
            "--sim",
            &sim,
            "--token-env",
            "CTI_TEST_UNSET",
        ],
        &[],
    )
    .await;
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("CTI_TEST_UNSET is not set"), "{err}");
    // Nothing listening: said so.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = cti(
        &["sim", "state", "--sim", &format!("http://127.0.0.1:{port}")],
        &[("CTI_DEMO_SIM_TOKEN", "t")],
    )
    .await;
    let err = text(&o.stderr);
    assert!(err.contains("no simulator answers at"), "{err}");
}
