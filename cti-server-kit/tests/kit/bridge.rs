//! The bridge protocol over loopback sockets: authentication, decoding,
//! handler dispatch, answers with deadlines, replays, hostile input, and
//! commands across nodes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use cti_protocol::Vendor;
use cti_protocol::embed::{EmbedFrame, ZoomHost};
use cti_protocol::model::{Command, CrmContact, CtiEvent, EventKind, Target};
use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_server_kit::bridge::{Bridge, EventHandler, PageContext, PageGrant, Reply};
use cti_server_kit::layer::HostPageCsp;
use cti_server_kit::page::HostPage;
use cti_server_kit::store::{MemoryStore, SessionStore};
use futures_util::{SinkExt as _, StreamExt as _};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const HOST: &str = "http://crm.test:8080";

/// Records every event; answers lookups after `lookup_delay`, never
/// answers configuration requests (so the default goes out), and turns a
/// note into a dial command.
struct Recorder {
    events: mpsc::UnboundedSender<(PageContext, CtiEvent)>,
    lookup_delay: Duration,
}

impl EventHandler for Recorder {
    async fn on_event(&self, page: &PageContext, event: CtiEvent) -> Reply {
        let _ = self.events.send((page.clone(), event.clone()));
        match event.kind {
            EventKind::ContactLookupRequested(lookup) => {
                tokio::time::sleep(self.lookup_delay).await;
                Command::AnswerLookup {
                    reply_to: lookup.reply_kind,
                    contacts: vec![CrmContact::new("003A", "Ada Lovelace").phone("+14155550100")],
                }
                .into()
            }
            EventKind::ConfigRequested => {
                tokio::time::sleep(Duration::from_millis(600)).await;
                Reply::none()
            }
            EventKind::Resized { .. } => Reply::command(Command::Answer {
                target: Target::default(),
            }),
            _ => Reply::none(),
        }
    }
}

struct Harness {
    addr: SocketAddr,
    bridge: Bridge,
    events: mpsc::UnboundedReceiver<(PageContext, CtiEvent)>,
}

async fn serve(app: Router) -> Res<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

async fn harness_with(
    store: Arc<dyn SessionStore>,
    lookup_delay: Duration,
    node: &str,
) -> Res<Harness> {
    let (tx, rx) = mpsc::unbounded_channel();
    let bridge = Bridge::builder(Recorder {
        events: tx,
        lookup_delay,
    })
    .store_arc(store)
    .host_origins(OriginAllowlist::parse([HOST])?)
    .answer_timeout(Duration::from_millis(300))
    .ready_timeout(Duration::from_millis(800))
    .max_message_bytes(64 * 1024)
    .node_id(node)
    .build()
    .await?;
    let app = Router::new().nest("/cti", bridge.router());
    let addr = serve(app).await?;
    Ok(Harness {
        addr,
        bridge,
        events: rx,
    })
}

async fn harness(lookup_delay: Duration) -> Res<Harness> {
    harness_with(
        Arc::new(MemoryStore::new()),
        lookup_delay,
        &format!("n{}", rand_suffix()),
    )
    .await
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn zoom_origin() -> Origin {
    Origin::parse("https://zoom.us").unwrap_or_else(|_| Origin::opaque())
}

async fn grant(h: &Harness) -> Res<PageGrant> {
    Ok(h.bridge
        .issue_page(Vendor::Zoom, &zoom_origin(), None)
        .await?)
}

/// Connects with explicit headers; returns the HTTP status and body on
/// refusal.
async fn connect(
    addr: SocketAddr,
    origin: Option<&str>,
    protocols: Option<&str>,
) -> Result<Ws, (u16, Value)> {
    let mut req = format!("ws://{addr}/cti/ws")
        .into_client_request()
        .map_err(|e| (0, json!(e.to_string())))?;
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", o.parse().map_err(|_| (0, Value::Null))?);
    }
    if let Some(p) = protocols {
        req.headers_mut().insert(
            "sec-websocket-protocol",
            p.parse().map_err(|_| (0, Value::Null))?,
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, response)) => {
            assert_eq!(
                response
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok()),
                Some("cti-bridge.v1"),
                "the server picks the bridge subprotocol, never echoes the token"
            );
            Ok(ws)
        }
        Err(tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Err((status, body))
        }
        Err(e) => Err((0, json!(e.to_string()))),
    }
}

