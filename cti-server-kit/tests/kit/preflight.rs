//! The embed preflight: pure analysis of headers, and a fetch through
//! real redirects on loopback.

use axum::Router;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use cti_protocol::embed::Permission;
use cti_protocol::origin::Origin;
use cti_server_kit::preflight::{Hop, Options, Verdict, analyse, check};
use http::{HeaderMap, HeaderValue};

fn o(s: &str) -> Origin {
    Origin::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_static(v));
    }
    h
}

fn page(url: &str) -> Vec<Hop> {
    vec![Hop {
        url: url.into(),
        status: 200,
    }]
}

const MIC_CAM: &[Permission] = &[Permission::Microphone, Permission::Camera];

#[test]
fn frame_ancestors_decides() {
    let host = o("https://crm.example");
    let ok = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[(
            "content-security-policy",
            "frame-ancestors https://*.example https://crm.example",
        )]),
        MIC_CAM,
    );
    assert!(ok.all_clear(), "{ok}");
    let blocked = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[(
            "content-security-policy",
            "default-src 'self'; frame-ancestors 'self'",
        )]),
        MIC_CAM,
    );
    assert!(
        matches!(&blocked.framing, Verdict::Blocked(why) if why.contains("frame-ancestors")),
        "{blocked}"
    );
    // Two policies: both must allow.
    let two = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[
            (
                "content-security-policy",
                "frame-ancestors https://crm.example",
            ),
            ("content-security-policy", "frame-ancestors 'none'"),
        ]),
        &[],
    );
    assert!(!two.framing.is_allowed());
    // CSP wins over X-Frame-Options.
    let both = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[
            (
                "content-security-policy",
                "frame-ancestors https://crm.example",
            ),
            ("x-frame-options", "DENY"),
        ]),
        &[],
    );
    assert!(both.framing.is_allowed(), "{both}");
    assert!(both.notes.iter().any(|n| n.contains("ignored")));
}

#[test]
fn x_frame_options_decides_without_frame_ancestors() {
    let host = o("https://crm.example");
    for (value, allowed) in [
        ("DENY", false),
        ("SAMEORIGIN", false),
        ("deny, sameorigin", false),
        ("ALLOW-FROM https://crm.example", true),
    ] {
        let mut h = HeaderMap::new();
        h.insert(
            "x-frame-options",
            HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{e}")),
        );
        let r = analyse(&host, page("https://phone.example/"), &h, &[]);
        assert_eq!(r.framing.is_allowed(), allowed, "{value}: {r}");
    }
    let same = analyse(
        &o("https://phone.example"),
        page("https://phone.example/"),
        &headers(&[("x-frame-options", "SAMEORIGIN")]),
        &[],
    );
    assert!(same.framing.is_allowed());
    let open = analyse(
        &host,
        page("https://phone.example/"),
        &HeaderMap::new(),
        &[],
    );
    assert!(open.framing.is_allowed());
    assert!(open.notes.iter().any(|n| n.contains("clickjacking")));
}

#[test]
fn https_and_permissions_policy() {
    let host = o("https://crm.example");
    let mixed = analyse(
        &host,
        page("http://phone.example/"),
        &HeaderMap::new(),
        MIC_CAM,
    );
    assert!(
        matches!(&mixed.framing, Verdict::Blocked(why) if why.contains("mixed content")),
        "{mixed}"
    );
    assert!(mixed.features.iter().all(|(_, v)| !v.is_allowed()));

    let insecure_host = analyse(
        &o("http://crm.example"),
        page("https://phone.example/"),
        &HeaderMap::new(),
        MIC_CAM,
    );
    assert!(insecure_host.framing.is_allowed());
    assert!(
        matches!(&insecure_host.features[0].1, Verdict::Blocked(why) if why.contains("secure context"))
    );

    let loopback = analyse(
        &o("http://127.0.0.1:8080"),
        page("http://127.0.0.1:9090/"),
        &HeaderMap::new(),
        MIC_CAM,
    );
    assert!(
        loopback.all_clear(),
        "loopback is a secure context: {loopback}"
    );

    let off = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[("permissions-policy", "microphone=(), camera=(self)")]),
        MIC_CAM,
    );
    assert!(
        matches!(&off.features[0], (Permission::Microphone, Verdict::Blocked(why)) if why.contains("microphone=()")),
        "{off}"
    );
    assert!(off.features[1].1.is_allowed());
    let others = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[("permissions-policy", "microphone=(\"https://x.example\")")]),
        &[Permission::Microphone],
    );
    assert!(!others.features[0].1.is_allowed());
    let star = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[("permissions-policy", "microphone=*")]),
        &[Permission::Microphone],
    );
    assert!(star.features[0].1.is_allowed());
    let junk = analyse(
        &host,
        page("https://phone.example/"),
        &headers(&[("permissions-policy", "((((")]),
        &[Permission::Microphone],
    );
    assert!(junk.features[0].1.is_allowed());
    assert!(junk.notes.iter().any(|n| n.contains("malformed")));

    let not_found = analyse(
        &host,
        vec![Hop {
            url: "https://phone.example/".into(),
            status: 404,
        }],
        &HeaderMap::new(),
        &[],
    );
    assert!(!not_found.framing.is_allowed());
}

#[tokio::test]
async fn fetch_follows_redirects_and_reports_the_origin_change()
-> Result<(), Box<dyn std::error::Error>> {
    let phone = Router::new().route(
        "/phone",
        get(|| async {
            (
                [
                    (
                        "content-security-policy",
                        "frame-ancestors http://127.0.0.1:1",
                    ),
                    ("permissions-policy", "microphone=(self)"),
                ],
                "softphone",
            )
                .into_response()
        }),
    );
    let l2 = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let phone_addr = l2.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(l2, phone).await;
    });
    let target = format!("http://localhost:{}/phone", phone_addr.port());
    let front = Router::new().route(
        "/start",
        get(move || {
            let target = target.clone();
            async move { Redirect::temporary(&target) }
        }),
    );
    let l1 = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let front_addr = l1.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(l1, front).await;
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let report = check(
        &client,
        &format!("http://127.0.0.1:{}/start", front_addr.port()),
        &o("http://127.0.0.1:1"),
        &Options::default(),
    )
    .await?;
    assert_eq!(report.hops.len(), 2, "{report}");
    assert_eq!(report.hops[0].status, 307);
    assert!(report.framing.is_allowed(), "{report}");
    assert!(report.all_clear(), "{report}");
    assert!(
        report.notes.iter().any(|n| n.contains("changes origin")),
        "{report}"
    );
    let refused = check(
        &client,
        &format!("http://127.0.0.1:{}/start", front_addr.port()),
        &o("http://127.0.0.1:2"),
        &Options::default(),
    )
    .await?;
    assert!(!refused.framing.is_allowed());
    assert!(refused.to_string().contains("BLOCKED"));
    assert!(
        check(
            &client,
            "ftp://x",
            &o("https://a.example"),
            &Options::default()
        )
        .await
        .is_err()
    );
    Ok(())
}
