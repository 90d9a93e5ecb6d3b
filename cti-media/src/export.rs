//! Delivering session files to a customer's storage: after a delay, at
//! least once, under idempotent names, retried with backoff, and resumable
//! after a restart from a durable queue.
//!
//! - An [`Exporter`] writes one file at a path of the storage layout
//!   ([`crate::artifacts`]). Writing the same path again replaces the
//!   file, so delivering twice leaves one file: at-least-once delivery
//!   never duplicates. [`ObjectStoreExporter`] covers the local file
//!   system and, with the `s3` and `gcs` features, Amazon S3 and Google
//!   Cloud Storage (object_store); `SftpExporter` (feature `sftp`)
//!   covers SFTP servers.
//! - A [`DeliveryQueue`] holds the jobs: [`MemoryQueue`] for tests and
//!   single runs, `RedisQueue` (feature `redis`) durable on the Redis
//!   store. A job is keyed by target and path: scheduling a file again
//!   replaces the pending job instead of adding one.
//! - [`Deliverer`] schedules a session's files (due after
//!   [`DeliveryConfig::delay`], 15 minutes as CCAI) and runs due jobs
//!   under a lease: a node that dies mid-delivery only delays the job,
//!   which another node then runs. A failure is retried with exponential
//!   backoff up to [`DeliveryConfig::max_backoff`], and never dropped.
//!
//! # Examples
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use cti_media::artifacts::Body;
//! use cti_media::export::{Deliverer, DeliveryConfig, MemoryQueue, ObjectStoreExporter};
//! use cti_protocol::ccai::storage::{Session, StoredFile};
//!
//! let dir = tempfile::tempdir()?;
//! let target = ObjectStoreExporter::local(dir.path(), "exports/acme")?;
//! let deliverer = Deliverer::new(MemoryQueue::default(), DeliveryConfig::default())
//!     .target("archive", Arc::new(target));
//! let now = jiff::Timestamp::now();
//! let file = StoredFile::Metadata(Session::Call(103646));
//! deliverer.schedule_file(&file, Body::Bytes("{\"id\":103646}".into()), now).await?;
//! // Nothing before the delay; then the file lands.
//! assert_eq!(deliverer.run_due(now).await?.delivered, 0);
//! let report = deliverer.run_due(now + jiff::SignedDuration::from_mins(15)).await?;
//! assert_eq!(report.delivered, 1);
//! assert!(dir.path().join("exports/acme/ujet-metadata/call-103646.json").is_file());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cti_protocol::ccai::storage::StoredFile;
use futures_util::future::BoxFuture;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::artifacts::{Artifact, Body};
use crate::shard::{after, lock};

#[cfg(feature = "redis")]
mod redis_queue;
#[cfg(feature = "sftp")]
mod sftp;
#[cfg(feature = "redis")]
pub use self::redis_queue::RedisQueue;
#[cfg(feature = "sftp")]
pub use self::sftp::{SftpAuth, SftpExporter};

/// A delivery that failed (it is retried) or a queue that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The target could not be reached or refused the write; the job is
    /// retried.
    #[error("{target}: {why}")]
    Target {
        /// The target's description (never its credentials).
        target: String,
        /// Why.
        why: String,
    },
    /// A local file to deliver could not be read.
    #[error("{path}: {source}")]
    Source {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The job queue failed.
    #[error("delivery queue: {0}")]
    Queue(String),
    /// A path outside the storage layout (empty, absolute, `..`).
    #[error("`{0}` is not a relative storage path")]
    BadPath(String),
    /// No target of this name is configured.
    #[error("no delivery target `{0}`")]
    UnknownTarget(String),
}

/// Checks a relative `/`-separated storage path: no empty, `.` or `..`
/// segment, no leading `/`, no backslash or control character.
///
/// # Errors
///
/// [`ExportError::BadPath`].
pub fn check_path(path: &str) -> Result<(), ExportError> {
    let bad = path.is_empty()
        || path.len() > 1024
        || path.starts_with('/')
        || path.contains('\\')
        || path.chars().any(char::is_control)
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        Err(ExportError::BadPath(path.chars().take(120).collect()))
    } else {
        Ok(())
    }
}

/// Where files go: writing a path again replaces the file.
pub trait Exporter: Send + Sync + 'static {
    /// Writes `body` at `path` (relative, checked by [`check_path`]).
    ///
    /// # Errors
    ///
    /// [`ExportError::Target`] when the target fails;
    /// [`ExportError::Source`] when a file body cannot be read.
    fn put<'a>(&'a self, path: &'a str, body: &'a Body) -> BoxFuture<'a, Result<(), ExportError>>;

    /// The target, for logs and errors (never credentials).
    fn describe(&self) -> String;
}

