//! A Salesforce-style "Start Streem" button on a case page: the embed URL
//! for the case's contact, with the call log of the case as the place to
//! land afterwards, rendered as an HTML link with every value escaped.
//! Then the server side: reading such a URL back with the redirect
//! checked against Streem's origins (no open redirect).
//!
//! Run: `cargo run -p cti-examples --example streem_button`

use cti_protocol::embed::escape_attr;
use cti_protocol::origin::vendor;
use cti_protocol::streem::{EmbedUrl, Redirect, StreemsUrl};

/// A CRM case, as the button's merge fields would give it.
struct Case<'a> {
    number: &'a str,
    contact: &'a str,
    phone: &'a str,
}

fn button(base: &str, case: &Case<'_>) -> Result<String, cti_protocol::Error> {
    let log = StreemsUrl::new(base, case.number)?;
    let url = EmbedUrl::new(base)?
        .name(case.contact)
        .phone(case.phone)
        .ref_id(case.number)
        .redirect(Redirect::Url(log.to_url()))
        .to_url();
    Ok(format!(
        r#"<a class="btn" href="{}" target="_blank" rel="noopener">Start Streem with {}</a>"#,
        escape_attr(&url),
        escape_attr(case.contact)
    ))
}

fn main() -> Result<(), cti_protocol::Error> {
    let base = "https://acme.streempro.app";
    let case = Case {
        number: "00001026",
        contact: "Ada \"The Countess\" Lovelace <ada@example.org>",
        phone: "4155552671",
    };
    let html = button(base, &case)?;
    println!("{html}");

    // The link as a server receives it: parsed, with the redirect target
    // checked against Streem's own origins.
    let url = EmbedUrl::new(base)?
        .name(case.contact)
        .ref_id(case.number)
        .redirect(Redirect::Url(StreemsUrl::new(base, case.number)?.to_url()))
        .to_url();
    let back = EmbedUrl::parse_checked(&url, &vendor::streem())?;
    println!("parsed back: {back:?}");

    // A redirect to somewhere else is refused.
    let evil = url.replace("acme.streempro.app%2Fstreems", "evil.example%2Fstreems");
    match EmbedUrl::parse_checked(&evil, &vendor::streem()) {
        Ok(_) => println!("unexpected: an outside redirect was accepted"),
        Err(e) => println!("refused: {e}"),
    }
    Ok(())
}