fn protocols(g: &PageGrant) -> String {
    format!("cti-bridge.v1, cti-token.{}", g.token.expose_secret())
}

async fn next_json(ws: &mut Ws) -> Res<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await?
            .ok_or("socket closed")??;
        match msg {
            Message::Text(t) => return Ok(serde_json::from_str(t.as_str())?),
            Message::Close(c) => return Err(format!("closed: {c:?}").into()),
            _ => {}
        }
    }
}

/// Reads until a message of type `t`, returning it.
async fn until(ws: &mut Ws, t: &str) -> Res<Value> {
    loop {
        let v = next_json(ws).await?;
        if v["t"] == t {
            return Ok(v);
        }
    }
}

/// Reads until the server has acknowledged `seq`, standalone or riding on
/// a command frame; returns the commands seen on the way.
async fn acked(ws: &mut Ws, seq: u64) -> Res<Vec<Value>> {
    let mut commands = Vec::new();
    loop {
        let v = next_json(ws).await?;
        let n = if v["t"] == "ack" {
            v["seq"].as_u64()
        } else {
            v["ack"].as_u64()
        };
        if v["t"] == "command" {
            commands.push(v.clone());
        }
        if n.is_some_and(|n| n >= seq) {
            return Ok(commands);
        }
    }
}

/// Zoom's init handshake, which makes the page ready for commands: the
/// frame asks for its configuration and gets the (default) answer.
async fn zoom_ready(ws: &mut Ws, seq: u64) -> Res {
    send_event(ws, seq, json!({"type":"zcc-init-config-request"})).await?;
    let config = until(ws, "command").await?;
    assert_eq!(
        config["data"]["type"], "zcc-init-config-response",
        "{config}"
    );
    Ok(())
}

