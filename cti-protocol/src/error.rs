//! The crate's one error type.

use std::fmt;

/// What went wrong, in a form a program can branch on.
///
/// The list grows as the crate grows, so match it with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not valid JSON (or is truncated).
    Syntax,
    /// The JSON is valid but is not a message envelope: not an object, or
    /// the `type` / `action` tag is missing or not a string.
    Envelope,
    /// The message type is known but its payload does not have the
    /// documented shape (a field is missing or has the wrong type).
    Payload,
    /// The input is larger or deeper than the decoder accepts.
    Limit,
    /// An origin string is not a valid web origin.
    Origin,
    /// An origin allowlist pattern is not valid.
    AllowlistPattern,
    /// A command cannot be expressed in the chosen vendor's dialect.
    Unsupported,
    /// A value (time, duration, id) is not in the expected text format.
    Format,
    /// A URL template or generic-API parameter does not parse (unknown
    /// variable, unbalanced braces, bad function call).
    Template,
    /// A phone number is not valid, or cannot be written in the format asked.
    Phone,
    /// A URL is not what was expected, or a redirect target is not allowed.
    Url,
}

impl ErrorKind {
    /// A short, stable, lower-case name for the kind (`"payload"`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Syntax => "syntax",
            Self::Envelope => "envelope",
            Self::Payload => "payload",
            Self::Limit => "limit",
            Self::Origin => "origin",
            Self::AllowlistPattern => "allowlist-pattern",
            Self::Unsupported => "unsupported",
            Self::Format => "format",
            Self::Template => "template",
            Self::Phone => "phone",
            Self::Url => "url",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of every fallible operation in this crate.
///
/// It is opaque on purpose: branch on [`Error::kind`], show it with
/// `Display`. The message names what is wrong (the field, the message type,
/// the offending text) so it can be shown to a developer as is.
///
/// # Examples
///
/// ```
/// use cti_protocol::{decode, ErrorKind, Vendor};
///
/// let err = decode(Vendor::Zoom, r#"{"data":{"widthInPixels":"wide"}}"#).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Envelope);
/// assert!(err.to_string().contains("`type`"));
///
/// // A syntax error keeps serde_json's error as its source.
/// let err = decode(Vendor::Zoom, "{oops").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Syntax);
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: Box<str>,
    message_type: Option<Box<str>>,
    source: Option<std::sync::Arc<serde_json::Error>>,
}

impl PartialEq for Error {
    /// Compares kind, message and message type; the source is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.message == other.message
            && self.message_type == other.message_type
    }
}

impl Eq for Error {}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into().into_boxed_str(),
            message_type: None,
            source: None,
        }
    }

    pub(crate) fn with_message_type(mut self, ty: &str) -> Self {
        self.message_type = Some(ty.into());
        self
    }

    pub(crate) fn from_json(err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let text = err.to_string();
        let kind = match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                if text.contains("recursion limit") {
                    ErrorKind::Limit
                } else {
                    ErrorKind::Syntax
                }
            }
            Category::Data => ErrorKind::Payload,
        };
        // serde_json says where, not what: say that the input is not JSON.
        let message = match (kind, err.classify()) {
            (ErrorKind::Syntax, Category::Eof) => {
                format!("not valid JSON: it ends too soon ({text})")
            }
            (ErrorKind::Syntax, _) => format!("not valid JSON: {text}"),
            _ => text,
        };
        let mut e = Self::new(kind, message);
        e.source = Some(std::sync::Arc::new(err));
        e
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The wire type (`zcc-call-ringing`, `login`, `New_Call`, …) of the
    /// message that failed to decode, when it got that far.
    #[must_use]
    pub fn message_type(&self) -> Option<&str> {
        self.message_type.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("message_type", &self.message_type)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message_type {
            Some(ty) => write!(f, "{ty}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
