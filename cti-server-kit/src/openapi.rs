//! An OpenAPI 3.1 document of the kit's HTTP routes (feature `openapi`,
//! built with utoipa), for the paths *you* mount them at.
//!
//! Describe what you serve, then serve the document at a path of your
//! choice:
//!
//! ```
//! use cti_server_kit::openapi::ApiDoc;
//!
//! let doc = ApiDoc::new("My CRM", "1.0.0")
//!     .sso("/ameyo/sso")
//!     .screen_pop(cti_server_kit::openapi::ScreenPop::Customer, "/ameyo/customer", false)
//!     .ameyo_vendor();
//! let app: axum::Router = axum::Router::new().route("/openapi.json", doc.into_route());
//! ```
//!
//! Every documented operation lists every status the kit can answer with
//! and the shape of each body, so contract testers (schemathesis) can
//! check the routes against it.

use std::sync::Arc;

use axum::response::IntoResponse as _;
use axum::routing::{MethodRouter, get};
use cti_protocol::ameyo::api::{
    AmeyoResult, ClickToDialRequest, DisposeAndManualDialRequest, DisposeCallForUserRequest,
    VoiceLogFormat, VoiceLogRequest,
};
use cti_protocol::ameyo::sso::{SsoRequest, SsoResponse};
use cti_protocol::ccai::generic::{EndpointKind, GenericEndpoint, UploadType};
use cti_protocol::ccai::template::RequestFormat;
use cti_protocol::endpoint::Method;
use http::{HeaderValue, header};
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    Components, ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths,
    Ref, RefOr, Required, ResponseBuilder,
};

use crate::ccai::CrmApiAuth;

/// One of the URLs Ameyo opens in the CRM browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScreenPop {
    /// The knowledge-base URL (agent login).
    KnowledgeBase,
    /// The customer URL (call connected).
    Customer,
    /// The preview URL.
    Preview,
}

/// The dispose URL's parameters and whether each is required.
const DISPOSE_PARAMS: &[(&str, bool)] = &[
    ("sessionId", true),
    ("campaignId", true),
    ("crtObjectId", true),
    ("userCrtObjectId", true),
    ("userId", true),
    ("disposition", true),
    ("customerId", false),
    ("dispositionAttribute", false),
    ("selfCallback", false),
];

