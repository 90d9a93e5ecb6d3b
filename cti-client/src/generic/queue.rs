//! The retry queue of the generic CRM API engine: requests that a CRM
//! answered with 400, waiting to be sent again under
//! [`CcaiRetryRule`](crate::policy::CcaiRetryRule).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// One request waiting to be sent again. It holds what is needed to
/// rebuild the request (method, URL, JSON body) but never credentials:
/// those are applied afresh at each send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetryJob {
    /// A unique id.
    pub id: String,
    /// The endpoint's name (`CreateRecord`, …), for logs.
    pub endpoint: String,
    /// `POST`, `PUT` or `PATCH`.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// The JSON body.
    pub body: Option<serde_json::Value>,
    /// Failures so far.
    pub failures: u32,
    /// When the first attempt failed.
    pub first_failed_at: Timestamp,
    /// When to send it next.
    pub next_at: Timestamp,
    /// The last status the CRM answered (0: no answer, a network error).
    pub last_status: u16,
    /// The file of a multipart upload, sent again with the body's fields
    /// as a multipart form (not as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<QueuedFile>,
}

/// The file of a queued multipart upload.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueuedFile {
    /// The form field that carries the file.
    pub field: String,
    /// The file name.
    pub file_name: String,
    /// Its media type.
    pub content_type: String,
    /// The bytes, base64 (so that a queue in JSON keeps them compact).
    pub data_base64: String,
}

impl fmt::Debug for QueuedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The file may be a recording or a transcript: its size only.
        f.debug_struct("QueuedFile")
            .field("field", &self.field)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("base64_len", &self.data_base64.len())
            .finish()
    }
}

/// Storage for [`RetryJob`]s. The in-memory [`MemoryRetryQueue`] loses
/// its jobs with the process; a durable implementation keeps them across
/// restarts (one backed by Redis comes with the session store).
///
/// Implementations must hand each job out once: [`take_due`] removes the
/// jobs it returns, and the engine pushes back those that fail again.
///
/// [`take_due`]: RetryQueue::take_due
pub trait RetryQueue: Send + Sync + fmt::Debug {
    /// Stores `job`, replacing one with the same id.
    fn push(&self, job: RetryJob) -> BoxFuture<'_, Result<()>>;

    /// Removes and returns up to `limit` jobs due at `now`, earliest first.
    fn take_due(&self, now: Timestamp, limit: usize) -> BoxFuture<'_, Result<Vec<RetryJob>>>;

    /// How many jobs wait.
    fn pending(&self) -> BoxFuture<'_, Result<usize>>;
}

/// Jobs by due time, and each job's due time by id.
type Jobs = (
    BTreeMap<(Timestamp, String), RetryJob>,
    BTreeMap<String, Timestamp>,
);

/// A [`RetryQueue`] in memory.
///
/// # Examples
///
/// ```
/// use cti_client::generic::queue::{MemoryRetryQueue, RetryQueue};
///
/// # tokio_test_block_on(async {
/// let q = MemoryRetryQueue::new();
/// assert_eq!(q.pending().await?, 0);
/// # Ok::<(), cti_client::Error>(()) });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryRetryQueue {
    // (next_at, id) → job; the id index finds a job to replace.
    jobs: Mutex<Jobs>,
}

impl MemoryRetryQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Jobs>> {
        self.jobs
            .lock()
            .map_err(|_| Error::new(ErrorKind::Io, "the retry queue's lock is poisoned"))
    }
}

impl RetryQueue for MemoryRetryQueue {
    fn push(&self, job: RetryJob) -> BoxFuture<'_, Result<()>> {
        let result = self.lock().map(|mut g| {
            let (by_time, by_id) = &mut *g;
            if let Some(old) = by_id.insert(job.id.clone(), job.next_at) {
                by_time.remove(&(old, job.id.clone()));
            }
            by_time.insert((job.next_at, job.id.clone()), job);
        });
        Box::pin(async move { result })
    }

    fn take_due(&self, now: Timestamp, limit: usize) -> BoxFuture<'_, Result<Vec<RetryJob>>> {
        let result = self.lock().map(|mut g| {
            let (by_time, by_id) = &mut *g;
            let mut out = Vec::new();
            while out.len() < limit {
                let Some(entry) = by_time.first_entry() else {
                    break;
                };
                if entry.key().0 > now {
                    break;
                }
                let job = entry.remove();
                by_id.remove(&job.id);
                out.push(job);
            }
            out
        });
        Box::pin(async move { result })
    }

    fn pending(&self) -> BoxFuture<'_, Result<usize>> {
        let result = self.lock().map(|g| g.1.len());
        Box::pin(async move { result })
    }
}
