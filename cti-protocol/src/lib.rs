#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod ameyo;
pub mod ccai;
pub mod embed;
pub mod endpoint;
mod error;
mod fast;
pub mod leaddesk;
pub mod types;
mod wire;
pub mod zoom;

pub use error::{Error, ErrorKind, Result};
pub use wire::{Extra, UnknownAction, UnknownMessage};
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
/// # Ok::<(), cti_protocol::Error>(())
/// ```
///
/// # Errors
///
/// See [`ErrorKind`]: syntax, envelope and payload errors name what is
/// wrong. Unknown message types are not errors. A vendor without a
/// postMessage dialect (Ameyo, Streem) is [`ErrorKind::Unsupported`].
pub fn decode(vendor: Vendor, json: &str) -> Result<model::VendorMessage> {
    match vendor {
        Vendor::Zoom => zoom::ZoomMessage::decode(json).map(model::VendorMessage::Zoom),
        Vendor::LeadDesk => leaddesk::TalkMessage::decode(json).map(model::VendorMessage::LeadDesk),
        Vendor::Ccai => model::decode_ccai(json),
        Vendor::Ameyo | Vendor::Streem => Err(Error::new(
            ErrorKind::Unsupported,
            format!("{vendor} has no postMessage dialect"),
        )),
    }
}

/// Hooks for this crate's own test and fuzz suites. Not part of the API:
/// anything here may change or vanish in any release.
#[doc(hidden)]
pub mod __private {
    use crate::{Error, ErrorKind, Result, Vendor, model, wire};

    /// [`decode`](crate::decode) with the fast path turned off: serde_json
    /// alone. The fast path must give exactly this answer whenever it
    /// gives one.
    ///
    /// # Errors
    ///
    /// As [`decode`](crate::decode).
    pub fn decode_without_fast_path(vendor: Vendor, json: &str) -> Result<model::VendorMessage> {
        match vendor {
            Vendor::Zoom => wire::decode_envelope_serde(json).map(model::VendorMessage::Zoom),
            Vendor::LeadDesk => wire::decode_action_serde(json).map(model::VendorMessage::LeadDesk),
            Vendor::Ccai => crate::ccai::decode_form_with(json, wire::decode_envelope_serde)
                .map(|(e, f)| model::VendorMessage::Ccai(e, f)),
            Vendor::Ameyo | Vendor::Streem => Err(Error::new(
                ErrorKind::Unsupported,
                format!("{vendor} has no postMessage dialect"),
            )),
        }
    }
}
