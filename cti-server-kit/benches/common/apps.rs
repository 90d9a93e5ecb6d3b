//! The two routers the layer benchmarks compare: the same handler, bare
//! and behind the three policy layers. Shared by `benches/layers.rs` and
//! `examples/layers_load.rs`.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use cti_protocol::embed::{EmbedFrame, ZoomHost};
use cti_protocol::origin::{Origin, OriginAllowlist};
use cti_server_kit::layer::{FrameAncestors, HostPageCsp, PermissionsPolicy};

/// A page-sized body (the bridge script, about 5 KiB).
pub(crate) const PAGE: &str = include_str!("../../assets/bridge.js");

/// The handler alone.
pub(crate) fn bare() -> Router {
    Router::new().route("/", get(|| async { Html(PAGE) }))
}

/// The handler behind `FrameAncestors`, `PermissionsPolicy` and
/// `HostPageCsp` (a fresh nonce per response), stacked in one `layer`
/// call as axum recommends (each `Router::layer` call boxes every route
/// once more).
pub(crate) fn layered() -> Router {
    let host = Origin::parse("https://crm.example").unwrap_or_else(|_| Origin::opaque());
    let frame = EmbedFrame::zoom(&host, &ZoomHost::Default).unwrap_or_else(|e| panic!("{e}"));
    let csp = HostPageCsp::new()
        .frame(&frame)
        .unwrap_or_else(|e| panic!("{e}"));
    let pp = PermissionsPolicy::for_frames([&frame]).unwrap_or_else(|e| panic!("{e}"));
    let allow = OriginAllowlist::parse(["https://crm.example", "https://*.crm.example"])
        .unwrap_or_else(|e| panic!("{e}"));
    bare().layer(
        tower::ServiceBuilder::new()
            .layer(FrameAncestors::list(&allow).layer())
            .layer(pp.layer())
            .layer(csp.layer()),
    )
}

/// The three policies as one `EmbedHeaders` value.
fn embed_headers() -> cti_server_kit::layer::EmbedHeaders {
    use cti_server_kit::layer::EmbedHeaders;
    let host = Origin::parse("https://crm.example").unwrap_or_else(|_| Origin::opaque());
    let frame = EmbedFrame::zoom(&host, &ZoomHost::Default).unwrap_or_else(|e| panic!("{e}"));
    let allow = OriginAllowlist::parse(["https://crm.example", "https://*.crm.example"])
        .unwrap_or_else(|e| panic!("{e}"));
    EmbedHeaders::for_frames([&frame], FrameAncestors::list(&allow))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The same three policies through the one-pass `EmbedHeaders` layer,
/// added with `Router::layer`.
pub(crate) fn combined() -> Router {
    bare().layer(embed_headers().layer())
}

/// The one-pass layer wrapped around the whole router, as tower does it
/// (`Layer::layer(router)`): no per-route boxing by axum, and 404s get
/// the headers too.
pub(crate) fn wrapped()
-> cti_server_kit::layer::PolicyService<Router, cti_server_kit::layer::EmbedHeaders> {
    use tower::Layer as _;
    embed_headers().layer().layer(bare().with_state(()))
}
