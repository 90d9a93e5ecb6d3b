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

/// `downloadVoiceLog` on the engine serves the call's recording: WAV as
/// written, MP3 made on first request (when cti-media has `mp3`),
/// honouring `Range`; unknown and hostile ids are `voicelog.not.found`.
#[tokio::test]
async fn voice_logs_come_from_the_recordings() {
    use cti_media::interaction::InteractionId;
    use cti_media::recording::{AudioSpec, Format, RecordingError, Recordings};
    use cti_protocol::ameyo::api::VoiceLogFormat;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let recordings = Recordings::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let crt = InteractionId::new("d865-68dbb572-vce-22");
    let mut w = recordings
        .create(&crt, AudioSpec::NARROWBAND)
        .unwrap_or_else(|e| panic!("{e}"));
    let tone: Vec<i16> = (0..16_000)
        .map(|n| (f64::sin(f64::from(n) / 8000.0 * 440.0 * std::f64::consts::TAU) * 9000.0) as i16)
        .collect();
    w.write(&tone).unwrap_or_else(|e| panic!("{e}"));
    w.finish().unwrap_or_else(|e| panic!("{e}"));
    let wav_bytes = std::fs::read(recordings.wav(&crt).unwrap_or_else(|| panic!("written")))
        .unwrap_or_else(|e| panic!("{e}"));
    // Whether this build makes MP3 (cti-media's `mp3` feature).
    let mp3_ok = !matches!(
        recordings.find(&crt, Format::Mp3),
        Err(RecordingError::Unsupported(_))
    );

    let engine = Engine::new(EngineConfig::default(), SystemClock);
    let backend = EngineBackend::new(engine).recordings(recordings.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let app: axum::Router = AmeyoRoutes::new(
        backend,
        VendorAuth::new().rest_token("tok").open_voice_logs(true),
        MemoryStore::new(),
    )
    .into_router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client =
        AmeyoClient::new(&url, AmeyoAuth::new().token("tok")).unwrap_or_else(|e| panic!("{e}"));

    // WAV: the file, byte for byte.
    let out = dir.path().join("downloaded.wav");
    let got = client
        .download_voice_log(crt.as_str(), VoiceLogFormat::Wav)
        .to_path(&out)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(std::fs::read(&out).unwrap_or_default(), wav_bytes);

    // MP3: made on request, and a real MP3 of the same length.
    let out = dir.path().join("downloaded.mp3");
    let mp3 = client
        .download_voice_log(crt.as_str(), VoiceLogFormat::Mp3)
        .to_path(&out)
        .await;
    if mp3_ok {
        let got = mp3.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.content_type.as_deref(), Some("audio/mpeg"));
        let info = cti_media::recording::probe(&out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.sample_rate, 8000);
        assert!(
            info.duration
                .abs_diff(std::time::Duration::from_secs(2))
                .as_millis()
                < 250
        );
    } else {
        assert!(mp3.is_err(), "no MP3 without the feature");
    }

    // Range: part of the WAV, as 206.
    let data = "%7B%22crtObjectId%22%3A%22d865-68dbb572-vce-22%22%7D";
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{url}/ameyowebaccess/command?command=downloadVoiceLog&data={data}"
        ))
        .header("range", "bytes=100-1099")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), reqwest::StatusCode::PARTIAL_CONTENT);
    let body = r.bytes().await.unwrap_or_default();
    assert_eq!(&body[..], &wav_bytes[100..1100]);

    // No recording, or an id that tries to leave the directory.
    for crt in ["no-such-call", "../../etc/passwd", ""] {
        let data = serde_json::json!({ "crtObjectId": crt }).to_string();
        let r = http
            .get(format!("{url}/ameyowebaccess/command"))
            .query(&[("command", "downloadVoiceLog"), ("data", data.as_str())])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(
            status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::BAD_REQUEST,
            "{crt:?}: {status} {text}"
        );
        assert!(!text.contains("root:"), "{crt:?}");
    }
}

/// Sixteen clients asking at once for an MP3 nobody has made yet all get
/// the whole, identical file (before, they raced on one temporary file:
/// 503s, empty and truncated bodies).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_mp3_downloads_are_identical() {
    use cti_media::interaction::InteractionId;
    use cti_media::recording::{AudioSpec, Format, Recordings};
    use cti_protocol::ameyo::api::VoiceLogFormat;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let recordings = Recordings::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let write = |id: &InteractionId, seconds: u32| {
        let mut w = recordings
            .create(id, AudioSpec::NARROWBAND)
            .unwrap_or_else(|e| panic!("{e}"));
        let tone: Vec<i16> = (0..8000 * seconds)
            .map(|n| {
                (f64::sin(f64::from(n) / 8000.0 * 440.0 * std::f64::consts::TAU) * 9000.0) as i16
            })
            .collect();
        w.write(&tone).unwrap_or_else(|e| panic!("{e}"));
        w.finish().unwrap_or_else(|e| panic!("{e}"));
    };
    let crt = InteractionId::new("d865-68dbb572-vce-99");
    write(&crt, 600);

    let engine = Engine::new(EngineConfig::default(), SystemClock);
    let backend = EngineBackend::new(engine).recordings(recordings.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let app: axum::Router = AmeyoRoutes::new(
        backend,
        VendorAuth::new().rest_token("tok").open_voice_logs(true),
        MemoryStore::new(),
    )
    .into_router();
    tokio::spawn(cti_server_kit::serve::Server::new(listener, app).run());
    // Plain requests, no retries or resumes: what each client gets first.
    let http = reqwest::Client::new();
    let data = serde_json::to_string(&cti_protocol::ameyo::api::VoiceLogRequest::new(
        crt.as_str(),
        VoiceLogFormat::Mp3,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let downloads = futures_util::future::join_all((0..16).map(|_| {
        let request = http
            .get(format!("{url}/ameyowebaccess/command"))
            .query(&[("command", "downloadVoiceLog"), ("data", data.as_str())])
            .send();
        async move {
            let r = request.await.map_err(|e| e.to_string())?;
            let status = r.status();
            let body = r.bytes().await.map_err(|e| e.to_string())?;
            if status == reqwest::StatusCode::OK {
                Ok(body.to_vec())
            } else {
                Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
            }
        }
    }))
    .await;
    let bodies: Vec<Vec<u8>> = downloads
        .into_iter()
        .enumerate()
        .map(|(n, d)| d.unwrap_or_else(|e| panic!("download {n}: {e}")))
        .collect();
    assert!(!bodies[0].is_empty());
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the downloads differ"
    );
    let info = cti_media::recording::probe_bytes(bodies[0].clone(), Some(Format::Mp3))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        info.duration >= std::time::Duration::from_secs(599),
        "{:?}",
        info.duration
    );
}
