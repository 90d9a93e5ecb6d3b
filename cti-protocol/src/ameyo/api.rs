//! Ameyo's REST and web-access APIs, described as data
//! (see [`crate::endpoint`]), with typed request and response bodies.
//!
//! | endpoint | method and path | auth headers | body |
//! |---|---|---|---|
//! | [`DisposeCallForUser`] | POST `/ameyorestapi/voice/disposeCallForUser` | `Authorization` | JSON |
//! | [`ClickToDial`] | POST `/ameyowebaccess/command/?command=clickToDialWithTokenAsync` | `hash-key`, `requesting-host`, `policy-name` | JSON, or form `data=` ([`ClickToDialForm`]) |
//! | [`DisposeAndManualDial`] | POST `/ameyorestapi/voice/disposeAndManualDial` | `sessionId` | JSON |
//! | [`DownloadVoiceLog`] | GET `/ameyowebaccess/command?command=downloadVoiceLog&data=…` | token headers where the deployment uses them | JSON in `data` |
//! | [`DownloadVoiceLogPost`] | POST, the same path | as above | form `data=` |
//! | [`DisposeCallForUserShortPath`] | POST `/ameyorestapi/disposecallforuser` | `Authorization` | JSON |
//! | [`LegacyDispose`] | GET `/dacx/dispose?…` | — | query |
//!
//! Ameyo's page lost the case of several names; the spellings here follow
//! public integrations where they exist (`userId`, `userCRTObjectId` in
//! JSON bodies). `disposeCallForUser`, `dispositionParams`,
//! `isSelfCallback` and `callbackTime` are inferred spellings: no public
//! source confirms their case.
//!
//! # Examples
//!
//! The dispose body of Ameyo's own sample:
//!
//! ```
//! use cti_protocol::ameyo::api::{DisposeCallForUserRequest, DispositionParams};
//!
//! let req = DisposeCallForUserRequest::new("vaptuser1", "sale", "8989898989")
//!     .params(DispositionParams::new("7004281599"));
//! assert_eq!(
//!     serde_json::to_value(&req)?,
//!     serde_json::json!({
//!         "userId": "vaptuser1", "dispositionCodeName": "sale",
//!         "dispositionParams": {"isSelfCallback": "false", "callbackTime": "", "phone": "7004281599"},
//!         "requestId": "8989898989", "notes": ""
//!     })
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::endpoint::{BodyEncoding, Endpoint, Metadata, Method, ResponseKind};

/// The token-policy header names of Ameyo's web-access commands.
pub mod header {
    /// The token (`hash-key`).
    pub const HASH_KEY: &str = "hash-key";
    /// The caller's name (`requesting-host`).
    pub const REQUESTING_HOST: &str = "requesting-host";
    /// The policy (`policy-name`).
    pub const POLICY_NAME: &str = "policy-name";
    /// The policy's value.
    pub const TOKEN_POLICY: &str = "token-based-authorization-policy";
    /// The agent session header of disposeAndManualDial.
    pub const SESSION_ID: &str = "sessionId";
}

/// Callback details of a dispose. Ameyo's sample sends the flag as the
/// *string* `"false"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DispositionParams {
    /// `"true"` for a self-callback (the same agent calls back).
    pub is_self_callback: String,
    /// The callback time, or `""`.
    pub callback_time: String,
    /// The customer's number.
    pub phone: String,
}

impl DispositionParams {
    /// No callback, for `phone`.
    #[must_use]
    pub fn new(phone: impl Into<String>) -> Self {
        Self {
            is_self_callback: "false".to_owned(),
            callback_time: String::new(),
            phone: phone.into(),
        }
    }

    /// A callback at `time` (Ameyo's format), by the same agent when `own`.
    #[must_use]
    pub fn callback(mut self, time: impl Into<String>, own: bool) -> Self {
        self.callback_time = time.into();
        self.is_self_callback = own.to_string();
        self
    }
}

