//! Host pages: an HTML page that embeds one vendor frame and the bridge
//! script, every value escaped.
//!
//! The page carries a fresh page token, so it is sent with
//! `Cache-Control: no-store` and must be served under [`HostPageCsp`]
//! (which provides the nonce) — [`Bridge::page`] does both.
//!
//! [`HostPageCsp`]: crate::layer::HostPageCsp

use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::MethodRouter;
use cti_protocol::Vendor;
use cti_protocol::embed::{EmbedFrame, escape_attr};
use secrecy::ExposeSecret as _;

use crate::bridge::{Bridge, BridgeError, PageGrant};
use crate::layer::{CspNonce, RequestHead};

/// When the bridge considers the frame ready to receive commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadyOn {
    /// When the frame has posted its first message (Zoom asks for its
    /// configuration first; CCAI announces itself). The default.
    #[default]
    FirstMessage,
    /// When the frame's `load` event fired (LeadDesk Talk, which may stay
    /// silent until the agent acts).
    Load,
}

impl ReadyOn {
    /// The usual choice for `vendor`.
    #[must_use]
    pub fn for_vendor(vendor: Vendor) -> Self {
        match vendor {
            Vendor::LeadDesk => Self::Load,
            _ => Self::FirstMessage,
        }
    }
}

/// A page that embeds one vendor frame and the bridge.
///
/// # Examples
///
/// ```
/// use cti_protocol::Vendor;
/// use cti_protocol::embed::EmbedFrame;
/// use cti_server_kit::page::HostPage;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let frame = EmbedFrame::leaddesk("https://login.leaddesk.com/?mode=talk")?;
/// let page = HostPage::new("Softphone", Vendor::LeadDesk, frame).bridge_base("/cti");
/// assert_eq!(page.vendor(), Vendor::LeadDesk);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HostPage {
    title: String,
    vendor: Vendor,
    frame: EmbedFrame,
    bridge_base: String,
    ready_on: ReadyOn,
    dedup: Duration,
    head_html: String,
    body_html: String,
    scripts: Vec<String>,
}

impl HostPage {
    /// A page titled `title` embedding `frame`, which speaks `vendor`'s
    /// dialect. The bridge is expected under `/cti`.
    pub fn new(title: impl Into<String>, vendor: Vendor, frame: EmbedFrame) -> Self {
        Self {
            title: title.into(),
            vendor,
            frame,
            bridge_base: "/cti".into(),
            ready_on: ReadyOn::for_vendor(vendor),
            dedup: Duration::from_millis(250),
            head_html: String::new(),
            body_html: String::new(),
            scripts: Vec::new(),
        }
    }

    /// Where [`Bridge::router`] is nested (default `/cti`).
    #[must_use]
    pub fn bridge_base(mut self, path: impl Into<String>) -> Self {
        let p: String = path.into();
        self.bridge_base = p.trim_end_matches('/').to_owned();
        self
    }

    /// When the frame counts as ready (default: per vendor).
    #[must_use]
    pub fn ready_on(mut self, ready: ReadyOn) -> Self {
        self.ready_on = ready;
        self
    }

