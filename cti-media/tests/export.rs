//! Session files delivered to storage: the CCAI layout, the delay, each
//! file type on its own, a target that is down (retried with backoff,
//! nothing lost), a restart (no duplicates), leases, hostile paths; on
//! the memory queue and on a real Redis.
//!
//! Redis tests read `CTI_REDIS_URL`. Without it they skip loudly, and
//! under `CI=true` or `CTI_REQUIRE_SERVICES=1` they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cti_media::artifacts::{Body, FileTypes, SessionInfo, Sources, Transcript, session_files};
use cti_media::export::{
    Deliverer, DeliveryConfig, DeliveryQueue, ExportError, Exporter, MemoryQueue,
    ObjectStoreExporter, check_path,
};
use cti_media::interaction::{Interaction, InteractionId, Op};
use cti_protocol::ccai::metadata::SessionMetadata;
use cti_protocol::ccai::storage::AudioFormat;
use cti_protocol::model::{Channel, Direction, Party};
use jiff::{SignedDuration, Timestamp};

fn t0() -> Timestamp {
    Timestamp::from_second(1_795_428_000).unwrap()
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

/// A finished call (with a recording file) and a finished chat (with a
/// transcript): their files.
fn sessions(dir: &Path) -> Vec<cti_media::artifacts::Artifact> {
    let mut call = Interaction::offered(
        InteractionId::new("call"),
        Channel::Voice,
        Direction::Inbound,
        Party::address("+14155552671"),
        t0(),
    );
    call.apply(Op::Answer, t0() + SignedDuration::from_secs(12))
        .unwrap();
    call.apply(Op::HangUp, t0() + SignedDuration::from_secs(200))
        .unwrap();
    let recording = dir.join("call.mp3");
    std::fs::write(&recording, vec![0xFF_u8; 300_000]).unwrap();
    let mut files = session_files(
        &call,
        &SessionInfo::new(103_646).lang("en"),
        &Sources::none().recording(recording),
        FileTypes::default().recordings(true, AudioFormat::Mp3),
    );
    let mut chat = Interaction::offered(
        InteractionId::new("chat"),
        Channel::Chat,
        Direction::Inbound,
        Party::address("visitor-9"),
        t0(),
    );
    chat.apply(Op::Answer, t0()).unwrap();
    chat.apply(Op::HangUp, t0() + mins(3)).unwrap();
    let mut transcript = Transcript::new();
    transcript.push(t0(), "Visitor", "Hello?");
    transcript.push(t0(), "Ada", "Hi! How can I help?");
    files.extend(session_files(
        &chat,
        &SessionInfo::new(73_522),
        &Sources::none().transcript(&transcript),
        FileTypes::default(),
    ));
    files
}

fn listing(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

const LAYOUT: [&str; 4] = [
    "exports/acme/ujet-chat-transcripts/chat-73522.txt",
    "exports/acme/ujet-metadata/call-103646.json",
    "exports/acme/ujet-metadata/chat-73522.json",
    "exports/acme/ujet-voice-recordings/call-103646.mp3",
];

/// Delivery after the delay, in the layout; scheduling again replaces.
async fn layout_and_delay<Q: DeliveryQueue>(queue: Q) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("target");
    let deliverer = Deliverer::new(queue, DeliveryConfig::default()).target(
        "archive",
        Arc::new(ObjectStoreExporter::local(&root, "/exports/acme/").unwrap()),
    );
    let files = sessions(dir.path());
    assert_eq!(deliverer.schedule(&files, t0()).await.unwrap(), 4);
    assert_eq!(
        deliverer.run_due(t0() + mins(14)).await.unwrap().delivered,
        0
    );
    assert_eq!(
        deliverer.run_due(t0() + mins(15)).await.unwrap().delivered,
        4
    );
    assert_eq!(listing(&root), LAYOUT);
    let meta = std::fs::read_to_string(root.join(LAYOUT[1])).unwrap();
    let SessionMetadata::Call(call) = SessionMetadata::decode(&meta).unwrap() else {
        panic!("a call record")
    };
    assert_eq!((call.id, call.call_duration), (103_646, Some(188)));
    assert_eq!(
        std::fs::metadata(root.join(LAYOUT[3])).unwrap().len(),
        300_000
    );
    let transcript = std::fs::read_to_string(root.join(LAYOUT[0])).unwrap();
    assert!(transcript.ends_with("Ada: Hi! How can I help?\n"));
    // Delivered twice (a session updated, a retry after a crash): the same
    // four files, rewritten.
    deliverer.schedule(&files, t0() + mins(20)).await.unwrap();
    assert_eq!(
        deliverer.run_due(t0() + mins(40)).await.unwrap().delivered,
        4
    );
    assert_eq!(listing(&root), LAYOUT);
    assert_eq!(deliverer.queue().pending().await.unwrap(), 0);
}

/// A target that is down: retried with growing backoff, nothing lost;
/// then a new deliverer on the same queue (a restart) finishes the job
/// once, with no duplicates.
async fn target_down_then_restart<Q: DeliveryQueue + Clone>(queue: Q) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("target");
    std::fs::create_dir_all(&root).unwrap();
    // "Down": a file where the folder path must go.
    std::fs::write(root.join("exports"), b"in the way").unwrap();
    let exporter = Arc::new(ObjectStoreExporter::local(&root, "exports/acme").unwrap());
    let config = DeliveryConfig::default();
    let first = Deliverer::new(queue.clone(), config.clone()).target("archive", exporter.clone());
    first.schedule(&sessions(dir.path()), t0()).await.unwrap();
    let report = first.run_due(t0() + mins(15)).await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 4));
    assert_eq!(first.queue().pending().await.unwrap(), 4, "nothing is lost");
    // Backoff: not due again at once, due after 10 s.
    assert_eq!(
        first
            .run_due(t0() + mins(15) + SignedDuration::from_secs(5))
            .await
            .unwrap()
            .retried,
        0
    );
    assert_eq!(
        first
            .run_due(t0() + mins(15) + SignedDuration::from_secs(10))
            .await
            .unwrap()
            .retried,
        4
    );
    // Doubling: 20 s after the second failure.
    assert_eq!(first.backoff(2), Duration::from_secs(20));
    assert_eq!(first.backoff(40), config.max_backoff);
    drop(first);

    // The target comes back; the process restarts.
    std::fs::remove_file(root.join("exports")).unwrap();
    let second = Deliverer::new(queue.clone(), config).target("archive", exporter);
    let report = second.run_due(t0() + mins(16)).await.unwrap();
    assert_eq!((report.delivered, report.retried), (4, 0));
    assert_eq!(listing(&root), LAYOUT);
    assert_eq!(second.queue().pending().await.unwrap(), 0);
    assert_eq!(
        second.run_due(t0() + mins(90)).await.unwrap().delivered,
        0,
        "no duplicates"
    );
}

