//! A vendor's CTI server on cti-media: the engine routes calls to agents,
//! records them while they run, and serves the Ameyo-compatible routes a
//! CRM calls (dispose, click-to-dial, voice-log download). The example
//! starts the server on a loopback port, plays one call through it, and
//! is the CRM too: it disposes the call and downloads the recording with
//! cti-client, then stops.
//!
//! Run: `cargo run -p cti-examples --example vendor_cti_server`

use std::error::Error;

use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_media::clock::SystemClock;
use cti_media::engine::{AgentId, Engine, EngineConfig, EngineEvent, QueueId};
use cti_media::interaction::Op;
use cti_media::recording::{AudioSpec, Recorder, Recordings};
use cti_protocol::ameyo::api::{DisposeCallForUserRequest, VoiceLogFormat};
use cti_protocol::model::{Channel, Direction, Party};
use cti_server_kit::ameyo::media::EngineBackend;
use cti_server_kit::ameyo::vendor::{AmeyoRoutes, VendorAuth};
use cti_server_kit::store::MemoryStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let recordings = Recordings::open(dir.path().join("recordings"))?;

    // The engine: one campaign, one agent.
    let engine = Engine::new(EngineConfig::default(), SystemClock);
    let campaign = QueueId::new("8");
    let ada = AgentId::new("ada");
    engine.add_queue(campaign.clone(), []);
    engine.add_agent(ada.clone(), [campaign.clone()], []);
    engine.set_available(&ada)?;
    let mut events = engine.subscribe();

    // The vendor routes on it, with a token for the CRM.
    let backend = EngineBackend::new(engine.clone())
        .dispositions(["sale", "callback", "no_interest"])
        .recordings(recordings.clone());
    let app: axum::Router = AmeyoRoutes::new(
        backend,
        VendorAuth::new()
            .rest_token("crm-token")
            .open_voice_logs(true),
        MemoryStore::new(),
    )
    .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("vendor routes on {url}");

    // A call comes in and rings at ada, who answers and records it.
    let call = engine.offer(
        Channel::Voice,
        Direction::Inbound,
        Party::address("+14155552671"),
        &campaign,
    )?;
    while let Ok(event) = events.try_recv() {
        if let EngineEvent::Offered { id, agent } = event {
            println!("{id} rings at {agent}");
        }
    }
    let mut recorder = Recorder::new(recordings.clone(), AudioSpec::NARROWBAND);
    recorder.observe(&call, &engine.apply(&call, Op::Answer)?)?;
    recorder.observe(&call, &engine.apply(&call, Op::Record { on: true })?)?;
    // Two seconds of audio, as 20 ms frames from the media path.
    for frame in 0..100 {
        let pcm: Vec<i16> = (0..160)
            .map(|n| {
                let t = f64::from(frame * 160 + n) / 8000.0;
                (f64::sin(t * 440.0 * std::f64::consts::TAU) * 6000.0) as i16
            })
            .collect();
        recorder.frame(&call, &pcm)?;
    }
    let info = recorder.observe(&call, &engine.apply(&call, Op::HangUp)?)?;
    println!("recorded {:?} of {call}", info.map(|i| i.duration));

    // The CRM: dispose the agent's call, then fetch the recording.
    let crm = AmeyoClient::new(&url, AmeyoAuth::new().token("crm-token"))?;
    crm.dispose_call_for_user(&DisposeCallForUserRequest::new("ada", "sale", "req-1"))
        .await?;
    let done = engine.get(&call).ok_or("the call is gone")?;
    println!(
        "{call}: {} with `{}`",
        done.state().name(),
        done.disposition().unwrap_or_default()
    );
    let saved = dir.path().join("call.wav");
    let got = crm
        .download_voice_log(call.as_str(), VoiceLogFormat::Wav)
        .to_path(&saved)
        .await?;
    println!(
        "downloaded {} bytes ({})",
        got.bytes,
        got.content_type.unwrap_or_default()
    );
    Ok(())
}
