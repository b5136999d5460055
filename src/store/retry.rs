//! One retry policy for every network call: exponential backoff with jitter, bounded
//! in attempts and in total time, and only for errors a retry can cure (timeouts,
//! resets, throttling, 5xx). Auth and not-found errors return at once.

use super::{ListPage, ObjectMeta, PartStream, PutMode, Store, StoreError, StoreResult};
use async_trait::async_trait;
use backon::BackoffBuilder;
use bytes::Bytes;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time since the first one.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The default, with the total time bounded by `FIREDRILL_RETRY_SECONDS` when set
    /// (operators of a drill with an outage injected want a quick verdict).
    pub fn from_env() -> Self {
        let mut policy = RetryPolicy::default();
        if let Some(secs) = std::env::var("FIREDRILL_RETRY_SECONDS")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
        {
            policy.max_total = Duration::from_secs_f64(secs);
            policy.max_delay = policy
                .max_delay
                .min(policy.max_total.max(policy.first_delay));
        }
        policy
    }

    /// Runs `op` until it succeeds, fails with a non-transient error, or the policy's
    /// attempts or time run out; the last error is returned.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        let started = Instant::now();
        let mut delays = backon::ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.first_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .build();
        loop {
            let err = match op().await {
                Ok(value) => return Ok(value),
                Err(err) if !err.is_transient() => return Err(err),
                Err(err) => err,
            };
            let Some(delay) = delays.next() else {
                return Err(err);
            };
            if started.elapsed() + delay > self.max_total {
                return Err(err);
            }
            tracing::debug!("retrying in {delay:?} after: {err}");
            tokio::time::sleep(delay).await;
        }
    }
}

/// Wraps a store so that each call is retried under a [`RetryPolicy`].
#[derive(Debug)]
pub struct RetryingStore {
    inner: Arc<dyn Store>,
    policy: RetryPolicy,
}

impl RetryingStore {
    pub fn new(inner: Arc<dyn Store>, policy: RetryPolicy) -> Self {
        RetryingStore { inner, policy }
    }
}

#[async_trait]
impl Store for RetryingStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn put(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()> {
        let attempts = std::sync::atomic::AtomicUsize::new(0);
        let result = self
            .policy
            .run(|| {
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.inner.put(key, data.clone(), mode)
            })
            .await;
        match result {
            // A create-only put whose success reply was lost sees its own object when
            // retried; our objects are named by content, so the same size is the same put.
            Err(StoreError::AlreadyExists { .. })
                if attempts.into_inner() > 1
                    && self
                        .inner
                        .head(key)
                        .await
                        .is_ok_and(|m| m.size == data.len() as u64) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn get(&self, key: &str) -> StoreResult<Vec<u8>> {
        self.policy.run(|| self.inner.get(key)).await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> StoreResult<Vec<u8>> {
        self.policy
            .run(|| self.inner.get_range(key, offset, len))
            .await
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        self.policy.run(|| self.inner.head(key)).await
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> StoreResult<ListPage> {
        self.policy
            .run(|| self.inner.list_page(prefix, token.clone()))
            .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.policy.run(|| self.inner.delete(key)).await
    }

    /// A stream cannot be replayed, so this is not retried here; callers that can
    /// re-read the source retry the whole transfer.
    async fn put_stream(
        &self,
        key: &str,
        size: u64,
        body: PartStream<'_>,
        mode: PutMode,
    ) -> StoreResult<()> {
        self.inner.put_stream(key, size, body, mode).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn quick(max_attempts: usize) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_total: Duration::from_secs(5),
        }
    }

    fn error(transient: bool) -> StoreError {
        let (store, key, detail) = ("s".to_string(), "k".to_string(), "d".to_string());
        if transient {
            StoreError::Transient { store, key, detail }
        } else {
            StoreError::PermissionDenied { store, key, detail }
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicUsize::new(0);
        let result = quick(5)
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(error(true))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let calls = AtomicUsize::new(0);
        let result: StoreResult<()> = quick(3)
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error(true))
            })
            .await;
        assert!(result.unwrap_err().is_transient());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn total_time_is_bounded() {
        let policy = RetryPolicy {
            max_attempts: 1000,
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(20),
            max_total: Duration::from_millis(100),
        };
        let calls = AtomicUsize::new(0);
        let _: StoreResult<()> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error(true))
            })
            .await;
        // Jitter adds up to one delay to each wait: 100 ms allow at most ~5 waits.
        assert!(calls.load(Ordering::SeqCst) <= 6);
    }

    #[tokio::test]
    async fn auth_errors_are_not_retried() {
        let calls = AtomicUsize::new(0);
        let result: StoreResult<()> = quick(5)
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error(false))
            })
            .await;
        assert!(matches!(
            result.unwrap_err(),
            StoreError::PermissionDenied { .. }
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
