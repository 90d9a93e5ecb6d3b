//! CCAI Platform templates: custom lookup URLs and the generic CRM API's
//! request parameters.
//!
//! Both are parsed once into a small syntax tree; expanding never parses
//! again. An unknown variable is an error when the template is parsed, not
//! when it is expanded, so a bad template is caught when it is configured.
//!
//! # Lookup URLs
//!
//! [`UrlTemplate`] substitutes `{ANI}`, `{CUID}`, `{EMAIL}`, `{MENU_PATH}`,
//! `{MENU_ID}`, `{CHANNEL}`, `{TYPE}` and the queue-level `{ACCOUNT_ID}`,
//! `{PHONE_NUMBER}` (and, for record and attachment URLs, `{RECORD_ID}`,
//! `{ATTACHMENT_ID}`). Each value is percent-encoded for where it stands:
//! a path segment, or a query value or the fragment (where `+`, `&`, `=`,
//! `?`, `/` and `#` are always encoded, so a phone number's `+` never
//! reads back as a space, and a value cannot add parameters to a
//! hash-routed CRM's fragment). A query parameter whose value comes out empty is left out
//! entirely, key and all, as CCAI does.
//!
//! ```
//! use cti_protocol::ccai::template::{UrlTemplate, Values, Variable};
//!
//! let t = UrlTemplate::parse("https://crm.example.com/lookup?phone={ANI}&email={EMAIL}&src=ccai")?;
//! let url = t.expand(&Values::new().with(Variable::Ani, "+1 222 333 4444"))?;
//! assert_eq!(url, "https://crm.example.com/lookup?phone=%2B1%20222%20333%204444&src=ccai");
//! # Ok::<(), cti_protocol::Error>(())
//! ```
//!
//! # Generic API parameters
//!
//! [`Parameter`] is a value in the endpoint's parameter list: text with
//! variables (`{AGENT_EMAIL}`, `{Call_ID}` — mind its case —, `{LAST_NAME}`,
//! which defaults to `--`, …) or a function:
//! `=DEFAULT_VALUE(a, b)`, `=CONCAT_OR(a, b, …)`, `=CONCAT_AND(a, b, …)`.
//! A part whose variables are missing drops out; when nothing is left the
//! parameter is removed from the request ([`Parameter::evaluate`] gives
//! `None`).
//!
//! ```
//! use cti_protocol::ccai::template::{Parameter, Values, Variable};
//!
//! let p = Parameter::parse("=CONCAT_OR((Id:equals:{ACCOUNT_ID}), (Email:equals:{EMAIL}))")?;
//! let v = Values::new().with(Variable::Email, "james.bond@007");
//! assert_eq!(p.evaluate(&v).as_deref(), Some("(Email:equals:james.bond@007)"));
//! assert_eq!(p.evaluate(&Values::new()), None);
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::types::truncate;
use crate::{Error, ErrorKind};

macro_rules! variables {
    ($( $(#[doc = $doc:literal])* $name:literal => $variant:ident, url: $url:literal; )*) => {
        /// A CCAI Platform template variable.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Variable {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Variable {
            /// Every variable, in the documentation's order.
            pub const ALL: &'static [Variable] = &[$(Variable::$variant),*];

            /// The name as written between braces (`ANI`, `Call_ID`, …).
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $( Self::$variant => $name, )* }
            }

            /// `true` for the variables a lookup, record or attachment URL may use.
            #[must_use]
            pub fn allowed_in_urls(self) -> bool {
                match self { $( Self::$variant => $url, )* }
            }
        }
    };
}

