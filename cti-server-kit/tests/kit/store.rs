//! The session-store contract, run against the memory store and (when
//! `CTI_REDIS_URL` points at a server) Redis.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cti_server_kit::store::{MemoryStore, SessionStore, StoreError, update_json};
use futures_util::StreamExt as _;

const TTL: Duration = Duration::from_secs(60);

async fn contract(store: Arc<dyn SessionStore>, prefix: &str) -> Result<(), StoreError> {
    let k = format!("{prefix}k");
    assert!(store.get(&k).await?.is_none());
    assert!(
        store
            .insert_new(&k, Bytes::from_static(b"one"), TTL)
            .await?
    );
    assert!(
        !store
            .insert_new(&k, Bytes::from_static(b"again"), TTL)
            .await?,
        "insert_new never overwrites"
    );
    let v = store
        .get(&k)
        .await?
        .ok_or_else(|| StoreError::Backend("vanished".into()))?;
    assert_eq!((v.value.as_ref(), v.version), (&b"one"[..], 1));
    assert!(
        store
            .swap(&k, 1, Some(Bytes::from_static(b"two")), TTL)
            .await?
    );
    assert!(
        !store
            .swap(&k, 1, Some(Bytes::from_static(b"stale")), TTL)
            .await?,
        "a stale version loses"
    );
    let v = store
        .get(&k)
        .await?
        .ok_or_else(|| StoreError::Backend("vanished".into()))?;
    assert_eq!((v.value.as_ref(), v.version), (&b"two"[..], 2));
    assert!(store.swap(&k, 2, None, TTL).await?);
    assert!(store.get(&k).await?.is_none(), "swap to None deletes");
    assert!(
        !store.swap(&k, 3, None, TTL).await?,
        "swapping a missing key fails"
    );

    // Expiry.
    let short = format!("{prefix}short");
    assert!(
        store
            .insert_new(&short, Bytes::from_static(b"x"), Duration::from_millis(50))
            .await?
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        store.get(&short).await?.is_none(),
        "expired values are gone"
    );
    assert!(
        store
            .insert_new(&short, Bytes::from_static(b"y"), TTL)
            .await?,
        "and the key is free again"
    );

    // Atomic updates under contention: 8 tasks × 25 increments.
    let counter = format!("{prefix}counter");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                loop {
                    match update_json::<u64, (), _>(&*store, &counter, TTL, |n| {
                        Ok(Some(n.unwrap_or(0) + 1))
                    })
                    .await
                    {
                        Ok(_) => break,
                        Err(StoreError::Contended(_)) => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| StoreError::Backend(e.to_string()))??;
    }
    let total: Option<(u64, u64)> = cti_server_kit::store::get_json(&*store, &counter).await?;
    assert_eq!(total.map(|t| t.0), Some(200), "no increment lost");

    // Counters: concurrent increments all count; the window does not
    // slide; an expired counter starts again at 1.
    let hits = format!("{prefix}hits");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = Arc::clone(&store);
        let hits = hits.clone();
        tasks.push(tokio::spawn(async move {
            store.incr(&hits, Duration::from_millis(400)).await
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        let (n, left) = t.await.map_err(|e| StoreError::Backend(e.to_string()))??;
        assert!(left <= Duration::from_millis(400), "{left:?}");
        seen.push(n);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=50).collect::<Vec<u64>>(),
        "each increment counted once"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (n, left) = store.incr(&hits, Duration::from_millis(400)).await?;
    assert_eq!(n, 51);
    assert!(
        left < Duration::from_millis(300),
        "the window must not slide: {left:?}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.incr(&hits, Duration::from_millis(400)).await?.0, 1);

    // Pub/sub: two subscribers both hear a message.
    let channel = format!("{prefix}chan");
    let mut a = store.subscribe(&channel).await?;
    let mut b = store.subscribe(&channel).await?;
    // Redis subscriptions are asynchronous on the server; give them a beat.
    tokio::time::sleep(Duration::from_millis(100)).await;
    store
        .publish(&channel, Bytes::from_static(b"hello"))
        .await?;
    for s in [&mut a, &mut b] {
        let got = tokio::time::timeout(Duration::from_secs(5), s.next()).await;
        assert_eq!(got.ok().flatten().as_deref(), Some(&b"hello"[..]));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_contract() -> Result<(), StoreError> {
    contract(Arc::new(MemoryStore::new()), "").await
}

/// A store that keeps the trait's default `incr` (over get and swap).
struct PlainStore(MemoryStore);

impl SessionStore for PlainStore {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Option<cti_server_kit::store::Versioned>, StoreError>,
    > {
        self.0.get(key)
    }
    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        ttl: Duration,
    ) -> futures_util::future::BoxFuture<'a, Result<bool, StoreError>> {
        self.0.insert_new(key, value, ttl)
    }
    fn swap<'a>(
        &'a self,
        key: &'a str,
        expected: u64,
        value: Option<Bytes>,
        ttl: Duration,
    ) -> futures_util::future::BoxFuture<'a, Result<bool, StoreError>> {
        self.0.swap(key, expected, value, ttl)
    }
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        message: Bytes,
    ) -> futures_util::future::BoxFuture<'a, Result<(), StoreError>> {
        self.0.publish(channel, message)
    }
    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<futures_util::stream::BoxStream<'static, Bytes>, StoreError>,
    > {
        self.0.subscribe(channel)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_incr_keeps_the_contract() -> Result<(), StoreError> {
    contract(Arc::new(PlainStore(MemoryStore::new())), "plain:").await
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_contract() -> Result<(), StoreError> {
    let Some(url) = crate::services::redis_url("redis_store_contract") else {
        return Ok(());
    };
    let store = cti_server_kit::store::RedisStore::connect(&url).await?;
    let prefix = format!("test-{}:", std::process::id());
    contract(Arc::new(store.with_prefix(prefix)), "").await
}

#[test]
fn debug_output_hides_values() {
    let v = cti_server_kit::store::Versioned {
        value: Bytes::from_static(b"secret-session"),
        version: 3,
    };
    assert!(!format!("{v:?}").contains("secret"));
}

#[tokio::test]
async fn sso_sessions_log_in_resolve_expire_and_log_out() -> Result<(), StoreError> {
    use cti_server_kit::store::SsoSessions;
    use secrecy::ExposeSecret as _;
    let store = MemoryStore::new();
    let sessions = SsoSessions::new(store.clone(), Duration::from_millis(200));
    let a = sessions.login("agent7").await?;
    let b = sessions.login("agent7").await?;
    assert_ne!(
        a.expose_secret(),
        b.expose_secret(),
        "every login gets its own id"
    );
    assert!(a.expose_secret().len() >= 43, "256 bits");
    assert!(!format!("{a:?}").contains(a.expose_secret()));
    // The raw id is not a key in the store: only its hash is.
    assert!(
        store
            .get(&format!("sso:{}", a.expose_secret()))
            .await?
            .is_none()
    );
    // Sliding expiry: used within its TTL, it lives on.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(
            sessions.resolve(a.expose_secret()).await?.as_deref(),
            Some("agent7")
        );
    }
    // b was never used after login: it has expired.
    assert_eq!(sessions.resolve(b.expose_secret()).await?, None);
    // Unused, a expires too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sessions.resolve(a.expose_secret()).await?, None);
    let c = sessions.login("agent8").await?;
    assert!(sessions.logout(c.expose_secret()).await?);
    assert!(!sessions.logout(c.expose_secret()).await?);
    assert_eq!(sessions.resolve(c.expose_secret()).await?, None);
    for hostile in ["", "x", &"y".repeat(10_000), "../../etc", "sso:*"] {
        assert_eq!(sessions.resolve(hostile).await?, None);
        assert!(!sessions.logout(hostile).await?);
    }
    Ok(())
}
