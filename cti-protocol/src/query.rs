//! Query-string encoding shared by the URL builders and parsers.
//!
//! Values are encoded strictly: every byte but the unreserved characters
//! (`A-Z a-z 0-9 - . _ ~`) is percent-encoded, so `+ & = # % / ?` and
//! spaces never stand raw in a value, and both a form decoder and a plain
//! percent-decoder read the value back unchanged.

use percent_encoding::percent_decode_str;

/// Which bytes stand raw in one part of a URL; every other byte is
/// percent-encoded.
///
/// Encoding is written here rather than through `percent_encoding`'s
/// iterator because URL building is a hot path: the iterator yields one
/// small slice per encoded byte, while this writes straight into a buffer
/// sized once. Decoding still uses `percent_encoding`.
pub(crate) struct Keep([bool; 256]);

const fn keep(extra: &[u8]) -> Keep {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        // The loop bound keeps `b` below 256, so the cast cannot truncate.
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_' || c == b'~';
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    Keep(t)
}

/// A query key or value: only the unreserved characters stand raw, so
/// `+ & = # % / ?` and spaces are always encoded.
pub(crate) static VALUE: Keep = keep(b"");
/// A path segment: unreserved characters and `! $ ' ( ) * , ; : @`.
pub(crate) static PATH: Keep = keep(b"!$'()*,;:@");

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `text` to `out`, percent-encoding every byte `set` does not keep.
pub(crate) fn encode_into(out: &mut String, text: &str, set: &Keep) {
    out.reserve(text.len());
    for &b in text.as_bytes() {
        if set.0[usize::from(b)] {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// Appends `key=value` to a query under construction.
pub(crate) fn push_pair(query: &mut String, key: &str, value: &str) {
    if !query.is_empty() && !query.ends_with(['?', '&', '#']) {
        query.push('&');
    }
    encode_into(query, key, &VALUE);
    query.push('=');
    encode_into(query, value, &VALUE);
}

/// How to read `+` in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plus {
    /// As a space (HTML form encoding, as `URLSearchParams` writes it).
    Space,
    /// As a literal `+` (phone numbers and calling codes, which real
    /// integrations sometimes leave unencoded).
    Literal,
}

/// Decodes one query component.
pub(crate) fn decode(component: &str, plus: Plus) -> crate::Result<String> {
    let text = match plus {
        Plus::Space => component.replace('+', " "),
        Plus::Literal => component.to_owned(),
    };
    percent_decode_str(&text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| {
            crate::Error::new(
                crate::ErrorKind::Url,
                "a query value is not UTF-8 once decoded",
            )
        })
}

/// Splits a query into raw (still encoded) `(key, value)` pairs.
pub(crate) fn raw_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// The length of a Salesforce merge field (`{!Object.Field}`) at the start
/// of `text`, if one stands there.
fn merge_field_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("{!")?;
    let end = rest.find('}')?;
    let name = &rest[..end];
    (!name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
    .then_some(end + 3)
}

/// Like [`encode_into`], but Salesforce merge fields (`{!Lead.Id}`) are
/// left raw so that Salesforce can substitute them in a button URL.
pub(crate) fn encode_keeping_merge_fields(out: &mut String, text: &str, set: &Keep) {
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find("{!") {
            Some(i) => {
                encode_into(out, &rest[..i], set);
                rest = &rest[i..];
                if let Some(n) = merge_field_len(rest) {
                    out.push_str(&rest[..n]);
                    rest = &rest[n..];
                } else {
                    encode_into(out, &rest[..2], set);
                    rest = &rest[2..];
                }
            }
            None => {
                encode_into(out, rest, set);
                rest = "";
            }
        }
    }
}