variables! {
    /// The caller's number (lookup URLs).
    "ANI" => Ani, url: true;
    /// The custom user id (lookup URLs).
    "CUID" => Cuid, url: true;
    /// The consumer's e-mail address.
    "EMAIL" => Email, url: true;
    /// The whole queue menu path (`Orders/Order confirmation/Order info`).
    "MENU_PATH" => MenuPath, url: true;
    /// The menu id.
    "MENU_ID" => MenuId, url: true;
    /// `chat` or `voice_call` (lookup URLs); the channel (API parameters).
    "CHANNEL" => Channel, url: true;
    /// The session's type (`IncomingCall(app)`, `Web`, …).
    "TYPE" => Type, url: true;
    /// The CRM account id (queue-level and account URLs, API parameters).
    "ACCOUNT_ID" => AccountId, url: true;
    /// The end user's phone number, in the configured format.
    "PHONE_NUMBER" => PhoneNumber, url: true;
    /// The CRM record id (record URLs, API parameters).
    "RECORD_ID" => RecordId, url: true;
    /// An uploaded attachment's id (attachment builder URLs).
    "ATTACHMENT_ID" => AttachmentId, url: true;
    /// The internal agent id.
    "AGENT_ID" => AgentId, url: false;
    /// The agent's custom id.
    "AGENT_CUSTOM_ID" => AgentCustomId, url: false;
    /// The answering agent's e-mail address.
    "AGENT_EMAIL" => AgentEmail, url: false;
    /// The end user's name.
    "NAME" => Name, url: false;
    /// The end user's first name.
    "FIRST_NAME" => FirstName, url: false;
    /// The end user's last name; `--` when missing.
    "LAST_NAME" => LastName, url: false;
    /// The CCAI end-user id.
    "UJET_ID" => UjetId, url: false;
    /// The call or session type.
    "SESSION_TYPE" => SessionType, url: false;
    /// The call id (note the case: `Call_ID`).
    "Call_ID" => CallId, url: false;
    /// The chat id (note the case: `Chat_ID`).
    "Chat_ID" => ChatId, url: false;
    /// The language.
    "LANG" => Lang, url: false;
    /// The custom user id (mobile: the part of the e-mail before `@`).
    "CUSTOM_USER_ID" => CustomUserId, url: false;
    /// The session id.
    "SESSION_ID" => SessionId, url: false;
    /// The outbound phone number, in the configured format.
    "OUTBOUND_PHONE_NUMBER" => OutboundPhoneNumber, url: false;
    /// The queue's name.
    "QUEUE_NAME" => QueueName, url: false;
    /// The internal queue id.
    "QUEUE_ID" => QueueId, url: false;
    /// The smart-action session id.
    "SMART_ACTION_SESSION_ID" => SmartActionSessionId, url: false;
    /// The rating the user left.
    "RATING" => Rating, url: false;
    /// The feedback the user left.
    "FEEDBACK" => Feedback, url: false;
    /// Call duration, `mm:ss`.
    "CALL_DURATION" => CallDuration, url: false;
    /// Hold time, `mm:ss`.
    "HOLD_TIME" => HoldTime, url: false;
    /// Wait time, `mm:ss`.
    "WAIT_TIME" => WaitTime, url: false;
    /// The device type.
    "DEVICE_TYPE" => DeviceType, url: false;
    /// Who disconnected.
    "DISCONNECTED_BY" => DisconnectedBy, url: false;
    /// The record's title.
    "TICKET_SUBJECT" => TicketSubject, url: false;
    /// The record's description.
    "TICKET_DESCRIPTION" => TicketDescription, url: false;
    /// The record's description as HTML.
    "TICKET_DESCRIPTION_HTML" => TicketDescriptionHtml, url: false;
    /// A comment's body.
    "COMMENT_BODY" => CommentBody, url: false;
    /// The file being uploaded (base64 or multipart data).
    "FILE_DATA" => FileData, url: false;
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variable {
    type Err = Error;
    /// Parses a variable name, exactly as documented (`Call_ID`, not `CALL_ID`).
    fn from_str(s: &str) -> crate::Result<Self> {
        let name = s
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(s);
        if let Some(v) = Variable::ALL.iter().find(|v| v.name() == name) {
            return Ok(*v);
        }
        let hint = Variable::ALL
            .iter()
            .find(|v| v.name().eq_ignore_ascii_case(name))
            .map(|v| format!(" (did you mean `{{{}}}`?)", v.name()))
            .unwrap_or_default();
        Err(Error::new(
            ErrorKind::Template,
            format!("unknown variable `{{{}}}`{hint}", truncate(name, 40)),
        ))
    }
}

/// The values to expand a template with. A variable that is absent, or
/// present with an empty value, is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<Variable, String>);

impl Values {
    /// No values.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a value.
    #[must_use]
    pub fn with(mut self, var: Variable, value: impl Into<String>) -> Self {
        self.set(var, value);
        self
    }

    /// Sets a value.
    pub fn set(&mut self, var: Variable, value: impl Into<String>) -> &mut Self {
        self.0.insert(var, value.into());
        self
    }

    /// The value of `var`, when it is present and not empty.
    ///
    /// `FIRST_NAME` and `LAST_NAME` are "taken from Name" (seed 001) when
    /// they are not given themselves: the first word of `NAME`, and the
    /// rest of it. `LAST_NAME` defaults to `--` when there is none, as
    /// CCAI documents.
    ///
    /// ```
    /// use cti_protocol::ccai::template::{Values, Variable};
    ///
    /// let v = Values::new().with(Variable::Name, "Ada King Lovelace");
    /// assert_eq!(v.get(Variable::FirstName), Some("Ada"));
    /// assert_eq!(v.get(Variable::LastName), Some("King Lovelace"));
    /// let v = Values::new().with(Variable::Name, "Ada");
    /// assert_eq!(v.get(Variable::LastName), Some("--"));
    /// ```
    #[must_use]
    pub fn get(&self, var: Variable) -> Option<&str> {
        let own = |var| self.0.get(&var).map(|v| v.trim()).filter(|v| !v.is_empty());
        fn split(name: &str) -> (&str, Option<&str>) {
            // "Ada King Lovelace" → ("Ada", Some("King Lovelace")).
            match name.split_once(char::is_whitespace) {
                Some((first, rest)) => (first, Some(rest.trim()).filter(|r| !r.is_empty())),
                None => (name, None),
            }
        }
        match var {
            Variable::FirstName => own(var).or_else(|| own(Variable::Name).map(|n| split(n).0)),
            Variable::LastName => own(var)
                .or_else(|| own(Variable::Name).and_then(|n| split(n).1))
                .or(Some("--")),
            _ => self
                .0
                .get(&var)
                .map(String::as_str)
                .filter(|v| !v.is_empty()),
        }
    }
}

impl FromIterator<(Variable, String)> for Values {
    fn from_iter<T: IntoIterator<Item = (Variable, String)>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A piece of template text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Variable),
}

