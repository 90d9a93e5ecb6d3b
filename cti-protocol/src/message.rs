//! A decoded vendor message: the typed message beside the exact JSON it
//! came from, and the fields that could not be read.
//!
//! Decoding never throws a known message away because one field has an
//! unexpected type. The message is first decoded strictly, with the
//! vendor's plain serde types. Only when that fails is each field tried on
//! its own: the ones that cannot be read are left out of the typed
//! message (their typed value is absent, or its default), listed in
//! [`VendorMessage::unreadable`], and still present in
//! [`VendorMessage::raw`]. Re-encoding and forwarding use the raw text, so
//! they are byte-faithful by construction.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ccai::AdapterEvent;
use crate::leaddesk::TalkMessage;
use crate::types::Str;
use crate::zoom::ZoomMessage;
use crate::{Error, ErrorKind, Result, Vendor};

/// How a message was posted: as a JSON object, or as a JSON string
/// holding one (`postMessage(JSON.stringify(msg))`, which CCAI's adapters
/// do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WireForm {
    /// A JSON object.
    #[default]
    Object,
    /// A JSON string holding the object's text.
    JsonString,
}

/// The JSON type a value was sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    fn of(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

/// A field of a known message that could not be read as its modelled
/// type. Its value is still in the message's raw JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnreadableField {
    /// Where the field is, relative to the message's payload:
    /// `objectRecord.callDuration`, `notes[1]`. The empty string means
    /// the payload as a whole.
    pub path: String,
    /// The JSON type it was sent as.
    pub found: JsonType,
}

impl fmt::Display for UnreadableField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(payload)"
        } else {
            &self.path
        };
        write!(f, "{path} (a {:?})", self.found)
    }
}

/// The typed part of a [`VendorMessage`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Body {
    /// Zoom Smart Embed, either direction.
    Zoom(ZoomMessage),
    /// LeadDesk Talk, either direction.
    LeadDesk(TalkMessage),
    /// A CCAI agent adapter event.
    Ccai(AdapterEvent),
    /// A message type this version does not know. Its type string is
    /// [`VendorMessage::wire_type`] and its JSON is [`VendorMessage::raw`].
    Unknown,
}

/// One decoded postMessage payload: the typed [`Body`], the exact JSON it
/// came from, and the fields that could not be read.
///
/// # Examples
///
/// ```
/// use cti_protocol::{decode, Vendor};
///
/// // `callDuration` as milliseconds instead of "m:ss": an alternative form
/// // Zoom's docs describe, read as such.
/// let json = r#"{"type":"zcc-phone-call-log","data":{"objectRecord":{"callDuration":247000}}}"#;
/// let msg = decode(Vendor::Zoom, json)?;
/// assert!(msg.unreadable().is_empty());
///
/// // `callDuration` as `true`: the call log is kept, the field named.
/// let json = r#"{"type":"zcc-phone-call-log","data":{"objectRecord":{"callDuration":true,"from":"+14155550100"}}}"#;
/// let msg = decode(Vendor::Zoom, json)?;
/// assert!(msg.is_known());
/// assert_eq!(msg.raw(), json);
/// assert_eq!(msg.unreadable()[0].path, "objectRecord.callDuration");
/// # Ok::<(), cti_protocol::Error>(())
/// ```
#[derive(Clone)]
pub struct VendorMessage {
    vendor: Vendor,
    kind: Str,
    body: Body,
    raw: Box<str>,
    form: WireForm,
    unreadable: Vec<UnreadableField>,
}

impl fmt::Debug for VendorMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The raw text is left out: it may hold tokens the typed body
        // keeps redacted.
        f.debug_struct("VendorMessage")
            .field("vendor", &self.vendor)
            .field("kind", &self.kind)
            .field("body", &self.body)
            .field("form", &self.form)
            .field("unreadable", &self.unreadable)
            .finish_non_exhaustive()
    }
}

impl PartialEq for VendorMessage {
    fn eq(&self, other: &Self) -> bool {
        self.vendor == other.vendor
            && self.kind == other.kind
            && self.body == other.body
            && self.raw == other.raw
            && self.form == other.form
            && self.unreadable == other.unreadable
    }
}

