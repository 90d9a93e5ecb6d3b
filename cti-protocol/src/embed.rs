//! Embed frames: the URL that loads each vendor's softphone, and an
//! [`EmbedFrame`] that renders a safe `<iframe>` with the permissions the
//! vendor needs.
//!
//! | vendor | frame URL | `allow` |
//! |---|---|---|
//! | Zoom | `https://zoom.us/cci/callbar/crm/?origin={host page origin}` (vanity and gov hosts too) | autoplay, microphone, camera, display-capture, midi, encrypted-media, clipboard-write |
//! | LeadDesk | a LeadDesk login URL (`https://login-ce2.leaddesk.com/`) | microphone `*` (any origin: Talk may move to another login host) |
//! | CCAI | `https://{tenant}.{region}.ccaiplatform.com/agent/?type=call\|chat&from=custom` | microphone, camera, geolocation |
//! | Streem | the `/embed` URL ([`crate::streem::EmbedUrl`]) | camera, microphone, geolocation |
//!
//! # Examples
//!
//! ```
//! use cti_protocol::embed::{EmbedFrame, ZoomHost};
//! use cti_protocol::origin::Origin;
//!
//! let host = Origin::parse("https://crm.example.com")?;
//! let frame = EmbedFrame::zoom(&host, &ZoomHost::Default)?;
//! assert_eq!(frame.src, "https://zoom.us/cci/callbar/crm/?origin=https%3A%2F%2Fcrm.example.com");
//! let html = frame.to_html();
//! assert!(html.starts_with("<iframe "));
//! assert!(html.contains(r#"allow="autoplay; microphone; camera; display-capture; midi; encrypted-media; clipboard-write""#));
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt::Write as _;

use crate::origin::Origin;
use crate::query::push_pair;
use crate::types::truncate;
use crate::{Error, ErrorKind};

/// A feature a frame may be allowed to use (`allow` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// `autoplay`.
    Autoplay,
    /// `microphone`.
    Microphone,
    /// `camera`.
    Camera,
    /// `display-capture` (screen sharing).
    DisplayCapture,
    /// `geolocation`.
    Geolocation,
    /// `midi`.
    Midi,
    /// `encrypted-media`.
    EncryptedMedia,
    /// `clipboard-write`.
    ClipboardWrite,
}

impl Permission {
    /// The feature name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Autoplay => "autoplay",
            Self::Microphone => "microphone",
            Self::Camera => "camera",
            Self::DisplayCapture => "display-capture",
            Self::Geolocation => "geolocation",
            Self::Midi => "midi",
            Self::EncryptedMedia => "encrypted-media",
            Self::ClipboardWrite => "clipboard-write",
        }
    }
}

/// A `sandbox` token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SandboxToken {
    /// `allow-scripts`.
    Scripts,
    /// `allow-same-origin`.
    SameOrigin,
    /// `allow-forms`.
    Forms,
    /// `allow-popups`.
    Popups,
    /// `allow-popups-to-escape-sandbox`.
    PopupsToEscapeSandbox,
    /// `allow-downloads`.
    Downloads,
}

impl SandboxToken {
    /// The token.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Scripts => "allow-scripts",
            Self::SameOrigin => "allow-same-origin",
            Self::Forms => "allow-forms",
            Self::Popups => "allow-popups",
            Self::PopupsToEscapeSandbox => "allow-popups-to-escape-sandbox",
            Self::Downloads => "allow-downloads",
        }
    }
}

/// Which Zoom host serves the callbar.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZoomHost {
    /// `https://zoom.us`.
    Default,
    /// `https://{vanity}.zoom.us`, for SSO through a company's vanity URL.
    Vanity(String),
    /// `https://www.zoomgov.com`.
    Gov,
}

/// The kind of CCAI agent adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdapterKind {
    /// The call adapter (290×600).
    Call,
    /// The chat adapter (450×590).
    Chat,
}

/// An `<iframe>` description.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmbedFrame {
    /// The frame's URL.
    pub src: String,
    /// The element id.
    pub id: String,
    /// The title (read by assistive technology).
    pub title: String,
    /// Features the frame may use (its own origin: `microphone`).
    pub allow: Vec<Permission>,
    /// Features the frame may use whichever origin it moves to
    /// (`microphone *`): LeadDesk Talk starts on one login host and may
    /// run from another, and keeps the microphone only this way.
    pub allow_any_origin: Vec<Permission>,
    /// Sandbox tokens; `None` for no `sandbox` attribute.
    pub sandbox: Option<Vec<SandboxToken>>,
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
}

fn embed_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Url, msg)
}

fn check_http_url(src: &str) -> crate::Result<()> {
    let u = url::Url::parse(src)
        .map_err(|e| embed_error(format!("`{}` is not a URL: {e}", truncate(src, 80))))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        return Err(embed_error("a frame must load an http(s) URL"));
    }
    Ok(())
}