/// The document being described.
#[derive(Debug, Clone)]
#[must_use]
pub struct ApiDoc {
    doc: OpenApi,
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn json_content(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

/// A response with a JSON body of `schema`.
fn json_response(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json_content(reference(schema)))
        .build()
}

/// Text without control characters (what the Ameyo parsers accept).
const NO_CONTROL: &str = r"^[^\u0000-\u001f\u007f-\u009f]*$";
/// Text without control characters other than tab, CR and LF (the CCAI
/// generic API's parameters, which may hold multi-line comments).
const TEXT: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$";

fn query(name: &str, required: bool, description: &str) -> utoipa::openapi::path::Parameter {
    let mut schema = string().pattern(Some(NO_CONTROL));
    if required {
        schema = schema.min_length(Some(1));
    }
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn header_param(name: &str, required: bool, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(string()))
        .build()
}

fn add<T: ToSchema>(components: &mut Components) {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    components
        .schemas
        .insert(T::name().into_owned(), T::schema());
    components.schemas.extend(nested);
}

/// The kit's JSON error body.
fn rejection_schema() -> Schema {
    ObjectBuilder::new()
        .property(
            "error",
            string().description(Some("A stable code (`bad_params`, `no_session`, …).")),
        )
        .property(
            "message",
            string().description(Some("What is wrong, in words.")),
        )
        .required("error")
        .required("message")
        .description(Some("A refusal: `{\"error\": code, \"message\": text}`."))
        .into()
}

/// Statuses every route may also answer, from the hardening layer.
fn with_fences(op: OperationBuilder) -> OperationBuilder {
    op.response(
        "408",
        ResponseBuilder::new()
            .description("The request took longer than the configured timeout.")
            .build(),
    )
    .response(
        "413",
        ResponseBuilder::new()
            .description("The body is larger than the limit.")
            .content(
                "application/json",
                json_content(RefOr::T(Schema::Object(ObjectBuilder::new().build()))),
            )
            .content("text/plain", json_content(string().into()))
            .build(),
    )
}

impl ApiDoc {
    /// An empty document titled `title`, version `version`.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        let components = ComponentsBuilder::new()
            .schema("Rejection", rejection_schema())
            .build();
        let doc = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title(title)
                    .version(version)
                    .description(Some("Routes served by cti-server-kit."))
                    .build(),
            )
            .paths(Paths::new())
            .components(Some(components))
            .build();
        Self { doc }
    }

    fn components(&mut self) -> &mut Components {
        self.doc.components.get_or_insert_with(Components::new)
    }

    fn operation(&mut self, path: &str, methods: &[HttpMethod], op: OperationBuilder) {
        self.doc
            .paths
            .add_path_operation(path, methods.to_vec(), with_fences(op).build());
    }

    /// The SSO endpoint ([`crate::ameyo::sso::SsoEndpoint`]) at `path`.
    pub fn sso(mut self, path: &str) -> Self {
        add::<SsoRequest>(self.components());
        add::<SsoResponse>(self.components());
        let body = RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", json_content(reference("SsoRequest")))
            .content(
                "application/x-www-form-urlencoded",
                json_content(
                    ObjectBuilder::new()
                        .property(
                            "request",
                            string().description(Some("The JSON request, as text.")),
                        )
                        .required("request")
                        .into(),
                ),
            )
            .build();
        let mut op = OperationBuilder::new()
            .operation_id(Some("ameyoSso"))
            .tag("ameyo-crm")
            .summary(Some("Ameyo SSO: log an agent in or out"))
            .request_body(Some(body))
            .response(
                "200",
                json_response(
                    "Logged in (with `crmSessionId`) or out, or refused (`status: failed`: a wrong user id or password, or an unknown session).",
                    "SsoResponse",
                ),
            );
        for (status, what) in [
            ("400", "A malformed body or an unknown command."),
            ("415", "A content type other than JSON or a form."),
            ("429", "Too many login attempts; see `Retry-After`."),
            ("503", "The session store or credential backend is down."),
        ] {
            let mut r = json_response(what, "SsoResponse");
            if status == "429" {
                r.headers.insert(
                    "Retry-After".into(),
                    utoipa::openapi::Header::new(ObjectBuilder::new().schema_type(Type::Integer)),
                );
            }
            op = op.response(status, r);
        }
        self.operation(path, &[HttpMethod::Post], op);
        self
    }

    /// A screen-pop route using the [`crate::ameyo::params`] extractors at
    /// `path`; `guarded` when it needs a live `crmSessionId`. The success
    /// answer is your handler's, so it is documented as any content.
    pub fn screen_pop(mut self, kind: ScreenPop, path: &str, guarded: bool) -> Self {
        let (id, summary, params): (&str, &str, &[(&str, bool)]) = match kind {
            ScreenPop::KnowledgeBase => (
                "ameyoKnowledgeBase",
                "The knowledge-base URL (agent login)",
                &[("userId", true), ("sessionId", true)],
            ),
            ScreenPop::Customer | ScreenPop::Preview => (
                if kind == ScreenPop::Customer {
                    "ameyoCustomer"
                } else {
                    "ameyoPreview"
                },
                if kind == ScreenPop::Customer {
                    "The customer URL (call connected): the screen pop"
                } else {
                    "The preview URL"
                },
                &[
                    ("sessionId", true),
                    ("campaignId", true),
                    ("crtObjectId", true),
                    ("userCrtObjectId", true),
                    ("userId", true),
                    ("phone", true),
                    ("customerId", false),
                    ("queueId", false),
                    ("queueName", false),
                ],
            ),
        };
        let mut op = OperationBuilder::new()
            .operation_id(Some(id))
            .tag("ameyo-crm")
            .summary(Some(summary));
        for (name, required) in params {
            op = op.parameter(query(
                name,
                *required,
                "An Ameyo parameter (names match without regard to case).",
            ));
        }
        op = op
            .parameter(query(
                "crmSessionId",
                guarded,
                "The SSO session, once SSO is on.",
            ))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The CRM's page.")
                    .build(),
            )
            .response(
                "400",
                json_response(
                    "A missing, empty, repeated or undecodable parameter.",
                    "Rejection",
                ),
            );
        if guarded {
            op = op
                .response("401", json_response("No live `crmSessionId`.", "Rejection"))
                .response(
                    "503",
                    json_response("Sessions cannot be checked.", "Rejection"),
                );
        }
        self.operation(path, &[HttpMethod::Get], op);
        self
    }

    /// The dispose callback ([`crate::ameyo::params::DisposeRoute`]) at
    /// `path`; `guarded` when it needs a live `crmSessionId`.
    pub fn dispose_callback(mut self, path: &str, guarded: bool) -> Self {
        add::<AmeyoResult>(self.components());
        let mut op = OperationBuilder::new()
            .operation_id(Some("ameyoDisposeCallback"))
            .tag("ameyo-crm")
            .summary(Some("Ameyo reports a disposition"));
        for (name, required) in DISPOSE_PARAMS {
            op = op.parameter(query(
                name,
                *required,
                "An Ameyo parameter (names match without regard to case).",
            ));
        }
        op = op.parameter(query(
            "crmSessionId",
            guarded,
            "The SSO session, once SSO is on.",
        ));
        for (status, what) in [
            ("200", "Recorded."),
            ("400", "A bad parameter."),
            ("401", "No live `crmSessionId`."),
            ("415", "A POST body that is not a form."),
            ("422", "The CRM refused the disposition."),
            ("503", "Sessions cannot be checked."),
        ] {
            op = op.response(status, json_response(what, "AmeyoResult"));
        }
        let mut form = ObjectBuilder::new();
        for (name, required) in DISPOSE_PARAMS {
            let mut field = string().pattern(Some(NO_CONTROL));
            if *required {
                field = field.min_length(Some(1));
                form = form.required(*name);
            }
            form = form.property(*name, field);
        }
        form = form.property("crmSessionId", string().pattern(Some(NO_CONTROL)));
        if guarded {
            form = form.required("crmSessionId");
        }
        let get_op = with_fences(op).build();
        let mut post = get_op.clone();
        post.operation_id = Some("ameyoDisposeCallbackPost".into());
        post.parameters = None;
        post.request_body = Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/x-www-form-urlencoded",
                    json_content(form.into()),
                )
                .build(),
        );
        self.doc
            .paths
            .add_path_operation(path, vec![HttpMethod::Get], get_op);
        self.doc
            .paths
            .add_path_operation(path, vec![HttpMethod::Post], post);
        self
    }

    /// The Ameyo-compatible vendor routes ([`crate::ameyo::vendor`]) at
    /// Ameyo's paths.
    pub fn ameyo_vendor(mut self) -> Self {
        let c = self.components();
        add::<AmeyoResult>(c);
        add::<DisposeCallForUserRequest>(c);
        add::<ClickToDialRequest>(c);
        add::<DisposeAndManualDialRequest>(c);
        add::<VoiceLogRequest>(c);
        add::<VoiceLogFormat>(c);
        c.add_security_scheme(
            "ameyoToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Authorization"))),
        );
        c.add_security_scheme(
            "ameyoHashKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("hash-key"))),
        );
        let rest = SecurityRequirement::new("ameyoToken", Vec::<String>::new());
        let policy = SecurityRequirement::new("ameyoHashKey", Vec::<String>::new());
        let json_body = |schema: &str| {
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json_content(reference(schema)))
                .build()
        };
        let ameyo_answers = |mut op: OperationBuilder, statuses: &[(&str, &str)]| {
            for (status, what) in statuses {
                op = op.response(*status, json_response(what, "AmeyoResult"));
            }
            op
        };
        let common: &[(&str, &str)] = &[
            ("200", "`{\"result\":\"success\",\"reason\":\"success\"}`."),
            (
                "400",
                "A malformed body, a missing field, or a documented refusal (`info`).",
            ),
            ("401", "Missing or invalid credentials (`invalid.token`)."),
            (
                "403",
                "The agent's session is not live (`invalid.session.id`).",
            ),
            ("409", "A request with this `requestId` is still running."),
            ("415", "A body that is not JSON."),
            ("422", "Another refusal (`request.refused`)."),
            ("503", "The backend is down."),
        ];
        let op = OperationBuilder::new()
            .operation_id(Some("disposeCallForUser"))
            .tag("ameyo-vendor")
            .summary(Some("Dispose the agent's current call"))
            .security(rest.clone())
            .request_body(Some(json_body("DisposeCallForUserRequest")));
        self.operation(
            "/ameyorestapi/voice/disposeCallForUser",
            &[HttpMethod::Post],
            ameyo_answers(op, common),
        );
        let op = OperationBuilder::new()
            .operation_id(Some("disposeAndManualDial"))
            .tag("ameyo-vendor")
            .summary(Some("Dispose a call and dial the next number"))
            .parameter(header_param(
                "sessionId",
                false,
                "The agent's Ameyo session.",
            ))
            .request_body(Some(json_body("DisposeAndManualDialRequest")));
        self.operation(
            "/ameyorestapi/voice/disposeAndManualDial",
            &[HttpMethod::Post],
            ameyo_answers(op, common),
        );
        for path in ["/ameyowebaccess/command", "/ameyowebaccess/command/"] {
            let suffix = if path.ends_with('/') { "Slash" } else { "" };
            let command = ParameterBuilder::new()
                .name("command")
                .parameter_in(ParameterIn::Query)
                .required(Required::True)
                .schema(Some(string().enum_values(Some([
                    "downloadVoiceLog",
                    "clickToDialWithTokenAsync",
                    "clickToDialWithToken",
                ]))))
                .build();
            let audio = ResponseBuilder::new()
                .description("The recording (a byte range of it for `Range`).")
                .content("audio/wav", ContentBuilder::new().build())
                .content("audio/mpeg", ContentBuilder::new().build())
                .content("application/json", json_content(reference("AmeyoResult")))
                .build();
            let get_op = OperationBuilder::new()
                .operation_id(Some(format!("webAccessCommandGet{suffix}")))
                .tag("ameyo-vendor")
                .summary(Some("A web-access command: `downloadVoiceLog` (GET)"))
                .security(policy.clone())
                .security(rest.clone())
                .parameter(command.clone())
                .parameter(query(
                    "data",
                    true,
                    "The command's JSON (`{\"crtObjectId\", \"targetFormat\"}`).",
                ))
                .parameter(header_param(
                    "requesting-host",
                    false,
                    "The token policy's caller name.",
                ))
                .parameter(header_param(
                    "policy-name",
                    false,
                    "`token-based-authorization-policy`.",
                ))
                .parameter(header_param(
                    "Range",
                    false,
                    "One byte range of the recording.",
                ))
                .response("200", audio.clone())
                .response("206", audio)
                .response(
                    "416",
                    ResponseBuilder::new()
                        .description("The range lies outside the recording.")
                        .build(),
                );
            let get_op = ameyo_answers(get_op, &common[1..]);
            let get_op = get_op
                .response(
                    "404",
                    json_response("No such recording (`voicelog.not.found`).", "AmeyoResult"),
                )
                .response(
                    "405",
                    json_response("Click-to-dial takes POST.", "AmeyoResult"),
                );
            self.operation(path, &[HttpMethod::Get], get_op);
            let form = ObjectBuilder::new()
                .property(
                    "data",
                    string().description(Some("The command's JSON, as text.")),
                )
                .into();
            let post_body = RequestBodyBuilder::new()
                .content(
                    "application/json",
                    json_content(reference("ClickToDialRequest")),
                )
                .content("application/x-www-form-urlencoded", json_content(form))
                .build();
            let post_op = OperationBuilder::new()
                .operation_id(Some(format!("webAccessCommandPost{suffix}")))
                .tag("ameyo-vendor")
                .summary(Some("A web-access command: `clickToDialWithTokenAsync`, or `downloadVoiceLog` (POST)"))
                .security(policy.clone())
                .security(rest.clone())
                .parameter(command)
                .parameter(query("data", false, "The command's JSON, when not in the body."))
                .parameter(header_param("requesting-host", false, "The token policy's caller name."))
                .parameter(header_param("policy-name", false, "`token-based-authorization-policy`."))
                .request_body(Some(post_body))
                .response(
                    "206",
                    ResponseBuilder::new()
                        .description("A byte range of the recording.")
                        .content("audio/wav", ContentBuilder::new().build())
                        .content("audio/mpeg", ContentBuilder::new().build())
                        .build(),
                )
                .response("404", json_response("No such recording (`voicelog.not.found`).", "AmeyoResult"))
                .response("416", json_response("The range lies outside the recording.", "Rejection"));
            let mut post_op = ameyo_answers(post_op, common);
            // A POST `downloadVoiceLog` answers 200 with audio too.
            post_op = post_op.response(
                "200",
                ResponseBuilder::new()
                    .description("Accepted (click-to-dial) or the recording (downloadVoiceLog).")
                    .content("application/json", json_content(reference("AmeyoResult")))
                    .content("audio/wav", ContentBuilder::new().build())
                    .content("audio/mpeg", ContentBuilder::new().build())
                    .build(),
            );
            self.operation(path, &[HttpMethod::Post], post_op);
        }
        let mut op = OperationBuilder::new()
            .operation_id(Some("legacyDispose"))
            .tag("ameyo-vendor")
            .summary(Some("The legacy `dacx/dispose` (internal networks only)"));
        for (name, required) in [
            ("phone", true),
            ("campaignId", true),
            ("crtObjectId", true),
            ("userCrtObjectId", true),
            ("customerId", true),
            ("sessionId", true),
            ("userId", true),
            ("dispositionCode", true),
            ("dispositionAttr", false),
            ("selfCallback", false),
        ] {
            op = op.parameter(query(name, required, "As Ameyo's dispose URL."));
        }
        let text = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content("text/plain", json_content(string().into()))
                .build()
        };
        op = op
            .response("200", text("`Dispose Successfully`."))
            .response(
                "400",
                json_response("A bad parameter, or a documented refusal.", "Rejection"),
            )
            .response(
                "403",
                json_response("The agent's session is not live.", "Rejection"),
            )
            .response("404", json_response("Not found.", "Rejection"))
            .response("422", json_response("Another refusal.", "Rejection"))
            .response("503", json_response("The backend is down.", "Rejection"));
        self.operation("/dacx/dispose", &[HttpMethod::Get], op);
        self
    }

    /// The CCAI generic CRM API routes ([`crate::ccai::CrmApi`]) for these
    /// endpoint descriptions, behind `auth`.
    pub fn ccai(mut self, endpoints: &[GenericEndpoint], auth: &CrmApiAuth) -> Self {
        let scheme = match auth {
            CrmApiAuth::Basic { .. } => Some(SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Basic).build(),
            )),
            CrmApiAuth::Bearer(_) => Some(SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build(),
            )),
            CrmApiAuth::Header { name, .. } => Some(SecurityScheme::ApiKey(ApiKey::Header(
                ApiKeyValue::new(name.as_str()),
            ))),
            _ => None,
        };
        let security = scheme.map(|s| {
            self.components().add_security_scheme("crmAuth", s);
            SecurityRequirement::new("crmAuth", Vec::<String>::new())
        });
        for ep in endpoints {
            let Some(path) = ep.url.route_pattern() else {
                continue;
            };
            let kind = format!("{:?}", ep.kind);
            let method = match ep.method {
                Method::Get => HttpMethod::Get,
                Method::Put => HttpMethod::Put,
                Method::Patch => HttpMethod::Patch,
                _ => HttpMethod::Post,
            };
            let mut op = OperationBuilder::new()
                .operation_id(Some(format!("ccai{kind}")))
                .tag("ccai-crm")
                .summary(Some(format!("CCAI generic CRM API: {kind}")));
            if let Some(s) = &security {
                op = op.security(s.clone());
            }
            for var in ep.url.variables() {
                if path.contains(&format!("{{{}}}", var.name())) {
                    op = op.parameter(
                        ParameterBuilder::new()
                            .name(var.name())
                            .parameter_in(ParameterIn::Path)
                            .required(Required::True)
                            .schema(Some(string()))
                            .build(),
                    );
                }
            }
            if ep.method == Method::Get {
                for (name, _) in &ep.params {
                    op = op.parameter(
                        ParameterBuilder::new()
                            .name(name)
                            .parameter_in(ParameterIn::Query)
                            .required(Required::False)
                            .description(Some("A configured parameter."))
                            .schema(Some(string().pattern(Some(TEXT))))
                            .build(),
                    );
                }
            } else {
                let mut fields = ObjectBuilder::new();
                for (name, _) in &ep.params {
                    fields = fields.property(
                        name,
                        ObjectBuilder::new()
                            .schema_type(SchemaType::Array(vec![
                                Type::String,
                                Type::Number,
                                Type::Boolean,
                            ]))
                            .pattern(Some(TEXT)),
                    );
                }
                let body: RefOr<Schema> = match &ep.format {
                    RequestFormat::ContainerMap(c) => {
                        ObjectBuilder::new().property(c, fields).required(c).into()
                    }
                    RequestFormat::ContainerArray(c) => ObjectBuilder::new()
                        .property(
                            c,
                            ArrayBuilder::new()
                                .items(fields)
                                .min_items(Some(1))
                                .max_items(Some(1)),
                        )
                        .required(c)
                        .into(),
                    _ => fields.into(),
                };
                let content_type =
                    if ep.kind == EndpointKind::UploadFile && ep.upload == UploadType::Multipart {
                        "multipart/form-data"
                    } else {
                        "application/json"
                    };
                op = op.request_body(Some(
                    RequestBodyBuilder::new()
                        .required(Some(Required::True))
                        .content(content_type, json_content(body))
                        .build(),
                ));
            }
            op = op.response(
                "200",
                ResponseBuilder::new()
                    .description(format!(
                        "The object at the response location `{}` (`{{}}` when a query finder found nothing).",
                        ep.response_location
                    ))
                    .content("application/json", json_content(ObjectBuilder::new().into()))
                    .build(),
            );
            for (status, what) in [
                ("400", "A malformed request, or the CRM refused it."),
                ("401", "Missing or invalid credentials."),
                ("404", "No account with this id (find-by-id)."),
                ("415", "A body that is not JSON."),
                ("501", "The CRM does not offer this operation."),
                ("503", "The CRM is down."),
            ] {
                op = op.response(status, json_response(what, "Rejection"));
            }
            self.operation(&path, &[method], op);
        }
        self
    }

    /// A health check at `path` (200, `ok`), for deployments and testers.
    pub fn health(mut self, path: &str) -> Self {
        let op = OperationBuilder::new()
            .operation_id(Some("health"))
            .summary(Some("Liveness"))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("Alive.")
                    .content("text/plain", json_content(string().into()))
                    .build(),
            );
        self.doc
            .paths
            .add_path_operation(path, vec![HttpMethod::Get], op.build());
        self
    }

    /// The document.
    #[must_use]
    pub fn build(&self) -> OpenApi {
        self.doc.clone()
    }

    /// The document as pretty JSON (what the route serves).
    #[must_use]
    pub fn to_json(&self) -> String {
        self.build().to_pretty_json().unwrap_or_else(|e| {
            // Serialising plain data cannot fail; keep a valid answer anyway.
            tracing::error!(error = %e, "openapi document did not serialise");
            "{}".to_owned()
        })
    }

    /// A `GET` route serving the document, to mount at any path.
    pub fn into_route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        let body: Arc<str> = self.to_json().into();
        get(move || {
            let body = Arc::clone(&body);
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    body.to_string(),
                )
                    .into_response()
            }
        })
    }
}