/// Splits `text` into literal text and `{VARIABLE}`s.
fn pieces(text: &str, allow: impl Fn(Variable) -> bool) -> crate::Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(Error::new(
                ErrorKind::Template,
                "a `}` without a matching `{`",
            ));
        }
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find(['}', '{'])
            .filter(|&i| after.as_bytes()[i] == b'}')
            .ok_or_else(|| Error::new(ErrorKind::Template, "a `{` without a matching `}`"))?;
        let var: Variable = after[..close].parse()?;
        if !allow(var) {
            return Err(Error::new(
                ErrorKind::Template,
                format!("`{{{var}}}` cannot be used here"),
            ));
        }
        out.push(Piece::Var(var));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_owned()));
    }
    Ok(out)
}

use crate::query::{Keep, PATH, VALUE as QUERY, encode_into};

#[derive(Debug, Clone, PartialEq, Eq)]
struct QueryParam {
    key: String,
    value: Vec<Piece>,
}

/// A parsed lookup, record or attachment-builder URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    /// Scheme and authority, literal (no variables in a host).
    origin: String,
    path: Vec<Piece>,
    query: Vec<QueryParam>,
    fragment: Option<Vec<Piece>>,
    source: String,
}

impl UrlTemplate {
    /// Parses a template.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] for an unknown variable (or one not allowed
    /// in URLs), unbalanced braces, a variable in the scheme or host, or
    /// literal text that does not make a valid absolute URL.
    pub fn parse(template: &str) -> crate::Result<Self> {
        let err = |why: &str| {
            Error::new(
                ErrorKind::Template,
                format!("`{}`: {why}", truncate(template, 120)),
            )
        };
        let t = template.trim();
        let scheme_end = t
            .find("://")
            .ok_or_else(|| err("a URL template needs a scheme, as in `https://`"))?;
        let after = &t[scheme_end + 3..];
        let auth_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let origin = &t[..scheme_end + 3 + auth_end];
        if origin.contains(['{', '}']) {
            return Err(err("variables are not allowed in the scheme or host"));
        }
        let authority = &after[..auth_end];
        if authority.is_empty() {
            return Err(err("a URL template needs a host"));
        }
        // The literal scheme and host must stand as a URL on their own, so
        // no value can ever become (part of) the host.
        let base = url::Url::parse(origin).map_err(|e| err(&format!("not a valid URL: {e}")))?;
        if base.host_str().is_none_or(str::is_empty) {
            return Err(err("a URL template needs a host"));
        }
        let rest = &after[auth_end..];
        let (before_frag, fragment) = match rest.split_once('#') {
            Some((a, f)) => (a, Some(f)),
            None => (rest, None),
        };
        let (path, query) = match before_frag.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (before_frag, None),
        };
        let allow = Variable::allowed_in_urls;
        let path = pieces(path, allow).map_err(|e| err(&e.to_string()))?;
        let mut params = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key.contains(['{', '}']) {
                return Err(err("variables are not allowed in query keys"));
            }
            params.push(QueryParam {
                key: key.to_owned(),
                value: pieces(value, allow).map_err(|e| err(&e.to_string()))?,
            });
        }
        let fragment = fragment
            .map(|f| pieces(f, allow))
            .transpose()
            .map_err(|e| err(&e.to_string()))?;
        let parsed = Self {
            origin: origin.to_owned(),
            path,
            query: params,
            fragment,
            source: t.to_owned(),
        };
        // The literal parts must make a URL: expand with every variable
        // set to a probe value and check it.
        let probe: Values = Variable::ALL.iter().map(|v| (*v, "x".to_owned())).collect();
        url::Url::parse(&parsed.expand_unchecked(&probe))
            .map_err(|e| err(&format!("not a valid URL: {e}")))?;
        Ok(parsed)
    }

    /// The variables the template uses, in order of appearance.
    #[must_use]
    pub fn variables(&self) -> Vec<Variable> {
        let mut out = Vec::new();
        let all = self
            .path
            .iter()
            .chain(self.query.iter().flat_map(|q| q.value.iter()))
            .chain(self.fragment.iter().flatten());
        for p in all {
            if let Piece::Var(v) = p
                && !out.contains(v)
            {
                out.push(*v);
            }
        }
        out
    }

    /// The path as a router pattern: literal text with each variable as
    /// `{NAME}` (`/api/accounts/{ACCOUNT_ID}`), for a server that serves
    /// this endpoint. `None` when a variable shares a path segment with
    /// other text, which routers cannot capture.
    ///
    /// ```
    /// use cti_protocol::ccai::template::UrlTemplate;
    ///
    /// let t = UrlTemplate::parse("https://crm.example.com/api/accounts/{ACCOUNT_ID}?limit=1")?;
    /// assert_eq!(t.route_pattern().as_deref(), Some("/api/accounts/{ACCOUNT_ID}"));
    /// let odd = UrlTemplate::parse("https://crm.example.com/a-{ACCOUNT_ID}")?;
    /// assert_eq!(odd.route_pattern(), None);
    /// # Ok::<(), cti_protocol::Error>(())
    /// ```
    #[must_use]
    pub fn route_pattern(&self) -> Option<String> {
        let mut out = String::new();
        for (i, p) in self.path.iter().enumerate() {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => {
                    let before_ok = out.ends_with('/');
                    let after_ok = match self.path.get(i + 1) {
                        None => true,
                        Some(Piece::Text(t)) => t.starts_with('/'),
                        Some(Piece::Var(_)) => false,
                    };
                    if !before_ok || !after_ok {
                        return None;
                    }
                    out.push('{');
                    out.push_str(v.name());
                    out.push('}');
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        Some(out)
    }

    /// Expands the template. Missing variables expand to nothing; a query
    /// parameter whose value comes out empty is left out.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] when a value cannot be represented where it
    /// stands: `.` or `..` as a whole path segment, which every URL parser
    /// would remove (percent-encoding does not help: `%2E` counts as a dot).
    pub fn expand(&self, values: &Values) -> crate::Result<String> {
        for (i, p) in self.path.iter().enumerate() {
            let Piece::Var(v) = p else { continue };
            let Some(value) = values.get(*v) else {
                continue;
            };
            let starts = i == 0 || matches!(&self.path[i - 1], Piece::Text(t) if t.ends_with('/'));
            let ends = self.path.get(i + 1).is_none()
                || matches!(self.path.get(i + 1), Some(Piece::Text(t)) if t.starts_with('/'));
            if starts && ends && (value == "." || value == "..") {
                return Err(Error::new(
                    ErrorKind::Template,
                    format!("`{{{v}}}` is `{value}`, which cannot stand as a whole path segment"),
                ));
            }
        }
        Ok(self.expand_unchecked(values))
    }

    fn expand_unchecked(&self, values: &Values) -> String {
        let mut out = String::with_capacity(self.source.len() + 96);
        out.push_str(&self.origin);
        write_pieces(&mut out, &self.path, values, &PATH);
        let mut first = true;
        for q in &self.query {
            let uses_vars = q.value.iter().any(|p| matches!(p, Piece::Var(_)));
            let all_missing = uses_vars
                && q.value.iter().all(|p| match p {
                    Piece::Var(v) => values.get(*v).is_none(),
                    Piece::Text(_) => true,
                });
            if all_missing {
                continue;
            }
            // Write in place; take the pair back out if the value is empty.
            let mark = out.len();
            out.push(if first { '?' } else { '&' });
            out.push_str(&q.key);
            out.push('=');
            let value_start = out.len();
            write_pieces(&mut out, &q.value, values, &QUERY);
            if out.len() == value_start {
                out.truncate(mark);
                continue;
            }
            first = false;
        }
        if let Some(f) = &self.fragment {
            // Hash-routed CRMs read the fragment as a path and a query of
            // their own: a value placed there is encoded as strictly as a
            // query value, so `& = + ? # /` in it cannot add parameters or
            // segments.
            out.push('#');
            write_pieces(&mut out, f, values, &QUERY);
        }
        out
    }
}

fn write_pieces(out: &mut String, pieces: &[Piece], values: &Values, set: &Keep) {
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => {
                if let Some(value) = values.get(*v) {
                    encode_into(out, value, set);
                }
            }
        }
    }
}

