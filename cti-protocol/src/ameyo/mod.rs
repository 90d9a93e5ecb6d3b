//! Ameyo (Exotel) URL-based CRM integration: the pages Ameyo opens in its
//! embedded CRM browser, and the disposition attributes of a callback.
//!
//! Ameyo appends its identifiers as query parameters to CRM URLs an admin
//! configures per campaign: the knowledge-base URL at agent login
//! ([`KnowledgeBaseParams`]), the customer URL on connect and the preview
//! URL during preview ([`CustomerParams`]), and the dispose URL
//! ([`DisposeParams`]). Once SSO is on, every one also carries
//! `crmSessionId`, a session token kept as a secret here.
//!
//! Parameter names are matched without regard to case, because Ameyo's
//! own documentation lost it; parameters a deployment adds (`callType`,
//! `recordingFileUrl`, …) are kept in `extra`.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ameyo::CustomerParams;
//!
//! let q = "sessionId=d580-63088cf7-ses-agent-69vHXZtc-175&campaignId=12&crtObjectId=d865-68dbb572-vce-22\
//!          &userCrtObjectId=d202-5b4d83c1-ses-agent-x-uce-5&userId=agent&phone=%2B14155552671&queueName=Sales%20EU";
//! let p = CustomerParams::from_query(q)?;
//! assert_eq!(p.phone, "+14155552671");
//! assert_eq!(p.queue_name.as_deref(), Some("Sales EU"));
//! assert_eq!(CustomerParams::from_url(&p.to_url("https://crm.example.com/ameyo/customer")?)?, p);
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

pub mod api;
pub mod sso;

use jiff::civil::DateTime;

use crate::query::{Plus, decode, push_pair, raw_pairs};
use crate::types::{SecretText, truncate};
use crate::{Error, ErrorKind};

fn url_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Url, msg)
}

/// The query pairs of a URL or query string, decoded, with lower-cased
/// keys for lookup and the original keys kept for `extra`.
struct Query {
    pairs: Vec<(String, String, String)>,
}

/// At most this many parameters are read from one URL.
const MAX_PARAMS: usize = 256;

impl Query {
    fn parse(query: &str) -> crate::Result<Self> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut pairs = Vec::new();
        for (k, v) in raw_pairs(query) {
            if pairs.len() == MAX_PARAMS {
                return Err(url_error(format!("more than {MAX_PARAMS} parameters")));
            }
            let key = decode(k, Plus::Space)?;
            let lower = key.to_ascii_lowercase();
            let plus = if lower == "phone" {
                Plus::Literal
            } else {
                Plus::Space
            };
            let value = decode(v, plus)?;
            if value.chars().any(|c| c.is_control()) {
                return Err(url_error(format!(
                    "`{}` holds control characters",
                    truncate(&key, 40)
                )));
            }
            if pairs
                .iter()
                .any(|(l, _, _): &(String, String, String)| *l == lower)
            {
                return Err(url_error(format!(
                    "`{}` is given more than once",
                    truncate(&key, 40)
                )));
            }
            pairs.push((lower, key, value));
        }
        Ok(Self { pairs })
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let i = self.pairs.iter().position(|(l, _, _)| *l == lower)?;
        Some(self.pairs.remove(i).2)
    }

    fn required(&mut self, name: &str) -> crate::Result<String> {
        self.take(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| url_error(format!("the `{name}` parameter is missing or empty")))
    }

    fn optional(&mut self, name: &str) -> Option<String> {
        self.take(name).filter(|v| !v.is_empty())
    }

    fn extra(self) -> BTreeMap<String, String> {
        self.pairs.into_iter().map(|(_, k, v)| (k, v)).collect()
    }
}