impl VendorMessage {
    pub(crate) fn new(
        vendor: Vendor,
        kind: Str,
        body: Body,
        raw: Box<str>,
        form: WireForm,
        unreadable: Vec<UnreadableField>,
    ) -> Self {
        Self {
            vendor,
            kind,
            body,
            raw,
            form,
            unreadable,
        }
    }

    /// The vendor.
    #[must_use]
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The wire type (`type` or `action`) string.
    #[must_use]
    pub fn wire_type(&self) -> &str {
        &self.kind
    }

    /// `false` when the type is not in this version's catalogue.
    #[must_use]
    pub fn is_known(&self) -> bool {
        !matches!(self.body, Body::Unknown)
    }

    /// The typed message.
    #[must_use]
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The typed message, by value.
    #[must_use]
    pub fn into_body(self) -> Body {
        self.body
    }

    /// The JSON exactly as it was posted, byte for byte (for a message
    /// posted as a JSON string, that string). It is valid JSON, and every
    /// number in it fits a `serde_json::Value`.
    #[must_use]
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// [`Self::raw`] as a [`RawValue`], to embed in other JSON as is.
    #[must_use]
    pub fn raw_value(&self) -> Box<RawValue> {
        // The text was read as JSON when the message was decoded.
        RawValue::from_string(self.raw.to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
    }

    /// How the message was posted.
    #[must_use]
    pub fn form(&self) -> WireForm {
        self.form
    }

    /// The fields of a known message that could not be read as modelled
    /// (empty when every field was read), in the order of their keys.
    #[must_use]
    pub fn unreadable(&self) -> &[UnreadableField] {
        &self.unreadable
    }

    /// The message's JSON text as posted.
    #[must_use]
    pub fn encode(&self) -> &str {
        &self.raw
    }

    /// The message as a JSON value; for a message posted as a JSON
    /// string, the object it held.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let value: Value = serde_json::from_str(&self.raw).unwrap_or(Value::Null);
        match (self.form, value) {
            (WireForm::JsonString, Value::String(inner)) => {
                serde_json::from_str(&inner).unwrap_or(Value::Null)
            }
            (_, v) => v,
        }
    }
}

impl VendorMessage {
    /// The message as the frame posts it in `form`: the object, or a JSON
    /// string holding it.
    #[must_use]
    pub fn posted_as(&self, form: WireForm) -> Value {
        match form {
            WireForm::JsonString => Value::String(self.to_value().to_string()),
            _ => self.to_value(),
        }
    }

    /// A copy with one more member `name` in its payload (in `data` for
    /// `{type, data}` messages, beside the tag otherwise): what a frame of
    /// a newer release might add. For simulators and tests.
    ///
    /// # Errors
    ///
    /// As [`crate::decode`] (never, for a message that decoded).
    pub fn with_member(&self, name: &str, value: Value) -> Result<Self> {
        let mut v = self.to_value();
        let target = match v.get_mut("data") {
            Some(Value::Object(_)) if self.vendor != Vendor::LeadDesk => v.get_mut("data"),
            _ => Some(&mut v),
        };
        if let Some(Value::Object(m)) = target {
            m.insert(name.to_owned(), value);
        }
        crate::decode(self.vendor, &v.to_string())
    }
}

/// The layout of a vendor's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `{ "<tag>": kind, "data": payload }` (Zoom, CCAI).
    Adjacent(&'static str),
    /// `{ "<tag>": kind, ...fields }` (LeadDesk).
    Flat(&'static str),
}

impl Layout {
    fn tag(self) -> &'static str {
        match self {
            Self::Adjacent(t) | Self::Flat(t) => t,
        }
    }
}

