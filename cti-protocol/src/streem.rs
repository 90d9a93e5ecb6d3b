//! Streem Embed: the `/embed` invite page and the `/streems` call log,
//! with the optional embedded-SSO `#token=` fragment.
//!
//! [`EmbedUrl`] builds and parses `https://{company}.streempro.app/embed?…`
//! (`name`, `phone`, `refId`, `source`, `callingCode` — `+1` unless set —
//! and `redirect`, a URL or the literal `call`). A redirect to the call log
//! nests a whole URL inside a query value; it is encoded so that none of its
//! own parameters leak into the outer URL. When a server parses an embed
//! URL it should use [`EmbedUrl::parse_checked`], which refuses redirect
//! targets outside an allowlist: no open redirect.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::streem::{EmbedUrl, Redirect, StreemsUrl};
//! use cti_protocol::origin::vendor;
//!
//! let base = "https://acme.streempro.app";
//! let calls = StreemsUrl::new(base, "CASE-42")?;
//! let embed = EmbedUrl::new(base)?
//!     .name("Ada Lovelace")
//!     .phone("4155552671")
//!     .ref_id("CASE-42")
//!     .redirect(Redirect::Url(calls.to_url()));
//! let url = embed.to_url();
//! assert!(url.starts_with("https://acme.streempro.app/embed?name=Ada%20Lovelace&phone=4155552671&refId=CASE-42&callingCode=%2B1&redirect=https%3A%2F%2F"));
//!
//! let back = EmbedUrl::parse_checked(&url, &vendor::streem())?;
//! assert_eq!(back, embed);
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;

use crate::origin::{Origin, OriginAllowlist};
use crate::query::{Plus, VALUE, decode, encode_keeping_merge_fields, push_pair, raw_pairs};
use crate::types::{SecretText, Str, truncate};
use crate::{Error, ErrorKind};

fn url_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Url, msg)
}

/// The company site, `https://{company}.streempro.app` (or a newer
/// `…streem.cloud` host): an origin with nothing after it.
fn company_base(base: &str) -> crate::Result<Origin> {
    let trimmed = base.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/embed")
        .or_else(|| trimmed.strip_suffix("/streems"))
        .unwrap_or(trimmed);
    Origin::parse(trimmed)
        .map_err(|e| url_error(format!("the Streem base must be the company's site: {e}")))
}

/// Where the embed page goes after the call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redirect {
    /// The literal `call`: Streem's call details page.
    Call,
    /// Any absolute `http(s)` URL, such as the `/streems` call log.
    Url(String),
}

impl Redirect {
    fn as_str(&self) -> &str {
        match self {
            Self::Call => "call",
            Self::Url(u) => u,
        }
    }

    fn parse(text: &str) -> crate::Result<Self> {
        if text == "call" {
            return Ok(Self::Call);
        }
        let url = url::Url::parse(text)
            .map_err(|e| url_error(format!("`redirect` is neither `call` nor a URL: {e}")))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(url_error(format!(
                "`redirect` must be http(s), not `{}`",
                truncate(url.scheme(), 16)
            )));
        }
        Ok(Self::Url(text.to_owned()))
    }
}

/// The `/embed` parameters the parser reads (lower-cased); each may
/// appear once.
const KNOWN: [&str; 6] = [
    "name",
    "phone",
    "refid",
    "source",
    "callingcode",
    "redirect",
];

/// A Streem `/embed` invite URL.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct EmbedUrl {
    /// The company site.
    pub base: Origin,
    /// The customer's name.
    pub name: Option<Str>,
    /// The customer's phone number, without the country code.
    pub phone: Option<Str>,
    /// The reference id that groups calls (a CRM case or record id).
    pub ref_id: Option<Str>,
    /// Where the invite came from (`salesforce`, …).
    pub source: Option<Str>,
    /// The country calling code, `+1` unless set.
    pub calling_code: Str,
    /// Where to go after the call.
    pub redirect: Option<Redirect>,
    /// An embedded-SSO token, sent in the `#token=` fragment (never in the
    /// query, so it does not reach server logs).
    pub sso_token: Option<SecretText>,
}

