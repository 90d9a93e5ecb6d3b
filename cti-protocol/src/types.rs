//! Scalar wire types shared by the dialects: ids that are numbers one day
//! and strings the next, vendor time formats, and secrets.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::{Error, ErrorKind};

/// The string type of wire fields and neutral events: strings up to 23
/// bytes (ids, phone numbers, times, names) live inline without a heap
/// allocation, longer ones are shared, and clones are cheap.
/// It dereferences to `&str` and converts from `&str` and `String`.
pub type Str = smol_str::SmolStr;

/// A scalar sent as a JSON number or a JSON string, remembered as sent.
///
/// Vendors send the same id as `123` in one message and `"123"` in the
/// next (CCAI's `agent_id`), or a phone number as a number (LeadDesk's
/// `number`). Both decode; equality and `Display` use the text, and
/// re-encoding writes the original JSON type back.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string | number"))]
pub struct NumOrStr {
    text: Str,
    numeric: bool,
}

impl NumOrStr {
    /// A value that will be encoded as a JSON string.
    #[must_use]
    pub fn text(text: impl Into<Str>) -> Self {
        Self {
            text: text.into(),
            numeric: false,
        }
    }

    /// A value that will be encoded as a JSON number.
    #[must_use]
    pub fn number(n: i64) -> Self {
        Self {
            text: int_text(n),
            numeric: true,
        }
    }

    /// The value as text (numbers in decimal).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `true` when the value was (or will be) a JSON number.
    #[must_use]
    pub fn is_number(&self) -> bool {
        self.numeric
    }

    /// The text as a shared [`Str`] (a copy of its handle, not of the
    /// text).
    pub(crate) fn text_str(&self) -> Str {
        self.text.clone()
    }

    /// The text as a borrowed [`Str`].
    pub(crate) fn text_ref(&self) -> &Str {
        &self.text
    }

    /// The value as an integer, when it is one (in either JSON form).
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        self.text.parse().ok()
    }
}

impl fmt::Debug for NumOrStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.numeric {
            f.write_str(&self.text)
        } else {
            write!(f, "{:?}", self.text)
        }
    }
}

impl fmt::Display for NumOrStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for NumOrStr {
    fn from(s: &str) -> Self {
        Self::text(s)
    }
}

impl From<String> for NumOrStr {
    fn from(s: String) -> Self {
        Self::text(s)
    }
}

impl From<i64> for NumOrStr {
    fn from(n: i64) -> Self {
        Self::number(n)
    }
}

