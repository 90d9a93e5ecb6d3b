//! The CCAI Platform generic CRM API, described as data: each endpoint a
//! CRM admin configures (URL, method, parameters in the
//! [`template`](super::template) language, request format, response data
//! location, timeout) and the concrete request it produces for a session.
//!
//! `cti-client` runs these against a CRM (the find-or-create flows, auth,
//! retries); `cti-server-kit` serves the same shapes from a `CrmBackend`.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint};
//! use cti_protocol::ccai::template::{RequestFormat, Values, Variable};
//! use cti_protocol::endpoint::Method;
//!
//! let create = GenericEndpoint::new(EndpointKind::CreateRecord, Method::Post, "https://crm.example.com/api/records")?
//!     .param("subject", "Call from {NAME}")?
//!     .param("owner", "=DEFAULT_VALUE({AGENT_EMAIL}, support@example.com)")?
//!     .param("contactId", "{ACCOUNT_ID}")?
//!     .format(RequestFormat::ContainerMap("record".into()))
//!     .response_location("data.record");
//! let req = create.build(&Values::new().with(Variable::Name, "Ada").with(Variable::AccountId, "123"))?;
//! assert_eq!(req.url, "https://crm.example.com/api/records");
//! assert_eq!(
//!     req.body,
//!     Some(serde_json::json!({"record": {"subject": "Call from Ada", "owner": "support@example.com", "contactId": 123}}))
//! );
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::time::Duration;

use super::template::{Parameter, RequestFormat, UrlTemplate, Values, build_body, response_data};
use crate::endpoint::Method;
use crate::query::push_pair;
use crate::{Error, ErrorKind};

/// The endpoints of the generic API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointKind {
    /// Find an account by phone number, e-mail or CRM id (the default finder).
    FindAccountByQuery,
    /// Find an account by id (REST style); a 404 falls back to the query finder.
    FindAccountById,
    /// Create an account when none was found.
    CreateAccount,
    /// Find a record (case, ticket) by query.
    FindRecordByQuery,
    /// Create a record.
    CreateRecord,
    /// Update a record's title, description or fields.
    UpdateRecord,
    /// Upload an attachment to a record.
    UploadFile,
    /// Add a comment to a record.
    Comment,
}

/// How an upload sends the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum UploadType {
    /// The file base64-encoded in `{FILE_DATA}`.
    #[default]
    Base64,
    /// A multipart form.
    Multipart,
}

/// How an upload's response names the attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachmentResult {
    /// An id at a location in the response; the download URL is built from
    /// a template using `{RECORD_ID}` and `{ATTACHMENT_ID}`.
    Id {
        /// Where the id is in the response.
        location: String,
        /// The attachment builder URL.
        builder: UrlTemplate,
    },
    /// A download URL at a location in the response.
    Url {
        /// Where the URL is in the response.
        location: String,
    },
}

/// How comments are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TextFormat {
    /// Plain text.
    #[default]
    Plain,
    /// HTML ("Convert text to HTML").
    Html,
}

/// One configured generic-API endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GenericEndpoint {
    /// Which endpoint.
    pub kind: EndpointKind,
    /// The method (POST, GET, PUT or PATCH).
    pub method: Method,
    /// The request URL; it may use variables (`{ACCOUNT_ID}`, `{RECORD_ID}`).
    pub url: UrlTemplate,
    /// The parameters, in order.
    pub params: Vec<(String, Parameter)>,
    /// How parameters are laid out in a body (POST, PUT, PATCH).
    pub format: RequestFormat,
    /// Where the target object is in the response (`""` for the root).
    pub response_location: String,
    /// The request timeout, 1–10 s when set.
    pub timeout: Option<Duration>,
    /// For [`EndpointKind::UploadFile`]: how the file travels.
    pub upload: UploadType,
    /// For [`EndpointKind::UploadFile`]: how the response names the file.
    pub attachment: Option<AttachmentResult>,
    /// For [`EndpointKind::Comment`]: plain text or HTML.
    pub text_format: TextFormat,
}

fn config_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Template, msg)
}

/// A concrete request for one session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BuiltRequest {
    /// The method.
    pub method: Method,
    /// The full URL (GET parameters appended to its query).
    pub url: String,
    /// The JSON body (POST, PUT, PATCH).
    pub body: Option<serde_json::Value>,
    /// The timeout to enforce.
    pub timeout: Option<Duration>,
}

impl GenericEndpoint {
    /// An endpoint with no parameters, the property format, the whole
    /// response as its data, and no timeout.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] when the URL template does not parse.
    pub fn new(kind: EndpointKind, method: Method, url: &str) -> crate::Result<Self> {
        Ok(Self {
            kind,
            method,
            url: UrlTemplate::parse(url)?,
            params: Vec::new(),
            format: RequestFormat::Property,
            response_location: String::new(),
            timeout: None,
            upload: UploadType::default(),
            attachment: None,
            text_format: TextFormat::default(),
        })
    }