impl EmbedUrl {
    /// An invite URL on the company site `base` (`https://acme.streempro.app`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `base` is not an origin.
    pub fn new(base: &str) -> crate::Result<Self> {
        Ok(Self::on(company_base(base)?))
    }

    /// An invite URL on an already parsed company site: parse the site
    /// once, build many URLs.
    #[must_use]
    pub fn on(base: Origin) -> Self {
        Self {
            base,
            name: None,
            phone: None,
            ref_id: None,
            source: None,
            calling_code: Str::new_static("+1"),
            redirect: None,
            sso_token: None,
        }
    }

    /// Sets the customer's name.
    #[must_use]
    pub fn name(mut self, name: impl Into<Str>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the customer's phone number. Streem takes it without the
    /// country code (that is `callingCode`); a number in international
    /// form (`+44 20 7183 8750`) is split into the two, so the calling
    /// code is set too. Any other text is taken as the national number.
    #[must_use]
    pub fn phone(mut self, phone: impl Into<Str>) -> Self {
        let phone = phone.into();
        match crate::phone::split_international(&phone) {
            Ok((code, national)) => {
                self.calling_code = code.into();
                self.phone = Some(national.into());
            }
            Err(_) => self.phone = Some(phone),
        }
        self
    }

    /// Sets the reference id.
    #[must_use]
    pub fn ref_id(mut self, ref_id: impl Into<Str>) -> Self {
        self.ref_id = Some(ref_id.into());
        self
    }

    /// Sets the source.
    #[must_use]
    pub fn source(mut self, source: impl Into<Str>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the calling code (`+44`).
    #[must_use]
    pub fn calling_code(mut self, code: impl Into<Str>) -> Self {
        self.calling_code = code.into();
        self
    }

    /// Sets the redirect.
    #[must_use]
    pub fn redirect(mut self, redirect: Redirect) -> Self {
        self.redirect = Some(redirect);
        self
    }

    /// Sets the embedded-SSO token.
    #[must_use]
    pub fn sso_token(mut self, token: SecretText) -> Self {
        self.sso_token = Some(token);
        self
    }

    /// The URL, with every value encoded (and the token in the fragment).
    #[must_use]
    pub fn to_url(&self) -> String {
        let pairs = [
            ("name", self.name.as_deref()),
            ("phone", self.phone.as_deref()),
            ("refId", self.ref_id.as_deref()),
            ("source", self.source.as_deref()),
            ("callingCode", Some(self.calling_code.as_str())),
            ("redirect", self.redirect.as_ref().map(Redirect::as_str)),
        ];
        // One buffer, sized for the worst case of every value encoded.
        let values: usize = pairs
            .iter()
            .map(|(k, v)| k.len() + 2 + 3 * v.map_or(0, str::len))
            .sum();
        let mut url = String::with_capacity(64 + values);
        self.base.push_to(&mut url);
        url.push_str("/embed?");
        for (k, v) in pairs {
            if let Some(v) = v {
                push_pair(&mut url, k, v);
            }
        }
        if let Some(token) = &self.sso_token {
            url.push('#');
            push_pair(&mut url, "token", token.expose());
        }
        url
    }

    /// The URL for a Salesforce button or link: like [`Self::to_url`], but
    /// Salesforce merge fields in the values (`{!Lead.FirstName}`, also
    /// inside a nested redirect) are left raw for Salesforce to fill in.
    ///
    /// ```
    /// use cti_protocol::streem::{EmbedUrl, Redirect, StreemsUrl};
    ///
    /// let base = "https://yourcompanycodehere.streempro.app";
    /// let calls = StreemsUrl::new(base, "{!Lead.Id}")?.to_salesforce_url();
    /// let button = EmbedUrl::new(base)?
    ///     .name("{!Lead.FirstName}")
    ///     .phone("{!Lead.MobilePhone}")
    ///     .ref_id("{!Lead.Id}")
    ///     .source("SFDC")
    ///     .redirect(Redirect::Url(calls));
    /// assert_eq!(
    ///     button.to_salesforce_url(),
    ///     "https://yourcompanycodehere.streempro.app/embed?name={!Lead.FirstName}&phone={!Lead.MobilePhone}\
    ///      &refId={!Lead.Id}&source=SFDC&callingCode=%2B1\
    ///      &redirect=https%3A%2F%2Fyourcompanycodehere.streempro.app%2Fstreems%3FrefId%3D{!Lead.Id}"
    /// );
    /// # Ok::<(), cti_protocol::Error>(())
    /// ```
    #[must_use]
    pub fn to_salesforce_url(&self) -> String {
        let mut url = self.base.to_string();
        url.push_str("/embed?");
        let pairs = [
            ("name", self.name.as_deref()),
            ("phone", self.phone.as_deref()),
            ("refId", self.ref_id.as_deref()),
            ("source", self.source.as_deref()),
            ("callingCode", Some(self.calling_code.as_str())),
            ("redirect", self.redirect.as_ref().map(Redirect::as_str)),
        ];
        let mut first = true;
        for (k, v) in pairs {
            let Some(v) = v else { continue };
            if !first {
                url.push('&');
            }
            first = false;
            url.push_str(k);
            url.push('=');
            encode_keeping_merge_fields(&mut url, v, &VALUE);
        }
        url
    }

    /// Parses an embed URL, accepting any redirect target. Parameter names
    /// are matched without regard to case (`callingcode` is seen in use);
    /// a raw `+` in `phone` or `callingCode` is read as a plus, elsewhere as
    /// a space.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when it is not an `/embed` URL, a value does not
    /// decode, or `redirect` is neither `call` nor an http(s) URL.
    pub fn parse(url: &str) -> crate::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| url_error(format!("not a URL: {e}")))?;
        if parsed.path().trim_end_matches('/') != "/embed" {
            return Err(url_error(format!(
                "not a Streem `/embed` URL (path `{}`)",
                truncate(parsed.path(), 60)
            )));
        }
        let mut out = Self::new(&parsed.origin().ascii_serialization())?;
        let mut seen: Vec<String> = Vec::new();
        let mut calling_code_given = false;
        for (raw_key, raw_value) in raw_pairs(parsed.query().unwrap_or("")) {
            let key = decode(raw_key, Plus::Space)?;
            let lower = key.to_ascii_lowercase();
            if KNOWN.contains(&lower.as_str()) {
                // One reader taking the first copy and another the last
                // (or the exact-case one) is how allowlists get bypassed.
                if seen.contains(&lower) {
                    return Err(url_error(format!(
                        "`{}` is given more than once",
                        truncate(&key, 40)
                    )));
                }
                seen.push(lower.clone());
            }
            let plus = if matches!(lower.as_str(), "phone" | "callingcode") {
                Plus::Literal
            } else {
                Plus::Space
            };
            let value = decode(raw_value, plus)?;
            match lower.as_str() {
                "name" => out.name = Some(value.into()),
                "phone" => out.phone = Some(value.into()),
                "refid" => out.ref_id = Some(value.into()),
                "source" => out.source = Some(value.into()),
                "callingcode" => {
                    calling_code_given = true;
                    out.calling_code = value.into();
                }
                "redirect" => out.redirect = Some(Redirect::parse(&value)?),
                _ => {}
            }
        }
        // A phone in international form carries its own calling code:
        // split it, as the builder does (the canonical form has the
        // national number in `phone`).
        if let Some(phone) = out.phone.clone()
            && phone.trim_start().starts_with('+')
            && let Ok((code, national)) = crate::phone::split_international(&phone)
        {
            if calling_code_given && out.calling_code.trim() != code {
                return Err(url_error(format!(
                    "`phone` is a {code} number but `callingCode` is `{}`",
                    truncate(&out.calling_code, 8)
                )));
            }
            out.calling_code = code.into();
            out.phone = Some(national.into());
        }
        if let Some(fragment) = parsed.fragment() {
            for (k, v) in raw_pairs(fragment) {
                if k.eq_ignore_ascii_case("token") {
                    if out.sso_token.is_some() {
                        return Err(url_error("`token` is given more than once"));
                    }
                    out.sso_token = Some(SecretText::new(decode(v, Plus::Literal)?));
                }
            }
        }
        Ok(out)
    }

