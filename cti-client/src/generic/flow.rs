//! The post call or chat actions flow of the generic CRM API (seed 001):
//! once a session is over, its account and record are found or created,
//! the record is updated (its CSAT rating), comments are left for the
//! session's start and end, its CSAT rating and comment and its
//! disposition and notes, and its files are uploaded (the recording or
//! voicemail, a chat transcript, photos, videos, the session metadata
//! file), each with a comment naming it.
//!
//! Steps whose endpoint is not configured are skipped. A step the CRM
//! answers with 400 is queued for the retry queue and the flow goes on;
//! any other failure of a step is reported and the flow goes on. Only
//! the account and the record are needed for everything after them:
//! when either cannot be had, the flow stops there.
//!
//! The seed gives the flow's steps and their events, not its wording:
//! the comments' text here is ours.

use cti_protocol::ccai::generic::EndpointKind;
use cti_protocol::ccai::template::{Values, Variable};
use jiff::Timestamp;

use super::{Found, GenericCrmClient, Upload};
use crate::error::{Error, ErrorKind, Result};

/// A CSAT rating and its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Csat {
    /// The rating, 1 to 5.
    pub rating: u8,
    /// The customer's comment.
    pub comment: Option<String>,
}

impl Csat {
    /// A rating without a comment.
    #[must_use]
    pub fn new(rating: u8) -> Self {
        Self {
            rating,
            comment: None,
        }
    }
}

/// A file of the session to upload, and the word its comment names it by
/// (`Recording`, `Transcript`, `Session metadata`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionFile {
    /// The file.
    pub upload: Upload,
    /// What it is.
    pub label: String,
}

impl SessionFile {
    /// A file named `label` in its comment.
    #[must_use]
    pub fn new(upload: Upload, label: impl Into<String>) -> Self {
        Self {
            upload,
            label: label.into(),
        }
    }
}

/// What a finished session brings to the CRM.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PostSession {
    /// `call` or `chat`, in the comments.
    pub kind: String,
    /// When it started.
    pub started: Option<Timestamp>,
    /// When it ended.
    pub ended: Option<Timestamp>,
    /// The customer's rating.
    pub csat: Option<Csat>,
    /// The disposition code.
    pub disposition: Option<String>,
    /// The agent's notes, oldest first.
    pub notes: Vec<String>,
    /// The files to upload.
    pub files: Vec<SessionFile>,
}

impl PostSession {
    /// A session of `kind` (`call` or `chat`).
    #[must_use]
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            ..Self::default()
        }
    }
}

/// How one step of the flow went.
#[derive(Debug)]
#[non_exhaustive]
pub enum StepOutcome {
    /// Done.
    Done,
    /// Its endpoint is not configured, or there was nothing to send.
    Skipped,
    /// The CRM answered 400; the request waits in the retry queue.
    Queued,
    /// It failed; the flow went on.
    Failed(Error),
}

/// One step of the flow and how it went.
#[derive(Debug)]
#[non_exhaustive]
pub struct Step {
    /// The step (`account`, `record`, `update`, `comment: start`, …).
    pub name: String,
    /// How it went.
    pub outcome: StepOutcome,
}

/// What the flow did, step by step.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct PostSessionReport {
    /// The account, when found or created.
    pub account: Option<Found>,
    /// The record, when found or created.
    pub record: Option<Found>,
    /// Every step, in order.
    pub steps: Vec<Step>,
}

impl PostSessionReport {
    fn push(&mut self, name: impl Into<String>, outcome: StepOutcome) {
        self.steps.push(Step {
            name: name.into(),
            outcome,
        });
    }

    fn outcome<T>(&mut self, name: impl Into<String>, result: Result<T>) {
        let outcome = match result {
            Ok(_) => StepOutcome::Done,
            Err(e) if e.kind() == ErrorKind::Queued => StepOutcome::Queued,
            Err(e) => StepOutcome::Failed(e),
        };
        self.push(name, outcome);
    }

    /// `true` when every step was done or skipped.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.outcome, StepOutcome::Done | StepOutcome::Skipped))
    }
}

fn at(t: Option<Timestamp>) -> String {
    t.map_or_else(String::new, |t| {
        format!(" at {}", t.strftime("%Y-%m-%d %H:%M:%S UTC"))
    })
}

