//! End to end in Debian's Chromium through chromium-driver (fantoccini):
//! a host page on one loopback origin embeds a test softphone from a
//! second origin.
//!
//! Checked:
//! - events posted by the frame reach the Rust handler, and its answer
//!   reaches the frame;
//! - the browser refuses to frame a page whose `frame-ancestors` does not
//!   list the host (the frame's script never runs);
//! - messages posted by a frame from a non-allowlisted origin are
//!   ignored by the bridge and never reach the handler.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use cti_protocol::Vendor;
use cti_protocol::embed::EmbedFrame;
use cti_protocol::model::{Command, CrmContact, CtiEvent, EventKind};
use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_server_kit::bridge::{Bridge, EventHandler, PageContext, Reply};
use cti_server_kit::layer::{FrameAncestors, HostPageCsp};
use cti_server_kit::page::{HostPage, ReadyOn};
use serde_json::{Value, json};
use tokio::sync::mpsc;

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Crm(mpsc::UnboundedSender<CtiEvent>);

impl EventHandler for Crm {
    async fn on_event(&self, _page: &PageContext, event: CtiEvent) -> Reply {
        let _ = self.0.send(event.clone());
        match event.kind {
            EventKind::ContactLookupRequested(l) => Command::AnswerLookup {
                reply_to: l.reply_kind,
                contacts: vec![CrmContact::new("003A", "Ada Lovelace")],
            }
            .into(),
            _ => Reply::none(),
        }
    }
}

/// The test softphone: posts an incoming-call lookup to the host origin
/// given in `?origin=` (as Zoom's callbar does), and keeps what it
/// receives from that origin in `window.received`.
const SOFTPHONE: &str = r#"<!doctype html><meta charset="utf-8"><title>softphone</title>
<script>
  const host = new URLSearchParams(location.search).get('origin');
  window.received = [];
  window.addEventListener('message', (ev) => {
    if (ev.origin === host) window.received.push(ev.data);
  });
  const ask = () => parent.postMessage({type: 'zcc-incomingPhone-request',
    data: {incomingPhoneNumber: '+14155550100', engagementId: 'E2E', channel: 'voice'}}, host);
  ask();
  setTimeout(ask, 30); // a duplicate the bridge must drop
</script>"#;

/// Posts a lookup to anyone (`'*'`) from a frame the bridge must not trust.
const IMPOSTOR: &str = r#"<!doctype html><meta charset="utf-8"><script>
  parent.postMessage({type: 'zcc-contact-search-event', data: {query: 'impostor'}}, '*');
  parent.postMessage('impostor-ran', '*');
</script>"#;

/// Would announce itself if the browser ran it inside the frame.
const UNFRAMEABLE: &str = r#"<!doctype html><meta charset="utf-8"><script>
  parent.postMessage('unframeable-ran', '*');
</script>"#;

async fn serve(app: Router) -> Res<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

#[path = "../support/chromedriver.rs"]
mod chromedriver;

async fn eval(client: &fantoccini::Client, script: &str) -> Res<Value> {
    Ok(client.execute(script, vec![]).await?)
}

