//! The SSO exchange Ameyo runs against a CRM: one CRM endpoint takes both
//! `login` and `logout`, as a JSON body or as the form field `request=`.
//!
//! ```
//! use cti_protocol::ameyo::sso::{SsoRequest, SsoResponse};
//!
//! let login: SsoRequest = serde_json::from_str(r#"{"password":"s3cret","userId":"agent","command":"login"}"#)?;
//! assert!(matches!(&login, SsoRequest::Login { user_id, .. } if user_id == "agent"));
//! assert!(!format!("{login:?}").contains("s3cret"));
//!
//! let ok = SsoResponse::logged_in("crm-sess-norah-123-434343", "welcome");
//! assert_eq!(serde_json::to_value(&ok)?["crmSessionId"], "crm-sess-norah-123-434343");
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::endpoint::{BodyEncoding, Endpoint, Metadata, Method, ResponseKind};
use crate::types::SecretText;

/// A login or logout request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "command", rename_all = "lowercase")]
#[non_exhaustive]
pub enum SsoRequest {
    /// Log an agent in; the answer carries a `crmSessionId`.
    Login {
        /// The user id (the same in Ameyo and the CRM).
        #[serde(rename = "userId")]
        user_id: String,
        /// The password; never shown in `Debug`.
        password: SecretText,
    },
    /// End a CRM session.
    Logout {
        /// The session to end; never shown in `Debug`.
        #[serde(rename = "crmSessionId")]
        crm_session_id: SecretText,
    },
}

/// The CRM's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SsoResponse {
    /// `"success"` or `"failed"`.
    pub status: String,
    /// The new session (login only); never shown in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_session_id: Option<SecretText>,
    /// A message (`""` allowed).
    #[serde(default)]
    pub message: String,
}

impl SsoResponse {
    /// A successful login.
    #[must_use]
    pub fn logged_in(session: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: "success".into(),
            crm_session_id: Some(SecretText::new(session)),
            message: message.into(),
        }
    }

    /// A successful logout (or any success without a session).
    #[must_use]
    pub fn ok() -> Self {
        Self {
            status: "success".into(),
            crm_session_id: None,
            message: String::new(),
        }
    }

    /// A failure.
    #[must_use]
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            status: "failed".into(),
            crm_session_id: None,
            message: message.into(),
        }
    }

    /// `true` for `"success"`.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.status.eq_ignore_ascii_case("success")
    }
}

/// The SSO endpoint with a JSON body. Its path is the CRM's own choice, so
/// the description's path is empty: the caller's base URL is the endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Sso;

impl Endpoint for Sso {
    type Request = SsoRequest;
    type Response = SsoResponse;
    const METADATA: Metadata = Metadata {
        name: "sso",
        method: Method::Post,
        path: "",
        headers: &[],
        body: BodyEncoding::Json,
        response: ResponseKind::Json,
        idempotent: false,
    };
}

/// The SSO endpoint with the form body `request=<json>`.
#[derive(Debug, Clone, Copy)]
pub struct SsoForm;

impl Endpoint for SsoForm {
    type Request = SsoRequest;
    type Response = SsoResponse;
    const METADATA: Metadata = Metadata {
        body: BodyEncoding::FormField("request"),
        ..Sso::METADATA
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_samples_and_redaction() {
        let form: SsoRequest =
            serde_json::from_str(r#"{"password":"admin","userId":"admin4","command":"login"}"#)
                .unwrap();
        let SsoRequest::Login { password, .. } = &form else {
            panic!()
        };
        assert_eq!(password.expose(), "admin");
        let out: SsoRequest =
            serde_json::from_str(r#"{"command":"logout","crmSessionId":"crm-1234-hjsdch"}"#)
                .unwrap();
        assert!(!format!("{out:?}").contains("hjsdch"));
        let resp: SsoResponse = serde_json::from_str(r#"{"status":"success","crmSessionId":"crm-sess-norah-123-434343","message":"message"}"#).unwrap();
        assert!(resp.is_success());
        assert!(!format!("{resp:?}").contains("norah"));
        let failed: SsoResponse =
            serde_json::from_str(r#"{"status":"failed","message":"bad password"}"#).unwrap();
        assert!(!failed.is_success());
        assert!(serde_json::from_str::<SsoRequest>(r#"{"command":"reboot"}"#).is_err());
    }
}
