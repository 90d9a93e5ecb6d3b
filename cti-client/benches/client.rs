//! The client against raw reqwest, in the same run, on an in-process axum
//! server over loopback.
//!
//! - `dispose_1000`: 1,000 concurrent `disposeCallForUser` calls through
//!   `AmeyoClient` (`ours`) and the same requests by hand with reqwest
//!   (`raw_reqwest`: build, send, read, parse the answer). Goal ≥ 0.9.
//! - `voicelog_32MiB`: one 32 MiB recording streamed to a sink through
//!   `download_voice_log` (`ours`) and as a raw reqwest byte stream
//!   (`raw_reqwest`). Goal ≥ 0.8.
//!
//! Run `cargo bench -p cti-client --bench client`, then
//! `python3 scripts/bench_ratio.py dispose_1000 ours raw_reqwest` and
//! `python3 scripts/bench_ratio.py voicelog_32MiB ours raw_reqwest`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cti_client::ameyo::{AmeyoAuth, AmeyoClient};
use cti_protocol::ameyo::api::{
    AmeyoResult, DisposeCallForUserRequest, DispositionParams, VoiceLogFormat,
};
use futures_util::StreamExt as _;
use futures_util::future::join_all;
use tokio::io::AsyncWriteExt as _;

const FILE: usize = 32 * 1024 * 1024;

fn server(rt: &tokio::runtime::Runtime) -> String {
    let audio = Bytes::from((0..FILE).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let app = Router::new()
        .route(
            "/ameyorestapi/voice/disposeCallForUser",
            post(|| async {
                (
                    [("content-type", "application/json")],
                    r#"{"result":"success","reason":"success"}"#,
                )
            }),
        )
        .route(
            "/ameyowebaccess/command",
            get(move || {
                let audio = audio.clone();
                async move { ([("content-type", "audio/wav")], audio) }
            }),
        );
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = server(&rt);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let client = AmeyoClient::with_http(&base, AmeyoAuth::new().token("12345abc"), http.clone())
        .unwrap()
        .timeout(Duration::from_secs(60));
    let requests: Vec<DisposeCallForUserRequest> = (0..1000)
        .map(|i| {
            DisposeCallForUserRequest::new("vaptuser1", "sale", format!("req-{i}"))
                .params(DispositionParams::new("7004281599"))
        })
        .collect();
    let url = format!("{base}/ameyorestapi/voice/disposeCallForUser");

    // Both sides succeed before anything is measured.
    rt.block_on(async {
        assert!(
            client
                .dispose_call_for_user(&requests[0])
                .await
                .unwrap()
                .is_success()
        );
    });

    let mut g = c.benchmark_group("dispose_1000");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("ours", |b| {
        b.to_async(&rt).iter(|| async {
            let results = join_all(requests.iter().map(|r| client.dispose_call_for_user(r))).await;
            assert!(results.iter().all(Result::is_ok));
        });
    });
    g.bench_function("raw_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let results = join_all(requests.iter().map(|r| {
                let http = &http;
                let url = &url;
                async move {
                    let resp = http
                        .post(url)
                        .header("authorization", "12345abc")
                        .json(r)
                        .timeout(Duration::from_secs(60))
                        .send()
                        .await?;
                    let body = resp.bytes().await?;
                    Ok::<_, reqwest::Error>(serde_json::from_slice::<AmeyoResult>(&body).is_ok())
                }
            }))
            .await;
            assert!(results.iter().all(|r| matches!(r, Ok(true))));
        });
    });
    g.finish();

    let log_url = format!("{base}/ameyowebaccess/command?command=downloadVoiceLog&data=%7B%7D");
    let mut g = c.benchmark_group("voicelog_32MiB");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(FILE as u64));
    g.bench_function("ours", |b| {
        b.to_async(&rt).iter(|| async {
            let mut sink = tokio::io::sink();
            let s = client
                .download_voice_log("c1", VoiceLogFormat::Wav)
                .to_writer(&mut sink)
                .await
                .unwrap();
            assert_eq!(s.bytes, FILE as u64);
        });
    });
    g.bench_function("raw_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let mut sink = tokio::io::sink();
            let resp = http.get(&log_url).send().await.unwrap();
            let mut stream = resp.bytes_stream();
            let mut n = 0;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.unwrap();
                n += chunk.len();
                sink.write_all(&chunk).await.unwrap();
            }
            assert_eq!(n, FILE);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