impl EmbedFrame {
    /// A frame for any URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `src` is not an http(s) URL.
    pub fn new(
        src: impl Into<String>,
        id: impl Into<String>,
        title: impl Into<String>,
    ) -> crate::Result<Self> {
        let src = src.into();
        check_http_url(&src)?;
        Ok(Self {
            src,
            id: id.into(),
            title: title.into(),
            allow: Vec::new(),
            allow_any_origin: Vec::new(),
            sandbox: None,
            width: 400,
            height: 600,
        })
    }

    /// A frame at `src` with `vendor`'s own settings: the `allow` list,
    /// sandbox, id and size of that vendor's preset. For a softphone
    /// served from elsewhere (a simulator, a proxy) that must be framed
    /// exactly as the vendor's own.
    ///
    /// ```
    /// use cti_protocol::Vendor;
    /// use cti_protocol::embed::EmbedFrame;
    ///
    /// let f = EmbedFrame::with_vendor_settings(Vendor::LeadDesk, "http://127.0.0.1:8081/leaddesk/")?;
    /// assert_eq!(f.allow_attribute(), "microphone *");
    /// # Ok::<(), cti_protocol::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `src` is not an http(s) URL, or for a
    /// vendor without a frame (Ameyo).
    pub fn with_vendor_settings(
        vendor: crate::Vendor,
        src: impl Into<String>,
    ) -> crate::Result<Self> {
        let src = src.into();
        check_http_url(&src)?;
        let mut frame = match vendor {
            crate::Vendor::Zoom => {
                Self::zoom(&Origin::parse("https://crm.example")?, &ZoomHost::Default)?
            }
            crate::Vendor::LeadDesk => Self::leaddesk("https://login.leaddesk.com/")?,
            crate::Vendor::Ccai => Self::ccai("tenant", "us1", AdapterKind::Call)?,
            crate::Vendor::Streem => Self::streem(&crate::streem::EmbedUrl::new(
                "https://company.streempro.app",
            )?),
            other => {
                return Err(embed_error(format!("{other} is not embedded as a frame")));
            }
        };
        frame.src = src;
        Ok(frame)
    }

