//! Overhead of the policy layers: the same handler with and without
//! `FrameAncestors` + `HostPageCsp` (a fresh nonce per response) +
//! `PermissionsPolicy`, measured in the same run, both in-process
//! (`Router::oneshot`, the strictest view: nothing else costs anything)
//! and over loopback HTTP with keep-alive (requests per second as a
//! client sees them).
//!
//! `layered` stacks the three layers; `combined` is the one-pass
//! `EmbedHeaders` layer, both added with `Router::layer`; `wrapped` is
//! `EmbedHeaders` wrapped around the whole router. In-process, each
//! router is first given its state, as `axum::serve` does, so routes are
//! built once and not per request. Report: `ratio = time(bare) /
//! time(x)` (1.0 = free), e.g. `scripts/bench_ratio.py layers_http
//! combined bare`.

use std::time::Duration;

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use tower::ServiceExt as _;

#[path = "common/apps.rs"]
mod apps;
use apps::{bare, combined, layered, wrapped};

/// One request through `svc`, as `Router::oneshot` sends it.
async fn one<S>(svc: S) -> http::Response<axum::body::Body>
where
    S: tower::Service<
            Request<Body>,
            Response = http::Response<axum::body::Body>,
            Error = std::convert::Infallible,
        >,
{
    let r = svc
        .oneshot(Request::get("/").body(Body::empty()).unwrap_or_default())
        .await
        .unwrap_or_else(|e| match e {});
    assert!(r.status().is_success());
    r
}

fn in_process(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("layers_in_process");
    for (name, app) in [
        ("bare", bare()),
        ("layered", layered()),
        ("combined", combined()),
    ] {
        let app: axum::Router = app.with_state(());
        group.bench_function(name, |b| b.to_async(&rt).iter(|| one(app.clone())));
    }
    let svc = wrapped();
    group.bench_function("wrapped", |b| b.to_async(&rt).iter(|| one(svc.clone())));
    group.finish();
}

fn over_http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let urls: Vec<String> = rt.block_on(async {
        let mut urls = Vec::new();
        let mut bind = async || {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            urls.push(format!(
                "http://{}/",
                l.local_addr().unwrap_or_else(|e| panic!("{e}"))
            ));
            l
        };
        for app in [bare(), layered(), combined()] {
            let l = bind().await;
            tokio::spawn(async move { axum::serve(l, app).await });
        }
        let l = bind().await;
        let svc = axum::ServiceExt::<http::Request<axum::body::Body>>::into_make_service(wrapped());
        tokio::spawn(async move { axum::serve(l, svc).await });
        urls
    });
    let client = reqwest::Client::new();
    let mut group = c.benchmark_group("layers_http");
    group.measurement_time(Duration::from_secs(8));
    for (name, url) in ["bare", "layered", "combined", "wrapped"]
        .into_iter()
        .zip(urls)
    {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let client = client.clone();
                let url = url.clone();
                async move {
                    // 16 requests in flight, as a busy page server sees.
                    let futs = (0..16).map(|_| {
                        let client = client.clone();
                        let url = url.clone();
                        async move {
                            let r = client
                                .get(url)
                                .send()
                                .await
                                .unwrap_or_else(|e| panic!("{e}"));
                            r.bytes().await.unwrap_or_default().len()
                        }
                    });
                    futures_util::future::join_all(futs).await
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, in_process, over_http);
criterion_main!(benches);