impl Serialize for NumOrStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.numeric {
            if let Ok(n) = self.text.parse::<i64>() {
                return s.serialize_i64(n);
            }
            if let Ok(n) = self.text.parse::<u64>() {
                return s.serialize_u64(n);
            }
        }
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for NumOrStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumOrStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumOrStr, E> {
                Ok(NumOrStr {
                    text: int_text(v),
                    numeric: true,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumOrStr, E> {
                Ok(NumOrStr {
                    text: int_text(v),
                    numeric: true,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NumOrStr, E> {
                Ok(NumOrStr::text(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for NumOrStr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NumOrStr".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "integer"] })
    }
}

/// An integer's decimal text (inline in a [`Str`]: at most 20 bytes).
fn int_text(n: impl fmt::Display) -> Str {
    smol_str::format_smolstr!("{n}")
}

macro_rules! typed_id {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        ///
        /// Accepts a JSON number or string and re-encodes it as it came.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema), schemars(transparent))]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string | number"))]
        pub struct $name(pub NumOrStr);

        impl $name {
            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The id as a shared [`Str`], without copying long text.
            #[allow(dead_code)]
            pub(crate) fn text_str(&self) -> Str {
                self.0.text_str()
            }

            /// The id as a borrowed [`Str`].
            #[allow(dead_code)]
            pub(crate) fn text_ref(&self) -> &Str {
                self.0.text_ref()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }


        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(NumOrStr::text(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(NumOrStr::text(s))
            }
        }

        impl From<i64> for $name {
            fn from(n: i64) -> Self {
                Self(NumOrStr::number(n))
            }
        }
    };
}

typed_id! {
    /// A Zoom engagement id (a 22-character base64url-like string).
    EngagementId
}
typed_id! {
    /// A CCAI call id.
    CallId
}
typed_id! {
    /// A CCAI chat id.
    ChatId
}
typed_id! {
    /// An agent id (CCAI `agent_id`; Zoom agent ids where sent).
    AgentId
}
typed_id! {
    /// A queue id (Zoom `queueId`, CCAI `queue_id`).
    QueueId
}
typed_id! {
    /// A campaign id (CCAI `campaign_id`).
    CampaignId
}
typed_id! {
    /// A CRM record id chosen by the host (Zoom contact `id`).
    ContactId
}
typed_id! {
    /// A LeadDesk Talk call id.
    TalkCallId
}

/// A point in time sent as integer milliseconds since the Unix epoch
/// (JavaScript's `Date.now()`), as Zoom does in `createTs`, `acceptTs`, …
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(transparent)
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "number"))]
pub struct EpochMillis(pub i64);

impl EpochMillis {
    /// The instant, or `None` when it is outside the range `jiff` supports.
    #[must_use]
    pub fn to_timestamp(self) -> Option<Timestamp> {
        Timestamp::from_millisecond(self.0).ok()
    }

    /// The milliseconds of an instant.
    #[must_use]
    pub fn from_timestamp(ts: Timestamp) -> Self {
        Self(ts.as_millisecond())
    }
}

/// A date-time as a softphone sent it: an ISO 8601 / RFC 3339 string,
/// `yyyy-mm-dd hh:mm:ss` (read as UTC), epoch milliseconds as a JSON
/// number, or `""` when there is none (Zoom's `callStartTime` for a call
/// never answered).
///
/// Zoom's bundle builds `callStartTime` as a JavaScript `Date` (an ISO
/// string once serialised) while its CRM sample describes milliseconds;
/// both are read. The value is kept as sent (a number stays a number);
/// [`IsoTime::at`] gives the instant when it is a valid time.
#[derive(Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string | number"))]
pub struct IsoTime {
    text: Str,
    at: Option<Timestamp>,
    millis: bool,
}

impl IsoTime {
    /// The empty time `""`.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// The RFC 3339 text of an instant (milliseconds, UTC, like
    /// JavaScript's `Date.prototype.toISOString`).
    #[must_use]
    pub fn from_timestamp(ts: Timestamp) -> Self {
        let text = smol_str::format_smolstr!("{}", ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"));
        Self {
            text,
            at: Some(ts),
            millis: false,
        }
    }

    /// Epoch milliseconds, encoded as a JSON number.
    #[must_use]
    pub fn from_millis(ms: i64) -> Self {
        Self {
            text: int_text(ms),
            at: Timestamp::from_millisecond(ms).ok(),
            millis: true,
        }
    }

    /// Keeps `text` and parses it when it is an RFC 3339 time or
    /// `yyyy-mm-dd hh:mm:ss` (taken as UTC).
    #[must_use]
    pub fn parse(text: impl Into<Str>) -> Self {
        let text = text.into();
        let at = if text.is_empty() {
            None
        } else {
            text.parse::<Timestamp>().ok().or_else(|| {
                parse_talk_time(&text).and_then(|dt| {
                    dt.to_zoned(jiff::tz::TimeZone::UTC)
                        .ok()
                        .map(|z| z.timestamp())
                })
            })
        };
        Self {
            text,
            at,
            millis: false,
        }
    }

    /// The text as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant, when the text is a valid time.
    #[must_use]
    pub fn at(&self) -> Option<Timestamp> {
        self.at
    }

    /// `true` for `""`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl fmt::Debug for IsoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IsoTime({:?})", self.text)
    }
}

impl Serialize for IsoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text.parse::<i64>() {
            Ok(ms) if self.millis => s.serialize_i64(ms),
            _ => s.serialize_str(&self.text),
        }
    }
}

impl<'de> Deserialize<'de> for IsoTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(Str),
            Millis(i64),
        }
        Ok(match Form::deserialize(d)? {
            Form::Text(t) => Self::parse(t),
            Form::Millis(ms) => Self::from_millis(ms),
        })
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for IsoTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IsoTime".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "integer"],
            "description": "An RFC 3339 date-time, `yyyy-mm-dd hh:mm:ss`, epoch milliseconds, or the empty string."
        })
    }
}

/// A duration sent as clock text: `m:ss` (Zoom's `callDuration`, unpadded
/// minutes), `HH:MM:SS` (Zoom's `wrapUpTimeDuration`), or anything else a
/// softphone produced — `"NaN:NaN"` for a call that never connected, or
/// `""`. The text is kept exactly; [`ClockDuration::seconds`] gives the
/// length when the text is a valid clock.
///
/// Zoom's CRM sample describes `callDuration` as milliseconds; a JSON
/// number is read that way and written back as the same number.
#[derive(Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string | number"))]
pub struct ClockDuration {
    text: Str,
    seconds: Option<u64>,
    millis: bool,
}

impl ClockDuration {
    /// Keeps `text` and parses `m:ss`, `mm:ss` or `h:mm:ss` forms.
    #[must_use]
    pub fn parse(text: impl Into<Str>) -> Self {
        let text = text.into();
        let seconds = parse_clock(&text);
        Self {
            text,
            seconds,
            millis: false,
        }
    }