impl fmt::Display for UrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for UrlTemplate {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Self::parse(s)
    }
}

/// A generic-API parameter function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Function {
    /// `DEFAULT_VALUE(a, b)`: `a` unless it is missing or empty, else `b`.
    DefaultValue,
    /// `CONCAT_OR(a, b, …)`: the present parts joined with ` or `.
    ConcatOr,
    /// `CONCAT_AND(a, b, …)`: the present parts joined with ` and `.
    ConcatAnd,
}

impl Function {
    fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "DEFAULT_VALUE" => Some(Self::DefaultValue),
            "CONCAT_OR" => Some(Self::ConcatOr),
            "CONCAT_AND" => Some(Self::ConcatAnd),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Text(Vec<Piece>),
    Call(Function, Vec<Expr>),
}

/// A parsed generic-API request parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    expr: Expr,
    source: String,
}

/// Nesting deeper than this is refused (it is never needed and would let
/// hostile input exhaust the stack).
const MAX_DEPTH: usize = 16;

impl Parameter {
    /// Whether the value uses `variable` anywhere (inside functions too).
    ///
    /// ```
    /// use cti_protocol::ccai::template::{Parameter, Variable};
    ///
    /// let p = Parameter::parse("=DEFAULT_VALUE({FILE_DATA}, none)")?;
    /// assert!(p.uses(Variable::FileData));
    /// assert!(!p.uses(Variable::Name));
    /// # Ok::<(), cti_protocol::Error>(())
    /// ```
    #[must_use]
    pub fn uses(&self, variable: Variable) -> bool {
        fn walk(e: &Expr, v: Variable) -> bool {
            match e {
                Expr::Text(pieces) => pieces.iter().any(|p| matches!(p, Piece::Var(x) if *x == v)),
                Expr::Call(_, args) => args.iter().any(|a| walk(a, v)),
            }
        }
        walk(&self.expr, variable)
    }

