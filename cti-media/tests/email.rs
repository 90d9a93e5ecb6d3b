//! The session update e-mail: built and parsed back exactly, sent only
//! for finished sessions to the address the inheritance rules pick, and
//! received by a real SMTP server (aiosmtpd, from `scripts/smtp-server.sh`)
//! after its delay, a server that is down first included.
//!
//! The SMTP test reads `CTI_SMTP_HOST`, `CTI_SMTP_PORT` and
//! `CTI_SMTP_MAILDIR`. Without them it skips loudly, and under `CI=true`
//! or `CTI_REQUIRE_SERVICES=1` it fails.
#![cfg(feature = "email")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;

use cti_media::artifacts::{SessionInfo, Transcript, session_metadata};
use cti_media::email::{
    EmailError, EmailSetting, SmtpExporter, build_update, parse_update, schedule_update,
};
use cti_media::export::{Deliverer, DeliveryConfig, DeliveryQueue, MemoryQueue};
use cti_media::interaction::{Interaction, InteractionId, Op};
use cti_protocol::ccai::metadata::SessionMetadata;
use cti_protocol::model::{Channel, Direction, Party};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

fn t0() -> Timestamp {
    Timestamp::from_second(1_795_431_600).unwrap()
}

fn chat(finished: bool) -> (Interaction, Transcript) {
    let mut chat = Interaction::offered(
        InteractionId::new("chat-1"),
        Channel::Chat,
        Direction::Inbound,
        Party::address("visitor"),
        t0(),
    );
    let mut transcript = Transcript::new();
    if finished {
        chat.apply(Op::Answer, t0()).unwrap();
        transcript.push(
            t0(),
            "Visitor",
            "My order 1234 has not arrived — ¿dónde está?",
        );
        transcript.push(t0(), "Ada", "Let me look.\nIt ships today.");
        chat.apply(Op::HangUp, t0() + SignedDuration::from_mins(4))
            .unwrap();
    } else {
        chat.apply(
            Op::Miss {
                reason: "queue_timeout".into(),
            },
            t0(),
        )
        .unwrap();
    }
    (chat, transcript)
}

#[test]
fn updates_round_trip_and_refuse_garbage() {
    let (chat, transcript) = chat(true);
    let record = session_metadata(&chat, &SessionInfo::new(73_522).lang("es"));
    let raw = build_update(
        "no-reply@cti.example",
        "crm@example.com",
        &record,
        Some(&transcript.render()),
    )
    .unwrap();
    let back = parse_update(&raw).unwrap();
    assert_eq!(back.metadata, record);
    assert_eq!(
        back.transcript.as_deref(),
        Some(transcript.render().as_str())
    );
    assert_eq!(back.from.as_deref(), Some("no-reply@cti.example"));
    assert_eq!(back.subject.as_deref(), Some("Session update: chat 73522"));

    // A call: no attachment.
    let call = common::ended_call("c", t0());
    let record = session_metadata(&call, &SessionInfo::new(103_646));
    let raw = build_update("a@b.example", "c@d.example", &record, None).unwrap();
    let back = parse_update(&raw).unwrap();
    assert!(matches!(&back.metadata, SessionMetadata::Call(c) if c.id == 103_646));
    assert_eq!(back.transcript, None);

    assert!(matches!(
        build_update("not an address", "c@d.example", &record, None),
        Err(EmailError::Address(_))
    ));
    assert!(matches!(
        build_update(
            "a@b.example",
            "c@d.example\r\nBcc: x@evil.example",
            &record,
            None
        ),
        Err(EmailError::Address(_))
    ));
    assert!(matches!(parse_update(b""), Err(EmailError::NotEmail)));
    let not_metadata = b"From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\nhello\r\n";
    assert!(matches!(
        parse_update(not_metadata),
        Err(EmailError::Metadata(_))
    ));
}

#[tokio::test]
async fn only_finished_sessions_with_a_recipient_get_one() {
    let d = Deliverer::new(MemoryQueue::default(), DeliveryConfig::default())
        .target("mail", Arc::new(SmtpExporter::plain("127.0.0.1", 9)));
    let on = EmailSetting::to("crm@example.com");
    let off = EmailSetting::off();
    let (finished, transcript) = chat(true);
    let (missed, _) = chat(false);
    let record = session_metadata(&finished, &SessionInfo::new(1));
    let text = transcript.render();
    let go = |global: &EmailSetting, queue: &EmailSetting, i: &Interaction| {
        let d = &d;
        let (global, queue, i) = (global.clone(), queue.clone(), i.clone());
        let record = record.clone();
        let text = text.clone();
        async move {
            schedule_update(
                d,
                "mail",
                "no-reply@cti.example",
                &global,
                &queue,
                &i,
                &record,
                Some(&text),
                t0(),
            )
            .await
            .unwrap()
        }
    };
    assert!(!go(&on, &off, &missed).await, "missed: no update");
    assert!(!go(&off, &off, &finished).await, "both off: none");
    assert!(
        go(&on, &off, &finished).await,
        "the queue inherits the global address"
    );
    assert!(
        !go(&on, &EmailSetting::to(""), &finished).await,
        "queue on but empty: none"
    );
    assert!(go(&off, &EmailSetting::to("team@example.com"), &finished).await);
    // One pending e-mail per session: scheduling again replaced it.
    assert_eq!(d.queue().pending().await.unwrap(), 1);
}