    /// Parses an embed URL on a server, refusing a redirect whose origin is
    /// not in `allow` (the literal `call` is always allowed).
    ///
    /// # Errors
    ///
    /// As [`EmbedUrl::parse`], and [`ErrorKind::Url`] for a redirect target
    /// outside `allow`.
    pub fn parse_checked(url: &str, allow: &OriginAllowlist) -> crate::Result<Self> {
        let mut out = Self::parse(url)?;
        if let Some(Redirect::Url(target)) = &out.redirect {
            let mut parsed =
                url::Url::parse(target).map_err(|_| url_error("`redirect` is not a URL"))?;
            // The seed's "Power User" redirect sends the agent to the
            // company's own call log, written with `http://`. The company
            // site is the embed's own origin, so it is no open redirect;
            // it is kept, on https.
            let own_site = parsed.scheme() == "http"
                && parsed.port().is_none()
                && parsed.host_str().is_some()
                && parsed.host_str() == out.base.host();
            if own_site && parsed.set_scheme("https").is_ok() {
                out.redirect = Some(Redirect::Url(parsed.to_string()));
            }
            let origin = parsed.origin().ascii_serialization();
            if origin == out.base.to_string() {
                return Ok(out);
            }
            if !allow.allows_str(&origin) {
                return Err(url_error(format!(
                    "`redirect` to {} is not allowed",
                    truncate(&origin, 80)
                )));
            }
        }
        Ok(out)
    }
}