    /// Parses a parameter: text with variables, or `=FUNCTION(args…)`.
    /// Arguments are text with variables, `'quoted'` or `"quoted"` text
    /// (which may hold commas and parentheses), or nested function calls.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] for an unknown variable or function, a wrong
    /// number of arguments, or unbalanced parentheses, braces or quotes.
    pub fn parse(text: &str) -> crate::Result<Self> {
        let err = |e: Error| {
            Error::new(
                ErrorKind::Template,
                format!("`{}`: {e}", truncate(text, 120)),
            )
        };
        let expr = match text.trim_start().strip_prefix('=') {
            Some(call) => parse_call(call.trim(), 0).map_err(err)?,
            None => Expr::Text(pieces(text, |_| true).map_err(err)?),
        };
        Ok(Self {
            expr,
            source: text.to_owned(),
        })
    }

    /// Evaluates the parameter; `None` means the parameter is removed from
    /// the request.
    #[must_use]
    pub fn evaluate(&self, values: &Values) -> Option<String> {
        eval(&self.expr, values).filter(|v| !v.is_empty())
    }

    /// [`Self::evaluate`] as the JSON a request body carries. A parameter
    /// that is one id-like variable (`{ACCOUNT_ID}`, `{RECORD_ID}`,
    /// `{Call_ID}`, `{Chat_ID}`, `{AGENT_ID}`, `{QUEUE_ID}`,
    /// `{SESSION_ID}`, `{UJET_ID}`) or `{RATING}`, whose value is a whole
    /// number, is a JSON number, as the seed's request examples send
    /// `"id": 123`, `"contactId": 123`, `"rating": 5`; everything else is
    /// text (a phone number too: `"phone": "11234567890"`).
    ///
    /// ```
    /// use cti_protocol::ccai::template::{Parameter, Values, Variable};
    ///
    /// let v = Values::new().with(Variable::AccountId, "123").with(Variable::PhoneNumber, "11234567890");
    /// assert_eq!(Parameter::parse("{ACCOUNT_ID}")?.evaluate_json(&v), Some(serde_json::json!(123)));
    /// assert_eq!(Parameter::parse("{PHONE_NUMBER}")?.evaluate_json(&v), Some(serde_json::json!("11234567890")));
    /// assert_eq!(Parameter::parse("id-{ACCOUNT_ID}")?.evaluate_json(&v), Some(serde_json::json!("id-123")));
    /// # Ok::<(), cti_protocol::Error>(())
    /// ```
    #[must_use]
    pub fn evaluate_json(&self, values: &Values) -> Option<serde_json::Value> {
        let text = self.evaluate(values)?;
        let numeric_var = match &self.expr {
            Expr::Text(pieces) => matches!(
                pieces.as_slice(),
                [Piece::Var(
                    Variable::AccountId
                        | Variable::RecordId
                        | Variable::CallId
                        | Variable::ChatId
                        | Variable::AgentId
                        | Variable::QueueId
                        | Variable::SessionId
                        | Variable::UjetId
                        | Variable::Rating
                )]
            ),
            Expr::Call(..) => false,
        };
        let whole = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        match text.parse::<u64>() {
            Ok(n) if numeric_var && whole => Some(serde_json::Value::from(n)),
            _ => Some(serde_json::Value::String(text)),
        }
    }

