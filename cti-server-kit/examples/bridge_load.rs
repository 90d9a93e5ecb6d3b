//! A bounded load run of the bridge, in three processes:
//!
//! ```text
//! cargo run --release -p cti-server-kit --example bridge_load [PAGES] [SECONDS]
//! ```
//!
//! For each of two servers, a bare WebSocket echo (the baseline: the
//! same transport and buffer settings, no bridge) and the bridge, a
//! server process is started, and it starts a client process that:
//!
//! 1. opens PAGES (default 10,000) connections and keeps them open; the
//!    server reports its resident-memory growth per connection;
//! 2. then, with all of them still open, sends 5,000 events a second
//!    (contact lookups the handler answers at once) over 100 of them for
//!    SECONDS (default 10) and measures each event → answer round trip.
//!
//! The driver prints memory per connection and round-trip percentiles for
//! both, and the ratios bridge / baseline.

use std::collections::VecDeque;
use std::io::{BufRead as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::Message;
use axum::routing::get;
use cti_protocol::Vendor;
use cti_protocol::model::{Command as CtiCommand, CtiEvent, EventKind};
use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_server_kit::bridge::{Bridge, EventHandler, PageContext, Reply};
use futures_util::{SinkExt as _, StreamExt as _};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const HOST: &str = "http://crm.load:8080";
const ACTIVE: usize = 100;
const RATE: u64 = 5_000;

struct Answer;

impl EventHandler for Answer {
    async fn on_event(&self, _page: &PageContext, event: CtiEvent) -> Reply {
        match event.kind {
            EventKind::ContactLookupRequested(l) => CtiCommand::AnswerLookup {
                reply_to: l.reply_kind,
                contacts: Vec::new(),
            }
            .into(),
            _ => Reply::none(),
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Res {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(&args[2], args[3].parse()?, args[4].parse()?),
        Some("client") => client(&args[2], &args[3], args[4].parse()?),
        _ => drive(
            args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000),
            args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10),
        ),
    }
}

fn drive(pages: usize, seconds: u64) -> Res {
    let me = std::env::current_exe()?;
    let mut results = Vec::new();
    for kind in ["echo", "bridge"] {
        let out = Command::new(&me)
            .args(["serve", kind, &pages.to_string(), &seconds.to_string()])
            .stderr(Stdio::inherit())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().ok_or("no result line")?;
        let v: Value = serde_json::from_str(line)?;
        println!("{kind}: {v}");
        results.push(v);
    }
    let (e, b) = (&results[0], &results[1]);
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "memory per connection: bridge {:.2} KiB, baseline {:.2} KiB, ratio {:.2} (goal: bridge <= 20 KiB)",
        f(b, "kib_per_conn"),
        f(e, "kib_per_conn"),
        f(b, "kib_per_conn") / f(e, "kib_per_conn")
    );
    println!(
        "round trip at {:.0}/s: bridge p50 {:.3} ms p99 {:.3} ms; baseline p50 {:.3} ms p99 {:.3} ms; p99 ratio {:.2} (goal: bridge p99 <= 5 ms)",
        f(b, "rate"),
        f(b, "p50_ms"),
        f(b, "p99_ms"),
        f(e, "p50_ms"),
        f(e, "p99_ms"),
        f(b, "p99_ms") / f(e, "p99_ms")
    );
    Ok(())
}