/// The body of `disposeCallForUser`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DisposeCallForUserRequest {
    /// The agent's Ameyo user id.
    pub user_id: String,
    /// The disposition (must be in the campaign's plan).
    pub disposition_code_name: String,
    /// Callback details.
    pub disposition_params: DispositionParams,
    /// A caller-chosen id that makes a retry safe.
    pub request_id: String,
    /// Notes, or `""`.
    pub notes: String,
}

impl DisposeCallForUserRequest {
    /// A dispose of `user_id`'s call with `disposition`, under `request_id`.
    #[must_use]
    pub fn new(
        user_id: impl Into<String>,
        disposition: impl Into<String>,
        request_id: impl Into<String>,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            disposition_code_name: disposition.into(),
            disposition_params: DispositionParams::new(""),
            request_id: request_id.into(),
            notes: String::new(),
        }
    }

    /// Sets the callback details.
    #[must_use]
    pub fn params(mut self, params: DispositionParams) -> Self {
        self.disposition_params = params;
        self
    }

    /// Sets the notes.
    #[must_use]
    pub fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = notes.into();
        self
    }
}

/// Ameyo's `{result, reason}` answer (and, from some deployments,
/// `{status, message}` or the REST error envelope `{message, code, info,
/// status}`): all decode here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct AmeyoResult {
    /// `"success"` or `"failed"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `"success"`, `"failed"`, `"error"`, or an HTTP-like number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
    /// A message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// An error key such as `invalid.session.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// A numeric error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

impl AmeyoResult {
    /// The success answer.
    #[must_use]
    pub fn success() -> Self {
        Self {
            result: Some("success".into()),
            reason: Some("success".into()),
            ..Self::default()
        }
    }

    /// A failure with a reason.
    #[must_use]
    pub fn failed(reason: impl Into<String>) -> Self {
        Self {
            result: Some("failed".into()),
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    /// `true` when the answer says success.
    #[must_use]
    pub fn is_success(&self) -> bool {
        let ok = |s: &str| s.eq_ignore_ascii_case("success");
        match (&self.result, &self.status) {
            (Some(r), _) => ok(r),
            (None, Some(serde_json::Value::String(s))) => ok(s),
            _ => false,
        }
    }

    /// The best explanation the answer carries.
    #[must_use]
    pub fn explanation(&self) -> &str {
        self.reason
            .as_deref()
            .or(self.message.as_deref())
            .or(self.info.as_deref())
            .unwrap_or("no reason given")
    }
}

/// `disposeCallForUser`: dispose the agent's current call.
#[derive(Debug, Clone, Copy)]
pub struct DisposeCallForUser;

impl Endpoint for DisposeCallForUser {
    type Request = DisposeCallForUserRequest;
    type Response = AmeyoResult;
    const METADATA: Metadata = Metadata {
        name: "disposeCallForUser",
        method: Method::Post,
        path: "/ameyorestapi/voice/disposeCallForUser",
        headers: &["Authorization"],
        body: BodyEncoding::Json,
        response: ResponseKind::Json,
        idempotent: false,
    };
}

/// [`DisposeCallForUser`] at the path the seed's prose gives,
/// `/ameyorestapi/disposecallforuser` (its curl sample has the `voice/`
/// path): deployments answer on one or the other.
#[derive(Debug, Clone, Copy)]
pub struct DisposeCallForUserShortPath;

impl Endpoint for DisposeCallForUserShortPath {
    type Request = DisposeCallForUserRequest;
    type Response = AmeyoResult;
    const METADATA: Metadata = Metadata {
        path: "/ameyorestapi/disposecallforuser",
        ..DisposeCallForUser::METADATA
    };
}

/// The body of `clickToDialWithTokenAsync`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClickToDialRequest {
    /// The agent's Ameyo user id.
    pub user_id: String,
    /// The campaign (a string in Ameyo's sample).
    pub campaign_id: String,
    /// Add the number as a new customer. Read from a JSON boolean or from
    /// the text `"true"`/`"false"` (in any case), which integrations send
    /// too; written as a boolean.
    #[serde(deserialize_with = "bool_or_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = bool))]
    pub should_add_customer: bool,
    /// The number to dial.
    pub phone: String,
    /// Free-form extras (`{"recordId": …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub additional_params: Option<serde_json::Map<String, serde_json::Value>>,
    /// The customer record, required when the campaign's table is custom or
    /// keyed on something other than `phone1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub customer_record: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A boolean sent as JSON `true`/`false` or as the text of one.
fn bool_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Bool(bool),
        Text(String),
    }
    match Form::deserialize(d)? {
        Form::Bool(b) => Ok(b),
        Form::Text(t) if t.trim().eq_ignore_ascii_case("true") => Ok(true),
        Form::Text(t) if t.trim().eq_ignore_ascii_case("false") => Ok(false),
        Form::Text(t) => Err(serde::de::Error::custom(format_args!(
            "`{}` is not true or false",
            crate::types::truncate(&t, 16)
        ))),
    }
}