    /// `true` when the parameter is a function call.
    #[must_use]
    pub fn is_function(&self) -> bool {
        matches!(self.expr, Expr::Call(..))
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Parameter {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Self::parse(s)
    }
}

fn template_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Template, msg)
}

fn parse_call(text: &str, depth: usize) -> crate::Result<Expr> {
    if depth >= MAX_DEPTH {
        return Err(template_error(format!(
            "functions nest deeper than {MAX_DEPTH} levels"
        )));
    }
    let open = text
        .find('(')
        .ok_or_else(|| template_error("a function call needs `(`"))?;
    let name = &text[..open];
    let func = Function::parse(name).ok_or_else(|| {
        template_error(format!(
            "unknown function `{}` (known: DEFAULT_VALUE, CONCAT_OR, CONCAT_AND)",
            truncate(name.trim(), 40)
        ))
    })?;
    let inner = text[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| template_error("a function call must end with `)`"))?;
    let args = split_args(inner)?
        .into_iter()
        .map(|a| parse_arg(a, depth + 1))
        .collect::<crate::Result<Vec<_>>>()?;
    match func {
        Function::DefaultValue if args.len() != 2 => Err(template_error(format!(
            "DEFAULT_VALUE takes 2 arguments, not {}",
            args.len()
        ))),
        Function::ConcatOr | Function::ConcatAnd if args.is_empty() => Err(template_error(
            "CONCAT_OR and CONCAT_AND take at least one argument",
        )),
        _ => Ok(Expr::Call(func, args)),
    }
}

fn parse_arg(arg: &str, depth: usize) -> crate::Result<Expr> {
    let a = arg.trim();
    for q in ['\'', '"'] {
        if a.len() >= 2 && a.starts_with(q) && a.ends_with(q) {
            return Ok(Expr::Text(pieces(&a[1..a.len() - 1], |_| true)?));
        }
    }
    let call = a.strip_prefix('=').unwrap_or(a);
    if let Some(open) = call.find('(')
        && Function::parse(&call[..open]).is_some()
    {
        return parse_call(call, depth);
    }
    Ok(Expr::Text(pieces(a, |_| true)?))
}

/// Splits function arguments at top-level commas, honouring parentheses,
/// braces and quotes.
fn split_args(inner: &str) -> crate::Result<Vec<&str>> {
    let mut args = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None::<char>, 0);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| template_error("a `)` without a matching `(`"))?;
            }
            (None, ',') if depth == 0 => {
                args.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return Err(template_error("an unterminated quote"));
    }
    if depth != 0 {
        return Err(template_error("a `(` without a matching `)`"));
    }
    if !inner.trim().is_empty() {
        args.push(&inner[start..]);
    }
    Ok(args)
}

fn eval(expr: &Expr, values: &Values) -> Option<String> {
    match expr {
        Expr::Text(pieces) => {
            let mut out = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => out.push_str(t),
                    // A part whose variable is missing drops out entirely.
                    Piece::Var(v) => out.push_str(values.get(*v)?),
                }
            }
            Some(out).filter(|s| !s.is_empty())
        }
        Expr::Call(Function::DefaultValue, args) => args.iter().find_map(|a| eval(a, values)),
        Expr::Call(f, args) => {
            let sep = if *f == Function::ConcatAnd {
                " and "
            } else {
                " or "
            };
            let parts: Vec<String> = args.iter().filter_map(|a| eval(a, values)).collect();
            (!parts.is_empty()).then(|| parts.join(sep))
        }
    }
}

/// How an endpoint's parameters are laid out in a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFormat {
    /// `{ "param": value, … }`
    Property,
    /// `{ "name": { "param": value, … } }`
    ContainerMap(String),
    /// `{ "name": [ { "param": value, … } ] }`
    ContainerArray(String),
}