fn serve(kind: &str, pages: usize, seconds: u64) -> Res {
    // One worker for the server; the client process has the other core.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (app, tokens, bridge) = if kind == "bridge" {
            let bridge = Bridge::builder(Answer)
                .host_origins(OriginAllowlist::parse([HOST])?)
                .build()
                .await?;
            let zoom = Origin::parse("https://zoom.us")?;
            let mut tokens = Vec::with_capacity(pages);
            for _ in 0..pages {
                let g = bridge.issue_page(Vendor::Zoom, &zoom, None).await?;
                tokens.push(g.token.expose_secret().to_owned());
            }
            (
                Router::new().nest("/cti", bridge.router()),
                tokens,
                Some(bridge),
            )
        } else {
            let app = Router::new().route(
                "/cti/ws",
                get(|ws: WebSocketUpgrade| async move {
                    ws.protocols(["cti-bridge.v1"])
                        .read_buffer_size(4 * 1024)
                        .write_buffer_size(0)
                        .on_upgrade(|mut socket| async move {
                            while let Some(Ok(msg)) = socket.recv().await {
                                if let Message::Text(t) = msg
                                    && socket.send(Message::Text(t)).await.is_err()
                                {
                                    break;
                                }
                            }
                        })
                }),
            );
            (app, vec!["-".to_owned(); pages], None)
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_kib();

        let me = std::env::current_exe()?;
        let mut child = tokio::process::Command::new(me)
            .args(["client", &addr.to_string(), kind, &seconds.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        {
            use tokio::io::AsyncWriteExt as _;
            let mut stdin = child.stdin.take().ok_or("no stdin")?;
            stdin
                .write_all((tokens.join("\n") + "\n\n").as_bytes())
                .await?;
            drop(stdin);
        }
        drop(tokens);
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let ready = lines.next_line().await?.ok_or("client ended early")?;
        if ready != "connected" {
            return Err(format!("client said {ready}").into());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss_kib();
        if let Some(b) = &bridge {
            let n = b.local_connections();
            if n != pages {
                return Err(format!("{n} of {pages} pages connected").into());
            }
        }
        let result_line = lines.next_line().await?.ok_or("client gave no result")?;
        let mut result: Value = serde_json::from_str(&result_line)?;
        result["pages"] = json!(pages);
        result["rss_before_kib"] = json!(before);
        result["rss_after_kib"] = json!(after);
        result["kib_per_conn"] = json!((after.saturating_sub(before)) as f64 / pages as f64);
        println!("{result}");
        let _ = child.wait().await;
        Ok(())
    })
}

fn client(addr: &str, kind: &str, seconds: u64) -> Res {
    let mut tokens = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.is_empty() {
            break;
        }
        tokens.push(line);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let url = format!("ws://{addr}/cti/ws");
        let bridge = kind == "bridge";
        // Connect everything, 200 at a time.
        let sockets: Vec<_> = futures_util::stream::iter(tokens.into_iter().map(|token| {
            let url = url.clone();
            async move {
                let mut req = url.into_client_request()?;
                req.headers_mut().insert("origin", HOST.parse()?);
                req.headers_mut().insert(
                    "sec-websocket-protocol",
                    format!("cti-bridge.v1, cti-token.{token}").parse()?,
                );
                let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
                if bridge {
                    // Wait for the welcome, so the page is really set up.
                    match ws.next().await {
                        Some(Ok(tungstenite::Message::Text(_))) => {}
                        other => return Err(format!("no welcome: {other:?}").into()),
                    }
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(ws)
            }
        }))
        .buffer_unordered(200)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
        println!("connected");
        std::io::stdout().flush()?;
        tokio::time::sleep(Duration::from_secs(3)).await;

        let mut sockets = sockets.into_iter();
        let active: Vec<_> = sockets.by_ref().take(ACTIVE).collect();
        let idle: Vec<_> = sockets.collect();
        let per_conn = Duration::from_micros(1_000_000 * ACTIVE as u64 / RATE);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(seconds);
        let tasks: Vec<_> = active
            .into_iter()
            .map(|ws| {
                tokio::spawn(async move {
                    let (mut tx, mut rx) = ws.split();
                    let mut sent: VecDeque<Instant> = VecDeque::new();
                    let mut lat: Vec<u32> = Vec::new();
                    let mut tick = tokio::time::interval(per_conn);
                    let mut seq = 0u64;
                    loop {
                        tokio::select! {
                            _ = tick.tick(), if Instant::now() < deadline => {
                                seq += 1;
                                let text = json!({"t":"event","seq":seq,"data":{"type":"zcc-incomingPhone-request","data":{"incomingPhoneNumber":"+14155550100","engagementId":format!("E{seq}"),"channel":"voice"}}}).to_string();
                                sent.push_back(Instant::now());
                                if tx.send(tungstenite::Message::Text(text.into())).await.is_err() { break; }
                            }
                            msg = rx.next() => {
                                let Some(Ok(tungstenite::Message::Text(t))) = msg else { break };
                                let is_answer = !bridge || t.as_str().starts_with(r#"{"t":"command""#);
                                if is_answer && let Some(at) = sent.pop_front() {
                                    lat.push(u32::try_from(at.elapsed().as_micros()).unwrap_or(u32::MAX));
                                }
                                if Instant::now() >= deadline && sent.is_empty() { break; }
                            }
                            () = tokio::time::sleep_until((deadline + Duration::from_secs(5)).into()) => break,
                        }
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?);
        }
        let elapsed = start.elapsed().as_secs_f64().min(seconds as f64);
        drop(idle);
        all.sort_unstable();
        let pct = |p: f64| {
            let i = ((all.len() as f64 * p).ceil() as usize).saturating_sub(1).min(all.len().saturating_sub(1));
            all.get(i).map_or(f64::NAN, |v| f64::from(*v) / 1000.0)
        };
        let result = json!({
            "kind": kind,
            "answers": all.len(),
            "rate": all.len() as f64 / elapsed,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "p999_ms": pct(0.999),
            "max_ms": all.last().map_or(f64::NAN, |v| f64::from(*v) / 1000.0),
        });
        println!("{result}");
        std::io::stdout().flush()?;
        Ok(())
    })
}