impl ClickToDialRequest {
    /// Dial `phone` for `user_id` in `campaign_id`.
    #[must_use]
    pub fn new(
        user_id: impl Into<String>,
        campaign_id: impl Into<String>,
        phone: impl Into<String>,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            campaign_id: campaign_id.into(),
            should_add_customer: false,
            phone: phone.into(),
            additional_params: None,
            customer_record: None,
        }
    }
}

/// `clickToDialWithTokenAsync` with a JSON body.
#[derive(Debug, Clone, Copy)]
pub struct ClickToDial;

impl Endpoint for ClickToDial {
    type Request = ClickToDialRequest;
    type Response = AmeyoResult;
    const METADATA: Metadata = Metadata {
        name: "clickToDialWithTokenAsync",
        method: Method::Post,
        path: "/ameyowebaccess/command/?command=clickToDialWithTokenAsync",
        headers: &[
            header::HASH_KEY,
            header::REQUESTING_HOST,
            header::POLICY_NAME,
        ],
        body: BodyEncoding::Json,
        response: ResponseKind::Json,
        idempotent: false,
    };
}

/// `clickToDialWithTokenAsync` with the form body `data=<json>`, as many
/// deployments expect.
#[derive(Debug, Clone, Copy)]
pub struct ClickToDialForm;

impl Endpoint for ClickToDialForm {
    type Request = ClickToDialRequest;
    type Response = AmeyoResult;
    const METADATA: Metadata = Metadata {
        body: BodyEncoding::FormField("data"),
        ..ClickToDial::METADATA
    };
}

/// The body of `disposeAndManualDial`. Note `userCRTObjectId`, spelled
/// with capitals in JSON bodies (the query parameter is `userCrtObjectId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DisposeAndManualDialRequest {
    /// The campaign context (a number).
    pub campaign_context_id: i64,
    /// The agent's voice extension.
    #[serde(rename = "userCRTObjectId")]
    pub user_crt_object_id: String,
    /// The call to dispose.
    pub crt_object_id: String,
    /// The disposition.
    pub disposition_code: String,
    /// The number to dial next.
    pub phone: String,
    /// The customer (`"-1"` for none).
    pub customer_id: String,
    /// A caller-chosen id that makes a retry safe.
    pub request_id: String,
}

impl DisposeAndManualDialRequest {
    /// Dispose call `crt_object_id` of extension `user_crt_object_id` in
    /// campaign context `campaign_context_id` with `disposition`, then dial
    /// `phone`; no customer (`"-1"`) and no request id yet.
    #[must_use]
    pub fn new(
        campaign_context_id: i64,
        user_crt_object_id: impl Into<String>,
        crt_object_id: impl Into<String>,
        disposition: impl Into<String>,
        phone: impl Into<String>,
    ) -> Self {
        Self {
            campaign_context_id,
            user_crt_object_id: user_crt_object_id.into(),
            crt_object_id: crt_object_id.into(),
            disposition_code: disposition.into(),
            phone: phone.into(),
            customer_id: "-1".to_owned(),
            request_id: String::new(),
        }
    }