/// Starts a URL on a CRM base, keeping any query the base already has.
fn start_url(base: &str) -> crate::Result<String> {
    let parsed =
        url::Url::parse(base).map_err(|e| url_error(format!("the CRM base is not a URL: {e}")))?;
    if parsed.scheme() != "https" && parsed.scheme() != "http" {
        return Err(url_error("the CRM base must be an http(s) URL"));
    }
    if parsed.fragment().is_some() {
        return Err(url_error("the CRM base must not have a fragment"));
    }
    let mut out = String::with_capacity(base.len() + 256);
    out.push_str(base);
    if parsed.query().is_none_or(str::is_empty) {
        if !out.ends_with('?') {
            out.push('?');
        }
    } else {
        out.push('&');
    }
    Ok(out)
}

fn push_opt(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        push_pair(out, key, v);
    }
}

fn push_extra(out: &mut String, extra: &BTreeMap<String, String>) {
    for (k, v) in extra {
        push_pair(out, k, v);
    }
}

fn fmt_secret(s: &Option<SecretText>) -> Option<&'static str> {
    s.as_ref().map(|_| "<redacted>")
}

/// The knowledge-base URL's parameters (opened at agent login).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnowledgeBaseParams {
    /// The Ameyo user id.
    pub user_id: String,
    /// The agent's Ameyo session id.
    pub session_id: String,
    /// The CRM session token, once SSO is on.
    pub crm_session_id: Option<SecretText>,
    /// Parameters this version does not know, kept.
    pub extra: BTreeMap<String, String>,
}

impl KnowledgeBaseParams {
    /// Reads the parameters from a query string.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] naming a missing, empty, repeated or undecodable parameter.
    pub fn from_query(query: &str) -> crate::Result<Self> {
        let mut q = Query::parse(query)?;
        Ok(Self {
            user_id: q.required("userId")?,
            session_id: q.required("sessionId")?,
            crm_session_id: q.optional("crmSessionId").map(SecretText::new),
            extra: q.extra(),
        })
    }

    /// Reads the parameters from a whole URL.
    ///
    /// # Errors
    ///
    /// As [`Self::from_query`], or when `url` is not a URL.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| url_error(format!("not a URL: {e}")))?;
        Self::from_query(parsed.query().unwrap_or(""))
    }

    /// The URL Ameyo would open: `base` with the parameters appended.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `base` is not an http(s) URL without a fragment.
    pub fn to_url(&self, base: &str) -> crate::Result<String> {
        let mut out = start_url(base)?;
        push_pair(&mut out, "userId", &self.user_id);
        push_pair(&mut out, "sessionId", &self.session_id);
        push_opt(
            &mut out,
            "crmSessionId",
            self.crm_session_id.as_ref().map(SecretText::expose),
        );
        push_extra(&mut out, &self.extra);
        Ok(out)
    }
}

impl fmt::Debug for KnowledgeBaseParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnowledgeBaseParams")
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .field("crm_session_id", &fmt_secret(&self.crm_session_id))
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The customer URL's parameters (on connect); the preview URL carries the
/// same ([`PreviewParams`]).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomerParams {
    /// The agent's Ameyo session id.
    pub session_id: String,
    /// The campaign.
    pub campaign_id: String,
    /// The call (`crtObjectId`), which also names its voice log.
    pub crt_object_id: String,
    /// The agent's voice extension (`userCrtObjectId`).
    pub user_crt_object_id: String,
    /// The Ameyo user id.
    pub user_id: String,
    /// The customer record (optional for outbound calls).
    pub customer_id: Option<String>,
    /// The caller id or dialled number.
    pub phone: String,
    /// The inbound queue's id.
    pub queue_id: Option<String>,
    /// The inbound queue's name.
    pub queue_name: Option<String>,
    /// The CRM session token, once SSO is on.
    pub crm_session_id: Option<SecretText>,
    /// Parameters this version does not know, kept.
    pub extra: BTreeMap<String, String>,
}

/// The preview URL's parameters: the same as the customer URL's.
pub type PreviewParams = CustomerParams;