fn maildir_messages(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let new = dir.join("new");
    let Ok(entries) = std::fs::read_dir(&new) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_real_smtp_server_receives_the_update() {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let test = "a_real_smtp_server_receives_the_update";
    let (Some(host), Some(port), Some(maildir)) = (
        var("CTI_SMTP_HOST"),
        var("CTI_SMTP_PORT"),
        var("CTI_SMTP_MAILDIR"),
    ) else {
        common::skipped(
            test,
            "SMTP",
            "CTI_SMTP_HOST, CTI_SMTP_PORT and CTI_SMTP_MAILDIR are not set; eval \"$(bash scripts/smtp-server.sh start DIR)\" first",
        );
        return;
    };
    common::ran(test, "SMTP");
    let port: u16 = port.parse().unwrap();
    let maildir = std::path::PathBuf::from(maildir);
    let session_id = u64::try_from(Timestamp::now().as_millisecond()).unwrap();
    let (finished, transcript) = chat(true);
    let record = session_metadata(&finished, &SessionInfo::new(session_id).lang("es"));
    let queue = MemoryQueue::default();

    // The server is down first: nothing listens on this port.
    let closed = common::closed_port();
    let down = Deliverer::new(queue.clone(), DeliveryConfig::default())
        .target("mail", Arc::new(SmtpExporter::plain(&host, closed)));
    let sent = schedule_update(
        &down,
        "mail",
        "no-reply@cti.example",
        &EmailSetting::to("crm@example.com"),
        &EmailSetting::off(),
        &finished,
        &record,
        Some(&transcript.render()),
        t0(),
    )
    .await
    .unwrap();
    assert!(sent);
    assert_eq!(
        down.run_due(t0() + SignedDuration::from_mins(14))
            .await
            .unwrap()
            .delivered,
        0,
        "not before the delay"
    );
    assert_eq!(
        down.run_due(t0() + SignedDuration::from_mins(15))
            .await
            .unwrap()
            .retried,
        1
    );
    assert_eq!(queue.pending().await.unwrap(), 1, "nothing is lost");
    drop(down);

    let up = Deliverer::new(queue.clone(), DeliveryConfig::default())
        .target("mail", Arc::new(SmtpExporter::plain(&host, port)));
    let report = up
        .run_due(t0() + SignedDuration::from_mins(16))
        .await
        .unwrap();
    if report.delivered != 1 {
        let why = queue
            .claim(
                t0() + SignedDuration::from_mins(60),
                std::time::Duration::from_secs(1),
                1,
            )
            .await
            .unwrap();
        panic!(
            "{report:?}: {:?}",
            why.first().map(|l| l.job.last_error.clone())
        );
    }
    assert_eq!(queue.pending().await.unwrap(), 0);

    // The CRM side: find our message in the mailbox and read it back.
    let mut found = None;
    for _ in 0..50 {
        found = maildir_messages(&maildir)
            .into_iter()
            .filter_map(|raw| parse_update(&raw).ok())
            .find(|u| u.metadata.id() == session_id);
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let got = found.expect("the update arrived");
    assert_eq!(got.metadata, record);
    assert_eq!(
        got.transcript.as_deref(),
        Some(transcript.render().as_str())
    );
    assert_eq!(got.from.as_deref(), Some("no-reply@cti.example"));
    let copies = maildir_messages(&maildir)
        .into_iter()
        .filter_map(|raw| parse_update(&raw).ok())
        .filter(|u| u.metadata.id() == session_id)
        .count();
    assert_eq!(copies, 1, "sent once");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any transcript text and record id survive the e-mail.
    #[test]
    fn any_update_round_trips(
        id in any::<u64>(),
        lines in proptest::collection::vec("[^\u{0}-\u{8}\u{b}-\u{1f}\u{7f}]{0,200}", 0..6),
        chat_record in any::<bool>(),
    ) {
        let record = if chat_record {
            SessionMetadata::Chat(Box::new(cti_protocol::ccai::metadata::ChatMetadata::new(id)))
        } else {
            SessionMetadata::Call(Box::new(cti_protocol::ccai::metadata::CallMetadata::new(id)))
        };
        let mut t = Transcript::new();
        for l in &lines {
            t.push(t0(), "Ada", l.as_str());
        }
        let text = t.render();
        let transcript = (!text.is_empty()).then_some(text.as_str());
        let raw = build_update("a@b.example", "c@d.example", &record, transcript).unwrap();
        let back = parse_update(&raw).unwrap();
        prop_assert_eq!(back.metadata, record);
        prop_assert_eq!(back.transcript.as_deref(), transcript);
    }
}
