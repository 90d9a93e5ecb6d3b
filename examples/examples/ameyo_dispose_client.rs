//! A CRM disposing calls through Ameyo's REST API with cti-client:
//! dispose the agent's call with notes, see a refusal as a typed error
//! (a disposition outside the campaign's plan), and place the next call.
//! For a self-contained run it starts an Ameyo-compatible server first
//! (the kit's vendor routes on a cti-media engine); point the client at
//! your Ameyo instead.
//!
//! Run: `cargo run -p cti-examples --example ameyo_dispose_client`

use std::error::Error;

use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_client::error::ErrorKind;
use cti_media::clock::SystemClock;
use cti_media::engine::{AgentId, Engine, EngineConfig, QueueId};
use cti_media::interaction::Op;
use cti_protocol::ameyo::api::{ClickToDialRequest, DisposeCallForUserRequest};
use cti_protocol::model::{Channel, Direction, Party};
use cti_server_kit::ameyo::media::EngineBackend;
use cti_server_kit::ameyo::vendor::{AmeyoRoutes, VendorAuth};
use cti_server_kit::store::MemoryStore;

/// Stands in for Ameyo: campaign 8, agent `agent` on a call.
async fn ameyo() -> Result<(String, Engine), Box<dyn Error>> {
    let engine = Engine::new(EngineConfig::default(), SystemClock);
    let campaign = QueueId::new("8");
    let agent = AgentId::new("agent");
    engine.add_queue(campaign.clone(), []);
    engine.add_agent(agent.clone(), [campaign.clone()], []);
    engine.set_available(&agent)?;
    let call = engine.offer(
        Channel::Voice,
        Direction::Inbound,
        Party::address("+14155552671"),
        &campaign,
    )?;
    engine.apply(&call, Op::Answer)?;
    let backend = EngineBackend::new(engine.clone()).dispositions(["sale", "callback"]);
    let app: axum::Router = AmeyoRoutes::new(
        backend,
        VendorAuth::new().rest_token("token"),
        MemoryStore::new(),
    )
    .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, engine))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let (url, engine) = ameyo().await?;
    let client = AmeyoClient::new(&url, AmeyoAuth::new().token("token"))?;

    // A disposition outside the plan: refused, typed, nothing changed.
    let refused = client
        .dispose_call_for_user(&DisposeCallForUserRequest::new("agent", "maybe", "req-1"))
        .await;
    match refused {
        Err(e) if e.kind() == ErrorKind::Vendor || e.kind() == ErrorKind::Status => {
            println!("refused ({:?}): {e}", e.kind());
        }
        other => println!("unexpected: {other:?}"),
    }

    // The real dispose, with notes; the request id makes a retry safe.
    client
        .dispose_call_for_user(
            &DisposeCallForUserRequest::new("agent", "sale", "req-2")
                .notes("upgraded to the yearly plan"),
        )
        .await?;
    println!("disposed with `sale`");

    // And the next call for the same agent.
    client
        .click_to_dial(&ClickToDialRequest::new("agent", "8", "+14155550123"))
        .await?;
    let next = engine
        .agent_interaction(&AgentId::new("agent"))
        .and_then(|id| engine.get(&id));
    println!(
        "dialling: {:?}",
        next.map(|i| (i.direction(), i.state().name()))
    );
    Ok(())
}