    /// A length in milliseconds, encoded as a JSON number.
    #[must_use]
    pub fn from_millis(ms: u64) -> Self {
        Self {
            text: int_text(ms),
            seconds: Some(ms / 1000),
            millis: true,
        }
    }

    /// Zoom's `m:ss` form of a length in seconds.
    #[must_use]
    pub fn minutes_seconds(seconds: u64) -> Self {
        Self {
            text: smol_str::format_smolstr!("{}:{:02}", seconds / 60, seconds % 60),
            seconds: Some(seconds),
            millis: false,
        }
    }

    /// The `HH:MM:SS` form of a length in seconds.
    #[must_use]
    pub fn hours_minutes_seconds(seconds: u64) -> Self {
        let text = smol_str::format_smolstr!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            (seconds / 60) % 60,
            seconds % 60
        );
        Self {
            text,
            seconds: Some(seconds),
            millis: false,
        }
    }

    /// The text as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The length in seconds, when the text is a valid clock.
    #[must_use]
    pub fn seconds(&self) -> Option<u64> {
        self.seconds
    }
}

fn parse_clock(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut parts = 0;
    for (i, part) in text.split(':').enumerate() {
        if part.is_empty() || part.len() > 6 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = part.parse().ok()?;
        // Every part after the first is a base-60 digit.
        if i > 0 && n >= 60 {
            return None;
        }
        total = total.checked_mul(60)?.checked_add(n)?;
        parts += 1;
    }
    (2..=3).contains(&parts).then_some(total)
}

impl fmt::Debug for ClockDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClockDuration({:?})", self.text)
    }
}

impl Serialize for ClockDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text.parse::<u64>() {
            Ok(ms) if self.millis => s.serialize_u64(ms),
            _ => s.serialize_str(&self.text),
        }
    }
}

impl<'de> Deserialize<'de> for ClockDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(Str),
            Millis(u64),
        }
        Ok(match Form::deserialize(d)? {
            Form::Text(t) => Self::parse(t),
            Form::Millis(ms) => Self::from_millis(ms),
        })
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for ClockDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ClockDuration".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "integer"],
            "description": "A clock duration such as `4:07` or `00:01:30` (may be `NaN:NaN` or empty), or milliseconds."
        })
    }
}

/// A local date-time in LeadDesk's `yyyy-mm-dd hh:mm:ss` text form.
///
/// Parsing is lenient: the documented typo `yyyy mm-dd hh:mm:ss`, a `T`
/// separator, `/` date separators and fractional seconds are accepted.
/// The original text is kept and written back unchanged on re-encoding.
/// LeadDesk does not say which time zone the text is in, so it is a
/// civil (zone-less) [`DateTime`].
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct TalkTime {
    text: Str,
    at: DateTime,
}

impl TalkTime {
    /// Parses LeadDesk's text form.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Format`] when the text is not a date-time.
    pub fn parse(text: impl Into<Str>) -> crate::Result<Self> {
        let text = text.into();
        let at = parse_talk_time(&text).ok_or_else(|| {
            Error::new(
                ErrorKind::Format,
                format!(
                    "`{}` is not a `yyyy-mm-dd hh:mm:ss` date-time",
                    truncate(&text, 64)
                ),
            )
        })?;
        Ok(Self { text, at })
    }

    /// The canonical text form of a civil date-time.
    #[must_use]
    pub fn from_datetime(at: DateTime) -> Self {
        Self {
            text: smol_str::format_smolstr!("{}", at.strftime("%Y-%m-%d %H:%M:%S")),
            at,
        }
    }

    /// The text as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed date-time.
    #[must_use]
    pub fn at(&self) -> DateTime {
        self.at
    }
}

impl Default for TalkTime {
    fn default() -> Self {
        Self::from_datetime(DateTime::default())
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Reads `yyyy-mm-dd hh:mm:ss`, leniently (see [`TalkTime`]).
fn parse_talk_time(text: &str) -> Option<DateTime> {
    let t = text.trim();
    if t.len() > 40 {
        return None;
    }
    // Split date and time at the last separator before the `hh:` part.
    let colon = t.find(':')?;
    let split = t[..colon].rfind([' ', 'T'])?;
    let (date, time) = (t[..split].trim(), t[split + 1..].trim());
    let mut nums = date.split(['-', ' ', '/', '.']).filter(|p| !p.is_empty());
    let (y, m, d) = (nums.next()?, nums.next()?, nums.next()?);
    if nums.next().is_some() || y.len() != 4 {
        return None;
    }
    let (year, month, day) = (
        y.parse::<i16>().ok()?,
        m.parse::<i8>().ok()?,
        d.parse::<i8>().ok()?,
    );
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut parts = hms.split(':');
    let hour = parts.next()?.parse::<i8>().ok()?;
    let minute = parts.next()?.parse::<i8>().ok()?;
    let second = match parts.next() {
        Some(s) => s.parse::<i8>().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    let nanos = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let mut n: i32 = f.parse().ok()?;
            for _ in f.len()..9 {
                n *= 10;
            }
            n
        }
        Some(_) => return None,
        None => 0,
    };
    DateTime::new(year, month, day, hour, minute, second, nanos).ok()
}

impl fmt::Debug for TalkTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TalkTime({:?})", self.text)
    }
}

