//! The CRM's SSO endpoint that Ameyo calls when an agent logs in and out:
//! passwords checked by the CRM, sessions kept in a store (memory here,
//! Redis with the kit's `redis` feature), logins rate-limited. The example
//! serves it, then plays Ameyo with cti-client's `SsoClient`: a wrong
//! password, a login, a logout, and stops.
//!
//! Run: `cargo run -p cti-examples --example ameyo_sso_server`

use std::error::Error;
use std::time::Duration;

use cti_client::sso::SsoClient;
use cti_server_kit::ameyo::sso::{SsoEndpoint, StaticCredentials, StoreSso};
use cti_server_kit::store::MemoryStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let store = MemoryStore::new();
    // In a real CRM: your user table, with hashed passwords.
    let users = StaticCredentials::new().user("agent", "agent");
    let sso = StoreSso::new(store.clone(), users, Duration::from_secs(8 * 3600));
    let app: axum::Router =
        axum::Router::new().route("/ameyo/sso", SsoEndpoint::new(sso, store).into_route());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/ameyo/sso", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("SSO endpoint on {url}");

    // Ameyo's side.
    let ameyo = SsoClient::new(&url)?;
    match ameyo.login("agent", &"wrong".to_owned().into()).await {
        Ok(_) => println!("unexpected: a wrong password logged in"),
        Err(e) => println!("wrong password: {e}"),
    }
    let session = ameyo.login("agent", &"agent".to_owned().into()).await?;
    // The session id is a secret: its Debug form says so.
    println!("logged in, crmSessionId {session:?}");
    ameyo.logout(&session).await?;
    println!("logged out");
    match ameyo.logout(&session).await {
        Ok(()) => println!("unexpected: a second logout succeeded"),
        Err(e) => println!("second logout: {e}"),
    }
    Ok(())
}
