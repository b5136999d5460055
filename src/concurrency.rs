//! Small helpers for bounded concurrency: many store requests in flight, never unbounded.

use futures::StreamExt;
use std::future::Future;

/// Runs `f` on every item with at most `limit` in flight; results keep the input order.
pub async fn map_bounded<I, T, F, Fut>(items: I, limit: usize, f: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T>,
{
    futures::stream::iter(items)
        .map(f)
        .buffered(limit.max(1))
        .collect()
        .await
}

/// Worker threads for CPU work (hashing, compression, encryption): one per core.
pub fn cpu_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Like [`map_bounded`], but results come in completion order: a slow item never holds
/// back the others (no head-of-line blocking).
pub async fn map_unordered<I, T, F, Fut>(items: I, limit: usize, f: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T>,
{
    futures::stream::iter(items)
        .map(f)
        .buffer_unordered(limit.max(1))
        .collect()
        .await
}