    /// Sets the customer.
    #[must_use]
    pub fn customer_id(mut self, id: impl Into<String>) -> Self {
        self.customer_id = id.into();
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = id.into();
        self
    }
}

/// `disposeAndManualDial`: dispose the call and dial again at once.
#[derive(Debug, Clone, Copy)]
pub struct DisposeAndManualDial;

impl Endpoint for DisposeAndManualDial {
    type Request = DisposeAndManualDialRequest;
    type Response = AmeyoResult;
    const METADATA: Metadata = Metadata {
        name: "disposeAndManualDial",
        method: Method::Post,
        path: "/ameyorestapi/voice/disposeAndManualDial",
        headers: &[header::SESSION_ID],
        body: BodyEncoding::Json,
        response: ResponseKind::Json,
        idempotent: false,
    };
}

/// A recording format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum VoiceLogFormat {
    /// WAV (Ameyo's default).
    #[default]
    Wav,
    /// MP3.
    Mp3,
}

impl fmt::Display for VoiceLogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
        })
    }
}

/// The `data` of `downloadVoiceLog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VoiceLogRequest {
    /// The call.
    pub crt_object_id: String,
    /// The format; absent means WAV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_format: Option<VoiceLogFormat>,
}

impl VoiceLogRequest {
    /// The recording of `crt_object_id`, in `format`.
    #[must_use]
    pub fn new(crt_object_id: impl Into<String>, format: VoiceLogFormat) -> Self {
        Self {
            crt_object_id: crt_object_id.into(),
            target_format: Some(format),
        }
    }
}

/// `downloadVoiceLog`: stream a call's recording. The success body is the
/// audio; failures are a JSON message, `null`, an empty body or an HTML
/// page, which a client must tell apart from audio.
#[derive(Debug, Clone, Copy)]
pub struct DownloadVoiceLog;

impl Endpoint for DownloadVoiceLog {
    type Request = VoiceLogRequest;
    type Response = serde_json::Value;
    const METADATA: Metadata = Metadata {
        name: "downloadVoiceLog",
        method: Method::Get,
        path: "/ameyowebaccess/command?command=downloadVoiceLog",
        headers: &[],
        body: BodyEncoding::QueryField("data"),
        response: ResponseKind::Binary,
        idempotent: true,
    };
}

/// [`DownloadVoiceLog`] as a POST with the form body `data=<json>`: the
/// seed passes the command's parameters "via GET or POST".
#[derive(Debug, Clone, Copy)]
pub struct DownloadVoiceLogPost;

impl Endpoint for DownloadVoiceLogPost {
    type Request = VoiceLogRequest;
    type Response = serde_json::Value;
    const METADATA: Metadata = Metadata {
        method: Method::Post,
        body: BodyEncoding::FormField("data"),
        ..DownloadVoiceLog::METADATA
    };
}

/// The query of the legacy `dacx/dispose` GET.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LegacyDisposeRequest {
    /// The customer's number.
    pub phone: String,
    /// The campaign.
    pub campaign_id: String,
    /// The call.
    pub crt_object_id: String,
    /// The agent's voice extension.
    pub user_crt_object_id: String,
    /// The customer.
    pub customer_id: String,
    /// The agent's Ameyo session.
    pub session_id: String,
    /// The agent.
    pub user_id: String,
    /// The disposition.
    pub disposition_code: String,
    /// The callback schedule (`local-…`, `customer-…`, `after-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition_attr: Option<String>,
    /// A callback by the same agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_callback: Option<bool>,
}