    /// Zoom Smart Embed's callbar for a host page at `host_origin`; Zoom
    /// only talks to that origin.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] for the opaque origin or a vanity name that is
    /// not a host label.
    pub fn zoom(host_origin: &Origin, host: &ZoomHost) -> crate::Result<Self> {
        if host_origin.is_opaque() {
            return Err(embed_error("the host page needs a real origin, not `null`"));
        }
        let base = match host {
            ZoomHost::Default => "https://zoom.us".to_owned(),
            ZoomHost::Gov => "https://www.zoomgov.com".to_owned(),
            ZoomHost::Vanity(name) => {
                let label = name.trim().to_ascii_lowercase();
                if label.is_empty()
                    || !label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(embed_error(
                        "a Zoom vanity name must be a host label (letters, digits, `-`)",
                    ));
                }
                format!("https://{label}.zoom.us")
            }
        };
        let mut src = format!("{base}/cci/callbar/crm/?");
        push_pair(&mut src, "origin", &host_origin.to_string());
        let mut frame = Self::new(src, "zoom-embeddable-phone-iframe", "Zoom Contact Center")?;
        frame.allow = vec![
            Permission::Autoplay,
            Permission::Microphone,
            Permission::Camera,
            Permission::DisplayCapture,
            Permission::Midi,
            Permission::EncryptedMedia,
            Permission::ClipboardWrite,
        ];
        frame.sandbox = Some(vec![
            SandboxToken::Forms,
            SandboxToken::Popups,
            SandboxToken::PopupsToEscapeSandbox,
            SandboxToken::Scripts,
            SandboxToken::SameOrigin,
            SandboxToken::Downloads,
        ]);
        frame.width = 360;
        frame.height = 620;
        Ok(frame)
    }

    /// LeadDesk Talk, loaded from a LeadDesk login URL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Url`] when `login_url` is not an http(s) URL.
    pub fn leaddesk(login_url: &str) -> crate::Result<Self> {
        let mut frame = Self::new(login_url, "LD_talk", "LeadDesk Talk")?;
        // Seed 004: `allow="microphone *"`, so that the microphone stays
        // when Talk moves to another login host.
        frame.allow_any_origin = vec![Permission::Microphone];
        frame.width = 400;
        frame.height = 800;
        Ok(frame)
    }

    /// A CCAI Platform agent adapter of `tenant` in `region`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Origin`] when the tenant or region is not a host label.
    pub fn ccai(tenant: &str, region: &str, kind: AdapterKind) -> crate::Result<Self> {
        let origin = crate::origin::vendor::ccai_tenant(tenant, region)?;
        let (ty, width, height) = match kind {
            AdapterKind::Call => ("call", 290, 600),
            AdapterKind::Chat => ("chat", 450, 590),
        };
        let mut frame = Self::new(
            format!("{origin}/agent/?type={ty}&from=custom"),
            format!("ccai-{ty}-adapter"),
            "Contact Center AI Platform",
        )?;
        frame.allow = vec![
            Permission::Microphone,
            Permission::Camera,
            Permission::Geolocation,
        ];
        frame.width = width;
        frame.height = height;
        Ok(frame)
    }

    /// Streem's invite page.
    #[must_use]
    pub fn streem(embed: &crate::streem::EmbedUrl) -> Self {
        Self {
            src: embed.to_url(),
            id: "streem-embed".to_owned(),
            title: "Streem".to_owned(),
            allow: vec![
                Permission::Camera,
                Permission::Microphone,
                Permission::Geolocation,
            ],
            allow_any_origin: Vec::new(),
            sandbox: None,
            width: 480,
            height: 720,
        }
    }

    /// The origin the frame's document comes from (the target origin for
    /// `postMessage` into it).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Origin`] when `src` has no tuple origin.
    pub fn origin(&self) -> crate::Result<Origin> {
        let u =
            url::Url::parse(&self.src).map_err(|e| Error::new(ErrorKind::Origin, e.to_string()))?;
        Origin::parse(&u.origin().ascii_serialization())
    }

    /// The `allow` attribute's value.
    #[must_use]
    pub fn allow_attribute(&self) -> String {
        self.allow
            .iter()
            .map(|p| p.name().to_owned())
            .chain(
                self.allow_any_origin
                    .iter()
                    .map(|p| format!("{} *", p.name())),
            )
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A complete `<iframe>` element; every attribute value is escaped.
    #[must_use]
    pub fn to_html(&self) -> String {
        let mut out = String::from("<iframe");
        let mut attr = |name: &str, value: &str| {
            let _ = write!(out, r#" {name}="{}""#, escape_attr(value));
        };
        attr("id", &self.id);
        attr("title", &self.title);
        attr("src", &self.src);
        if !self.allow.is_empty() || !self.allow_any_origin.is_empty() {
            attr("allow", &self.allow_attribute());
        }
        if let Some(tokens) = &self.sandbox {
            attr(
                "sandbox",
                &tokens
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        attr("width", &self.width.to_string());
        attr("height", &self.height.to_string());
        out.push_str("></iframe>");
        out
    }
}

/// Escapes text for a double-quoted HTML attribute value.
#[must_use]
pub fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let host = Origin::parse("https://crm.example.com").unwrap();
        let vanity = EmbedFrame::zoom(&host, &ZoomHost::Vanity("Acme".into())).unwrap();
        assert!(
            vanity
                .src
                .starts_with("https://acme.zoom.us/cci/callbar/crm/?origin=")
        );
        assert_eq!(vanity.origin().unwrap().to_string(), "https://acme.zoom.us");
        assert!(EmbedFrame::zoom(&host, &ZoomHost::Vanity("evil.com/x".into())).is_err());
        assert!(EmbedFrame::zoom(&Origin::opaque(), &ZoomHost::Default).is_err());
        let gov = EmbedFrame::zoom(&host, &ZoomHost::Gov).unwrap();
        assert!(gov.src.starts_with("https://www.zoomgov.com/"));

        let ccai = EmbedFrame::ccai("acme", "us1", AdapterKind::Chat).unwrap();
        assert_eq!(
            ccai.src,
            "https://acme.us1.ccaiplatform.com/agent/?type=chat&from=custom"
        );
        assert_eq!((ccai.width, ccai.height), (450, 590));
        assert_eq!(ccai.allow_attribute(), "microphone; camera; geolocation");
        assert!(EmbedFrame::ccai("a.b", "us1", AdapterKind::Call).is_err());

        let ld = EmbedFrame::leaddesk("https://login-ce2.leaddesk.com/").unwrap();
        assert_eq!(
            ld.to_html(),
            r#"<iframe id="LD_talk" title="LeadDesk Talk" src="https://login-ce2.leaddesk.com/" allow="microphone *" width="400" height="800"></iframe>"#
        );
        assert!(EmbedFrame::leaddesk("javascript:alert(1)").is_err());
    }

    #[test]
    fn every_attribute_is_escaped() {
        let mut f = EmbedFrame::new("https://x.example/?a=1&b=\"><script>", "i\"d", "<t>").unwrap();
        f.allow = vec![Permission::Microphone];
        let html = f.to_html();
        assert!(
            !html.contains("<script>") && !html.contains("i\"d") && !html.contains("<t>"),
            "{html}"
        );
        assert!(html.contains("&amp;b=&quot;&gt;&lt;script&gt;"));
    }
}
