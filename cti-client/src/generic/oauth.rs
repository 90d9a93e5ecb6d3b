//! OAuth 2.0 for the generic CRM API: the `oauth2` crate's flows, driven
//! through our own `reqwest` client, with the token cached and refreshed.

use std::fmt;
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, RedirectUrl, RefreshToken,
    Scope, TokenResponse as _, TokenUrl,
};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Mutex;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::exec::Transport;

/// The OAuth 2.0 settings of CCAI's generic API: authorization and token
/// URLs, client id and secret, and the optional scope, state, access type
/// and redirect URL.
///
/// Tokens come from, in order: a refresh token (set here or returned by an
/// earlier exchange), else the client-credentials grant. A token is fetched
/// once and reused until 30 s before it expires, or until the CRM answers
/// 401.
///
/// # Examples
///
/// ```
/// use cti_client::generic::OAuthConfig;
///
/// let oauth = OAuthConfig::new(
///     "https://crm.example.com/oauth/authorize",
///     "https://crm.example.com/oauth/token",
///     "ccai",
///     "client-secret",
/// )?
/// .scope("records")
/// .access_type("offline");
/// let consent = oauth.consent_url()?;
/// assert!(consent.as_str().contains("access_type=offline"));
/// assert!(!format!("{oauth:?}").contains("client-secret"));
/// # Ok::<(), cti_client::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct OAuthConfig {
    authorization_url: Url,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    state: Option<String>,
    access_type: Option<String>,
    redirect_url: Option<Url>,
    refresh_token: Option<SecretString>,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("authorization_url", &self.authorization_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("access_type", &self.access_type)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

fn bad_url(what: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("the OAuth {what} is not an http(s) URL"),
    )
}

fn http_url(text: &str, what: &str) -> Result<Url> {
    let url = Url::parse(text).map_err(|_| bad_url(what))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(url)
    } else {
        Err(bad_url(what))
    }
}

impl OAuthConfig {
    /// The four required settings.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when a URL is not an http(s) URL or the
    /// client id is empty.
    pub fn new(
        authorization_url: &str,
        token_url: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self> {
        let client_id = client_id.into();
        if client_id.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the OAuth client id is empty",
            ));
        }
        Ok(Self {
            authorization_url: http_url(authorization_url, "authorization URL")?,
            token_url: http_url(token_url, "token URL")?,
            client_id,
            client_secret: SecretString::from(client_secret.into()),
            scopes: Vec::new(),
            state: None,
            access_type: None,
            redirect_url: None,
            refresh_token: None,
        })
    }

    /// Adds a scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Sets the `state` of the consent URL.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets the `access_type` of the consent URL (`offline` asks for a
    /// refresh token).
    pub fn access_type(mut self, access_type: impl Into<String>) -> Self {
        self.access_type = Some(access_type.into());
        self
    }

    /// Sets the redirect URL, sent with the consent URL and the code
    /// exchange.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when it is not an http(s) URL.
    pub fn redirect_url(mut self, url: &str) -> Result<Self> {
        self.redirect_url = Some(http_url(url, "redirect URL")?);
        Ok(self)
    }

    /// Sets a refresh token obtained earlier.
    pub fn refresh_token(mut self, token: impl Into<String>) -> Self {
        self.refresh_token = Some(SecretString::from(token.into()));
        self
    }

    fn client(
        &self,
    ) -> oauth2::Client<
        oauth2::basic::BasicErrorResponse,
        oauth2::basic::BasicTokenResponse,
        oauth2::basic::BasicTokenIntrospectionResponse,
        oauth2::StandardRevocableToken,
        oauth2::basic::BasicRevocationErrorResponse,
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(AuthUrl::from_url(self.authorization_url.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()));
        match &self.redirect_url {
            Some(r) => client.set_redirect_uri(RedirectUrl::from_url(r.clone())),
            None => client,
        }
    }

    /// The URL an administrator opens to grant access (the authorization
    /// code flow); the code it returns goes to
    /// [`GenericCrmClient::oauth_exchange_code`](super::GenericCrmClient::oauth_exchange_code).
    ///
    /// # Errors
    ///
    /// Never at present; kept fallible for future validation.
    pub fn consent_url(&self) -> Result<Url> {
        let state = self.state.clone();
        let client = self.client();
        let mut req = client.authorize_url(move || {
            CsrfToken::new(state.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()))
        });
        for s in &self.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        if let Some(a) = &self.access_type {
            req = req.add_extra_param("access_type", a.clone());
        }
        Ok(req.url().0)
    }
}

struct Token {
    access: SecretString,
    refresh: Option<SecretString>,
    expires: Option<Instant>,
}