/// An exporter on any `object_store` store: the local file system here,
/// Amazon S3 (feature `s3`) and Google Cloud Storage (feature `gcs`)
/// through object_store's builders ([`Self::new`]). Files on disk are
/// streamed up in parts, never read whole into memory.
pub struct ObjectStoreExporter {
    store: Arc<dyn object_store::ObjectStore>,
    prefix: String,
}

impl fmt::Debug for ObjectStoreExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreExporter")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl ObjectStoreExporter {
    /// Files under `prefix` (CCAI's "folder path", may be empty) in
    /// `store`. For S3, build the store with
    /// `object_store::aws::AmazonS3Builder` (feature `s3`); for GCS with
    /// `object_store::gcp::GoogleCloudStorageBuilder` (feature `gcs`).
    ///
    /// # Errors
    ///
    /// [`ExportError::BadPath`] for a prefix with `..` or the like.
    pub fn new(
        store: Arc<dyn object_store::ObjectStore>,
        prefix: &str,
    ) -> Result<Self, ExportError> {
        let prefix = prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() {
            check_path(&prefix)?;
        }
        Ok(Self { store, prefix })
    }

    /// Files under `prefix` in the local directory `root` (created if
    /// missing). Each file is written to a temporary name and renamed.
    ///
    /// # Errors
    ///
    /// [`ExportError::Target`] when `root` cannot be created;
    /// [`ExportError::BadPath`].
    pub fn local(root: &std::path::Path, prefix: &str) -> Result<Self, ExportError> {
        let target = |why: String| ExportError::Target {
            target: root.display().to_string(),
            why,
        };
        std::fs::create_dir_all(root).map_err(|e| target(e.to_string()))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(root)
            .map_err(|e| target(e.to_string()))?
            .with_automatic_cleanup(true);
        Self::new(Arc::new(fs), prefix)
    }

    fn location(&self, path: &str) -> Result<object_store::path::Path, ExportError> {
        let full = if self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.prefix)
        };
        object_store::path::Path::parse(&full).map_err(|_| ExportError::BadPath(full))
    }
}

impl Exporter for ObjectStoreExporter {
    fn put<'a>(&'a self, path: &'a str, body: &'a Body) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            use object_store::ObjectStoreExt as _;
            use tokio::io::AsyncWriteExt as _;
            check_path(path)?;
            let location = self.location(path)?;
            let target = |e: &dyn fmt::Display| ExportError::Target {
                target: self.describe(),
                why: e.to_string(),
            };
            match body {
                Body::Bytes(b) => {
                    self.store
                        .put(&location, object_store::PutPayload::from(b.clone()))
                        .await
                        .map_err(|e| target(&e))?;
                }
                Body::File(file) => {
                    let source = |e| ExportError::Source {
                        path: file.display().to_string(),
                        source: e,
                    };
                    let mut reader = tokio::fs::File::open(file).await.map_err(source)?;
                    let mut writer =
                        object_store::buffered::BufWriter::new(Arc::clone(&self.store), location);
                    if let Err(e) = tokio::io::copy(&mut reader, &mut writer).await {
                        let _ = writer.abort().await;
                        return Err(target(&e));
                    }
                    writer.shutdown().await.map_err(|e| target(&e))?;
                }
            }
            Ok(())
        })
    }

    fn describe(&self) -> String {
        format!("{} /{}", self.store, self.prefix)
    }
}

/// One pending delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Job {
    /// The target's name (see [`Deliverer::target`]).
    pub target: String,
    /// Where the file goes.
    pub path: String,
    /// What it holds.
    pub body: JobBody,
    /// When it is due.
    pub due: Timestamp,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
}

impl Job {
    /// The job's key: one pending job per target and path.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}|{}", self.target, self.path)
    }
}

/// A job's body as a queue keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobBody {
    /// Bytes, base64 in the queue's JSON.
    Bytes {
        /// The bytes.
        #[serde(with = "b64")]
        data: Vec<u8>,
    },
    /// A file on disk (a recording), read when delivered.
    File {
        /// Its path.
        path: std::path::PathBuf,
    },
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

impl From<&Body> for JobBody {
    fn from(body: &Body) -> Self {
        match body {
            Body::Bytes(b) => Self::Bytes { data: b.to_vec() },
            Body::File(p) => Self::File { path: p.clone() },
        }
    }
}

impl From<&JobBody> for Body {
    fn from(body: &JobBody) -> Self {
        match body {
            JobBody::Bytes { data } => Self::Bytes(Bytes::copy_from_slice(data)),
            JobBody::File { path } => Self::File(path.clone()),
        }
    }
}

/// A job handed to one runner until `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The job as claimed.
    pub job: Job,
    /// Until when it is this runner's.
    pub lease_until: Timestamp,
}