    /// Identical messages within `window` are dropped as duplicates
    /// (default 250 ms; zero turns it off).
    #[must_use]
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.dedup = window;
        self
    }

    /// A `<style>` for the page (its text is escaped against closing the
    /// element; use the nonce-free `style-src` of your CSP accordingly).
    #[must_use]
    pub fn style(mut self, css: &str) -> Self {
        let safe = css.replace("</", "<\\/");
        self.head_html = format!("<style>{safe}</style>");
        self
    }

    /// A style sheet linked from the page (a URL; `style-src` must allow
    /// it).
    #[must_use]
    pub fn stylesheet(mut self, href: &str) -> Self {
        let _ = write!(
            self.head_html,
            "<link rel=\"stylesheet\" href=\"{}\">",
            escape_attr(href)
        );
        self
    }

    /// The rest of the page around the frame: HTML placed in the body
    /// before the frame (a CRM around its softphone, say).
    ///
    /// It is inserted as it is, so build it from escaped values (see
    /// [`escape_attr`]); it is yours, never a visitor's. Inline scripts in
    /// it would be blocked by the nonce policy: load them with
    /// [`script`](Self::script).
    #[must_use]
    pub fn body_html(mut self, html: impl Into<String>) -> Self {
        self.body_html = html.into();
        self
    }

    /// A script loaded after the bridge script, with the page's nonce
    /// (the page's own logic). Scripts run in the order added.
    #[must_use]
    pub fn script(mut self, src: impl Into<String>) -> Self {
        self.scripts.push(src.into());
        self
    }

    /// The vendor.
    #[must_use]
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The frame.
    #[must_use]
    pub fn frame(&self) -> &EmbedFrame {
        &self.frame
    }

    /// Renders the page for `grant` with `nonce`.
    ///
    /// # Errors
    ///
    /// [`BridgeError::Config`] when the grant is for another vendor or
    /// another frame origin than this page's frame.
    pub fn render(&self, grant: &PageGrant, nonce: &CspNonce) -> Result<String, BridgeError> {
        let origin = self.frame.origin()?;
        if origin != grant.frame_origin || grant.vendor != self.vendor {
            return Err(BridgeError::Config(
                "the page grant was issued for another frame".into(),
            ));
        }
        let mut html = String::with_capacity(1024);
        let _ = write!(
            html,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"referrer\" content=\"strict-origin-when-cross-origin\">\n\
             <title>{}</title>\n{}\n</head>\n<body>\n{}{}\n",
            escape_attr(&self.title),
            self.head_html,
            self.body_html,
            self.frame.to_html(),
        );
        let ready = match self.ready_on {
            ReadyOn::FirstMessage => "message",
            ReadyOn::Load => "load",
        };
        // A frame whose origin follows its login (LeadDesk) is heard from
        // its allowed login origins until the server pins one.
        let login = grant
            .login_origins
            .as_ref()
            .map_or_else(String::new, |list| {
                format!(
                    " data-origin-mode=\"login\" data-login-origins=\"{}\"",
                    escape_attr(&list.join(" "))
                )
            });
        let _ = writeln!(
            html,
            "<script nonce=\"{}\" src=\"{}\" data-frame=\"{}\" data-frame-origin=\"{}\" \
             data-ws=\"{}\" data-token=\"{}\" data-ready-on=\"{ready}\" data-dedup-ms=\"{}\"{login}></script>",
            escape_attr(nonce.as_str()),
            escape_attr(&format!("{}/bridge.js", self.bridge_base)),
            escape_attr(&self.frame.id),
            escape_attr(&origin.to_string()),
            escape_attr(&format!("{}/ws", self.bridge_base)),
            escape_attr(grant.token.expose_secret()),
            self.dedup.as_millis(),
        );
        for src in &self.scripts {
            let _ = writeln!(
                html,
                "<script nonce=\"{}\" src=\"{}\"></script>",
                escape_attr(nonce.as_str()),
                escape_attr(src)
            );
        }
        html.push_str("</body>\n</html>\n");
        Ok(html)
    }
}

impl Bridge {
    /// A `GET` route that issues a fresh page (bound to the caller's
    /// session when [`identify`](crate::bridge::BridgeBuilder::identify)
    /// is set) and renders `page`. Serve it under
    /// [`HostPageCsp`](crate::layer::HostPageCsp) allowing the frame.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use axum::Router;
    /// use cti_protocol::Vendor;
    /// use cti_protocol::embed::EmbedFrame;
    /// use cti_server_kit::layer::HostPageCsp;
    /// use cti_server_kit::page::HostPage;
    ///
    /// # async fn run(bridge: cti_server_kit::bridge::Bridge) -> Result<(), Box<dyn std::error::Error>> {
    /// let frame = EmbedFrame::leaddesk("https://login.leaddesk.com/")?;
    /// let csp = HostPageCsp::new().frame(&frame)?;
    /// let app: Router = Router::new()
    ///     .route("/softphone", bridge.page(HostPage::new("Softphone", Vendor::LeadDesk, frame)))
    ///     .layer(csp.layer())
    ///     .nest("/cti", bridge.router());
    /// # let _ = app;
    /// # Ok(())
    /// # }
    /// ```
    pub fn page<S: Clone + Send + Sync + 'static>(&self, page: HostPage) -> MethodRouter<S> {
        let page = std::sync::Arc::new(page);
        axum::routing::get(
            move |State(bridge): State<Bridge>, request: axum::extract::Request| {
                let page = std::sync::Arc::clone(&page);
                async move { serve_page(&bridge, &page, request).await }
            },
        )
        .with_state(self.clone())
    }
}

impl Bridge {
    /// Serves `page` for `request`, as the route of [`Bridge::page`] does:
    /// a fresh page grant, the page rendered with the request's nonce,
    /// `Cache-Control: no-store`. For handlers that pick the page per
    /// request (a vendor chosen in a query, say).
    pub async fn serve_page(&self, page: &HostPage, request: axum::extract::Request) -> Response {
        serve_page(self, page, request).await
    }
}

async fn serve_page(bridge: &Bridge, page: &HostPage, request: axum::extract::Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let nonce = match CspNonce::from_request_parts(&mut parts, &()).await {
        Ok(n) => n,
        Err(r) => return r.into_response(),
    };
    let session = bridge.identify_session(&RequestHead {
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
        extensions: &parts.extensions,
    });
    let origin = match page.frame.origin() {
        Ok(o) => o,
        Err(e) => return BridgeError::from(e).into_response(),
    };
    let grant = match bridge
        .issue_page(page.vendor, &origin, session.as_deref())
        .await
    {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    match page.render(&grant, &nonce) {
        Ok(html) => ([(http::header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => e.into_response(),
    }
}
