//! A bounded load run over loopback HTTP: the policy layers against the
//! same handler without them, in one process, with the variants
//! interleaved in short bursts.
//!
//! ```text
//! cargo run --release -p cti-server-kit --example layers_load [ROUNDS] [BURST]
//! ```
//!
//! The eight servers share one server thread: the bare handler, the three
//! layers stacked with `Router::layer`, the one-pass `EmbedHeaders` layer
//! with `Router::layer`, `EmbedHeaders` wrapped around the whole router
//! (`Layer::layer(router)`, which spares axum's per-route boxing), and, as
//! a reference, the bare handler writing the very headers the layers write
//! (one response's CSP, Permissions-Policy and X-Frame-Options, as static
//! values): what the header bytes cost with no policy logic at all; and,
//! as a control, the bare handler writing the same three header names with
//! one-byte values, which separates the cost of the header count from the
//! cost of the header bytes (most of it: the client has to read them, and
//! on two shared cores the server then gets fewer requests per wake-up);
//! and, as floors, the reference behind three policy layers that do
//! nothing (stacked as the three real ones are) and behind one wrapped
//! around the router: the least any policy layers that write these
//! headers could cost, so that what remains is the policy logic. A
//! hyper client with 32 keep-alive connections per server runs on another
//! thread. Each round sends `BURST` requests (default 2000) to each server
//! in turn, rotating the order, and records for each burst:
//!
//! - the wall time, giving requests per second as the client sees them;
//! - the server thread's CPU time (`/proc/thread-self/schedstat`), giving
//!   how many requests per second one core can serve.
//!
//! A burst lasts a few tens of milliseconds, so the machine's drift
//! (these machines are shared) hits the variants of a round alike;
//! the report is the median over rounds (default 150) of each round's
//! ratio `rps(x) / rps(bare)`, with the quartiles. The goal, ≥ 0.95, is
//! set on the first figure, requests per second through the layers. The
//! second, capacity, is stricter: it charges the layers for everything
//! the server does per request, the header bytes they must send
//! included, and on it the floor of three no-op layers is itself about
//! 0.95. The layers are also set against the reference and against their
//! floors, which separates the cost of the policy logic from the cost of
//! carrying the headers and of tower's plumbing.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cti_server_kit::layer::{HeaderPolicy, PolicyLayer};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[path = "../benches/common/apps.rs"]
mod apps;

/// bare, layered, combined, wrapped, the reference, the control, and the
/// two floors.
const VARIANTS: usize = 8;
const NAMES: [&str; VARIANTS] = [
    "bare", "layered", "combined", "wrapped", "headers", "short", "floor3", "floor1",
];
/// The reference: the handler writing the layers' headers itself.
const REFERENCE: usize = 4;
/// (form, its floor): the stacked layers against three no-op layers, the
/// wrapped one against one.
const FLOORS: [(usize, usize); 2] = [(1, 6), (3, 7)];

/// A policy that does nothing: what tower's plumbing costs a
/// [`PolicyLayer`] with no logic.
#[derive(Clone)]
struct Nothing;

impl HeaderPolicy for Nothing {
    type Pending = ();
    fn on_request<B>(&self, _request: &mut http::Request<B>) -> Self::Pending {}
    fn on_response(&self, (): Self::Pending, _headers: &mut http::HeaderMap) {}
}

/// Nanoseconds the calling thread has run on a CPU.
fn thread_cpu_ns(path: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn fail(msg: &str) -> ! {
    eprintln!("layers_load: {msg}");
    std::process::exit(1);
}

/// The bare handler, also answering with `headers` (one response's worth
/// from the combined layer) as static values, written by the handler
/// itself; with `short`, the same names with one-byte values.
fn with_static_headers(headers: &http::HeaderMap, short: bool) -> axum::Router {
    let mut list: Vec<(http::HeaderName, http::HeaderValue)> = Vec::new();
    for name in [
        "content-security-policy",
        "permissions-policy",
        "x-frame-options",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            // Leaked once, so each response takes the value as a static
            // (no reference count), as a handler with fixed headers would.
            let text: &'static str = if short {
                "x"
            } else {
                Box::leak(v.to_owned().into_boxed_str())
            };
            list.push((
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static(text),
            ));
        }
    }
    let list: &'static [(http::HeaderName, http::HeaderValue)] = list.leak();
    axum::Router::new().route(
        "/",
        axum::routing::get(move || async move {
            (
                axum::response::AppendHeaders(list.iter().cloned()),
                axum::response::Html(apps::PAGE),
            )
        }),
    )
}