/// Where jobs wait. Implementations keep one job per [`Job::key`] and
/// make each method atomic.
pub trait DeliveryQueue: Send + Sync + 'static {
    /// Adds `job`, or replaces the pending job with its key (its
    /// attempts start over).
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`].
    fn push<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), ExportError>>;

    /// Hands out up to `limit` jobs due at `now`, each leased until
    /// `now + lease` (then due again if not finished).
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`].
    fn claim(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Lease>, ExportError>>;

    /// Removes a delivered job, unless it was pushed again since the
    /// claim (then the new version stays).
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`].
    fn done<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), ExportError>>;

    /// Puts a failed job back, due at `job.due`, with its attempt count
    /// and error (unless it was pushed again since the claim).
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`].
    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), ExportError>>;

    /// How many jobs wait (leased ones included).
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`].
    fn pending(&self) -> BoxFuture<'_, Result<usize, ExportError>>;
}

/// A queue in memory (lost with the process: for tests and single runs).
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    inner: Arc<Mutex<MemoryJobs>>,
}

#[derive(Debug, Default)]
struct MemoryJobs {
    /// Key → (job, version, due-or-lease ms).
    jobs: HashMap<String, (Job, u64, i64)>,
    by_due: BTreeMap<(i64, String), ()>,
    version: u64,
}

impl MemoryJobs {
    fn set(&mut self, key: String, job: Job, version: u64, at: i64) {
        if let Some((_, _, old)) = self.jobs.get(&key) {
            self.by_due.remove(&(*old, key.clone()));
        }
        self.by_due.insert((at, key.clone()), ());
        self.jobs.insert(key, (job, version, at));
    }
}

/// A lease's place: twice the lease end in ms plus one, so it never
/// equals a due time (twice the due ms).
fn due_key(at: Timestamp) -> i64 {
    at.as_millisecond().saturating_mul(2)
}

fn lease_key(at: Timestamp) -> i64 {
    due_key(at).saturating_add(1)
}

impl DeliveryQueue for MemoryQueue {
    fn push<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            let mut q = lock(&self.inner);
            q.version += 1;
            let v = q.version;
            q.set(job.key(), job.clone(), v, due_key(job.due));
            Ok(())
        })
    }

    fn claim(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Lease>, ExportError>> {
        Box::pin(async move {
            let mut q = lock(&self.inner);
            let lease_until = after(now, lease);
            let due: Vec<String> = q
                .by_due
                .keys()
                .take_while(|(at, _)| *at <= lease_key(now))
                .take(limit)
                .map(|(_, k)| k.clone())
                .collect();
            let mut out = Vec::with_capacity(due.len());
            for key in due {
                if let Some((job, v, _)) = q.jobs.get(&key).cloned() {
                    q.set(key, job.clone(), v, lease_key(lease_until));
                    out.push(Lease { job, lease_until });
                }
            }
            Ok(out)
        })
    }

    fn done<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            let mut q = lock(&self.inner);
            let key = lease.job.key();
            if let Some((_, _, at)) = q.jobs.get(&key)
                && *at == lease_key(lease.lease_until)
            {
                let at = *at;
                q.jobs.remove(&key);
                q.by_due.remove(&(at, key));
            }
            Ok(())
        })
    }

    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            let mut q = lock(&self.inner);
            let key = lease.job.key();
            if let Some((_, v, at)) = q.jobs.get(&key).cloned()
                && at == lease_key(lease.lease_until)
            {
                q.set(key, job.clone(), v, due_key(job.due));
            }
            Ok(())
        })
    }

    fn pending(&self) -> BoxFuture<'_, Result<usize, ExportError>> {
        Box::pin(async move { Ok(lock(&self.inner).jobs.len()) })
    }
}

/// How a [`Deliverer`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryConfig {
    /// How long after scheduling a file is delivered (15 min, as CCAI
    /// writes session files 15 minutes after the session ends).
    pub delay: Duration,
    /// The first retry's wait (10 s); it doubles with each failure.
    pub backoff: Duration,
    /// The longest wait between retries (1 h). Jobs are never dropped.
    pub max_backoff: Duration,
    /// How long a claimed job stays with its runner (5 min).
    pub lease: Duration,
    /// Jobs claimed per round (64).
    pub batch: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            delay: Duration::from_secs(15 * 60),
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
            lease: Duration::from_secs(300),
            batch: 64,
        }
    }
}

/// What one [`Deliverer::run_due`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Files written.
    pub delivered: usize,
    /// Failures, each put back for a retry.
    pub retried: usize,
}

/// Schedules and delivers session files (see the [module docs](self)).
pub struct Deliverer<Q> {
    queue: Q,
    config: DeliveryConfig,
    targets: BTreeMap<String, Arc<dyn Exporter>>,
}

impl<Q: fmt::Debug> fmt::Debug for Deliverer<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deliverer")
            .field("queue", &self.queue)
            .field("config", &self.config)
            .field(
                "targets",
                &self
                    .targets
                    .iter()
                    .map(|(k, v)| (k.clone(), v.describe()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<Q: DeliveryQueue> Deliverer<Q> {
    /// A deliverer on `queue`, with no target yet.
    #[must_use]
    pub fn new(queue: Q, config: DeliveryConfig) -> Self {
        Self {
            queue,
            config,
            targets: BTreeMap::new(),
        }
    }

    /// Adds a target: every scheduled file goes to each target.
    #[must_use]
    pub fn target(mut self, name: impl Into<String>, exporter: Arc<dyn Exporter>) -> Self {
        self.targets.insert(name.into(), exporter);
        self
    }

    /// The queue.
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// Schedules a session's files (from
    /// [`session_files`](crate::artifacts::session_files)) for every
    /// target, due after the delay.
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`].
    pub async fn schedule(&self, files: &[Artifact], now: Timestamp) -> Result<usize, ExportError> {
        let mut n = 0;
        for a in files {
            n += self.schedule_file(&a.file, a.body.clone(), now).await?;
        }
        Ok(n)
    }

    /// Schedules one file for every target; returns the jobs queued.
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`].
    pub async fn schedule_file(
        &self,
        file: &StoredFile,
        body: Body,
        now: Timestamp,
    ) -> Result<usize, ExportError> {
        let due = after(now, self.config.delay);
        let body = JobBody::from(&body);
        for name in self.targets.keys() {
            let job = Job {
                target: name.clone(),
                path: file.path(),
                body: body.clone(),
                due,
                attempts: 0,
                last_error: None,
            };
            self.queue.push(&job).await?;
        }
        Ok(self.targets.len())
    }

    /// Schedules one file for one target (an e-mail for the mail
    /// target, say), due after the delay.
    ///
    /// # Errors
    ///
    /// [`ExportError::UnknownTarget`]; [`ExportError::BadPath`];
    /// [`ExportError::Queue`].
    pub async fn schedule_to(
        &self,
        target: &str,
        path: &str,
        body: Body,
        now: Timestamp,
    ) -> Result<(), ExportError> {
        if !self.targets.contains_key(target) {
            return Err(ExportError::UnknownTarget(target.to_owned()));
        }
        check_path(path)?;
        let job = Job {
            target: target.to_owned(),
            path: path.to_owned(),
            body: JobBody::from(&body),
            due: after(now, self.config.delay),
            attempts: 0,
            last_error: None,
        };
        self.queue.push(&job).await
    }

    /// The wait before retry number `attempts` (1, 2, …).
    #[must_use]
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.config
            .backoff
            .checked_mul(factor)
            .unwrap_or(self.config.max_backoff)
            .min(self.config.max_backoff)
            // Never due again within the same round.
            .max(Duration::from_millis(1))
    }

    /// Delivers every job due at `now`. A failure goes back to the queue
    /// with its backoff; a job for a target this deliverer does not have
    /// waits (another node may have it).
    ///
    /// # Errors
    ///
    /// [`ExportError::Queue`] (delivery failures are not errors here:
    /// they are counted in the report and retried).
    pub async fn run_due(&self, now: Timestamp) -> Result<DeliveryReport, ExportError> {
        let mut report = DeliveryReport::default();
        loop {
            let leases = self
                .queue
                .claim(now, self.config.lease, self.config.batch.max(1))
                .await?;
            if leases.is_empty() {
                return Ok(report);
            }
            let full = leases.len() >= self.config.batch.max(1);
            for lease in &leases {
                let outcome = match self.targets.get(&lease.job.target) {
                    Some(target) => {
                        let body = Body::from(&lease.job.body);
                        target.put(&lease.job.path, &body).await
                    }
                    None => Err(ExportError::UnknownTarget(lease.job.target.clone())),
                };
                match outcome {
                    Ok(()) => {
                        self.queue.done(lease).await?;
                        report.delivered += 1;
                    }
                    Err(e) => {
                        let mut job = lease.job.clone();
                        job.attempts = job.attempts.saturating_add(1);
                        job.due = after(now, self.backoff(job.attempts));
                        job.last_error = Some(e.to_string());
                        tracing::warn!(target: "cti_media::export", job = %job.key(), attempts = job.attempts, error = %e, "delivery failed; will retry");
                        self.queue.retry(lease, &job).await?;
                        report.retried += 1;
                    }
                }
            }
            if !full {
                return Ok(report);
            }
        }
    }

    /// Runs [`Self::run_due`] every `every` on real time, until the
    /// future is dropped; queue errors are retried on the next tick.
    pub async fn drive(&self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.run_due(Timestamp::now()).await {
                tracing::warn!(target: "cti_media::export", error = %e, "delivery round failed");
            }
        }
    }
}