impl CustomerParams {
    /// The parameters of a call, with the optional ones unset.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] naming an empty required value or one holding
    /// control characters.
    pub fn new(
        session_id: impl Into<String>,
        campaign_id: impl Into<String>,
        crt_object_id: impl Into<String>,
        user_crt_object_id: impl Into<String>,
        user_id: impl Into<String>,
        phone: impl Into<String>,
    ) -> crate::Result<Self> {
        let check = |name: &str, v: String| {
            if v.is_empty() || v.chars().any(char::is_control) {
                Err(url_error(format!(
                    "`{name}` must be non-empty text without control characters"
                )))
            } else {
                Ok(v)
            }
        };
        Ok(Self {
            session_id: check("sessionId", session_id.into())?,
            campaign_id: check("campaignId", campaign_id.into())?,
            crt_object_id: check("crtObjectId", crt_object_id.into())?,
            user_crt_object_id: check("userCrtObjectId", user_crt_object_id.into())?,
            user_id: check("userId", user_id.into())?,
            customer_id: None,
            phone: check("phone", phone.into())?,
            queue_id: None,
            queue_name: None,
            crm_session_id: None,
            extra: BTreeMap::new(),
        })
    }

    /// Reads the parameters from a query string.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] naming a missing, empty, repeated or undecodable parameter.
    pub fn from_query(query: &str) -> crate::Result<Self> {
        let mut q = Query::parse(query)?;
        Ok(Self {
            session_id: q.required("sessionId")?,
            campaign_id: q.required("campaignId")?,
            crt_object_id: q.required("crtObjectId")?,
            user_crt_object_id: q.required("userCrtObjectId")?,
            user_id: q.required("userId")?,
            customer_id: q.optional("customerId"),
            phone: q.required("phone")?,
            queue_id: q.optional("queueId"),
            queue_name: q.optional("queueName"),
            crm_session_id: q.optional("crmSessionId").map(SecretText::new),
            extra: q.extra(),
        })
    }

    /// Reads the parameters from a whole URL.
    ///
    /// # Errors
    ///
    /// As [`Self::from_query`], or when `url` is not a URL.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| url_error(format!("not a URL: {e}")))?;
        Self::from_query(parsed.query().unwrap_or(""))
    }

    /// The URL Ameyo would open: `base` with the parameters appended.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `base` is not an http(s) URL without a fragment.
    pub fn to_url(&self, base: &str) -> crate::Result<String> {
        let mut out = start_url(base)?;
        push_pair(&mut out, "sessionId", &self.session_id);
        push_pair(&mut out, "campaignId", &self.campaign_id);
        push_pair(&mut out, "crtObjectId", &self.crt_object_id);
        push_pair(&mut out, "userCrtObjectId", &self.user_crt_object_id);
        push_pair(&mut out, "userId", &self.user_id);
        push_opt(&mut out, "customerId", self.customer_id.as_deref());
        push_pair(&mut out, "phone", &self.phone);
        push_opt(&mut out, "queueId", self.queue_id.as_deref());
        push_opt(&mut out, "queueName", self.queue_name.as_deref());
        push_opt(
            &mut out,
            "crmSessionId",
            self.crm_session_id.as_ref().map(SecretText::expose),
        );
        push_extra(&mut out, &self.extra);
        Ok(out)
    }
}