async fn poll<F>(what: &str, mut f: F) -> Res<Value>
where
    F: AsyncFnMut() -> Res<Option<Value>>,
{
    for _ in 0..100 {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("timed out waiting for {what}").into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_end_to_end() -> Res {
    let Some((_driver, driver_port)) = chromedriver::start().await? else {
        crate::services::skipped(
            "chromium_end_to_end",
            "Chromium",
            "chromium and chromium-driver (/usr/bin) are not installed; install them or run .ci/run",
        );
        return Ok(());
    };
    crate::services::ran("chromium_end_to_end", "Chromium");

    // The softphone's origin (frames) and the host's origin differ by port.
    let frame_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let frame_addr = frame_listener.local_addr()?;
    let host_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let host_addr = host_listener.local_addr()?;
    let host_origin = Origin::parse(&format!("http://127.0.0.1:{}", host_addr.port()))?;
    let frame_origin = format!("http://127.0.0.1:{}", frame_addr.port());
    // A third origin for the impostor: the same server reached as localhost.
    let impostor_origin = format!("http://localhost:{}", frame_addr.port());

    let frames = Router::new()
        .route(
            "/softphone",
            get(|Query(_q): Query<Vec<(String, String)>>| async { Html(SOFTPHONE) }),
        )
        .layer(FrameAncestors::list(&OriginAllowlist::parse([host_origin.to_string()])?).layer())
        .merge(Router::new().route("/impostor", get(|| async { Html(IMPOSTOR) })))
        .merge(
            Router::new()
                .route("/unframeable", get(|| async { Html(UNFRAMEABLE) }))
                .layer(
                    FrameAncestors::list(&OriginAllowlist::parse([
                        "https://somewhere-else.example",
                    ])?)
                    .layer(),
                ),
        );
    tokio::spawn(async move {
        let _ = axum::serve(frame_listener, frames).await;
    });

    let (tx, mut events) = mpsc::unbounded_channel();
    let bridge = Bridge::builder(Crm(tx))
        .host_origins(OriginAllowlist::parse([host_origin.to_string()])?)
        .build()
        .await?;
    let src = format!("{frame_origin}/softphone?origin={host_origin}");
    let frame = EmbedFrame::new(src, "softphone", "Softphone")?;
    let csp = HostPageCsp::new()
        .frame(&frame)?
        .frame_origin(&Origin::parse(&impostor_origin)?);
    let host = Router::new()
        .route(
            "/phone",
            bridge.page(HostPage::new("CRM", Vendor::Zoom, frame).ready_on(ReadyOn::FirstMessage)),
        )
        .layer(csp.layer())
        .nest("/cti", bridge.router());
    tokio::spawn(async move {
        let _ = axum::serve(host_listener, host).await;
    });
    let _ = serve; // (helper kept for symmetry with the bridge tests)

    let profile = tempfile::tempdir()?;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let client =
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await?;
    let outcome = run(
        &client,
        &host_origin,
        &impostor_origin,
        &frame_origin,
        &mut events,
    )
    .await;
    let _ = client.close().await;
    outcome
}

async fn run(
    client: &fantoccini::Client,
    host_origin: &Origin,
    impostor_origin: &str,
    frame_origin: &str,
    events: &mut mpsc::UnboundedReceiver<CtiEvent>,
) -> Res {
    client.goto(&format!("{host_origin}/phone")).await?;
    // Everything any frame posts to the top page, for the checks below.
    eval(client, "window.seen = []; window.addEventListener('message', e => window.seen.push([e.origin, e.data])); return true;").await?;

    // 1. The frame's lookup reaches the handler...
    let event = tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await?
        .ok_or("handler channel closed")?;
    assert!(
        matches!(event.kind, EventKind::ContactLookupRequested(_)),
        "{:?}",
        event.kind
    );
    // ...and the answer reaches the frame.
    client.enter_frame(0).await?;
    let received = poll("the answer in the frame", async || {
        let v = eval(client, "return window.received;").await?;
        Ok(v.as_array().filter(|a| !a.is_empty()).map(|_| v.clone()))
    })
    .await?;
    client.enter_parent_frame().await?;
    assert_eq!(
        received[0]["type"], "zcc-incomingPhone-response",
        "{received}"
    );
    assert_eq!(received[0]["data"][0]["name"], "Ada Lovelace");
    let stats = eval(client, "return window.ctiBridge;").await?;
    assert_eq!(stats["connected"], true, "{stats}");
    assert_eq!(
        stats["duplicates"], 1,
        "the repeated message was dropped: {stats}"
    );

    // 2. An impostor frame from another origin posts a lookup to '*'.
    eval(
        client,
        &format!(
            "const f = document.createElement('iframe'); f.src = '{impostor_origin}/impostor'; document.body.appendChild(f); return true;"
        ),
    )
    .await?;
    poll("the impostor to run", async || {
        let seen = eval(client, "return window.seen.map(s => s[1]);").await?;
        Ok(seen
            .as_array()
            .filter(|a| a.iter().any(|v| v == "impostor-ran"))
            .map(|_| seen.clone()))
    })
    .await?;
    let stats = eval(client, "return window.ctiBridge;").await?;
    assert!(
        stats["ignored"].as_u64() >= Some(2),
        "the bridge ignored the impostor: {stats}"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(800), events.recv())
            .await
            .is_err(),
        "the impostor's message reached the handler"
    );

    // 3. A page whose frame-ancestors does not list the host is not framed.
    eval(
        client,
        &format!(
            "const f = document.createElement('iframe'); f.src = '{frame_origin}/unframeable'; document.body.appendChild(f); return true;"
        ),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = eval(client, "return window.seen.map(s => s[1]);").await?;
    assert!(
        !seen
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "unframeable-ran")),
        "the browser framed a page that refused the host: {seen}"
    );
    Ok(())
}
