//! The session update e-mail (feature `email`): after the delay, a
//! finished session's metadata record as JSON in the body and, for a
//! chat, its transcript as a TXT attachment, sent to the address CCAI's
//! inheritance rules pick (global and per-queue settings,
//! [`email_recipient`]); and, on the CRM side, the parser that turns such
//! an e-mail back into the typed record.
//!
//! Delivery goes through the export queue like any file
//! ([`schedule_update`]): the message is built when the session is
//! scheduled and sent by [`SmtpExporter`] when due, retried with backoff,
//! keyed by session so scheduling it again replaces the pending one. An
//! SMTP server that accepted a message whose acknowledgement was lost
//! may receive it twice: that is the at-least-once contract.
//!
//! # Examples
//!
//! ```
//! use cti_media::email::{build_update, parse_update};
//! use cti_protocol::ccai::metadata::{ChatMetadata, SessionMetadata};
//!
//! let record = SessionMetadata::Chat(Box::new(ChatMetadata::new(73522)));
//! let raw = build_update("no-reply@cti.example", "crm@example.com", &record, Some("10:00 Ada: Hi\n"))?;
//! let back = parse_update(&raw)?;
//! assert_eq!(back.metadata, record);
//! assert_eq!(back.transcript.as_deref(), Some("10:00 Ada: Hi\n"));
//! # Ok::<(), cti_media::email::EmailError>(())
//! ```

use std::fmt;

use cti_protocol::ccai::metadata::SessionMetadata;
pub use cti_protocol::ccai::storage::{EmailSetting, email_recipient};
use futures_util::future::BoxFuture;
use jiff::Timestamp;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};

use crate::artifacts::Body;
use crate::export::{Deliverer, DeliveryQueue, ExportError, Exporter};
use crate::interaction::{Interaction, State};

/// An update e-mail that could not be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// An address is not an e-mail address.
    #[error("`{0}` is not an e-mail address")]
    Address(String),
    /// The message could not be built.
    #[error("building the e-mail: {0}")]
    Build(String),
    /// The bytes are not an e-mail.
    #[error("not an e-mail message")]
    NotEmail,
    /// The body is not a session metadata record.
    #[error("the body is not session metadata: {0}")]
    Metadata(cti_protocol::Error),
}

fn mailbox(address: &str) -> Result<Mailbox, EmailError> {
    address
        .parse::<Mailbox>()
        .map_err(|_| EmailError::Address(address.chars().take(120).collect()))
}

/// `true` for sessions CCAI sends an update for: finished ones (ended,
/// in wrap-up or completed); missed, rejected and failed calls get none.
#[must_use]
pub fn is_finished(interaction: &Interaction) -> bool {
    matches!(
        interaction.state(),
        State::Ended | State::WrapUp | State::Completed
    )
}

/// The update e-mail as RFC 5322 bytes: subject `Session update: call
/// 103646`, the record's JSON as the text body, and the transcript (if
/// any) attached as `chat-{id}.txt`.
///
/// # Errors
///
/// [`EmailError::Address`] for a bad address; [`EmailError::Build`].
pub fn build_update(
    from: &str,
    to: &str,
    metadata: &SessionMetadata,
    transcript: Option<&str>,
) -> Result<Vec<u8>, EmailError> {
    let (kind, id) = match metadata {
        SessionMetadata::Call(c) => ("call", c.id),
        SessionMetadata::Chat(c) => ("chat", c.id),
        _ => ("session", metadata.id()),
    };
    let body = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(metadata.to_json());
    let builder = lettre::Message::builder()
        .from(mailbox(from)?)
        .to(mailbox(to)?)
        .subject(format!("Session update: {kind} {id}"));
    let message = match transcript {
        Some(text) => {
            let attachment = Attachment::new(format!("{kind}-{id}.txt"))
                .body(text.to_owned(), ContentType::TEXT_PLAIN);
            builder.multipart(MultiPart::mixed().singlepart(body).singlepart(attachment))
        }
        None => builder.singlepart(body),
    }
    .map_err(|e| EmailError::Build(e.to_string()))?;
    Ok(message.formatted())
}

/// An update e-mail read back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ParsedUpdate {
    /// The record.
    pub metadata: SessionMetadata,
    /// The attached transcript (line ends back to `\n`).
    pub transcript: Option<String>,
    /// The sender's address.
    pub from: Option<String>,
    /// The subject.
    pub subject: Option<String>,
}

