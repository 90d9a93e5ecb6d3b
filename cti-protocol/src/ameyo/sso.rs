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
///
/// Its member names are read without regard to case (`userId`,
/// `userid`, `crmSessionID`), and so is the command: Ameyo's samples
/// spell them differently. A member given twice, in any case, is an
/// error: two readers could each take another one. It is written in the
/// seed's spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The CRM's answer. Read, like [`SsoRequest`], without regard to the
/// case of member names; written in the seed's spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The members of a JSON object, every one kept (a name given twice too),
/// found by name without regard to case.
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Members {
    fn get<E: serde::de::Error>(&self, name: &str) -> Result<Option<&serde_json::Value>, E> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k.eq_ignore_ascii_case(name) {
                if found.is_some() {
                    return Err(E::custom(format_args!("`{name}` is given more than once")));
                }
                found = Some(v);
            }
        }
        Ok(found)
    }

    /// A text member: absent or `null` is `None`; another type is an
    /// error naming it.
    fn text<E: serde::de::Error>(&self, name: &str) -> Result<Option<&str>, E> {
        match self.get(name)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(E::custom(format_args!("`{name}` must be a string"))),
        }
    }

    fn required<E: serde::de::Error>(&self, name: &'static str) -> Result<&str, E> {
        self.text(name)?.ok_or_else(|| E::missing_field(name))
    }
}

impl<'de> Deserialize<'de> for SsoRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Members::deserialize(d)?;
        let command = m.required::<D::Error>("command")?;
        if command.eq_ignore_ascii_case("login") {
            Ok(Self::Login {
                user_id: m.required::<D::Error>("userId")?.to_owned(),
                password: SecretText::new(m.required::<D::Error>("password")?),
            })
        } else if command.eq_ignore_ascii_case("logout") {
            Ok(Self::Logout {
                crm_session_id: SecretText::new(m.required::<D::Error>("crmSessionId")?),
            })
        } else {
            Err(serde::de::Error::unknown_variant(
                &command.chars().take(32).collect::<String>(),
                &["login", "logout"],
            ))
        }
    }
}

impl<'de> Deserialize<'de> for SsoResponse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Members::deserialize(d)?;
        Ok(Self {
            status: m.required::<D::Error>("status")?.to_owned(),
            crm_session_id: m.text::<D::Error>("crmSessionId")?.map(SecretText::new),
            message: m
                .text::<D::Error>("message")?
                .unwrap_or_default()
                .to_owned(),
        })
    }
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
    fn member_names_and_commands_in_any_case() {
        for text in [
            r#"{"password":"agent","userid":"agent","command":"login"}"#,
            r#"{"Password":"agent","UserID":"agent","Command":"LOGIN"}"#,
        ] {
            let r: SsoRequest = serde_json::from_str(text).unwrap();
            assert!(
                matches!(&r, SsoRequest::Login { user_id, .. } if user_id == "agent"),
                "{text}"
            );
        }
        let r: SsoRequest =
            serde_json::from_str(r#"{"command":"logout","crmsessionid":"crm-1234-hjsdch"}"#)
                .unwrap();
        assert!(
            matches!(&r, SsoRequest::Logout { crm_session_id } if crm_session_id.expose() == "crm-1234-hjsdch")
        );
        // Written back in the seed's spelling.
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"command": "logout", "crmSessionId": "crm-1234-hjsdch"})
        );
        for bad in [
            r#"{"command":"login","userId":"a","userid":"b","password":"p"}"#,
            r#"{"command":"logout","crmSessionId":"a","crmSessionId":"b"}"#,
            r#"{"command":"login","userId":7,"password":"p"}"#,
            r#"{"command":"dance"}"#,
            r#"{"userId":"a","password":"p"}"#,
        ] {
            assert!(serde_json::from_str::<SsoRequest>(bad).is_err(), "{bad}");
        }
        let answer: SsoResponse =
            serde_json::from_str(r#"{"Status":"success","CRMSessionId":"s-1","Message":"hi"}"#)
                .unwrap();
        assert!(answer.is_success());
        assert_eq!(
            answer.crm_session_id.as_ref().map(SecretText::expose),
            Some("s-1")
        );
    }

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
