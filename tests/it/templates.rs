//! Properties of CCAI templates and phone formats.

use cti_protocol::ccai::template::{Parameter, UrlTemplate, Values, Variable};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[+&=#%/?. a-zA-Z0-9éü漢\u{1F600}]{1,16}",
        Just(".".to_owned()),
        Just("..".to_owned())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Expansion then parsing with the `url` crate gives every value back,
    /// and no value leaves a raw reserved character in the URL.
    #[test]
    fn url_expansion_round_trips(ani in value(), email in value(), path in value(), frag in value()) {
        let t = UrlTemplate::parse("https://crm.example.com/acct/{ACCOUNT_ID}/x?ani={ANI}&email={EMAIL}&src=ccai#{CUID}").unwrap();
        let values = Values::new()
            .with(Variable::Ani, ani.clone())
            .with(Variable::Email, email.clone())
            .with(Variable::AccountId, path.clone())
            .with(Variable::Cuid, frag.clone());
        if path == "." || path == ".." {
            prop_assert!(t.expand(&values).is_err());
            return Ok(());
        }
        let expanded = t.expand(&values).unwrap();
        let url = url::Url::parse(&expanded).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        prop_assert_eq!(get("ani").unwrap_or_default(), ani.clone());
        prop_assert_eq!(get("email").unwrap_or_default(), email.clone());
        prop_assert_eq!(get("src"), Some("ccai".to_owned()));
        prop_assert_eq!(pairs.len(), 1 + usize::from(!ani.is_empty()) + usize::from(!email.is_empty()));
        let segment = url.path_segments().unwrap().nth(1).unwrap().to_owned();
        let decoded = percent_decode(&segment);
        prop_assert_eq!(decoded, path);
        prop_assert_eq!(percent_decode(url.fragment().unwrap_or("")), frag);
        let query = url.query().unwrap_or("");
        prop_assert!(!query.contains('+') && !query.contains('#') && !query.contains(' '));
        prop_assert_eq!(query.matches('&').count() + 1, pairs.len());
    }

    /// A parameter that evaluates to something gives exactly the text with
    /// the values substituted; parsing never panics on any input.
    #[test]
    fn parameters(text in any::<String>(), email in "[a-z@.]{0,12}") {
        let _ = Parameter::parse(&text);
        let _ = UrlTemplate::parse(&text);
        let p = Parameter::parse("=CONCAT_OR(e:{EMAIL}, 'lit, eral')").unwrap();
        let got = p.evaluate(&Values::new().with(Variable::Email, email.clone())).unwrap();
        if email.is_empty() {
            prop_assert_eq!(got, "lit, eral");
        } else {
            prop_assert_eq!(got, format!("e:{email} or lit, eral"));
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

#[test]
fn phone_formats_from_the_seed() {
    use cti_protocol::phone::{PhoneFormat, format_phone};
    let n = "+1 415 555 2671";
    let expect = [
        (PhoneFormat::AutomaticCreate, "+1 415 555 2671"),
        (PhoneFormat::AutomaticSearch, "*415*555*2671"),
        (PhoneFormat::E164, "+14155552671"),
        (PhoneFormat::UsLocal, "4155552671"),
        (PhoneFormat::UsLocalStandard, "(415) 555-2671"),
        (PhoneFormat::International, "+1 415 555 2671"),
    ];
    for (format, want) in expect {
        assert_eq!(format_phone(n, format, "US").unwrap(), want, "{format}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Streem: build then parse is the identity for arbitrary Unicode
    /// values, the URL parses with the `url` crate with exactly the pairs
    /// set, and no value leaves a raw reserved character behind.
    #[test]
    fn streem_build_parse_identity(
        name in value(), phone in value(), ref_id in value(), source in value(),
        code in "\\+[0-9]{1,3}", call in any::<bool>(),
    ) {
        use cti_protocol::streem::{EmbedUrl, Redirect, StreemsUrl};
        let base = "https://acme.streempro.app";
        let redirect = if call {
            Redirect::Call
        } else {
            Redirect::Url(StreemsUrl::new(base, format!("r{ref_id}")).unwrap().to_url())
        };
        let e = EmbedUrl::new(base).unwrap().name(name).phone(phone).ref_id(ref_id).source(source).calling_code(code).redirect(redirect);
        let text = e.to_url();
        prop_assert_eq!(EmbedUrl::parse_checked(&text, &cti_protocol::origin::vendor::streem()).unwrap(), e);
        let url = url::Url::parse(&text).unwrap();
        prop_assert_eq!(url.query_pairs().count(), 6);
        let query = url.query().unwrap();
        prop_assert!(!query.contains('+') && !query.contains('#') && !query.contains(' ') && !query.contains('?'));
    }
}

#[test]
fn streem_fixtures_from_the_seed() {
    use cti_protocol::streem::{EmbedUrl, Redirect, StreemsUrl};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/urls/streem.json");
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in fx["parse"].as_array().unwrap() {
        let e = EmbedUrl::parse(case["url"].as_str().unwrap()).unwrap();
        let s = |k: &str| case[k].as_str().map(str::to_owned);
        assert_eq!(e.name.as_deref(), s("name").as_deref());
        assert_eq!(e.phone.as_deref(), s("phone").as_deref());
        assert_eq!(e.ref_id.as_deref(), s("refId").as_deref());
        assert_eq!(e.source.as_deref(), s("source").as_deref());
        assert_eq!(
            e.calling_code.as_str(),
            case["callingCode"].as_str().unwrap()
        );
        match (&e.redirect, s("redirect").as_deref()) {
            (Some(Redirect::Call), Some("call")) => {}
            (Some(Redirect::Url(u)), Some(expected)) => {
                assert_eq!(u, expected);
                if let Some(r) = s("redirectRefId") {
                    assert_eq!(StreemsUrl::parse(u).unwrap().ref_id, r);
                }
            }
            other => panic!("{other:?}"),
        }
        // And building it again gives a URL that parses to the same value.
        assert_eq!(EmbedUrl::parse(&e.to_url()).unwrap(), e);
    }
    for case in fx["salesforce_buttons"].as_array().unwrap() {
        let base = "https://yourcompanycodehere.streempro.app";
        let mut e = EmbedUrl::new(base)
            .unwrap()
            .name(case["name"].as_str().unwrap())
            .phone(case["phone"].as_str().unwrap())
            .ref_id(case["refId"].as_str().unwrap())
            .source(case["source"].as_str().unwrap());
        if case["redirectToCallLog"] == true {
            let calls = StreemsUrl::new(base, case["refId"].as_str().unwrap()).unwrap();
            e = e.redirect(Redirect::Url(calls.to_salesforce_url()));
        }
        assert_eq!(e.to_salesforce_url(), case["url"].as_str().unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Ameyo: parameters built onto a CRM base parse back unchanged, for
    /// arbitrary printable Unicode (control characters are refused).
    #[test]
    fn ameyo_customer_build_parse_identity(
        ids in prop::collection::vec("[^\\p{Cc}]{1,20}", 6),
        queue in prop::option::of("[^\\p{Cc}]{1,20}"),
        token in prop::option::of("[A-Za-z0-9._-]{1,40}"),
    ) {
        use cti_protocol::ameyo::CustomerParams;
        let mut p = CustomerParams::new(ids[0].clone(), ids[1].clone(), ids[2].clone(), ids[3].clone(), ids[4].clone(), ids[5].clone()).unwrap();
        p.queue_name = queue;
        p.crm_session_id = token.map(cti_protocol::types::SecretText::new);
        let url = p.to_url("https://crm.example.com/ameyo/customer").unwrap();
        prop_assert!(url::Url::parse(&url).is_ok());
        prop_assert_eq!(CustomerParams::from_url(&url).unwrap(), p);
    }
}