async fn send_event(ws: &mut Ws, seq: u64, data: Value) -> Res {
    let text = json!({"t": "event", "seq": seq, "data": data}).to_string();
    ws.send(Message::Text(text.into())).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_handler_and_answers_come_back() -> Res {
    let mut h = harness(Duration::ZERO).await?;
    let g = grant(&h).await?;
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let welcome = next_json(&mut ws).await?;
    assert_eq!(welcome["t"], "welcome");
    assert_eq!(welcome["last_seq"], 0);
    assert_eq!(h.bridge.local_connections(), 1);

    send_event(
        &mut ws,
        1,
        json!({"type":"zcc-incomingPhone-request","data":{"incomingPhoneNumber":"+14155550100","engagementId":"E1","channel":"voice"}}),
    )
    .await?;
    let (page, event) = tokio::time::timeout(Duration::from_secs(5), h.events.recv())
        .await?
        .ok_or("no event")?;
    assert_eq!(page.page_id, g.page_id);
    assert!(
        matches!(event.kind, EventKind::ContactLookupRequested(_)),
        "{:?}",
        event.kind
    );
    let answer = until(&mut ws, "command").await?;
    assert_eq!(answer["ack"], 1, "the ack rides on the answer");
    assert_eq!(answer["data"]["type"], "zcc-incomingPhone-response");
    assert_eq!(answer["data"]["data"][0]["name"], "Ada Lovelace");

    // A reply that is not an answer is rendered in Zoom's dialect too,
    // once the frame is ready.
    zoom_ready(&mut ws, 2).await?;
    send_event(
        &mut ws,
        3,
        json!({"type":"zcc-resize","data":{"widthInPixels":360,"heightInPixels":620}}),
    )
    .await?;
    let cmd = until(&mut ws, "command").await?;
    assert_eq!(cmd["data"]["type"], "zcc-accept-engagement", "{cmd}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_handler_gets_the_default_answer_and_its_late_answer_is_dropped() -> Res {
    let mut h = harness(Duration::from_millis(900)).await?;
    let g = grant(&h).await?;
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    send_event(
        &mut ws,
        1,
        json!({"type":"zcc-contact-search-event","data":{"query":"+14155550100"}}),
    )
    .await?;
    let started = std::time::Instant::now();
    let answer = until(&mut ws, "command").await?;
    assert_eq!(answer["data"]["type"], "zcc-contact-search-response");
    // The default: no matches, as seed 003 writes it for a search.
    assert_eq!(answer["data"]["data"], json!({}), "the default: no matches");
    assert!(
        started.elapsed() < Duration::from_millis(880),
        "the default did not wait for the handler"
    );
    h.events.recv().await.ok_or("no event")?;
    // The handler's own answer arrives after ~900 ms and must be dropped.
    let more = tokio::time::timeout(Duration::from_millis(1200), until(&mut ws, "command")).await;
    assert!(more.is_err(), "a late answer was sent: {more:?}");

    // Configuration requests get the default configuration.
    send_event(&mut ws, 2, json!({"type":"zcc-init-config-request"})).await?;
    let config = until(&mut ws, "command").await?;
    assert_eq!(
        config["data"]["type"], "zcc-init-config-response",
        "{config}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_and_resends_are_dropped_and_resume_after_reconnect() -> Res {
    let mut h = harness(Duration::ZERO).await?;
    let g = grant(&h).await?;
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    let note = json!({"type":"zcc-resize","data":{"widthInPixels":1,"heightInPixels":2}});
    send_event(&mut ws, 1, note.clone()).await?;
    acked(&mut ws, 1).await?;
    // The same sequence number again: acked, not handled.
    send_event(&mut ws, 1, note.clone()).await?;
    assert_eq!(until(&mut ws, "ack").await?["seq"], 1);
    h.events.recv().await.ok_or("no event")?;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), h.events.recv())
            .await
            .is_err(),
        "a replayed event reached the handler"
    );

    // A second connection for the same page while the first lives: 409.
    let second = connect(h.addr, Some(HOST), Some(&protocols(&g))).await;
    let Err((409, body)) = second else {
        return Err(format!("expected 409, got {:?}", second.map(|_| ())).into());
    };
    assert_eq!(body["error"], "page_in_use");

    // After the first closes, the page reconnects and learns where to resume.
    ws.close(None).await?;
    drop(ws);
    let mut again = None;
    for _ in 0..50 {
        match connect(h.addr, Some(HOST), Some(&protocols(&g))).await {
            Ok(ws) => {
                again = Some(ws);
                break;
            }
            Err((409, _)) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return Err(format!("{e:?}").into()),
        }
    }
    let mut ws = again.ok_or("never reconnected")?;
    assert_eq!(until(&mut ws, "welcome").await?["last_seq"], 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_upgrades_are_refused_with_json_4xx() -> Res {
    let h = harness(Duration::ZERO).await?;
    let g = grant(&h).await?;
    let good = protocols(&g);
    let cases: Vec<(Option<&str>, Option<String>, u16, &str)> = vec![
        (None, Some(good.clone()), 403, "bad_origin"),
        (
            Some("https://evil.example"),
            Some(good.clone()),
            403,
            "bad_origin",
        ),
        (Some("null"), Some(good.clone()), 403, "bad_origin"),
        (Some(HOST), None, 400, "bad_subprotocol"),
        (
            Some(HOST),
            Some("cti-bridge.v1".into()),
            401,
            "missing_token",
        ),
        (
            Some(HOST),
            Some("cti-bridge.v1, cti-token.nodot".into()),
            401,
            "bad_token",
        ),
        (
            Some(HOST),
            Some(format!(
                "cti-bridge.v1, cti-token.{}.wrongsecret",
                g.page_id
            )),
            401,
            "bad_token",
        ),
        (
            Some(HOST),
            Some("cti-bridge.v1, cti-token.unknownpage.secret".into()),
            401,
            "bad_token",
        ),
        (
            Some(HOST),
            Some(format!("cti-bridge.v1, cti-token.{}.x", "p".repeat(100))),
            401,
            "bad_token",
        ),
    ];
    for (origin, proto, status, code) in cases {
        match connect(h.addr, origin, proto.as_deref()).await {
            Err((s, body)) => {
                assert_eq!(s, status, "{origin:?} {proto:?}: {body}");
                assert_eq!(body["error"], code, "{origin:?} {proto:?}");
            }
            Ok(_) => return Err(format!("{origin:?} {proto:?} was accepted").into()),
        }
    }
    // Not a WebSocket at all.
    let response = reqwest_like_get(
        h.addr,
        "/cti/ws",
        &[("origin", HOST), ("sec-websocket-protocol", &good)],
    )
    .await?;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("not_a_websocket"), "{response}");
    Ok(())
}

/// A bare HTTP/1.1 GET over a socket, returning the raw response head
/// and body.
async fn reqwest_like_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Res<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = TcpStream::connect(addr).await?;
    let mut req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_close_the_socket_and_never_panic() -> Res {
    let mut h = harness(Duration::ZERO).await?;
    let cases: Vec<(Message, u16)> = vec![
        (Message::Text("not json".into()), 1007),
        (Message::Text(r#"{"t":"hello"}"#.into()), 1008),
        (
            Message::Text(r#"{"t":"event","seq":0,"data":{}}"#.into()),
            1008,
        ),
        (Message::Binary(vec![0u8; 16].into()), 1003),
        (
            Message::Text(
                format!(
                    r#"{{"t":"event","seq":1,"data":"{}"}}"#,
                    "x".repeat(100 * 1024)
                )
                .into(),
            ),
            1009,
        ),
        (Message::Text("[".repeat(10_000).into()), 1007),
    ];
    for (message, code) in cases {
        let g = grant(&h).await?;
        let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
            .await
            .map_err(|e| format!("{e:?}"))?;
        until(&mut ws, "welcome").await?;
        let _ = ws.send(message).await;
        let mut closed_with = None;
        while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            match msg {
                Ok(Message::Close(Some(frame))) => {
                    closed_with = Some(u16::from(frame.code));
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        assert_eq!(closed_with, Some(code));
    }
    // Vendor messages that do not decode are acked and ignored; the
    // connection lives on.
    let g = grant(&h).await?;
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    send_event(&mut ws, 1, json!({"type": 42})).await?;
    assert_eq!(until(&mut ws, "ack").await?["seq"], 1);
    send_event(&mut ws, 2, json!("{\"no\":")).await?;
    assert_eq!(until(&mut ws, "ack").await?["seq"], 2);
    send_event(
        &mut ws,
        3,
        json!({"type":"zcc-resize","data":{"widthInPixels":1,"heightInPixels":1}}),
    )
    .await?;
    acked(&mut ws, 3).await?;
    let (_, event) = tokio::time::timeout(Duration::from_secs(5), h.events.recv())
        .await?
        .ok_or("no event")?;
    assert!(matches!(event.kind, EventKind::Resized { .. }));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_binding_is_enforced() -> Res {
    let (tx, _rx) = mpsc::unbounded_channel();
    let bridge = Bridge::builder(Recorder {
        events: tx,
        lookup_delay: Duration::ZERO,
    })
    .host_origins(OriginAllowlist::parse([HOST])?)
    .identify(|head| {
        head.headers
            .get("x-session")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
    .build()
    .await?;
    let addr = serve(Router::new().nest("/cti", bridge.router())).await?;
    let g = bridge
        .issue_page(Vendor::Zoom, &zoom_origin(), Some("alice"))
        .await?;
    let mut req = format!("ws://{addr}/cti/ws").into_client_request()?;
    req.headers_mut().insert("origin", HOST.parse()?);
    req.headers_mut()
        .insert("sec-websocket-protocol", protocols(&g).parse()?);
    req.headers_mut().insert("x-session", "mallory".parse()?);
    match tokio_tungstenite::connect_async(req.clone()).await {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 403),
        other => return Err(format!("expected 403, got {:?}", other.map(|_| ())).into()),
    }
    req.headers_mut().insert("x-session", "alice".parse()?);
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    drop(ws);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_a_page_on_this_node() -> Res {
    let h = harness(Duration::ZERO).await?;
    let g = grant(&h).await?;
    assert!(
        !format!("{g:?}").contains(g.token.expose_secret()),
        "a page token never shows in Debug"
    );
    let dial = Command::Dial {
        number: "+14155550100".into(),
        immediately: true,
        contact: None,
    };
    assert!(matches!(
        h.bridge.send(&g.page_id, &dial).await,
        Err(cti_server_kit::bridge::BridgeError::NotConnected)
    ));
    assert!(matches!(
        h.bridge.send("nope", &dial).await,
        Err(cti_server_kit::bridge::BridgeError::NoSuchPage)
    ));
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    zoom_ready(&mut ws, 1).await?;
    h.bridge.send(&g.page_id, &dial).await?;
    let cmd = until(&mut ws, "command").await?;
    assert_eq!(cmd["data"]["type"], "onclicktoact", "{cmd}");
    Ok(())
}

/// Two nodes share one store: a command issued on node A reaches the
/// browser connected to node B through the store's pub/sub.
pub(crate) async fn cross_node(store: Arc<dyn SessionStore>) -> Res {
    let a = harness_with(
        Arc::clone(&store),
        Duration::ZERO,
        &format!("a{}", rand_suffix()),
    )
    .await?;
    let b = harness_with(store, Duration::ZERO, &format!("b{}", rand_suffix())).await?;
    let g = a
        .bridge
        .issue_page(Vendor::Zoom, &zoom_origin(), None)
        .await?;
    let mut ws = connect(b.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    zoom_ready(&mut ws, 1).await?;
    assert_eq!(a.bridge.local_connections(), 0);
    assert_eq!(b.bridge.local_connections(), 1);
    let dial = Command::Dial {
        number: "+14155550100".into(),
        immediately: true,
        contact: None,
    };
    a.bridge.send(&g.page_id, &dial).await?;
    let cmd = until(&mut ws, "command").await?;
    assert_eq!(cmd["data"]["type"], "onclicktoact");
    assert_eq!(cmd["data"]["data"]["phone"], "+14155550100", "{cmd}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_cross_nodes_through_the_memory_store() -> Res {
    cross_node(Arc::new(MemoryStore::new())).await
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_cross_nodes_through_redis() -> Res {
    let Some(url) = crate::services::redis_url("commands_cross_nodes_through_redis") else {
        return Ok(());
    };
    let store = cti_server_kit::store::RedisStore::connect(&url)
        .await?
        .with_prefix(format!("test-bridge-{}:", std::process::id()));
    cross_node(Arc::new(store)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_page_renders_escaped_with_nonce_and_token() -> Res {
    let h = harness(Duration::ZERO).await?;
    let host = Origin::parse(HOST)?;
    let mut frame = EmbedFrame::zoom(&host, &ZoomHost::Default)?;
    frame.title = "Phone \"<script>alert(1)</script>".into();
    let csp = HostPageCsp::new().frame(&frame)?;
    let app = Router::new()
        .route(
            "/phone",
            h.bridge
                .page(HostPage::new("CRM <Phone> & co", Vendor::Zoom, frame)),
        )
        .layer(csp.layer())
        .nest("/cti", h.bridge.router());
    let addr = serve(app).await?;
    let page = reqwest_like_get(addr, "/phone", &[]).await?;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let lower = page.to_ascii_lowercase();
    assert!(lower.contains("cache-control: no-store"));
    let csp_line = lower
        .lines()
        .find(|l| l.starts_with("content-security-policy:"))
        .ok_or("no csp")?
        .to_owned();
    let nonce = csp_line
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .ok_or("no nonce")?;
    assert!(
        page.contains(&format!("nonce=\"{}\"", nonce))
            || lower.contains(&format!("nonce=\"{nonce}\""))
    );
    assert!(page.contains("CRM &lt;Phone&gt; &amp; co"), "{page}");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(page.contains("data-frame-origin=\"https://zoom.us\""));
    assert!(page.contains("src=\"/cti/bridge.js\""));
    assert!(page.contains("data-token=\""));
    // The bridge script is served with a JavaScript type and nosniff.
    let js = reqwest_like_get(addr, "/cti/bridge.js", &[]).await?;
    assert!(
        js.to_ascii_lowercase()
            .contains("content-type: text/javascript")
    );
    assert!(js.contains("postMessage(data, pinned)"));
    assert!(!js.contains("'*')"), "the bridge never posts to '*'");
    Ok(())
}

static_assertions::assert_impl_all!(Bridge: Send, Sync, Clone, std::fmt::Debug);
static_assertions::assert_impl_all!(cti_server_kit::store::MemoryStore: Send, Sync, Clone, std::fmt::Debug);
static_assertions::assert_impl_all!(cti_server_kit::layer::EmbedHeaders: Send, Sync, Clone, std::fmt::Debug);
static_assertions::assert_impl_all!(PageGrant: Send, Sync, Clone, std::fmt::Debug);

struct Quiet;

impl EventHandler for Quiet {
    async fn on_event(&self, _: &PageContext, _: CtiEvent) -> Reply {
        Reply::none()
    }
}

#[tokio::test]
async fn pages_are_bounded_per_session_anonymously_and_in_time() -> Res {
    let host = Origin::parse(HOST)?;
    let frame_origin = Origin::parse("https://zoom.us")?;
    let bridge = Bridge::builder(Quiet)
        .host_origins(OriginAllowlist::parse([HOST])?)
        .max_pages_per_session(3)
        .max_anonymous_pages(50)
        .pending_ttl(Duration::from_millis(300))
        .build()
        .await?;
    let _ = host;
    let dial = Command::Dial {
        number: "+14155550100".into(),
        immediately: true,
        contact: None,
    };
    // Per session: the fourth page forgets the first.
    let mut pages = Vec::new();
    for _ in 0..5 {
        pages.push(
            bridge
                .issue_page(Vendor::Zoom, &frame_origin, Some("session-a"))
                .await?,
        );
    }
    for (n, g) in pages.iter().enumerate() {
        let outcome = bridge.send(&g.page_id, &dial).await;
        if n < 2 {
            assert!(
                matches!(
                    outcome,
                    Err(cti_server_kit::bridge::BridgeError::NoSuchPage)
                ),
                "page {n}: {outcome:?}"
            );
        } else {
            assert!(
                matches!(
                    outcome,
                    Err(cti_server_kit::bridge::BridgeError::NotConnected)
                ),
                "page {n}: {outcome:?}"
            );
        }
    }
    // The session's newest page of a vendor is the last one issued; the
    // forgotten ones never come back, and another vendor's or another
    // session's pages are not this one's.
    assert_eq!(
        bridge
            .newest_page("session-a", Vendor::Zoom)
            .await?
            .as_deref(),
        Some(pages[4].page_id.as_str())
    );
    assert_eq!(
        bridge.newest_page("session-a", Vendor::LeadDesk).await?,
        None
    );
    let talk = bridge
        .issue_page(Vendor::LeadDesk, &frame_origin, Some("session-a"))
        .await?;
    assert_eq!(
        bridge
            .newest_page("session-a", Vendor::LeadDesk)
            .await?
            .as_deref(),
        Some(talk.page_id.as_str())
    );
    assert_eq!(
        bridge
            .newest_page("session-a", Vendor::Zoom)
            .await?
            .as_deref(),
        Some(pages[4].page_id.as_str())
    );
    assert_eq!(bridge.newest_page("session-b", Vendor::Zoom).await?, None);
    // Another session keeps its own pages.
    let other = bridge
        .issue_page(Vendor::Zoom, &frame_origin, Some("session-b"))
        .await?;
    assert!(matches!(
        bridge.send(&other.page_id, &dial).await,
        Err(cti_server_kit::bridge::BridgeError::NotConnected)
    ));
    // Anonymous pages: 50 per window, then 429.
    for _ in 0..50 {
        bridge.issue_page(Vendor::Zoom, &frame_origin, None).await?;
    }
    let refused = bridge.issue_page(Vendor::Zoom, &frame_origin, None).await;
    assert!(
        matches!(
            refused,
            Err(cti_server_kit::bridge::BridgeError::TooManyPages)
        ),
        "{refused:?}"
    );
    // A page whose socket never connects is forgotten after the pending
    // time, and the anonymous window opens again.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(matches!(
        bridge.send(&other.page_id, &dial).await,
        Err(cti_server_kit::bridge::BridgeError::NoSuchPage)
    ));
    bridge.issue_page(Vendor::Zoom, &frame_origin, None).await?;
    Ok(())
}

/// A command sent before the frame is ready waits in the bridge and
/// reaches the frame once it is (Zoom: the init handshake).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_sent_before_ready_reaches_the_frame_after_ready() -> Res {
    let h = harness(Duration::ZERO).await?;
    let g = grant(&h).await?;
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    let bridge = h.bridge.clone();
    let page = g.page_id.clone();
    let sent = tokio::spawn(async move {
        let dial = Command::Dial {
            number: "+14155550100".into(),
            immediately: true,
            contact: None,
        };
        bridge.send(&page, &dial).await
    });
    // Nothing is posted to a frame that is not ready.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), until(&mut ws, "command"))
            .await
            .is_err()
    );
    send_event(&mut ws, 1, json!({"type":"zcc-init-config-request"})).await?;
    let mut types = Vec::new();
    for _ in 0..2 {
        types.push(until(&mut ws, "command").await?["data"]["type"].clone());
    }
    assert!(types.contains(&json!("onclicktoact")), "{types:?}");
    assert!(
        types.contains(&json!("zcc-init-config-response")),
        "{types:?}"
    );
    sent.await??;
    Ok(())
}

/// A frame that never becomes ready: the command fails with a typed
/// error, not silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_to_a_frame_that_never_becomes_ready_fails_typed() -> Res {
    let h = harness(Duration::ZERO).await?;
    let g = grant(&h).await?;
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    let dial = Command::Dial {
        number: "+14155550100".into(),
        immediately: true,
        contact: None,
    };
    let started = std::time::Instant::now();
    let result = h.bridge.send(&g.page_id, &dial).await;
    assert!(
        matches!(result, Err(cti_server_kit::bridge::BridgeError::NotReady)),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), until(&mut ws, "command"))
            .await
            .is_err(),
        "the command was posted after all"
    );
    Ok(())
}

/// LeadDesk Talk may run from another login host than its iframe's
/// `src` (seed 004): its `login` is heard from an allowed LeadDesk origin
/// and pins the origin it names; before it nothing is heard, a login
/// naming another origin is ignored, and `logout` unpins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaddesk_follows_the_origin_its_login_names() -> Res {
    let mut h = harness(Duration::ZERO).await?;
    let frame = Origin::parse("https://login-ce2.leaddesk.com")?;
    let g = h.bridge.issue_page(Vendor::LeadDesk, &frame, None).await?;
    assert_eq!(
        g.login_origins.as_deref(),
        Some(&["https://*.leaddesk.com".to_owned()][..])
    );
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    let event = |seq: u64, from: &str, data: Value| {
        json!({"t": "event", "seq": seq, "from": from, "data": data}).to_string()
    };
    let talk = "https://login-qed-fi1.leaddesk.com";
    // Before the login: not heard.
    ws.send(Message::Text(
        event(
            1,
            talk,
            json!({"action": "connected", "callStart": "2024-03-05 14:07:15"}),
        )
        .into(),
    ))
    .await?;
    acked(&mut ws, 1).await?;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), h.events.recv())
            .await
            .is_err()
    );
    // A login naming an origin outside the allowlist: ignored.
    ws.send(Message::Text(
        event(
            2,
            talk,
            json!({"action": "login", "language": "fi", "origin": "https://evil.example"}),
        )
        .into(),
    ))
    .await?;
    acked(&mut ws, 2).await?;
    // The seed's login: pinned to the origin it names.
    ws.send(Message::Text(
        event(
            3,
            talk,
            json!({"action": "login", "language": "fi", "origin": talk}),
        )
        .into(),
    ))
    .await?;
    let pin = until(&mut ws, "pin").await?;
    assert_eq!(pin["origin"], talk);
    let (_, login) = tokio::time::timeout(Duration::from_secs(5), h.events.recv())
        .await?
        .ok_or("no event")?;
    assert!(
        matches!(login.kind, EventKind::AgentLoggedIn { .. }),
        "{:?}",
        login.kind
    );
    // Now commands go out.
    let dial = Command::Dial {
        number: "0401234567".into(),
        immediately: true,
        contact: None,
    };
    h.bridge.send(&g.page_id, &dial).await?;
    let cmd = until(&mut ws, "command").await?;
    assert_eq!(cmd["data"]["action"], "call", "{cmd}");
    // Logout: unpinned, and commands wait again.
    ws.send(Message::Text(
        event(4, talk, json!({"action": "logout"})).into(),
    ))
    .await?;
    until(&mut ws, "unpin").await?;
    assert!(matches!(
        h.bridge.send(&g.page_id, &dial).await,
        Err(cti_server_kit::bridge::BridgeError::NotReady)
    ));
    Ok(())
}

/// The host page tells the bridge script to follow LeadDesk's login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaddesk_host_pages_follow_the_login() -> Res {
    let h = harness(Duration::ZERO).await?;
    let frame = EmbedFrame::leaddesk("https://login-ce2.leaddesk.com/")?;
    let g = h
        .bridge
        .issue_page(Vendor::LeadDesk, &frame.origin()?, None)
        .await?;
    let page = HostPage::new("CRM", Vendor::LeadDesk, frame);
    let nonce = cti_server_kit::layer::CspNonce::generate()?;
    let html = page.render(&g, &nonce)?;
    assert!(html.contains(r#"data-origin-mode="login""#), "{html}");
    assert!(
        html.contains(r#"data-login-origins="https://*.leaddesk.com""#),
        "{html}"
    );
    assert!(html.contains(r#"allow="microphone *""#), "{html}");
    Ok(())
}

/// A host request carrying a `requestId` gets its answer (PROTOCOLS.md
/// §1: host requests carry a host-chosen `requestId`; `zcc-error` is
/// `{code, message, requestId?}`): the engagement list for a status
/// request, a typed refusal for a `zcc-error` naming the request; an
/// error naming another request, or none, goes to the handler only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_their_own_answer_or_refusal() -> Res {
    let mut h = harness(Duration::ZERO).await?;
    let g = grant(&h).await?;
    let mut ws = connect(h.addr, Some(HOST), Some(&protocols(&g)))
        .await
        .map_err(|e| format!("{e:?}"))?;
    until(&mut ws, "welcome").await?;
    zoom_ready(&mut ws, 1).await?;
    let _ = h.events.recv().await;

    // A status request: the answer echoes its id.
    let bridge = h.bridge.clone();
    let page = g.page_id.clone();
    let asked = tokio::spawn(async move {
        bridge
            .request(
                &page,
                &Command::ListInteractions { request_id: None },
                Duration::from_secs(5),
            )
            .await
    });
    let cmd = until(&mut ws, "command").await?;
    assert_eq!(
        cmd["data"]["type"], "zcc-engagement-status-request",
        "{cmd}"
    );
    let id = cmd["data"]["data"]["requestId"]
        .as_str()
        .ok_or("no requestId")?
        .to_owned();
    // An unrelated error first: not this request's answer.
    send_event(
        &mut ws,
        2,
        json!({"type":"zcc-error","data":{"code":"other","message":"x","requestId":"someone-else"}}),
    )
    .await?;
    send_event(
        &mut ws,
        3,
        json!({"type":"zcc-engagement-status-response","data":{"active":[{"engagementId":"E1"}],"wrapup":[],"requestId": id}}),
    )
    .await?;
    let answer = asked.await??.ok_or("no answer")?;
    assert!(
        matches!(&answer.kind, EventKind::InteractionsListed { active, .. } if active.len() == 1),
        "{:?}",
        answer.kind
    );

    // A hang-up the phone refuses with a zcc-error naming the request.
    let bridge = h.bridge.clone();
    let page = g.page_id.clone();
    let refused = tokio::spawn(async move {
        bridge
            .request(
                &page,
                &Command::HangUp {
                    target: Target::new("E1", cti_protocol::model::Channel::Voice)
                        .request_id("hang-1"),
                },
                Duration::from_secs(5),
            )
            .await
    });
    let cmd = until(&mut ws, "command").await?;
    assert_eq!(cmd["data"]["data"]["requestId"], "hang-1");
    send_event(
        &mut ws,
        4,
        json!({"type":"zcc-error","data":{"code":"no-engagement","message":"Nothing to end","requestId":"hang-1"}}),
    )
    .await?;
    match refused.await? {
        Err(cti_server_kit::bridge::BridgeError::Refused { code, .. }) => {
            assert_eq!(code.as_deref(), Some("no-engagement"));
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    // No answer at all: none was needed.
    let quiet = h
        .bridge
        .request(
            &g.page_id,
            &Command::Answer {
                target: Target::new("E2", cti_protocol::model::Channel::Voice),
            },
            Duration::from_millis(200),
        )
        .await?;
    assert!(quiet.is_none());
    Ok(())
}