/// Reads a message's tag in one pass over the text, which also checks
/// that the whole text is JSON and that every number in it fits a
/// `serde_json::Value` (a number out of `f64`'s range, like `1e400`, is
/// refused as `serde_json` refuses it). A tag given twice is no
/// recognisable tag: two readers could each pick another one.
pub(crate) fn read_tag<'a>(layout: Layout, json: &'a str) -> Result<Cow<'a, str>> {
    let tag = layout.tag();
    let mut de = serde_json::Deserializer::from_str(json);
    let found = match de::DeserializeSeed::deserialize(MessageSeed(tag), &mut de)
        .and_then(|found| de.end().map(|()| found))
    {
        Ok(found) => found,
        // serde's walk recurses, and stops at 128 levels; a deeper
        // message is read again without recursing.
        Err(e) if e.to_string().contains("recursion limit") => return deep_tag(tag, json),
        Err(e) => return Err(Error::from_json(e)),
    };
    let why = match found {
        Found::Object(mut tags) => match (tags.pop(), tags.is_empty()) {
            (Some(Some(t)), true) => return Ok(t),
            (Some(_), false) => format!("duplicate `{tag}`: the message's type is ambiguous"),
            (Some(None), true) => format!("expected `{tag}` to be a string"),
            (None, _) => format!("the message has no `{tag}`"),
        },
        Found::NotObject => format!("a message must be a JSON object with a `{tag}`"),
    };
    Err(Error::new(ErrorKind::Envelope, why))
}

/// [`read_tag`] for a message nested deeper than serde's walk goes: the
/// numbers are checked by a linear scan, and the tag read by serde's
/// derive, which skips the rest without recursing.
fn deep_tag<'a>(tag: &'static str, json: &'a str) -> Result<Cow<'a, str>> {
    #[derive(Deserialize)]
    struct Type<'a> {
        #[serde(rename = "type", borrow)]
        tag: Cow<'a, str>,
    }
    #[derive(Deserialize)]
    struct Action<'a> {
        #[serde(rename = "action", borrow)]
        tag: Cow<'a, str>,
    }
    check_numbers(json)?;
    let read = match tag {
        "action" => serde_json::from_str::<Action<'a>>(json).map(|t| t.tag),
        _ => serde_json::from_str::<Type<'a>>(json).map(|t| t.tag),
    };
    read.map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            Error::new(ErrorKind::Envelope, format!("no recognisable `{tag}`: {e}"))
        }
        _ => Error::from_json(e),
    })
}

/// What [`read_tag`]'s pass found: the values of every tag member (`None`
/// where one is not a string), or that the message is not an object.
enum Found<'a> {
    Object(Vec<Option<Cow<'a, str>>>),
    NotObject,
}

