//! A CRM serving CCAI Platform's generic CRM API: contacts found by phone
//! and created when missing. The routes come from the same endpoint
//! descriptions an administrator enters in CCAI, so the example then
//! plays CCAI with cti-client's engine against them, and stops.
//!
//! Run: `cargo run -p cti-examples --example ccai_generic_crm_server`

use std::error::Error;
use std::sync::{Arc, Mutex};

use cti_client::generic::{CrmAuth, GenericCrmClient};
use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint};
use cti_protocol::ccai::template::{Values, Variable};
use cti_protocol::endpoint::Method;
use cti_server_kit::ccai::{CrmApi, CrmApiAuth, CrmBackend, CrmFailure, CrmParams};
use serde_json::{Value, json};

/// The CRM's contacts, in memory.
#[derive(Clone, Default)]
struct Contacts(Arc<Mutex<Vec<Value>>>);

impl CrmBackend for Contacts {
    async fn find_account(&self, p: CrmParams) -> Result<Option<Value>, CrmFailure> {
        let phone = p.field("phone").unwrap_or_default();
        let all = self
            .0
            .lock()
            .map_err(|_| CrmFailure::Unavailable("lock".into()))?;
        Ok(all.iter().find(|c| c["phone"] == phone).cloned())
    }

    async fn create_account(&self, p: CrmParams) -> Result<Value, CrmFailure> {
        let Some(phone) = p.field("phone").filter(|s| !s.is_empty()) else {
            return Err(CrmFailure::Invalid("a contact needs a phone number".into()));
        };
        let mut all = self
            .0
            .lock()
            .map_err(|_| CrmFailure::Unavailable("lock".into()))?;
        let contact = json!({"id": all.len() + 1, "phone": phone, "name": "New caller"});
        all.push(contact.clone());
        Ok(contact)
    }
}

/// The endpoints as configured in CCAI, for a CRM at `base`.
fn endpoints(base: &str) -> Result<Vec<GenericEndpoint>, cti_protocol::Error> {
    Ok(vec![
        GenericEndpoint::new(
            EndpointKind::FindAccountByQuery,
            Method::Get,
            &format!("{base}/api/contacts"),
        )?
        .param("phone", "{PHONE_NUMBER}")?
        .response_location("data[0]"),
        GenericEndpoint::new(
            EndpointKind::CreateAccount,
            Method::Post,
            &format!("{base}/api/contacts"),
        )?
        .param("phone", "{PHONE_NUMBER}")?
        .response_location("data"),
    ])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let contacts = Contacts::default();
    contacts
        .0
        .lock()
        .map_err(|_| "lock")?
        .push(json!({"id": 1, "phone": "+14155552671", "name": "Ada Lovelace"}));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut api = CrmApi::new(contacts.clone(), CrmApiAuth::header("x-api-key", "s3cret"));
    for e in endpoints(&base)? {
        api = api.endpoint(e)?;
    }
    let app: axum::Router = api.into_router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("CRM API on {base}");

    // CCAI's side: the same endpoints, the key it was given.
    let mut ccai = GenericCrmClient::new(CrmAuth::header("x-api-key", "s3cret"));
    for e in endpoints(&base)? {
        ccai = ccai.endpoint(e);
    }
    for phone in ["+14155552671", "+14155550123"] {
        let mut values = Values::new().with(Variable::PhoneNumber, phone);
        let account = ccai.find_or_create_account(&mut values).await?;
        println!(
            "{phone}: contact {} {} ({})",
            account.id,
            account.data["name"],
            if account.created { "created" } else { "found" }
        );
    }
    // A wrong key is refused.
    let stranger = GenericCrmClient::new(CrmAuth::header("x-api-key", "guess"))
        .endpoint(endpoints(&base)?.remove(0));
    let mut values = Values::new().with(Variable::PhoneNumber, "+14155552671");
    match stranger.find_or_create_account(&mut values).await {
        Ok(_) => println!("unexpected: a wrong key was accepted"),
        Err(e) => println!("wrong key: {e}"),
    }
    Ok(())
}