/// Reads an update e-mail (the raw message, as an SMTP server or a
/// mailbox stores it) back into the typed record.
///
/// # Errors
///
/// [`EmailError::NotEmail`]; [`EmailError::Metadata`] when the body is
/// not a record.
pub fn parse_update(raw: &[u8]) -> Result<ParsedUpdate, EmailError> {
    use mail_parser::MimeHeaders as _;
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or(EmailError::NotEmail)?;
    let body = message.body_text(0).ok_or(EmailError::NotEmail)?;
    // The subject says which record it is (a sparse chat record has no
    // key that tells it from a call's).
    let subject = message.subject().unwrap_or_default().to_ascii_lowercase();
    let json = body.trim();
    let metadata = if subject.contains(" chat ") {
        cti_protocol::ccai::metadata::ChatMetadata::decode(json)
            .map(|c| SessionMetadata::Chat(Box::new(c)))
    } else if subject.contains(" call ") {
        cti_protocol::ccai::metadata::CallMetadata::decode(json)
            .map(|c| SessionMetadata::Call(Box::new(c)))
    } else {
        SessionMetadata::decode(json)
    }
    .map_err(EmailError::Metadata)?;
    let transcript = message
        .attachments()
        .find(|a| {
            a.attachment_name()
                .is_some_and(|n| n.to_ascii_lowercase().ends_with(".txt"))
        })
        .and_then(|a| {
            a.text_contents()
                .map(str::to_owned)
                .or_else(|| String::from_utf8(a.contents().to_vec()).ok())
        })
        // Mail carries text with CRLF line ends; transcripts use LF.
        .map(|t| t.replace("\r\n", "\n"));
    Ok(ParsedUpdate {
        metadata,
        transcript,
        from: message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned),
        subject: message.subject().map(str::to_owned),
    })
}

/// Queues a finished session's update e-mail for `target` (an
/// [`SmtpExporter`]'s name in the deliverer), due after the delivery
/// delay. Returns `false` when no e-mail goes out: the session is not
/// finished, or the settings give no recipient.
///
/// # Errors
///
/// Building the message ([`ExportError::Target`] names why);
/// [`ExportError::Queue`].
#[allow(clippy::too_many_arguments)]
pub async fn schedule_update<Q: DeliveryQueue>(
    deliverer: &Deliverer<Q>,
    target: &str,
    from: &str,
    global: &EmailSetting,
    queue: &EmailSetting,
    interaction: &Interaction,
    metadata: &SessionMetadata,
    transcript: Option<&str>,
    now: Timestamp,
) -> Result<bool, ExportError> {
    if !is_finished(interaction) {
        return Ok(false);
    }
    let Some(to) = email_recipient(global, queue) else {
        return Ok(false);
    };
    let raw = build_update(from, &to, metadata, transcript).map_err(|e| ExportError::Target {
        target: target.to_owned(),
        why: e.to_string(),
    })?;
    let kind = match metadata {
        SessionMetadata::Chat(_) => "chat",
        _ => "call",
    };
    let path = format!("email/{kind}-{}.eml", metadata.id());
    deliverer
        .schedule_to(target, &path, Body::Bytes(raw.into()), now)
        .await?;
    Ok(true)
}

/// Sends queued update e-mails over SMTP (lettre). The envelope is read
/// from the message's `From` and `To`.
#[derive(Clone)]
pub struct SmtpExporter {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    describe: String,
}

impl fmt::Debug for SmtpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpExporter")
            .field("server", &self.describe)
            .finish_non_exhaustive()
    }
}

impl SmtpExporter {
    /// A relay reached with implicit TLS (port 465) or STARTTLS
    /// (`starttls`, port 587), logging in with `credentials`. Certificates
    /// are checked against the web PKI roots (rustls).
    ///
    /// # Errors
    ///
    /// [`ExportError::Target`] for a host name TLS cannot use.
    pub fn relay(
        host: &str,
        port: u16,
        starttls: bool,
        credentials: Option<(String, secrecy::SecretString)>,
    ) -> Result<Self, ExportError> {
        use secrecy::ExposeSecret as _;
        let builder = if starttls {
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::starttls_relay(host)
        } else {
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::relay(host)
        }
        .map_err(|e| ExportError::Target {
            target: host.to_owned(),
            why: e.to_string(),
        })?;
        let mut builder = builder.port(port);
        if let Some((user, password)) = credentials {
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user,
                    password.expose_secret().to_owned(),
                ));
        }
        Ok(Self {
            transport: builder.build(),
            describe: format!("smtp://{host}:{port}"),
        })
    }

    /// A server on a trusted network without TLS or login (a local relay
    /// or a test sink). Never use it across the internet.
    #[must_use]
    pub fn plain(host: &str, port: u16) -> Self {
        Self {
            transport: lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(
                host,
            )
            .port(port)
            .build(),
            describe: format!("smtp://{host}:{port} (no TLS)"),
        }
    }
}

impl Exporter for SmtpExporter {
    fn put<'a>(&'a self, _path: &'a str, body: &'a Body) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            use lettre::AsyncTransport as _;
            let fail = |why: String| ExportError::Target {
                target: self.describe.clone(),
                why,
            };
            let raw = match body {
                Body::Bytes(b) => b.to_vec(),
                Body::File(path) => {
                    tokio::fs::read(path)
                        .await
                        .map_err(|e| ExportError::Source {
                            path: path.display().to_string(),
                            source: e,
                        })?
                }
            };
            let message = mail_parser::MessageParser::default()
                .parse(&raw)
                .ok_or_else(|| fail("the queued e-mail does not parse".into()))?;
            let address = |a: Option<&mail_parser::Address<'_>>| -> Option<lettre::Address> {
                a?.first()?.address()?.parse().ok()
            };
            let to: Vec<lettre::Address> = address(message.to()).into_iter().collect();
            let envelope = lettre::address::Envelope::new(address(message.from()), to)
                .map_err(|e| fail(format!("envelope: {e}")))?;
            self.transport
                .send_raw(&envelope, &raw)
                .await
                .map_err(|e| fail(e.to_string()))?;
            Ok(())
        })
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}