impl fmt::Debug for EmbedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbedUrl")
            .field("base", &self.base)
            .field("name", &self.name.as_ref().map(|_| "<personal data>"))
            .field("phone", &self.phone.as_ref().map(|_| "<personal data>"))
            .field("ref_id", &self.ref_id)
            .field("source", &self.source)
            .field("calling_code", &self.calling_code)
            .field("redirect", &self.redirect)
            .field("sso_token", &self.sso_token)
            .finish()
    }
}

/// A Streem `/streems?refId=` call-log URL: every call with that reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreemsUrl {
    /// The company site.
    pub base: Origin,
    /// The reference id.
    pub ref_id: String,
}

impl StreemsUrl {
    /// The call log of `ref_id` on the company site `base`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `base` is not an origin or `ref_id` is empty.
    pub fn new(base: &str, ref_id: impl Into<String>) -> crate::Result<Self> {
        let ref_id = ref_id.into();
        if ref_id.is_empty() {
            return Err(url_error("a call log needs a reference id"));
        }
        Ok(Self {
            base: company_base(base)?,
            ref_id,
        })
    }

    /// The URL.
    #[must_use]
    pub fn to_url(&self) -> String {
        let mut url = String::with_capacity(48 + 3 * self.ref_id.len());
        self.base.push_to(&mut url);
        url.push_str("/streems?");
        push_pair(&mut url, "refId", &self.ref_id);
        url
    }

    /// The URL for a Salesforce button, link or redirect: merge fields in
    /// the reference id (`{!Lead.Id}`) are left raw.
    #[must_use]
    pub fn to_salesforce_url(&self) -> String {
        let mut url = self.base.to_string();
        url.push_str("/streems?refId=");
        encode_keeping_merge_fields(&mut url, &self.ref_id, &VALUE);
        url
    }