impl Serialize for TalkTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for TalkTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Str::deserialize(d)?;
        Self::parse(text).map_err(de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for TalkTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TalkTime".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A local date-time, `yyyy-mm-dd hh:mm:ss`."
        })
    }
}

/// A secret string (a token) that never shows in `Debug` output.
///
/// It is written out in full when the message is encoded, because the wire
/// needs it; read it with [`SecretText::expose`].
#[derive(Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct SecretText(secrecy::SecretString);

impl SecretText {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secrecy::SecretString::from(secret.into()))
    }

    /// The secret itself. Do not log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret as _;
        self.0.expose_secret()
    }
}

impl Clone for SecretText {
    fn clone(&self) -> Self {
        Self::new(self.expose())
    }
}

impl PartialEq for SecretText {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for SecretText {}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

impl From<&str> for SecretText {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for SecretText {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::new(String::deserialize(d)?))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SecretText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A secret (password, token or session id)."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SecretText {}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for SecretText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretText".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "writeOnly": true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_time_accepts_documented_and_typo_forms() {
        for text in [
            "2024-03-05 14:07:09",
            "2024 03-05 14:07:09",
            "2024-03-05T14:07:09",
            "2024/03/05 14:07:09.250",
        ] {
            let t = TalkTime::parse(text).unwrap();
            assert_eq!(t.as_str(), text);
            assert_eq!(t.at().date(), jiff::civil::date(2024, 3, 5));
            assert_eq!(t.at().hour(), 14);
        }
        for bad in [
            "",
            "yesterday",
            "2024-13-05 14:07:09",
            "24-03-05 14:07:09",
            "2024-03-05 25:00:00",
        ] {
            assert_eq!(
                TalkTime::parse(bad).unwrap_err().kind(),
                ErrorKind::Format,
                "{bad}"
            );
        }
    }

    #[test]
    fn integer_text() {
        for n in [0i64, 7, -7, 10, i64::MIN, i64::MAX] {
            assert_eq!(int_text(n), n.to_string());
        }
        assert_eq!(int_text(u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn clock_durations() {
        assert_eq!(ClockDuration::parse("4:07").seconds(), Some(247));
        assert_eq!(ClockDuration::parse("00:01:30").seconds(), Some(90));
        assert_eq!(ClockDuration::parse("NaN:NaN").seconds(), None);
        assert_eq!(ClockDuration::parse("").seconds(), None);
        assert_eq!(ClockDuration::parse("1:75").seconds(), None);
        assert_eq!(ClockDuration::minutes_seconds(247).as_str(), "4:07");
        assert_eq!(
            ClockDuration::hours_minutes_seconds(3725).as_str(),
            "01:02:05"
        );
    }

    #[test]
    fn num_or_str_round_trips_its_json_type() {
        let n: NumOrStr = serde_json::from_str("103646").unwrap();
        let s: NumOrStr = serde_json::from_str("\"103646\"").unwrap();
        assert_eq!(n.as_str(), s.as_str());
        assert_eq!(serde_json::to_string(&n).unwrap(), "103646");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"103646\"");
        assert!(serde_json::from_str::<NumOrStr>("1.5").is_err());
        let big: NumOrStr = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(serde_json::to_string(&big).unwrap(), "18446744073709551615");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let s = SecretText::new("eyJhbGciOi.secret.sig");
        assert!(!format!("{s:?}").contains("secret"));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"eyJhbGciOi.secret.sig\""
        );
    }

    #[test]
    fn iso_time_keeps_text() {
        let t = IsoTime::parse("2024-05-01T10:00:00.000Z");
        assert!(t.at().is_some());
        assert_eq!(IsoTime::parse("").at(), None);
        let ts = Timestamp::from_millisecond(1_714_557_600_000).unwrap();
        assert_eq!(
            IsoTime::from_timestamp(ts).as_str(),
            "2024-05-01T10:00:00.000Z"
        );
    }
}
