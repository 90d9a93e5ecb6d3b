//! The Ameyo vendor routes on a cti-media engine, end to end through
//! cti-client's `AmeyoClient`: a vendor's dispose and dial act on the
//! engine's interactions.

use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_media::clock::SystemClock;
use cti_media::engine::{AgentId, Engine, EngineConfig, QueueId};
use cti_media::interaction::{Op, State};
use cti_protocol::ameyo::api::{
    ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest,
};
use cti_protocol::model::{Channel, Direction, Party};
use cti_server_kit::ameyo::media::EngineBackend;
use cti_server_kit::ameyo::vendor::{AmeyoRoutes, VendorAuth};
use cti_server_kit::store::MemoryStore;

#[tokio::test]
async fn dispose_and_dial_drive_the_engine() {
    let engine = Engine::new(EngineConfig::default(), SystemClock);
    let campaign = QueueId::new("8");
    engine.add_queue(campaign.clone(), []);
    let ada = AgentId::new("ada");
    engine.add_agent(ada.clone(), [campaign.clone()], []);
    engine.set_available(&ada).unwrap_or_else(|e| panic!("{e}"));
    let backend = EngineBackend::new(engine.clone()).dispositions(["sale", "callback"]);
    backend.register_session("ses-ada-1", ada.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let app: axum::Router = AmeyoRoutes::new(
        backend,
        VendorAuth::new().rest_token("tok"),
        MemoryStore::new(),
    )
    .into_router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = AmeyoClient::new(&url, AmeyoAuth::new().token("tok").session_id("ses-ada-1"))
        .unwrap_or_else(|e| panic!("{e}"));

    // An inbound call rings at ada; she answers.
    let call = engine
        .offer(
            Channel::Voice,
            Direction::Inbound,
            Party::address("+14155552671"),
            &campaign,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    engine
        .apply(&call, Op::Answer)
        .unwrap_or_else(|e| panic!("{e}"));
    // A disposition outside the plan is refused and changes nothing.
    let refused = client
        .dispose_call_for_user(&DisposeCallForUserRequest::new("ada", "nope", "r-0"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("disposition plan"), "{refused}");
    assert_eq!(
        engine.get(&call).map(|i| i.state().clone()),
        Some(State::Connected)
    );
    // The CRM disposes: hung up and completed.
    client
        .dispose_call_for_user(&DisposeCallForUserRequest::new("ada", "sale", "r-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = engine.get(&call).unwrap_or_else(|| panic!("gone"));
    assert_eq!(
        (done.state(), done.disposition()),
        (&State::Completed, Some("sale"))
    );
    // Unknown agent.
    let unknown = client
        .dispose_call_for_user(&DisposeCallForUserRequest::new("nobody", "sale", "r-2"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(unknown.contains("Invalid userId"), "{unknown}");

    // Click-to-dial places an outbound call for ada.
    client
        .click_to_dial(&ClickToDialRequest::new("ada", "8", "+15550100"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dialled = engine
        .agent_interaction(&ada)
        .unwrap_or_else(|| panic!("no dial"));
    let out = engine.get(&dialled).unwrap_or_else(|| panic!("gone"));
    assert_eq!(out.direction(), Direction::Outbound);
    assert_eq!(out.parties()[0].address.as_deref(), Some("+15550100"));
    engine
        .apply(&dialled, Op::Answer)
        .unwrap_or_else(|e| panic!("{e}"));

    // Dispose and dial the next number, with ada's session.
    let next =
        DisposeAndManualDialRequest::new(8, "ada-ext", dialled.as_str(), "callback", "+15550101");
    client
        .dispose_and_manual_dial(&next)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        engine.get(&dialled).map(|i| i.state().clone()),
        Some(State::Completed)
    );
    let second = engine
        .agent_interaction(&ada)
        .unwrap_or_else(|| panic!("no second dial"));
    assert_ne!(second, dialled);
    // Someone else's session is refused.
    let stranger = AmeyoClient::new(&url, AmeyoAuth::new().session_id("ses-other"))
        .unwrap_or_else(|e| panic!("{e}"))
        .dispose_and_manual_dial(&DisposeAndManualDialRequest::new(
            8,
            "x",
            second.as_str(),
            "sale",
            "+1",
        ))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(stranger.contains("Invalid session Id"), "{stranger}");
}
