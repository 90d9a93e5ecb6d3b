#![no_main]
//! Fuzzes the CCAI template parsers: no panic; a URL template that parses
//! expands, for values taken from the input, to text the `url` crate
//! accepts; a parameter evaluates without panicking.

use cti_protocol::ccai::template::{Parameter, UrlTemplate, Values, Variable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // First line: the template; the rest: values for the variables in turn.
    let (template, rest) = text.split_once('\n').unwrap_or((text, ""));
    let mut values = Values::new();
    for (var, value) in Variable::ALL.iter().zip(rest.split('\n')) {
        values.set(*var, value);
    }
    if let Ok(t) = UrlTemplate::parse(template) {
        if let Ok(expanded) = t.expand(&values) {
            url::Url::parse(&expanded).expect("an expanded template is a URL");
        }
    }
    if let Ok(p) = Parameter::parse(template) {
        let _ = p.evaluate(&values);
    }
});
