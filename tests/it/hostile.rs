//! Inputs meant to break a decoder: huge, deeply nested, odd. None may
//! panic or hang; each either decodes or is a typed error.

use cti_protocol::{Vendor, decode};

const VENDORS: [Vendor; 3] = [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai];

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn deep_nesting_is_a_limit_error_or_kept_raw() {
    for depth in [200, 10_000, 200_000] {
        let deep = nested(depth);
        let inputs = [
            deep.clone(),
            format!(r#"{{"type":"zcc-call-ringing","data":{{"engagementId":"e","x":{deep}}}}}"#),
            format!(r#"{{"type":"zcc-unknown","data":{deep}}}"#),
            format!(r#"{{"action":"login","x":{deep}}}"#),
            format!(r#"{{"action":"future","x":{deep}}}"#),
            format!(r#"{{"type":"New_Call","data":{deep}}}"#),
        ];
        for input in &inputs {
            for vendor in VENDORS {
                match decode(vendor, input) {
                    Ok(msg) => {
                        let _ = msg.event_kind();
                    }
                    Err(e) => assert!(!e.to_string().is_empty()),
                }
            }
        }
    }
    // A deep payload of an unknown Zoom type is kept byte for byte.
    let deep = nested(50_000);
    let msg = decode(
        Vendor::Zoom,
        &format!(r#"{{"type":"zcc-unknown","data":{deep}}}"#),
    )
    .unwrap();
    assert!(!msg.is_known());
}

#[test]
fn several_mebibytes() {
    let big = "x".repeat(8 << 20);
    let input = format!(r#"{{"type":"zcc-add-note","data":{{"comment":"{big}"}}}}"#);
    let msg = decode(Vendor::Zoom, &input).unwrap();
    assert_eq!(
        msg.to_value()["data"]["comment"].as_str().map(str::len),
        Some(8 << 20)
    );

    let many_keys: String = (0..200_000).map(|i| format!(r#""k{i}":{i},"#)).collect();
    let input = format!(r#"{{"action":"login",{many_keys}"language":"en"}}"#);
    assert!(decode(Vendor::LeadDesk, &input).unwrap().is_known());

    let long_array = format!("[{}1]", "1,".repeat(1 << 20));
    for vendor in VENDORS {
        assert!(decode(vendor, &long_array).is_err());
    }
}

#[test]
fn odd_but_valid_json() {
    let cases = [
        r#"{"type":"zcc-add-note","data":{"comment":"\u0000\ud83d\ude00\n"}}"#,
        r#"  {"type":"zcc-add-note","data":{"comment":""}}  "#,
        r#"{"type":"","data":{}}"#,
        r#"{"type":"zcc-resize","data":{"widthInPixels":1e308,"heightInPixels":-0.0}}"#,
        r#"{"type":"zcc-screen-pop","data":{"id":18446744073709551615}}"#,
        r#"{"type":"zcc-screen-pop","data":{"id":-9223372036854775808}}"#,
    ];
    for c in cases {
        let msg = decode(Vendor::Zoom, c).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(
            msg.to_value(),
            serde_json::from_str::<serde_json::Value>(c).unwrap(),
            "{c}"
        );
    }
    for bad in [
        r#"{"type":"zcc-add-note","data":{"comment":"\ud800"}}"#,
        "{\"type\":\"x\"} trailing",
        "\u{feff}{}",
    ] {
        assert!(decode(Vendor::Zoom, bad).is_err(), "{bad}");
    }
}

/// Inputs the fuzzers found.
#[test]
fn fuzz_regressions() {
    // A number too large for f64 in a kept-raw payload: an error, as for
    // `serde_json::Value`, never a message that cannot be re-encoded.
    for (vendor, input) in [
        (
            Vendor::Zoom,
            r#"{"type":"zd","data":{"comp":1714558100E4010}}"#,
        ),
        (
            Vendor::Zoom,
            r#"{"type":"zcc-set-mute","data":{"x":-1e999}}"#,
        ),
        (Vendor::Ccai, r#"{"type":"Future_Event","data":[1e400]}"#),
        (
            Vendor::LeadDesk,
            r#"{"action":"casms","s]]]d":35555555555500000000000000000008e900}"#,
        ),
    ] {
        let err = decode(vendor, input).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{input}: {err}");
    }
    // Large but finite numbers are kept exactly.
    let ok = r#"{"type":"zd","data":{"big":123456789012345678901234567890,"small":-1.5e-300}}"#;
    let msg = decode(Vendor::Zoom, ok).unwrap();
    assert_eq!(
        msg.to_value(),
        serde_json::from_str::<serde_json::Value>(ok).unwrap()
    );
    // `*` is not a host character of any origin.
    assert!(cti_protocol::origin::Origin::parse("https://*.Qzoous").is_err());
}