/// Starts the six servers on one thread; returns their URLs and the
/// `schedstat` path of that thread.
fn start_servers() -> (Vec<String>, String) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => fail(&e.to_string()),
        };
        rt.block_on(async move {
            let stat = std::fs::read_link("/proc/thread-self")
                .map(|p| format!("/proc/{}/schedstat", p.display()))
                .unwrap_or_default();
            let mut urls = Vec::new();
            let mut listeners = Vec::new();
            for _ in 0..VARIANTS {
                let Ok(l) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
                    fail("could not bind a loopback port");
                };
                let Ok(addr) = l.local_addr() else {
                    fail("no local address");
                };
                urls.push(format!("http://{addr}/"));
                listeners.push(l);
            }
            let mut listeners = listeners.into_iter();
            for app in [apps::bare(), apps::layered(), apps::combined()] {
                if let Some(l) = listeners.next() {
                    tokio::spawn(async move { axum::serve(l, app).await });
                }
            }
            if let Some(l) = listeners.next() {
                let svc = axum::ServiceExt::<http::Request<axum::body::Body>>::into_make_service(
                    apps::wrapped(),
                );
                tokio::spawn(async move { axum::serve(l, svc).await });
            }
            let probe = {
                use tower::ServiceExt as _;
                let request = http::Request::get("/")
                    .body(axum::body::Body::empty())
                    .unwrap_or_else(|e| fail(&e.to_string()));
                match apps::combined().with_state(()).oneshot(request).await {
                    Ok(r) => r.headers().clone(),
                    Err(e) => match e {},
                }
            };
            for short in [false, true] {
                if let Some(l) = listeners.next() {
                    let app = with_static_headers(&probe, short);
                    tokio::spawn(async move { axum::serve(l, app).await });
                }
            }
            // The floors: the reference behind three no-op policy layers
            // stacked as `layered` stacks its three, and behind one
            // wrapped around the router as `wrapped` is.
            if let Some(l) = listeners.next() {
                let app = with_static_headers(&probe, false).layer(
                    tower::ServiceBuilder::new()
                        .layer(PolicyLayer::new(Nothing))
                        .layer(PolicyLayer::new(Nothing))
                        .layer(PolicyLayer::new(Nothing)),
                );
                tokio::spawn(async move { axum::serve(l, app).await });
            }
            if let Some(l) = listeners.next() {
                use tower::Layer as _;
                let svc = PolicyLayer::new(Nothing)
                    .layer(with_static_headers(&probe, false).with_state(()));
                let svc =
                    axum::ServiceExt::<http::Request<axum::body::Body>>::into_make_service(svc);
                tokio::spawn(async move { axum::serve(l, svc).await });
            }
            let _ = tx.send((urls, stat));
            std::future::pending::<()>().await;
        });
    });
    rx.recv()
        .unwrap_or_else(|_| fail("the server thread stopped"))
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>;

/// Sends `n` GETs to `uri` over 32 concurrent keep-alive connections.
async fn burst(client: &HttpClient, uri: &http::Uri, n: usize) {
    const CONNECTIONS: usize = 32;
    let per = n.div_ceil(CONNECTIONS);
    let tasks = (0..CONNECTIONS).map(|_| {
        let client = client.clone();
        let uri = uri.clone();
        async move {
            for _ in 0..per {
                let r = client
                    .get(uri.clone())
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()));
                if !r.status().is_success() {
                    fail(&format!("status {}", r.status()));
                }
                let _ = r.into_body().collect().await;
            }
        }
    });
    futures_util::future::join_all(tasks).await;
}