/// Reads a message, collecting its tag members and walking everything
/// else with [`Walk`].
struct MessageSeed(&'static str);

impl<'de> de::DeserializeSeed<'de> for MessageSeed {
    type Value = Found<'de>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Found<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for MessageSeed {
    type Value = Found<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message")
    }
    fn visit_map<A: de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Found<'de>, A::Error> {
        let mut tags = Vec::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == self.0 {
                tags.push(map.next_value::<TagValue<'de>>()?.0);
            } else {
                map.next_value::<Walk>()?;
            }
        }
        Ok(Found::Object(tags))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Found<'de>, A::Error> {
        while seq.next_element::<Walk>()?.is_some() {}
        Ok(Found::NotObject)
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Found<'de>, E> {
        Ok(Found::NotObject)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Found<'de>, E> {
        Ok(Found::NotObject)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Found<'de>, E> {
        Ok(Found::NotObject)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Found<'de>, E> {
        Ok(Found::NotObject)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<Found<'de>, E> {
        Ok(Found::NotObject)
    }
    fn visit_unit<E>(self) -> std::result::Result<Found<'de>, E> {
        Ok(Found::NotObject)
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A tag member's value: its text, or `None` for any other JSON (walked).
struct TagValue<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for TagValue<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = TagValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<TagValue<'de>, E> {
                Ok(TagValue(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<TagValue<'de>, E> {
                Ok(TagValue(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<TagValue<'de>, E> {
                Ok(TagValue(None))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<TagValue<'de>, E> {
                Ok(TagValue(None))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<TagValue<'de>, E> {
                Ok(TagValue(None))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<TagValue<'de>, E> {
                Ok(TagValue(None))
            }
            fn visit_unit<E>(self) -> std::result::Result<TagValue<'de>, E> {
                Ok(TagValue(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<TagValue<'de>, A::Error> {
                Walk.visit_seq(seq).map(|_| TagValue(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<TagValue<'de>, A::Error> {
                Walk.visit_map(map).map(|_| TagValue(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value, walked without being built: numbers are read as
/// `serde_json::Value` reads them (and fail where it fails).
struct Walk;

impl<'de> Deserialize<'de> for Walk {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(Walk)
    }
}

impl<'de> de::Visitor<'de> for Walk {
    type Value = Walk;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_unit<E>(self) -> std::result::Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Walk, A::Error> {
        while seq.next_element::<Walk>()?.is_some() {}
        Ok(Walk)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Walk, A::Error> {
        while map.next_entry::<de::IgnoredAny, Walk>()?.is_some() {}
        Ok(Walk)
    }
}

/// The tag strings a derived, tagged enum knows, read from serde's own
/// derive: the enum is asked to decode a tag no variant has, and serde
/// answers with the list of variants it expected.
pub(crate) fn variant_names<T: DeserializeOwned>(tag: &'static str) -> &'static [&'static str] {
    #[derive(Debug)]
    struct Probe(Option<&'static [&'static str]>);
    impl fmt::Display for Probe {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("probe")
        }
    }
    impl std::error::Error for Probe {}
    impl de::Error for Probe {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Self(None)
        }
        fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
            Self(Some(expected))
        }
    }
    let entries = [(tag, "\u{0}not a message type")];
    let de = de::value::MapDeserializer::<_, Probe>::new(entries.into_iter());
    match T::deserialize(de) {
        Err(Probe(Some(names))) => names,
        _ => &[],
    }
}

/// A lazily read list of variant names, for a `KNOWN_TYPES`-style accessor.
pub(crate) struct Catalogue(OnceLock<&'static [&'static str]>);

impl Catalogue {
    pub(crate) const fn new() -> Self {
        Self(OnceLock::new())
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, tag: &'static str) -> &'static [&'static str] {
        self.0.get_or_init(|| variant_names::<T>(tag))
    }
}

/// A path inside a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Every leaf of `v` (scalars, and empty arrays and objects), with its
/// path.
fn leaves<'v>(v: &'v Value, here: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, &'v Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                here.push(Step::Key(k.clone()));
                leaves(child, here, out);
                here.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, child) in a.iter().enumerate() {
                here.push(Step::Index(i));
                leaves(child, here, out);
                here.pop();
            }
        }
        _ => out.push((here.clone(), v)),
    }
}

/// What [`only`] leaves at the end of its path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// The value as it is.
    Whole,
    /// The value emptied: an object becomes `{}`, an array `[]`.
    Emptied,
}

/// `v` with only the path to `path` left (arrays keep just that
/// element), and the value there whole or emptied.
fn only(v: &Value, path: &[Step], end: End) -> Value {
    match (v, path.split_first()) {
        (Value::Object(_), None) if end == End::Emptied => Value::Object(Map::new()),
        (Value::Array(_), None) if end == End::Emptied => Value::Array(Vec::new()),
        (_, None) => v.clone(),
        (Value::Object(m), Some((Step::Key(k), rest))) => {
            let mut out = Map::new();
            if let Some(child) = m.get(k) {
                out.insert(k.clone(), only(child, rest, end));
            }
            Value::Object(out)
        }
        (Value::Array(a), Some((Step::Index(i), rest))) => {
            Value::Array(a.get(*i).map(|c| only(c, rest, end)).into_iter().collect())
        }
        _ => v.clone(),
    }
}

/// The value at `path`.
fn value_at<'v>(v: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

/// `v` without the leaves at `bad`.
fn without(v: &Value, here: &mut Vec<Step>, bad: &[Vec<Step>]) -> Option<Value> {
    if bad.iter().any(|b| b == here) {
        return None;
    }
    Some(match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                here.push(Step::Key(k.clone()));
                if let Some(c) = without(child, here, bad) {
                    out.insert(k.clone(), c);
                }
                here.pop();
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let mut out = Vec::new();
            for (i, child) in a.iter().enumerate() {
                here.push(Step::Index(i));
                if let Some(c) = without(child, here, bad) {
                    out.push(c);
                }
                here.pop();
            }
            Value::Array(out)
        }
        other => other.clone(),
    })
}