/// The plain-text answer of a successful legacy dispose.
pub const LEGACY_DISPOSE_SUCCESS: &str = "Dispose Successfully";

/// The legacy `dacx/dispose` GET (served on Ameyo's port 8888); success is
/// the plain text [`LEGACY_DISPOSE_SUCCESS`].
#[derive(Debug, Clone, Copy)]
pub struct LegacyDispose;

impl Endpoint for LegacyDispose {
    type Request = LegacyDisposeRequest;
    type Response = String;
    const METADATA: Metadata = Metadata {
        name: "dacx/dispose",
        method: Method::Get,
        path: "/dacx/dispose",
        headers: &[],
        body: BodyEncoding::Query,
        response: ResponseKind::Text,
        idempotent: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_add_customer_as_text() {
        for (text, want) in [
            ("false", false),
            ("\"false\"", false),
            ("\"TRUE\"", true),
            ("true", true),
        ] {
            let body = format!(
                r#"{{"userId":"agent","campaignId":"1","shouldAddCustomer":{text},"phone":"9911337923"}}"#
            );
            let r: ClickToDialRequest = serde_json::from_str(&body).unwrap();
            assert_eq!(r.should_add_customer, want, "{text}");
            assert_eq!(serde_json::to_value(&r).unwrap()["shouldAddCustomer"], want);
        }
        let body = r#"{"userId":"agent","campaignId":"1","shouldAddCustomer":"maybe","phone":"1"}"#;
        assert!(serde_json::from_str::<ClickToDialRequest>(body).is_err());
    }

    #[test]
    fn seed_sample_bodies() {
        let dial: ClickToDialRequest = serde_json::from_str(
            r#"{"userId":"agent","campaignId":"1","shouldAddCustomer":false,"phone":"9911337923","additionalParams":{"recordId":"0015g00000z04cfaab"}}"#,
        )
        .unwrap();
        assert_eq!(dial.phone, "9911337923");
        let dmd = DisposeAndManualDialRequest {
            campaign_context_id: 8,
            user_crt_object_id: "d202-5b4d83c1-ses-agent-vmvuggpb-1-uce-5".into(),
            crt_object_id: "d202-5b4d83c1-vce-5".into(),
            disposition_code: "sale".into(),
            phone: "465456".into(),
            customer_id: "-1".into(),
            request_id: "dcf7eec5-0c8f-86c1-8d2f-c9f31db9ae8c".into(),
        };
        let v = serde_json::to_value(&dmd).unwrap();
        assert_eq!(
            v["userCRTObjectId"],
            "d202-5b4d83c1-ses-agent-vmvuggpb-1-uce-5"
        );
        assert_eq!(v["campaignContextId"], 8);
        let vl = VoiceLogRequest::new("d865-68dbb572-vce-22", VoiceLogFormat::Mp3);
        assert_eq!(
            serde_json::to_string(&vl).unwrap(),
            r#"{"crtObjectId":"d865-68dbb572-vce-22","targetFormat":"mp3"}"#
        );
    }

    #[test]
    fn results() {
        let ok: AmeyoResult =
            serde_json::from_str(r#"{"result":"success","reason":"success"}"#).unwrap();
        assert!(ok.is_success());
        let bad: AmeyoResult = serde_json::from_str(
            r#"{"message":null,"code":99999,"info":"invalid.session.id","status":403}"#,
        )
        .unwrap();
        assert!(!bad.is_success());
        assert_eq!(bad.explanation(), "invalid.session.id");
        let err: AmeyoResult = serde_json::from_str(
            r#"{"status":"error","reason":"Invalid session Id","details":"Invalid session Id"}"#,
        )
        .unwrap();
        assert!(!err.is_success());
        assert_eq!(ClickToDialForm::METADATA.path, ClickToDial::METADATA.path);
        assert_eq!(
            ClickToDialForm::METADATA.body,
            BodyEncoding::FormField("data")
        );
    }
}