fn quartiles(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.5), at(0.75))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(150);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    if rounds == 0 || n == 0 {
        fail("ROUNDS and BURST must be positive");
    }
    let (urls, stat) = start_servers();
    if thread_cpu_ns(&stat).is_none() {
        fail("cannot read the server thread's CPU time from /proc");
    }
    let uris: Vec<http::Uri> = urls
        .iter()
        .map(|u| u.parse().unwrap_or_else(|_| fail("bad URL")))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()));
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .pool_idle_timeout(Duration::from_secs(60))
        .build_http();
    // ratios[variant - 1] = (throughput ratios, capacity ratios)
    let mut ratios: [(Vec<f64>, Vec<f64>); VARIANTS - 1] = Default::default();
    let mut totals = [(Duration::ZERO, 0u64); VARIANTS];
    // cpu(reference) / cpu(layered, combined, wrapped): the policy logic
    // alone.
    let mut against_reference: [Vec<f64>; REFERENCE - 1] = Default::default();
    let mut against_floor: [Vec<f64>; FLOORS.len()] = Default::default();
    rt.block_on(async {
        // Warm up: connections, allocator, caches.
        for uri in &uris {
            burst(&client, uri, 4 * n).await;
        }
        for round in 0..rounds {
            let mut wall = [0f64; VARIANTS];
            let mut cpu = [0f64; VARIANTS];
            for k in 0..VARIANTS {
                let i = (round + k) % VARIANTS;
                let c0 = thread_cpu_ns(&stat).unwrap_or(0);
                let t0 = Instant::now();
                burst(&client, &uris[i], n).await;
                let dt = t0.elapsed();
                let dc = thread_cpu_ns(&stat).unwrap_or(0).saturating_sub(c0);
                wall[i] = dt.as_secs_f64();
                cpu[i] = dc as f64;
                totals[i].0 += dt;
                totals[i].1 += dc;
            }
            for (v, r) in ratios.iter_mut().enumerate() {
                r.0.push(wall[0] / wall[v + 1]);
                if cpu[v + 1] > 0.0 {
                    r.1.push(cpu[0] / cpu[v + 1]);
                }
            }
            for (v, r) in against_reference.iter_mut().enumerate() {
                if cpu[v + 1] > 0.0 {
                    r.push(cpu[REFERENCE] / cpu[v + 1]);
                }
            }
            // Each form against its floor: layered against three no-op
            // layers, wrapped against one.
            for (r, (form, floor)) in against_floor.iter_mut().zip(FLOORS) {
                if cpu[form] > 0.0 {
                    r.push(cpu[floor] / cpu[form]);
                }
            }
        }
    });
    let sent = (rounds * n.div_ceil(32) * 32) as f64;
    for (i, name) in NAMES.iter().enumerate() {
        println!(
            "{name:>8}: {:.0} req/s, {:.2} us server CPU per request",
            sent / totals[i].0.as_secs_f64(),
            totals[i].1 as f64 / sent / 1000.0
        );
    }
    for (v, (tp, cap)) in ratios.iter_mut().enumerate() {
        let (a, m, b) = quartiles(tp);
        let (c, k, d) = quartiles(cap);
        println!(
            "{}/bare over {rounds} rounds: throughput median {m:.3} (quartiles {a:.3}..{b:.3}), \
             capacity median {k:.3} (quartiles {c:.3}..{d:.3}); goal (throughput) >= 0.95",
            NAMES[v + 1]
        );
    }
    for (v, cap) in against_reference.iter_mut().enumerate() {
        let (c, k, d) = quartiles(cap);
        println!(
            "{}/headers over {rounds} rounds: capacity median {k:.3} (quartiles {c:.3}..{d:.3}), \
             the policy logic against writing the same headers",
            NAMES[v + 1]
        );
    }
    for (cap, (form, floor)) in against_floor.iter_mut().zip(FLOORS) {
        let (c, k, d) = quartiles(cap);
        println!(
            "{}/{} over {rounds} rounds: capacity median {k:.3} (quartiles {c:.3}..{d:.3}), \
             the policy logic against the same headers behind as many no-op layers",
            NAMES[form], NAMES[floor]
        );
    }
}