/// Builds a whole message around a payload, in the vendor's layout.
fn wrap(layout: Layout, kind: &str, payload: Value) -> Value {
    match layout {
        Layout::Adjacent(tag) => {
            let mut m = Map::new();
            m.insert(tag.into(), Value::from(kind));
            m.insert("data".into(), payload);
            Value::Object(m)
        }
        Layout::Flat(tag) => {
            let mut m = match payload {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            m.insert(tag.into(), Value::from(kind));
            Value::Object(m)
        }
    }
}

/// The payload of a whole message: `data` (a missing or `null` one reads
/// as `{}`), or every member but the tag.
fn payload_of(layout: Layout, mut message: Map<String, Value>) -> Value {
    match layout {
        Layout::Adjacent(_) => match message.remove("data") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v) => v,
        },
        Layout::Flat(tag) => {
            message.remove(tag);
            Value::Object(message)
        }
    }
}

/// Decodes a message of a known `kind` that did not decode strictly:
/// every field that cannot be read on its own is left out and listed.
pub(crate) fn decode_lenient<T: DeserializeOwned>(
    layout: Layout,
    kind: &str,
    json: &str,
) -> Result<(T, Vec<UnreadableField>)> {
    let message = match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(Error::new(ErrorKind::Envelope, "not a JSON object")),
        Err(e) => return Err(Error::from_json(e)),
    };
    let payload = payload_of(layout, message);
    let reads = |p: Value| T::deserialize(wrap(layout, kind, p));
    // A missing `data`, or members that simply need the defaults.
    if let Ok(t) = reads(payload.clone()) {
        return Ok((t, Vec::new()));
    }
    let mut all = Vec::new();
    leaves(&payload, &mut Vec::new(), &mut all);
    let mut bad: Vec<(Vec<Step>, JsonType)> = Vec::new();
    for (path, _) in all {
        if reads(only(&payload, &path, End::Whole)).is_ok() {
            continue;
        }
        // The field that cannot be read is the outermost one on the path
        // that fails even when empty (an object where text is modelled),
        // else the leaf itself.
        let culprit = (1..path.len())
            .map(|k| &path[..k])
            .find(|prefix| reads(only(&payload, prefix, End::Emptied)).is_err())
            .unwrap_or(&path)
            .to_vec();
        if !bad.iter().any(|(b, _)| culprit.starts_with(b)) {
            bad.retain(|(b, _)| !b.starts_with(&culprit));
            let found = value_at(&payload, &culprit).map_or(JsonType::Null, JsonType::of);
            bad.push((culprit, found));
        }
    }
    let paths: Vec<Vec<Step>> = bad.iter().map(|(p, _)| p.clone()).collect();
    let report = |bad: &[(Vec<Step>, JsonType)]| {
        bad.iter()
            .map(|(p, t)| UnreadableField {
                path: path_text(p),
                found: *t,
            })
            .collect::<Vec<_>>()
    };
    if let Some(rest) = without(&payload, &mut Vec::new(), &paths)
        && let Ok(t) = reads(rest)
    {
        return Ok((t, report(&bad)));
    }
    // Fields that read alone but not together: keep the payload's
    // defaults and report the payload as a whole.
    match reads(Value::Object(Map::new())) {
        Ok(t) => Ok((
            t,
            vec![UnreadableField {
                path: String::new(),
                found: JsonType::of(&payload),
            }],
        )),
        Err(e) => Err(Error::from_json(e).with_message_type(kind)),
    }
}

