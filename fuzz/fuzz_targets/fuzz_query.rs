#![no_main]
//! Fuzzes the URL and path parsers (Streem embed URLs, Ameyo screen-pop
//! parameters, CCAI storage paths): no panic, and whatever parses builds
//! back to text that parses to the same value.

use cti_protocol::ameyo::{CustomerParams, DisposeParams, KnowledgeBaseParams};
use cti_protocol::ccai::storage::StoredFile;
use cti_protocol::streem::EmbedUrl;
use libfuzzer_sys::fuzz_target;

const BASE: &str = "https://crm.example.com/ameyo?tenant=a";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(e) = EmbedUrl::parse(&format!("https://acme.streempro.app/embed?{text}")) {
        assert_eq!(EmbedUrl::parse(&e.to_url()).expect("a built embed URL parses"), e);
    }
    if let Ok(p) = CustomerParams::from_query(text) {
        let url = p.to_url(BASE).expect("the base is valid");
        let mut back = CustomerParams::from_url(&url).expect("a built customer URL parses");
        back.extra.remove("tenant");
        assert_eq!(back, p);
    }
    if let Ok(p) = DisposeParams::from_query(text) {
        let url = p.to_url(BASE).expect("the base is valid");
        let back = DisposeParams::from_url(&url).expect("a built dispose URL parses");
        assert_eq!(back.disposition_attribute, p.disposition_attribute);
        assert_eq!(back.disposition, p.disposition);
    }
    if let Ok(p) = KnowledgeBaseParams::from_query(text) {
        let _ = p.to_url(BASE).expect("the base is valid");
    }
    if let Ok(f) = StoredFile::parse(text) {
        assert_eq!(StoredFile::parse(&f.path()).expect("a built path parses"), f);
    }
});