impl fmt::Debug for CustomerParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerParams")
            .field("session_id", &self.session_id)
            .field("campaign_id", &self.campaign_id)
            .field("crt_object_id", &self.crt_object_id)
            .field("user_crt_object_id", &self.user_crt_object_id)
            .field("user_id", &self.user_id)
            .field("customer_id", &self.customer_id)
            .field("phone", &"<personal data>")
            .field("queue_id", &self.queue_id)
            .field("queue_name", &self.queue_name)
            .field("crm_session_id", &fmt_secret(&self.crm_session_id))
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The dispose URL's parameters.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DisposeParams {
    /// The agent's Ameyo session id.
    pub session_id: String,
    /// The campaign.
    pub campaign_id: String,
    /// The call.
    pub crt_object_id: String,
    /// The agent's voice extension.
    pub user_crt_object_id: String,
    /// The Ameyo user id.
    pub user_id: String,
    /// The customer record.
    pub customer_id: Option<String>,
    /// The disposition code (must be in the campaign's plan).
    pub disposition: String,
    /// The callback schedule, when the disposition is a callback.
    pub disposition_attribute: Option<DispositionAttribute>,
    /// The callback is for the same agent (`selfCallback`).
    pub self_callback: Option<bool>,
    /// The CRM session token, once SSO is on.
    pub crm_session_id: Option<SecretText>,
    /// Parameters this version does not know, kept.
    pub extra: BTreeMap<String, String>,
}

impl DisposeParams {
    /// Reads the parameters from a query string. `disposition` is also
    /// accepted as `dispositionCode`, and `dispositionAttribute` as
    /// `dispositionAttr`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] naming a missing, empty, repeated or undecodable
    /// parameter, or a disposition attribute that does not parse.
    pub fn from_query(query: &str) -> crate::Result<Self> {
        let mut q = Query::parse(query)?;
        let disposition = match q.optional("disposition") {
            Some(d) => d,
            None => q
                .required("disposition")
                .or_else(|_| q.required("dispositionCode"))?,
        };
        let attribute = q
            .optional("dispositionAttribute")
            .or_else(|| q.optional("dispositionAttr"));
        Ok(Self {
            session_id: q.required("sessionId")?,
            campaign_id: q.required("campaignId")?,
            crt_object_id: q.required("crtObjectId")?,
            user_crt_object_id: q.required("userCrtObjectId")?,
            user_id: q.required("userId")?,
            customer_id: q.optional("customerId"),
            disposition,
            disposition_attribute: attribute
                .as_deref()
                .map(DispositionAttribute::parse)
                .transpose()?,
            self_callback: match q
                .optional("selfCallback")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
            {
                None => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(_) => return Err(url_error("`selfCallback` must be `true` or `false`")),
            },
            crm_session_id: q.optional("crmSessionId").map(SecretText::new),
            extra: q.extra(),
        })
    }

    /// Reads the parameters from a whole URL.
    ///
    /// # Errors
    ///
    /// As [`Self::from_query`], or when `url` is not a URL.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| url_error(format!("not a URL: {e}")))?;
        Self::from_query(parsed.query().unwrap_or(""))
    }

    /// The URL Ameyo would open: `base` with the parameters appended.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `base` is not an http(s) URL without a fragment.
    pub fn to_url(&self, base: &str) -> crate::Result<String> {
        let mut out = start_url(base)?;
        push_pair(&mut out, "sessionId", &self.session_id);
        push_pair(&mut out, "campaignId", &self.campaign_id);
        push_pair(&mut out, "crtObjectId", &self.crt_object_id);
        push_pair(&mut out, "userCrtObjectId", &self.user_crt_object_id);
        push_pair(&mut out, "userId", &self.user_id);
        push_opt(&mut out, "customerId", self.customer_id.as_deref());
        push_pair(&mut out, "disposition", &self.disposition);
        push_opt(
            &mut out,
            "dispositionAttribute",
            self.disposition_attribute
                .as_ref()
                .map(|a| a.to_string())
                .as_deref(),
        );
        push_opt(
            &mut out,
            "selfCallback",
            self.self_callback.map(|b| if b { "true" } else { "false" }),
        );
        push_opt(
            &mut out,
            "crmSessionId",
            self.crm_session_id.as_ref().map(SecretText::expose),
        );
        push_extra(&mut out, &self.extra);
        Ok(out)
    }
}