    /// Adds a parameter.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] for an empty name or a value that does not parse.
    pub fn param(mut self, name: &str, value: &str) -> crate::Result<Self> {
        if name.trim().is_empty() {
            return Err(config_error("a parameter needs a name"));
        }
        self.params
            .push((name.to_owned(), Parameter::parse(value)?));
        Ok(self)
    }

    /// Sets the request format.
    #[must_use]
    pub fn format(mut self, format: RequestFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets the response data location.
    #[must_use]
    pub fn response_location(mut self, location: impl Into<String>) -> Self {
        self.response_location = location.into();
        self
    }

    /// Sets the timeout, which CCAI allows from 1 to 10 seconds.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] outside 1–10 s.
    pub fn timeout(mut self, timeout: Duration) -> crate::Result<Self> {
        if timeout < Duration::from_secs(1) || timeout > Duration::from_secs(10) {
            return Err(config_error(
                "the request timeout must be between 1 and 10 seconds",
            ));
        }
        self.timeout = Some(timeout);
        Ok(self)
    }

    /// Evaluates the parameters for a session and builds the request.
    /// Removed parameters are left out; for GET they go in the query, for
    /// the other methods in a body of the configured format.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] when the URL cannot be expanded with these values.
    pub fn build(&self, values: &Values) -> crate::Result<BuiltRequest> {
        let mut url = self.url.expand(values)?;
        let body = if self.method == Method::Get {
            let mut query = String::new();
            for (k, p) in &self.params {
                if let Some(v) = p.evaluate(values) {
                    push_pair(&mut query, k, &v);
                }
            }
            if !query.is_empty() {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&query);
            }
            None
        } else {
            Some(build_body(
                &self.format,
                self.params
                    .iter()
                    .map(|(k, p)| (k.as_str(), p.evaluate_json(values))),
            ))
        };
        Ok(BuiltRequest {
            method: self.method,
            url,
            body,
            timeout: self.timeout,
        })
    }

    /// The target object of a response, at the configured location.
    #[must_use]
    pub fn data<'v>(&self, response: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        response_data(response, &self.response_location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccai::template::Variable;

    #[test]
    fn get_puts_parameters_in_the_query() {
        let find = GenericEndpoint::new(
            EndpointKind::FindAccountByQuery,
            Method::Get,
            "https://crm.example.com/api/accounts?limit=1",
        )
        .unwrap()
        .param(
            "criteria",
            "=CONCAT_OR((Phone:equals:{PHONE_NUMBER}), (Email:equals:{EMAIL}))",
        )
        .unwrap()
        .param("unused", "{CUID}")
        .unwrap()
        .response_location("data[0]")
        .timeout(Duration::from_secs(5))
        .unwrap();
        let req = find
            .build(&Values::new().with(Variable::PhoneNumber, "+14155552671"))
            .unwrap();
        assert_eq!(
            req.url,
            "https://crm.example.com/api/accounts?limit=1&criteria=%28Phone%3Aequals%3A%2B14155552671%29"
        );
        assert_eq!(req.body, None);
        let resp = serde_json::json!({"data": [{"id": 123}]});
        assert_eq!(find.data(&resp), Some(&serde_json::json!({"id": 123})));
        assert!(find.clone().timeout(Duration::from_secs(11)).is_err());
        assert!(find.clone().timeout(Duration::from_millis(500)).is_err());
    }

    #[test]
    fn by_id_url_and_array_container() {
        let by_id = GenericEndpoint::new(
            EndpointKind::FindAccountById,
            Method::Get,
            "https://crm.example.com/api/accounts/{ACCOUNT_ID}",
        )
        .unwrap();
        assert_eq!(
            by_id
                .build(&Values::new().with(Variable::AccountId, "a/1"))
                .unwrap()
                .url,
            "https://crm.example.com/api/accounts/a%2F1"
        );
        let comment = GenericEndpoint::new(
            EndpointKind::Comment,
            Method::Post,
            "https://crm.example.com/api/records/{RECORD_ID}/comments",
        )
        .unwrap()
        .param("comment", "{COMMENT_BODY}")
        .unwrap()
        .format(RequestFormat::ContainerArray("data".into()));
        let req = comment
            .build(
                &Values::new()
                    .with(Variable::RecordId, "9")
                    .with(Variable::CommentBody, "Call ended"),
            )
            .unwrap();
        assert_eq!(
            req.body,
            Some(serde_json::json!({"data": [{"comment": "Call ended"}]}))
        );
        assert!(
            GenericEndpoint::new(
                EndpointKind::Comment,
                Method::Post,
                "https://crm.example.com"
            )
            .unwrap()
            .param(" ", "x")
            .is_err()
        );
    }
}