/// The cached token of one client.
pub(crate) struct OAuthTokens {
    config: OAuthConfig,
    token: Mutex<Option<Token>>,
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Refresh this long before the server's expiry.
const MARGIN: Duration = Duration::from_secs(30);

fn auth_error<E: std::error::Error>(what: &str, e: &E) -> Error {
    // The oauth2 errors carry the server's error code and description,
    // never our secret.
    Error::new(ErrorKind::Auth, format!("OAuth {what} failed: {e}"))
}

impl OAuthTokens {
    pub(crate) fn new(config: OAuthConfig) -> Self {
        Self {
            config,
            token: Mutex::new(None),
        }
    }

    /// The current access token, fetching or refreshing it when needed.
    pub(crate) async fn bearer(&self, transport: &Transport) -> Result<SecretString> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref()
            && t.expires.is_none_or(|e| Instant::now() + MARGIN < e)
        {
            return Ok(t.access.clone());
        }
        let refresh = guard
            .as_ref()
            .and_then(|t| t.refresh.clone())
            .or_else(|| self.config.refresh_token.clone());
        let fresh = self.fetch(transport, refresh).await?;
        let access = fresh.access.clone();
        *guard = Some(fresh);
        Ok(access)
    }

    /// Forgets `used` (the CRM refused it), unless it was replaced already.
    pub(crate) async fn invalidate(&self, used: &SecretString) {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_mut()
            && t.access.expose_secret() == used.expose_secret()
        {
            t.expires = Some(Instant::now());
        }
    }

    pub(crate) async fn exchange_code(&self, transport: &Transport, code: &str) -> Result<()> {
        let http = http_fn(transport);
        let resp = self
            .config
            .client()
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| auth_error("code exchange", &e))?;
        *self.token.lock().await = Some(token_of(&resp, None));
        Ok(())
    }

    async fn fetch(&self, transport: &Transport, refresh: Option<SecretString>) -> Result<Token> {
        let http = http_fn(transport);
        let client = self.config.client();
        let scopes = self.config.scopes.iter().map(|s| Scope::new(s.clone()));
        tracing::debug!(refresh = refresh.is_some(), "fetching an OAuth token");
        match refresh {
            Some(r) => {
                let rt = RefreshToken::new(r.expose_secret().to_owned());
                let resp = client
                    .exchange_refresh_token(&rt)
                    .add_scopes(scopes)
                    .request_async(&http)
                    .await
                    .map_err(|e| auth_error("token refresh", &e))?;
                Ok(token_of(&resp, Some(r)))
            }
            None => {
                let resp = client
                    .exchange_client_credentials()
                    .add_scopes(scopes)
                    .request_async(&http)
                    .await
                    .map_err(|e| auth_error("token request", &e))?;
                Ok(token_of(&resp, None))
            }
        }
    }
}

fn token_of(resp: &oauth2::basic::BasicTokenResponse, old_refresh: Option<SecretString>) -> Token {
    Token {
        access: SecretString::from(resp.access_token().secret().clone()),
        refresh: resp
            .refresh_token()
            .map(|r| SecretString::from(r.secret().clone()))
            .or(old_refresh),
        expires: resp.expires_in().map(|d| Instant::now() + d),
    }
}

/// The `oauth2` HTTP function over our `reqwest` client, with our timeout
/// and body limit, never following redirects of its own accord beyond the
/// client's policy.
fn http_fn(
    transport: &Transport,
) -> impl Fn(
    oauth2::HttpRequest,
) -> std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse>> + Send>> {
    let http = transport.http.clone();
    let timeout = transport.timeout;
    let max = transport.max_body;
    move |req: oauth2::HttpRequest| {
        let http = http.clone();
        Box::pin(async move {
            let url = Url::parse(&req.uri().to_string())
                .map_err(|_| Error::new(ErrorKind::Config, "bad OAuth URL"))?;
            let req = reqwest::Request::try_from(req).map_err(|e| Error::from_reqwest(e, &url))?;
            let work = async {
                let resp = http
                    .execute(req)
                    .await
                    .map_err(|e| Error::from_reqwest(e, &url))?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = crate::exec::read_limited(resp, max, &url).await?;
                let mut out = oauth2::http::Response::builder().status(status);
                if let Some(h) = out.headers_mut() {
                    *h = headers;
                }
                out.body(body.to_vec())
                    .map_err(|e| Error::new(ErrorKind::Decode, format!("bad OAuth answer: {e}")))
            };
            tokio::time::timeout(timeout, work).await.map_err(|_| {
                Error::new(ErrorKind::Timeout, "the OAuth token request timed out").with_url(&url)
            })?
        })
    }
}