impl fmt::Debug for DisposeParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisposeParams")
            .field("session_id", &self.session_id)
            .field("campaign_id", &self.campaign_id)
            .field("crt_object_id", &self.crt_object_id)
            .field("user_crt_object_id", &self.user_crt_object_id)
            .field("user_id", &self.user_id)
            .field("customer_id", &self.customer_id)
            .field("disposition", &self.disposition)
            .field("disposition_attribute", &self.disposition_attribute)
            .field("self_callback", &self.self_callback)
            .field("self_callback", &self.self_callback)
            .field("crm_session_id", &fmt_secret(&self.crm_session_id))
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A relative callback offset, Ameyo's `after-DD-MM-YYYY HH:mm:ss` (days,
/// months and years in the date's places).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CallbackOffset {
    /// Days.
    pub days: u16,
    /// Months.
    pub months: u16,
    /// Years.
    pub years: u16,
    /// Hours.
    pub hours: u16,
    /// Minutes.
    pub minutes: u16,
    /// Seconds.
    pub seconds: u16,
}

/// When to call back: a disposition attribute.
///
/// Ameyo's forms are `local-<date time>` (the agent's local time),
/// `customer-<date time>` (the customer's time zone) and
/// `after-DD-MM-YYYY HH:mm:ss` (an offset from now). Dates of the first
/// two are kept as sent and parsed when they match a known layout
/// (`MM-dd-yyyy-HH:mm:ss`, `MM-dd-yyyy HH:mm:ss`, `yyyy-MM-dd HH:mm:ss`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispositionAttribute {
    /// In the agent's local time.
    Local {
        /// The text after `local-`.
        text: String,
        /// The parsed date-time, when the text matches a known layout.
        at: Option<DateTime>,
    },
    /// In the customer's time zone.
    Customer {
        /// The text after `customer-`.
        text: String,
        /// The parsed date-time, when the text matches a known layout.
        at: Option<DateTime>,
    },
    /// After an offset from now.
    After(CallbackOffset),
}

fn parse_datetime(text: &str) -> Option<DateTime> {
    [
        "%m-%d-%Y-%H:%M:%S",
        "%m-%d-%Y %H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| DateTime::strptime(f, text).ok())
}

impl DispositionAttribute {
    /// Parses an attribute.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] for an unknown form or a malformed `after-` offset.
    pub fn parse(text: &str) -> crate::Result<Self> {
        let (kind, rest) = text.split_once('-').ok_or_else(|| {
            url_error(format!(
                "`{}` is not a disposition attribute",
                truncate(text, 60)
            ))
        })?;
        match kind.to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local {
                text: rest.to_owned(),
                at: parse_datetime(rest),
            }),
            "customer" => Ok(Self::Customer {
                text: rest.to_owned(),
                at: parse_datetime(rest),
            }),
            "after" => {
                let bad = || {
                    url_error(format!(
                        "`{}` is not `after-DD-MM-YYYY HH:mm:ss`",
                        truncate(text, 60)
                    ))
                };
                let (date, time) = rest.trim().split_once(' ').ok_or_else(bad)?;
                let num = |s: Option<&str>| s.and_then(|s| s.parse::<u16>().ok()).ok_or_else(bad);
                let mut d = date.split('-');
                let mut t = time.split(':');
                let offset = CallbackOffset {
                    days: num(d.next())?,
                    months: num(d.next())?,
                    years: num(d.next())?,
                    hours: num(t.next())?,
                    minutes: num(t.next())?,
                    seconds: num(t.next())?,
                };
                if d.next().is_some() || t.next().is_some() {
                    return Err(bad());
                }
                Ok(Self::After(offset))
            }
            _ => Err(url_error(format!(
                "`{}` is not a disposition attribute (local-, customer- or after-)",
                truncate(text, 60)
            ))),
        }
    }
}

