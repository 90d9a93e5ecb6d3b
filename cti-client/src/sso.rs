//! The SSO client: Ameyo's login/logout exchange against a CRM endpoint.

use std::time::Duration;

use cti_protocol::ameyo::sso::{Sso, SsoForm, SsoRequest, SsoResponse};
use cti_protocol::endpoint::Endpoint;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use crate::error::{ErrorKind, Result};
use crate::exec::{Answer, Transport, parse_base, prepare};
use crate::policy::{Idempotency, RetryPolicy};

/// A client of one CRM's SSO endpoint, which takes both `login` and
/// `logout` as a JSON body or as the form field `request=`.
///
/// Vendors call it at agent login and logout; CRM developers use it (or
/// `cti sso`) to test their own endpoint. Neither the password nor the
/// session reaches `Debug` output or logs.
///
/// # Examples
///
/// ```no_run
/// use cti_client::sso::SsoClient;
/// use secrecy::SecretString;
///
/// # async fn run() -> cti_client::Result<()> {
/// let sso = SsoClient::new("https://crm.example.com/ameyo/sso")?.form(true);
/// let session = sso.login("agent", &SecretString::from("s3cret")).await?;
/// sso.logout(&session).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SsoClient {
    url: Url,
    form: bool,
    transport: Transport,
}

impl SsoClient {
    /// A client of the endpoint at `url`, sending JSON.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when `url` is not an http(s) URL.
    pub fn new(url: &str) -> Result<Self> {
        Self::with_http(url, reqwest::Client::new())
    }

    /// A client that sends through `http`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when `url` is not an http(s) URL.
    pub fn with_http(url: &str, http: reqwest::Client) -> Result<Self> {
        let mut transport = Transport::new(http);
        transport.timeout = Duration::from_secs(10);
        Ok(Self {
            url: parse_base(url)?,
            form: false,
            transport,
        })
    }

    /// Sends `request=<json>` as a form instead of a JSON body.
    #[must_use]
    pub fn form(mut self, form: bool) -> Self {
        self.form = form;
        self
    }

    /// Sets the timeout of each attempt (10 s by default).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// Sets the retry policy. SSO requests are retried only when the
    /// connection could not be made.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport.retry = policy;
        self
    }

    async fn send(&self, req: &SsoRequest) -> Result<(Answer, SsoResponse)> {
        let p = if self.form {
            prepare::<SsoForm>(&self.url, req, HeaderMap::new(), Idempotency::Unsafe)?
        } else {
            prepare::<Sso>(&self.url, req, HeaderMap::new(), Idempotency::Unsafe)?
        };
        let answer = self.transport.execute(&p).await?;
        let what = Sso::METADATA.name;
        if !answer.is_success() {
            // What the server said, if anything readable.
            let said = serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .filter(|m| !m.is_empty())
                .or_else(|| {
                    if answer.is_html() {
                        Some("an HTML error page".to_owned())
                    } else {
                        Some(answer.snippet(200)).filter(|s| !s.trim().is_empty())
                    }
                });
            // What the status means for an SSO call.
            let meaning = match answer.status {
                404 | 410 => Some("no SSO endpoint at this URL"),
                405 => Some("this URL does not take the SSO POST"),
                401 | 403 => Some("the CRM refused the request"),
                s if s >= 500 => Some("the CRM failed"),
                _ => None,
            };
            let why = match (meaning, said) {
                (Some(m), Some(s)) => format!("{m} (the server says: {s})"),
                (Some(m), None) => m.to_owned(),
                (None, Some(s)) => s,
                (None, None) => "no reason given".to_owned(),
            };
            return Err(answer.error(ErrorKind::Status, format!("{what} failed: {why}")));
        }
        let resp: SsoResponse = answer.json(what)?;
        if !resp.is_success() {
            let why = if resp.message.is_empty() {
                format!("status `{}`", resp.status)
            } else {
                resp.message.clone()
            };
            return Err(answer.error(ErrorKind::Vendor, format!("{what} refused: {why}")));
        }
        Ok((answer, resp))
    }

    /// Logs `user_id` in and returns the CRM's `crmSessionId`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Vendor`] with the CRM's message for `status: failed`;
    /// [`ErrorKind::Decode`] when a success carries no session;
    /// [`ErrorKind::Status`] for an error status; the transport kinds.
    pub async fn login(&self, user_id: &str, password: &SecretString) -> Result<SecretString> {
        let req = SsoRequest::Login {
            user_id: user_id.to_owned(),
            password: password.expose_secret().into(),
        };
        let (answer, resp) = self.send(&req).await?;
        match resp.crm_session_id {
            Some(s) if !s.expose().is_empty() => Ok(SecretString::from(s.expose().to_owned())),
            _ => Err(answer.error(
                ErrorKind::Decode,
                "sso: the login succeeded but the answer has no crmSessionId",
            )),
        }
    }

    /// Ends the CRM session `crm_session_id`.
    ///
    /// # Errors
    ///
    /// As [`login`](Self::login).
    pub async fn logout(&self, crm_session_id: &SecretString) -> Result<()> {
        let req = SsoRequest::Logout {
            crm_session_id: crm_session_id.expose_secret().into(),
        };
        self.send(&req).await.map(|_| ())
    }
}