/// Decodes one message of a known-or-unknown kind against a typed enum:
/// strictly first, leniently when that fails. `Ok(None)` when `kind` is
/// not one of the enum's.
pub(crate) fn decode_typed<T: DeserializeOwned>(
    layout: Layout,
    known: &[&str],
    kind: &str,
    json: &str,
) -> Result<Option<(T, Vec<UnreadableField>)>> {
    if !known.contains(&kind) {
        return Ok(None);
    }
    match serde_json::from_str::<T>(json) {
        Ok(t) => Ok(Some((t, Vec::new()))),
        Err(_) => decode_lenient(layout, kind, json).map(Some),
    }
}

/// Refuses a number that `serde_json::Value` cannot hold (out of `f64`'s
/// range, like `1e400`), naming it. A linear scan of the number tokens,
/// for messages nested deeper than serde's walk goes.
fn check_numbers(json: &str) -> Result<()> {
    let bytes = json.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                // Skip the string, honouring escapes.
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    if c == b'"' {
                        break;
                    }
                    i += if c == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    i += 1;
                }
                let token = json.get(start..i).unwrap_or_default();
                let integral = token.bytes().all(|c| c == b'-' || c.is_ascii_digit());
                let fits = (integral
                    && (token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok()))
                    || token.parse::<f64>().is_ok_and(f64::is_finite);
                if !fits {
                    return Err(Error::new(
                        ErrorKind::Syntax,
                        format!("number out of range: {}", crate::types::truncate(token, 40)),
                    ));
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Encodes a typed message (used by the renderers, whose output is then
/// decoded like anything a frame posts).
pub(crate) fn to_text<T: Serialize + ?Sized>(v: &T) -> String {
    // Serialising our own types to a string cannot fail: every map key
    // is a string and no impl returns an error.
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(tag = "type", content = "data")]
    enum Adj {
        #[serde(rename = "a-b")]
        Ab(Inner),
        #[serde(rename = "c")]
        C(Inner),
    }

    #[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
    #[serde(default)]
    struct Inner {
        x: Option<String>,
        y: Vec<u32>,
        z: Option<Nested>,
    }

    #[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
    #[serde(default)]
    struct Nested {
        n: Option<u8>,
        m: Option<String>,
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(tag = "action")]
    enum Flat {
        #[serde(rename = "go")]
        Go(Inner),
    }

    #[test]
    fn variant_names_come_from_serde() {
        assert_eq!(variant_names::<Adj>("type"), &["a-b", "c"]);
        assert_eq!(variant_names::<Flat>("action"), &["go"]);
    }

    #[test]
    fn unreadable_fields_are_left_out_and_named() {
        let json = r#"{"type":"a-b","data":{"x":5,"y":[1,"two",3],"z":{"n":"big","m":"ok"}}}"#;
        let (t, bad) = decode_lenient::<Adj>(Layout::Adjacent("type"), "a-b", json).unwrap();
        assert_eq!(
            t,
            Adj::Ab(Inner {
                x: None,
                y: vec![1, 3],
                z: Some(Nested {
                    n: None,
                    m: Some("ok".into())
                }),
            })
        );
        let paths: Vec<_> = bad.iter().map(|b| b.path.as_str()).collect();
        assert_eq!(paths, ["x", "y[1]", "z.n"]);
        assert_eq!(bad[0].found, JsonType::Number);
    }

    #[test]
    fn flat_messages_and_payloads_of_the_wrong_shape() {
        let (t, bad) =
            decode_lenient::<Flat>(Layout::Flat("action"), "go", r#"{"action":"go","z":7}"#)
                .unwrap();
        assert_eq!(t, Flat::Go(Inner::default()));
        assert_eq!(bad[0].path, "z");
        let (t, bad) =
            decode_lenient::<Adj>(Layout::Adjacent("type"), "c", r#"{"type":"c","data":"x"}"#)
                .unwrap();
        assert_eq!(t, Adj::C(Inner::default()));
        assert_eq!(bad[0].path, "");
        let (_, bad) =
            decode_lenient::<Adj>(Layout::Adjacent("type"), "c", r#"{"type":"c"}"#).unwrap();
        assert!(bad.is_empty());
    }
}