/// Builds a request body from evaluated parameters; removed parameters
/// (`None`) are left out.
///
/// ```
/// use cti_protocol::ccai::template::{build_body, RequestFormat};
///
/// let params = [("subject", Some(serde_json::json!("Call from Ada"))), ("id", Some(serde_json::json!(123))), ("email", None)];
/// let body = build_body(&RequestFormat::ContainerArray("data".into()), params);
/// assert_eq!(body, serde_json::json!({"data": [{"subject": "Call from Ada", "id": 123}]}));
/// ```
pub fn build_body<'a>(
    format: &RequestFormat,
    params: impl IntoIterator<Item = (&'a str, Option<serde_json::Value>)>,
) -> serde_json::Value {
    use serde_json::{Map, Value};
    let map: Map<String, Value> = params
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    match format {
        RequestFormat::Property => Value::Object(map),
        RequestFormat::ContainerMap(name) => {
            Value::Object(Map::from_iter([(name.clone(), Value::Object(map))]))
        }
        RequestFormat::ContainerArray(name) => Value::Object(Map::from_iter([(
            name.clone(),
            Value::Array(vec![Value::Object(map)]),
        )])),
    }
}

/// Finds the target object in a response at a "response data location":
/// dot-separated keys and array indices (`data`, `data.0`, `data[0].record`,
/// `result.items[2]`); an empty location is the whole response.
///
/// ```
/// use cti_protocol::ccai::template::response_data;
///
/// let resp = serde_json::json!({"data": [{"id": 123, "name": "James Bond"}]});
/// assert_eq!(response_data(&resp, "data[0].id"), Some(&serde_json::json!(123)));
/// assert_eq!(response_data(&resp, "data.1"), None);
/// ```
#[must_use]
pub fn response_data<'v>(
    response: &'v serde_json::Value,
    location: &str,
) -> Option<&'v serde_json::Value> {
    let mut cur = response;
    let normalised = location.replace('[', ".").replace(']', "");
    for step in normalised
        .split('.')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        cur = match cur {
            serde_json::Value::Object(map) => map.get(step)?,
            serde_json::Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_concat_or_table() {
        let p = Parameter::parse("=CONCAT_OR((Id:equals:{ACCOUNT_ID}), (Email:equals:{EMAIL}), (Phone:equals:{PHONE_NUMBER}))").unwrap();
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let cases = [
            (
                Values::new().with(Variable::AccountId, uuid),
                Some(format!("(Id:equals:{uuid})")),
            ),
            (
                Values::new()
                    .with(Variable::AccountId, uuid)
                    .with(Variable::Email, "james.bond@007"),
                Some(format!(
                    "(Id:equals:{uuid}) or (Email:equals:james.bond@007)"
                )),
            ),
            (
                Values::new()
                    .with(Variable::PhoneNumber, "+12223334444")
                    .with(Variable::Email, "james.bond@007"),
                Some("(Email:equals:james.bond@007) or (Phone:equals:+12223334444)".to_owned()),
            ),
            (Values::new(), None),
        ];
        for (values, expected) in cases {
            assert_eq!(p.evaluate(&values), expected);
        }
    }

    #[test]
    fn first_and_last_names_come_from_name() {
        let first = Parameter::parse("{FIRST_NAME}").unwrap();
        let last = Parameter::parse("{LAST_NAME}").unwrap();
        let v = Values::new().with(Variable::Name, "  Grace Brewster Hopper ");
        assert_eq!(first.evaluate(&v).as_deref(), Some("Grace"));
        assert_eq!(last.evaluate(&v).as_deref(), Some("Brewster Hopper"));
        let v = Values::new().with(Variable::Name, "Cher");
        assert_eq!(first.evaluate(&v).as_deref(), Some("Cher"));
        assert_eq!(last.evaluate(&v).as_deref(), Some("--"));
        // Given values win over the name.
        let v = Values::new()
            .with(Variable::Name, "Ada Lovelace")
            .with(Variable::FirstName, "Augusta")
            .with(Variable::LastName, "King");
        assert_eq!(first.evaluate(&v).as_deref(), Some("Augusta"));
        assert_eq!(last.evaluate(&v).as_deref(), Some("King"));
        assert_eq!(first.evaluate(&Values::new()), None);
        assert_eq!(last.evaluate(&Values::new()).as_deref(), Some("--"));
    }

    #[test]
    fn values_in_the_fragment_cannot_add_parameters() {
        let t = UrlTemplate::parse("https://crm.example.com/app#/contacts?phone={ANI}&src=ccai")
            .unwrap();
        let url = t
            .expand(&Values::new().with(Variable::Ani, "+1 222&admin=1#x?y/z"))
            .unwrap();
        assert_eq!(
            url,
            "https://crm.example.com/app#/contacts?phone=%2B1%20222%26admin%3D1%23x%3Fy%2Fz&src=ccai"
        );
        let fragment = url::Url::parse(&url)
            .unwrap()
            .fragment()
            .unwrap()
            .to_owned();
        let query = fragment.split_once('?').unwrap().1;
        let pairs: Vec<_> = url::form_urlencoded::parse(query.as_bytes()).collect();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].1, "+1 222&admin=1#x?y/z");
    }

    #[test]
    fn default_value_and_last_name() {
        let p = Parameter::parse("=DEFAULT_VALUE({AGENT_EMAIL}, support@example.com)").unwrap();
        assert_eq!(
            p.evaluate(&Values::new()).as_deref(),
            Some("support@example.com")
        );
        assert_eq!(
            p.evaluate(&Values::new().with(Variable::AgentEmail, ""))
                .as_deref(),
            Some("support@example.com")
        );
        assert_eq!(
            p.evaluate(&Values::new().with(Variable::AgentEmail, "a@b.c"))
                .as_deref(),
            Some("a@b.c")
        );
        let last = Parameter::parse("{LAST_NAME}").unwrap();
        assert_eq!(last.evaluate(&Values::new()).as_deref(), Some("--"));
        let nested =
            Parameter::parse("=CONCAT_AND(=DEFAULT_VALUE({Call_ID}, {Chat_ID}), 'a, b')").unwrap();
        assert_eq!(
            nested
                .evaluate(&Values::new().with(Variable::ChatId, "9"))
                .as_deref(),
            Some("9 and a, b")
        );
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "{CALL_ID}",
            "{NOPE}",
            "=NOPE(a)",
            "=DEFAULT_VALUE(a)",
            "=CONCAT_OR(",
            "=CONCAT_OR(a))",
            "=CONCAT_OR('a)",
            "{EMAIL",
            "EMAIL}",
            "=CONCAT_OR()",
        ] {
            assert_eq!(
                Parameter::parse(bad).unwrap_err().kind(),
                ErrorKind::Template,
                "{bad}"
            );
        }
        let hint = Parameter::parse("{CALL_ID}").unwrap_err().to_string();
        assert!(hint.contains("Call_ID"), "{hint}");
        let deep = format!("={}x{}", "CONCAT_OR(".repeat(100), ")".repeat(100));
        assert_eq!(
            Parameter::parse(&deep).unwrap_err().kind(),
            ErrorKind::Template
        );
    }

    #[test]
    fn url_templates() {
        let t = UrlTemplate::parse("https://crm.example.com/contacts/{ACCOUNT_ID}/view?ani={ANI}&email={EMAIL}&menu={MENU_PATH}&type={TYPE}&x=1#{CUID}").unwrap();
        let v = Values::new()
            .with(Variable::AccountId, "a/b c")
            .with(Variable::Ani, "+1 (222) 333-4444")
            .with(Variable::MenuPath, "Orders/Order confirmation/Order info")
            .with(Variable::Type, "IncomingCall(app)");
        let url = t.expand(&v).unwrap();
        assert_eq!(
            url,
            "https://crm.example.com/contacts/a%2Fb%20c/view?ani=%2B1%20%28222%29%20333-4444&menu=Orders%2FOrder%20confirmation%2FOrder%20info&type=IncomingCall%28app%29&x=1#"
        );
        let parsed = url::Url::parse(&url).unwrap();
        let q: BTreeMap<_, _> = parsed.query_pairs().collect();
        assert_eq!(q["ani"], "+1 (222) 333-4444");
        assert!(!q.contains_key("email"));
        assert_eq!(
            t.variables(),
            [
                Variable::AccountId,
                Variable::Ani,
                Variable::Email,
                Variable::MenuPath,
                Variable::Type,
                Variable::Cuid
            ]
        );

        for dots in [".", ".."] {
            let err = t
                .expand(&Values::new().with(Variable::AccountId, dots))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Template);
        }
        assert!(
            t.expand(&Values::new().with(Variable::AccountId, "..."))
                .is_ok()
        );
        for bad in [
            "https://{ANI}.example.com/",
            "https://x.com/?{ANI}=1",
            "https://x.com/{AGENT_ID}",
            "https://x.com/{ANY}",
            "x.com/{ANI}",
            "https://x.com/{ANI",
        ] {
            assert_eq!(
                UrlTemplate::parse(bad).unwrap_err().kind(),
                ErrorKind::Template,
                "{bad}"
            );
        }
    }
}