impl fmt::Display for DispositionAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { text, .. } => write!(f, "local-{text}"),
            Self::Customer { text, .. } => write!(f, "customer-{text}"),
            Self::After(o) => write!(
                f,
                "after-{:02}-{:02}-{:04} {:02}:{:02}:{:02}",
                o.days, o.months, o.years, o.hours, o.minutes, o.seconds
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_tolerant_and_hostile() {
        let q = "SESSIONID=s&campaignid=1&CrtObjectId=c&usercrtobjectid=u&userid=agent&phone=+4420&crmSessionId=tok&callType=inbound";
        let p = CustomerParams::from_query(q).unwrap();
        assert_eq!(p.phone, "+4420");
        assert_eq!(p.extra.get("callType").map(String::as_str), Some("inbound"));
        assert!(!format!("{p:?}").contains("tok"));
        assert!(!format!("{p:?}").contains("4420"));
        for bad in [
            "sessionId=s",
            "sessionId=s&sessionId=t&campaignId=1&crtObjectId=c&userCrtObjectId=u&userId=a&phone=1",
            "sessionId=%0d%0a&campaignId=1&crtObjectId=c&userCrtObjectId=u&userId=a&phone=1",
            "sessionId=%ff&campaignId=1&crtObjectId=c&userCrtObjectId=u&userId=a&phone=1",
            "sessionId=&campaignId=1&crtObjectId=c&userCrtObjectId=u&userId=a&phone=1",
        ] {
            assert_eq!(
                CustomerParams::from_query(bad).unwrap_err().kind(),
                ErrorKind::Url,
                "{bad}"
            );
        }
    }

    #[test]
    fn self_callback_round_trips() {
        let q = "sessionId=s&campaignId=1&crtObjectId=c&userCrtObjectId=u&userId=a&disposition=CB&selfCallback=false";
        let p = DisposeParams::from_query(q).unwrap();
        assert_eq!(p.self_callback, Some(false));
        assert_eq!(
            DisposeParams::from_url(&p.to_url("https://crm.example.com/d").unwrap()).unwrap(),
            p
        );
        assert!(DisposeParams::from_query(&q.replace("false", "maybe")).is_err());
    }

    #[test]
    fn dispose_and_attributes() {
        let q = "sessionId=s&campaignId=1&crtObjectId=c&userCrtObjectId=u&userId=a&dispositionCode=CB&dispositionAttr=after-03-00-0000%2002%3A01%3A00&selfcallback=TRUE";
        let p = DisposeParams::from_query(q).unwrap();
        assert_eq!(p.self_callback, Some(true));
        assert_eq!(p.disposition, "CB");
        let Some(DispositionAttribute::After(o)) = &p.disposition_attribute else {
            panic!()
        };
        assert_eq!((o.days, o.hours, o.minutes), (3, 2, 1));
        assert_eq!(
            DisposeParams::from_url(&p.to_url("https://crm.example.com/d?x=1").unwrap())
                .unwrap()
                .disposition_attribute,
            p.disposition_attribute
        );
        let local = DispositionAttribute::parse("local-12-31-2024-09:30:00").unwrap();
        let DispositionAttribute::Local { at: Some(at), .. } = &local else {
            panic!()
        };
        assert_eq!(at.to_string(), "2024-12-31T09:30:00");
        assert_eq!(local.to_string(), "local-12-31-2024-09:30:00");
        for bad in ["later", "after-x", "after-01-02-0003", "soon-1"] {
            assert!(DispositionAttribute::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_onto_base() {
        let kb = KnowledgeBaseParams::from_query("userId=agent&sessionId=s%2B1").unwrap();
        assert_eq!(
            kb.to_url("https://crm.example.com/kb").unwrap(),
            "https://crm.example.com/kb?userId=agent&sessionId=s%2B1"
        );
        assert_eq!(
            kb.to_url("https://crm.example.com/kb?tenant=a").unwrap(),
            "https://crm.example.com/kb?tenant=a&userId=agent&sessionId=s%2B1"
        );
        assert!(kb.to_url("javascript:alert(1)").is_err());
        assert!(kb.to_url("https://crm.example.com/kb#f").is_err());
    }
}