/// Reads back the disposition comment [`GenericCrmClient::run_post_session`]
/// leaves (`Disposition: code`, then `- note` lines): the code (`None`
/// for `none`) and the notes. `None` when `text` is not such a comment.
///
/// ```
/// use cti_client::generic::flow::disposition_comment;
///
/// let (code, notes) = disposition_comment("Disposition: resolved\n- refund sent").unwrap();
/// assert_eq!(code.as_deref(), Some("resolved"));
/// assert_eq!(notes, ["refund sent"]);
/// assert!(disposition_comment("The call ended.").is_none());
/// ```
#[must_use]
pub fn disposition_comment(text: &str) -> Option<(Option<String>, Vec<String>)> {
    let mut lines = text.lines();
    let code = lines.next()?.strip_prefix("Disposition: ")?.trim();
    let code = (code != "none" && !code.is_empty()).then(|| code.to_owned());
    let notes = lines
        .filter_map(|l| l.strip_prefix("- "))
        .map(str::to_owned)
        .collect();
    Some((code, notes))
}

impl GenericCrmClient {
    /// Runs the post call or chat actions flow for a finished session
    /// (see the [module docs](self)). `values` are the session's template
    /// values; the account's and record's ids are added to them.
    ///
    /// # Errors
    ///
    /// Only when the account or the record cannot be had (a step the CRM
    /// queued is not an error: the report says so, and the flow stops
    /// there).
    pub async fn run_post_session(
        &self,
        values: &mut Values,
        session: &PostSession,
    ) -> Result<PostSessionReport> {
        let mut report = PostSessionReport::default();
        match self.find_or_create_account(values).await {
            Ok(found) => {
                report.push("account", StepOutcome::Done);
                report.account = Some(found);
            }
            Err(e) if e.kind() == ErrorKind::Queued => {
                report.push("account", StepOutcome::Queued);
                return Ok(report);
            }
            Err(e) => return Err(e),
        }
        match self.find_or_create_record(values).await {
            Ok(found) => {
                report.push("record", StepOutcome::Done);
                report.record = Some(found);
            }
            Err(e) if e.kind() == ErrorKind::Queued => {
                report.push("record", StepOutcome::Queued);
                return Ok(report);
            }
            Err(e) => return Err(e),
        }
        if let Some(csat) = &session.csat {
            values.set(Variable::Rating, csat.rating.to_string());
            if let Some(comment) = &csat.comment {
                values.set(Variable::Feedback, comment.clone());
            }
        }
        if self.find(EndpointKind::UpdateRecord).is_some() {
            let result = self.update_record(values).await;
            report.outcome("update", result);
        } else {
            report.push("update", StepOutcome::Skipped);
        }
        let kind = if session.kind.is_empty() {
            "session"
        } else {
            session.kind.as_str()
        };
        let mut comments: Vec<(&str, String)> = vec![
            (
                "comment: start",
                format!("The {kind} started{}.", at(session.started)),
            ),
            (
                "comment: end",
                format!("The {kind} ended{}.", at(session.ended)),
            ),
        ];
        if let Some(csat) = &session.csat {
            let mut text = format!("CSAT rating: {}/5", csat.rating);
            if let Some(c) = &csat.comment {
                text.push('\n');
                text.push_str(c);
            }
            comments.push(("comment: csat", text));
        }
        if session.disposition.is_some() || !session.notes.is_empty() {
            let mut text = format!(
                "Disposition: {}",
                session.disposition.as_deref().unwrap_or("none")
            );
            for note in &session.notes {
                text.push_str("\n- ");
                text.push_str(note);
            }
            comments.push(("comment: disposition", text));
        }
        for (name, text) in comments {
            if self.find(EndpointKind::Comment).is_some() {
                let result = self.comment(values, &text).await;
                report.outcome(name, result);
            } else {
                report.push(name, StepOutcome::Skipped);
            }
        }
        for file in &session.files {
            let name = format!("upload: {}", file.label);
            if self.find(EndpointKind::UploadFile).is_some() {
                let result = self
                    .upload_file(values, &file.upload, Some(&file.label))
                    .await;
                report.outcome(name, result);
            } else {
                report.push(name, StepOutcome::Skipped);
            }
        }
        Ok(report)
    }
}