/// A runner that dies holding a lease only delays the job.
async fn leases<Q: DeliveryQueue + Clone>(queue: Q) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("target");
    let exporter = Arc::new(ObjectStoreExporter::local(&root, "").unwrap());
    let config = DeliveryConfig::default();
    let d = Deliverer::new(queue.clone(), config.clone()).target("t", exporter);
    let file = cti_protocol::ccai::storage::StoredFile::Metadata(
        cti_protocol::ccai::storage::Session::Call(1),
    );
    d.schedule_file(&file, Body::Bytes("{\"id\":1}".into()), t0())
        .await
        .unwrap();
    // A runner claims it and dies.
    let claimed = queue
        .claim(t0() + mins(15), config.lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(d.run_due(t0() + mins(16)).await.unwrap().delivered, 0);
    // After the lease, another runs it.
    assert_eq!(d.run_due(t0() + mins(21)).await.unwrap().delivered, 1);
    assert_eq!(listing(&root), ["ujet-metadata/call-1.json"]);
    // The dead runner's late `done` changes nothing.
    queue.done(&claimed[0]).await.unwrap();
    assert_eq!(queue.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn memory_queue_delivery() {
    layout_and_delay(MemoryQueue::default()).await;
    target_down_then_restart(MemoryQueue::default()).await;
    leases(MemoryQueue::default()).await;
}

#[cfg(feature = "redis")]
async fn redis_queue(url: &str, test: &str) -> cti_media::export::RedisQueue {
    let prefix = format!(
        "cti-test:{}:{test}:{}:",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    let store = cti_media::store::RedisStore::connect(url)
        .await
        .unwrap()
        .with_prefix(prefix);
    cti_media::export::RedisQueue::new(&store)
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_queue_delivery() {
    let Some(url) = common::redis_url("redis_queue_delivery") else {
        return;
    };
    layout_and_delay(redis_queue(&url, "layout").await).await;
    target_down_then_restart(redis_queue(&url, "down").await).await;
    leases(redis_queue(&url, "leases").await).await;
}

#[cfg(not(feature = "redis"))]
#[test]
fn redis_queue_delivery() {
    common::feature_off("redis_queue_delivery", "Redis", "redis");
}

#[tokio::test]
async fn each_file_type_is_switched_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let call = common::ended_call("c", t0());
    let rec = dir.path().join("r.wav");
    std::fs::write(&rec, b"RIFF").unwrap();
    let info = SessionInfo::new(5);
    let names = |types: FileTypes| -> Vec<String> {
        session_files(
            &call,
            &info,
            &Sources::none()
                .recording(rec.clone())
                .voicemail(rec.clone())
                .photo("p-1", rec.clone())
                .video("../v", rec.clone()),
            types,
        )
        .iter()
        .map(|a| a.file.path())
        .collect()
    };
    assert_eq!(
        names(FileTypes::none().metadata(true)),
        ["ujet-metadata/call-5.json"]
    );
    assert_eq!(
        names(FileTypes::none().recordings(true, AudioFormat::Wav)),
        ["ujet-voice-recordings/call-5.wav"]
    );
    assert!(
        names(FileTypes::none().transcripts(true)).is_empty(),
        "a call has no transcript"
    );
    assert_eq!(
        names(FileTypes::none().voicemails(true)),
        ["ujet-voicemails/call-5.mp3"]
    );
    assert_eq!(
        names(FileTypes::none().media(true)),
        [
            "ujet-media/call-5-photo-p-1.jpg",
            "ujet-media/call-5-video-v.mp4"
        ]
    );
    assert_eq!(names(FileTypes::default()).len(), 5);
}

#[tokio::test]
async fn hostile_paths_are_refused() {
    for bad in [
        "",
        "/etc/passwd",
        "../up",
        "a/../b",
        "a//b",
        "a\\b",
        "a/./b",
        "x\u{0}y",
    ] {
        assert!(
            matches!(check_path(bad), Err(ExportError::BadPath(_))),
            "{bad:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let exporter = ObjectStoreExporter::local(dir.path(), "ok").unwrap();
    assert!(matches!(
        exporter
            .put("../escape.txt", &Body::Bytes("x".into()))
            .await,
        Err(ExportError::BadPath(_))
    ));
    assert!(matches!(
        ObjectStoreExporter::local(dir.path(), "a/../../b"),
        Err(ExportError::BadPath(_))
    ));
    assert!(!dir.path().parent().unwrap().join("escape.txt").exists());
    // A file body that vanished is a source error (and the job is retried).
    assert!(matches!(
        exporter
            .put("f.mp3", &Body::File(dir.path().join("missing.mp3")))
            .await,
        Err(ExportError::Source { .. })
    ));
}

/// The SFTP server's settings from `scripts/sftp-server.sh`, or a loud
/// skip (a failure when services are required).
#[cfg(feature = "sftp")]
struct SftpEnv {
    host: String,
    port: u16,
    user: String,
    key: String,
    host_key: String,
    dir: std::path::PathBuf,
    password: Option<String>,
}

#[cfg(feature = "sftp")]
fn sftp_env(test: &str) -> Option<SftpEnv> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let host = common::from_env(
        test,
        "SFTP",
        "CTI_SFTP_HOST",
        "eval \"$(bash scripts/sftp-server.sh start DIR)\" first",
    )?;
    let read = |n: &str| {
        std::fs::read_to_string(var(n).unwrap_or_else(|| panic!("{n} is not set"))).unwrap()
    };
    Some(SftpEnv {
        host,
        port: var("CTI_SFTP_PORT")
            .and_then(|p| p.parse().ok())
            .expect("CTI_SFTP_PORT"),
        user: var("CTI_SFTP_USER").expect("CTI_SFTP_USER"),
        key: read("CTI_SFTP_KEY"),
        host_key: read("CTI_SFTP_HOST_KEY"),
        dir: var("CTI_SFTP_DIR").expect("CTI_SFTP_DIR").into(),
        password: var("CTI_SFTP_PASSWORD"),
    })
}

/// A real SFTP server (OpenSSH) receives the layout, by key and by
/// password; it is down first (nothing lost), then a restarted deliverer
/// finishes without duplicates; a wrong host key or password is refused.
#[cfg(feature = "sftp")]
#[tokio::test]
async fn sftp_server_receives_the_layout() {
    use cti_media::export::{SftpAuth, SftpExporter};
    let Some(env) = sftp_env("sftp_server_receives_the_layout") else {
        return;
    };
    let run = format!(
        "run-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    );
    let folder = env.dir.join(&run).join("exports/acme");
    let key_auth = SftpAuth::Key {
        key: env.key.clone().into(),
        passphrase: None,
    };
    let exporter = |port: u16, auth: SftpAuth| {
        SftpExporter::new(&env.host, port, &env.user, auth, &env.host_key)
            .unwrap()
            .folder(folder.display().to_string())
            .timeout(Duration::from_secs(10))
    };
    let dir = tempfile::tempdir().unwrap();
    let queue = MemoryQueue::default();

    // Down: nothing listens on the port (a closed one next to it).
    let closed = common::closed_port();
    let first = Deliverer::new(queue.clone(), DeliveryConfig::default())
        .target("sftp", Arc::new(exporter(closed, key_auth.clone())));
    first.schedule(&sessions(dir.path()), t0()).await.unwrap();
    let report = first.run_due(t0() + mins(15)).await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 4));
    assert_eq!(queue.pending().await.unwrap(), 4);
    drop(first);

    // Up, after a restart: delivered once.
    let second = Deliverer::new(queue.clone(), DeliveryConfig::default())
        .target("sftp", Arc::new(exporter(env.port, key_auth.clone())));
    let report = second.run_due(t0() + mins(20)).await.unwrap();
    assert_eq!((report.delivered, report.retried), (4, 0), "{report:?}");
    let root = env.dir.join(&run);
    assert_eq!(listing(&root), LAYOUT);
    assert_eq!(
        std::fs::metadata(root.join(LAYOUT[3])).unwrap().len(),
        300_000
    );
    assert_eq!(second.run_due(t0() + mins(90)).await.unwrap().delivered, 0);

    // Delivering again replaces, by password this time.
    match &env.password {
        Some(pw) => {
            let by_password = exporter(env.port, SftpAuth::Password(pw.clone().into()));
            by_password
                .put(
                    "ujet-metadata/call-103646.json",
                    &Body::Bytes("{\"id\":103646}".into()),
                )
                .await
                .unwrap();
            assert_eq!(
                std::fs::read_to_string(root.join(LAYOUT[1])).unwrap(),
                "{\"id\":103646}"
            );
            let wrong = exporter(env.port, SftpAuth::Password("not-the-password".into()));
            assert!(matches!(
                wrong.put("x.json", &Body::Bytes("{}".into())).await,
                Err(ExportError::Target { .. })
            ));
        }
        None => {
            // CI runs the SFTP server as root, with a password user.
            common::skipped(
                "sftp password login",
                "SFTP",
                "CTI_SFTP_PASSWORD is not set (sshd not run as root)",
            );
        }
    }
    assert_eq!(listing(&root), LAYOUT, "no .part files, no duplicates");

    // Another host key: refused before logging in.
    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    let impostor = SftpExporter::new(&env.host, env.port, &env.user, key_auth, other).unwrap();
    assert!(matches!(
        impostor.put("y.json", &Body::Bytes("{}".into())).await,
        Err(ExportError::Target { .. })
    ));
    // Credentials never reach Debug.
    let shown = format!(
        "{:?}",
        exporter(env.port, SftpAuth::Password("hunter2-secret".into()))
    );
    assert!(
        !shown.contains("hunter2") && !shown.contains("PRIVATE KEY"),
        "{shown}"
    );
}

#[cfg(not(feature = "sftp"))]
#[test]
fn sftp_server_receives_the_layout() {
    common::feature_off("sftp_server_receives_the_layout", "SFTP", "sftp");
}

/// The S3 exporter (feature `s3`) goes through the same delivery: an
/// endpoint that is down is a target error, retried, nothing lost. (No
/// real S3 is reachable from CI; the object_store S3 client is built and
/// driven here up to the network.)
#[cfg(feature = "s3")]
#[tokio::test]
async fn s3_endpoint_down_is_retried() {
    use object_store::aws::AmazonS3Builder;
    let closed = common::closed_port();
    let retry = object_store::RetryConfig {
        max_retries: 0,
        retry_timeout: Duration::from_secs(2),
        ..object_store::RetryConfig::default()
    };
    let s3 = AmazonS3Builder::new()
        .with_bucket_name("ccai-exports")
        .with_region("us-east-1")
        .with_endpoint(format!("http://127.0.0.1:{closed}"))
        .with_allow_http(true)
        .with_access_key_id("AKIDEXAMPLE")
        .with_secret_access_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .with_retry(retry)
        .build()
        .unwrap();
    let exporter = ObjectStoreExporter::new(Arc::new(s3), "exports/acme").unwrap();
    assert!(
        !exporter.describe().contains("wJalr"),
        "no secret in the description"
    );
    let queue = MemoryQueue::default();
    let d =
        Deliverer::new(queue.clone(), DeliveryConfig::default()).target("s3", Arc::new(exporter));
    let dir = tempfile::tempdir().unwrap();
    d.schedule(&sessions(dir.path()), t0()).await.unwrap();
    let report = d.run_due(t0() + mins(15)).await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 4));
    assert_eq!(queue.pending().await.unwrap(), 4);
}
