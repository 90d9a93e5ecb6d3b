#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod ameyo;
pub mod ccai;
pub mod dialect;
pub mod embed;
pub mod endpoint;
mod error;
pub mod leaddesk;
pub mod message;
pub mod types;
pub mod zoom;

pub use error::{Error, ErrorKind, Result};
pub use message::{Body, UnreadableField, VendorMessage};
pub mod model;
pub mod origin;
pub mod phone;
mod query;
pub mod streem;

use serde::{Deserialize, Serialize};

/// The vendors this crate speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Vendor {
    /// Zoom Contact Center Smart Embed.
    Zoom,
    /// LeadDesk Talk.
    LeadDesk,
    /// Google CCAI Platform agent adapters.
    Ccai,
    /// Ameyo (Exotel) URL-based CRM integration.
    Ameyo,
    /// Streem Embed.
    Streem,
}

impl Vendor {
    /// The lower-case name used on the wire and on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Zoom => "zoom",
            Self::LeadDesk => "leaddesk",
            Self::Ccai => "ccai",
            Self::Ameyo => "ameyo",
            Self::Streem => "streem",
        }
    }

    /// `true` for the vendors with a postMessage dialect ([`decode`] takes them).
    #[must_use]
    pub fn has_post_message_dialect(self) -> bool {
        matches!(self, Self::Zoom | Self::LeadDesk | Self::Ccai)
    }

    /// The vendors with a postMessage dialect.
    pub const DIALECTS: [Self; 3] = [Self::Zoom, Self::LeadDesk, Self::Ccai];

    /// A vendor with a postMessage dialect, by name in any case
    /// (`zoom`, `leaddesk`, `ccai`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Format`] for an unknown name,
    /// [`ErrorKind::Unsupported`] for a vendor without a dialect.
    pub fn dialect_named(name: &str) -> Result<Self> {
        let vendor: Self = name.parse()?;
        if vendor.has_post_message_dialect() {
            Ok(vendor)
        } else {
            Err(dialect::no_dialect(vendor))
        }
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Vendor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "zoom" => Self::Zoom,
            "leaddesk" => Self::LeadDesk,
            "ccai" => Self::Ccai,
            "ameyo" => Self::Ameyo,
            "streem" => Self::Streem,
            _ => {
                return Err(Error::new(
                    ErrorKind::Format,
                    format!("unknown vendor `{}`", types::truncate(s, 32)),
                ));
            }
        })
    }
}

/// Decodes one postMessage payload of a vendor's dialect, in either
/// direction: the JSON value exactly as the frame posted it (for CCAI, an
/// object or a JSON string holding one).
///
/// # Examples
///
/// ```
/// use cti_protocol::{decode, Vendor};
///
/// let msg = decode(Vendor::LeadDesk, r#"{"action":"logout"}"#)?;
/// assert_eq!(msg.wire_type(), "logout");
/// assert!(msg.is_known());
/// // A known message with a field of an unexpected type is still that
/// // message; the field is named, and the raw JSON keeps its value.
/// let msg = decode(Vendor::LeadDesk, r#"{"action":"disconnected","callEnd":""}"#)?;
/// assert!(msg.is_known());
/// assert_eq!(msg.unreadable()[0].path, "callEnd");
/// # Ok::<(), cti_protocol::Error>(())
/// ```
///
/// # Errors
///
/// Only a message that is not JSON, is not an object, or has no string
/// type tag (`type`, `action`) is an error ([`ErrorKind::Syntax`],
/// [`ErrorKind::Envelope`]). Unknown message types and unreadable fields
/// are not errors. A vendor without a postMessage dialect (Ameyo, Streem)
/// is [`ErrorKind::Unsupported`].
pub fn decode(vendor: Vendor, json: &str) -> Result<VendorMessage> {
    match vendor {
        Vendor::Zoom => zoom::decode(json),
        Vendor::LeadDesk => leaddesk::decode(json),
        Vendor::Ccai => ccai::decode(json),
        Vendor::Ameyo | Vendor::Streem => Err(Error::new(
            ErrorKind::Unsupported,
            format!("{vendor} has no postMessage dialect"),
        )),
    }
}