    /// Parses a call-log URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when it is not a `/streems` URL with a `refId`.
    pub fn parse(url: &str) -> crate::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| url_error(format!("not a URL: {e}")))?;
        if parsed.path().trim_end_matches('/') != "/streems" {
            return Err(url_error("not a Streem `/streems` URL"));
        }
        let mut ref_ids = raw_pairs(parsed.query().unwrap_or(""))
            .filter(|(k, _)| decode(k, Plus::Space).is_ok_and(|k| k.eq_ignore_ascii_case("refId")));
        let ref_id = ref_ids
            .next()
            .map(|(_, v)| decode(v, Plus::Space))
            .transpose()?
            .ok_or_else(|| url_error("a `/streems` URL needs `refId`"))?;
        if ref_ids.next().is_some() {
            return Err(url_error("`refId` is given more than once"));
        }
        Self::new(&parsed.origin().ascii_serialization(), ref_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_or_case_variant_parameters_are_refused() {
        let allow = crate::origin::vendor::streem();
        let ok = "https%3A%2F%2Facme.streempro.app%2Fstreems%3FrefId%3D1";
        let evil = "https%3A%2F%2Fevil.example%2F";
        for query in [
            format!("redirect={evil}&redirect={ok}"),
            format!("redirect={ok}&redirect={evil}"),
            format!("redirect={evil}&Redirect={ok}"),
            format!("REDIRECT={ok}&redirect={evil}"),
            format!("re%64irect={evil}&redirect={ok}"),
            "refId=1&refid=2".to_owned(),
            "phone=1&Phone=2".to_owned(),
        ] {
            let url = format!("https://acme.streempro.app/embed?{query}");
            let err = EmbedUrl::parse_checked(&url, &allow).unwrap_err();
            assert!(err.to_string().contains("more than once"), "{query}: {err}");
            assert!(EmbedUrl::parse(&url).is_err(), "{query}");
        }
        assert!(
            EmbedUrl::parse("https://acme.streempro.app/embed?refId=1#token=a&TOKEN=b").is_err()
        );
        assert!(StreemsUrl::parse("https://acme.streempro.app/streems?refId=1&REFID=2").is_err());
        // Unknown parameters may repeat: nothing reads them.
        assert!(EmbedUrl::parse("https://acme.streempro.app/embed?utm=1&utm=2&refId=3").is_ok());
    }

    #[test]
    fn nested_call_log_redirect_does_not_leak() {
        let calls = StreemsUrl::new("https://acme.streempro.app", "A&B=C").unwrap();
        let embed = EmbedUrl::new("https://acme.streempro.app/embed")
            .unwrap()
            .ref_id("A&B=C")
            .phone("+44 20 7946 0958")
            .redirect(Redirect::Url(calls.to_url()));
        let url = url::Url::parse(&embed.to_url()).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs.len(), 4, "{pairs:?}");
        let redirect = &pairs.iter().find(|(k, _)| k == "redirect").unwrap().1;
        assert_eq!(StreemsUrl::parse(redirect).unwrap(), calls);
        assert_eq!(EmbedUrl::parse(&embed.to_url()).unwrap(), embed);
    }

    #[test]
    fn open_redirects_are_refused() {
        let evil = EmbedUrl::new("https://acme.streempro.app")
            .unwrap()
            .redirect(Redirect::Url("https://evil.example/x".into()));
        let err =
            EmbedUrl::parse_checked(&evil.to_url(), &crate::origin::vendor::streem()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Url);
        let js = "https://acme.streempro.app/embed?redirect=javascript%3Aalert(1)";
        assert_eq!(EmbedUrl::parse(js).unwrap_err().kind(), ErrorKind::Url);
        let call = "https://acme.streempro.app/embed?redirect=call";
        assert_eq!(
            EmbedUrl::parse_checked(call, &OriginAllowlist::new())
                .unwrap()
                .redirect,
            Some(Redirect::Call)
        );
    }

    #[test]
    fn international_numbers_are_split_into_calling_code_and_phone() {
        // The seed: `phone` without the country code, `callingCode` +44
        // for UK numbers.
        let e = EmbedUrl::new("https://acme.streempro.app")
            .unwrap()
            .phone("+44 20 7183 8750");
        assert_eq!(e.calling_code, "+44");
        assert_eq!(e.phone.as_deref(), Some("2071838750"));
        assert!(e.to_url().contains("phone=2071838750&callingCode=%2B44"));
        // A national number stays as given, with the default +1.
        let e = EmbedUrl::new("https://acme.streempro.app")
            .unwrap()
            .phone("5035551212");
        assert_eq!(
            (e.calling_code.as_str(), e.phone.as_deref()),
            ("+1", Some("5035551212"))
        );
        // Parsing emits the same canonical form.
        let e = EmbedUrl::parse("https://acme.streempro.app/embed?phone=%2B442071838750&refId=1")
            .unwrap();
        assert_eq!(
            (e.calling_code.as_str(), e.phone.as_deref()),
            ("+44", Some("2071838750"))
        );
        let e = EmbedUrl::parse(
            "https://acme.streempro.app/embed?phone=%2B442071838750&callingCode=%2B44",
        )
        .unwrap();
        assert_eq!(e.phone.as_deref(), Some("2071838750"));
        assert!(
            EmbedUrl::parse(
                "https://acme.streempro.app/embed?phone=%2B442071838750&callingCode=%2B1"
            )
            .is_err()
        );
    }

    #[test]
    fn the_seed_power_user_redirect_is_accepted_on_https() {
        // The seed's example, with a reference id in place of the
        // Salesforce merge field.
        let url = "https://yourcompanycodehere.streempro.app/embed?name=Ada&phone=5035551212&refId=00Q5&source=SFDC&redirect=http%3A%2F%2Fyourcompanycodehere.streempro.app%2Fstreems%3FrefId%3D00Q5";
        let e = EmbedUrl::parse_checked(url, &crate::origin::vendor::streem()).unwrap();
        assert_eq!(
            e.redirect,
            Some(Redirect::Url(
                "https://yourcompanycodehere.streempro.app/streems?refId=00Q5".into()
            ))
        );
        // Another company's site, or another host over http, is still
        // refused.
        for other in [
            "http%3A%2F%2Fevil.example%2Fstreems",
            "https%3A%2F%2Fevil.example%2F",
            "http%3A%2F%2Fother.streempro.app%2Fstreems",
        ] {
            let url = format!("https://yourcompanycodehere.streempro.app/embed?redirect={other}");
            assert!(
                EmbedUrl::parse_checked(&url, &crate::origin::vendor::streem()).is_err(),
                "{other}"
            );
        }
    }

    #[test]
    fn lenient_parsing_and_sso_fragment() {
        let url =
            "https://acme.streempro.app/embed?callingcode=+44&phone=+7946&name=Ada+L#token=abc.def";
        let e = EmbedUrl::parse(url).unwrap();
        assert_eq!(e.calling_code, "+44");
        assert_eq!(e.phone.as_deref(), Some("+7946"));
        assert_eq!(e.name.as_deref(), Some("Ada L"));
        assert_eq!(
            e.sso_token.as_ref().map(SecretText::expose),
            Some("abc.def")
        );
        let debug = format!("{e:?}");
        assert!(
            !debug.contains("abc.def") && !debug.contains("7946") && !debug.contains("Ada"),
            "{debug}"
        );
        assert!(EmbedUrl::parse("https://acme.streempro.app/other?x=1").is_err());
        assert!(EmbedUrl::new("https://acme.streempro.app/some/path").is_err());
    }
}
