//! Every HTTP route of the kit on in-memory backends, with its OpenAPI
//! document at `/openapi.json`: the server CI's schemathesis run checks.
//!
//! `cargo run -p cti-server-kit --features openapi --example api_server -- [ADDR]`
//! (default `127.0.0.1:8090`). Demo credentials: SSO user `agent` /
//! `agent`; Ameyo REST token `demo-token`; hash-key `demo-hash` from
//! requesting-host `demo`; CCAI header `x-api-key: demo-key`.

use std::net::SocketAddr;

#[path = "common/reference.rs"]
mod reference;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        reference::router().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
