//! The repository locks this process holds, so that they can be removed before the
//! process exits after a stop signal or an error that dropped a lock unreleased: a lock
//! left behind blocks prune until it goes stale, and from another host (a new container)
//! that takes half an hour. A lock stays listed until `LockGuard::release`, not merely
//! until its guard is dropped, since dropping is exactly what a cancelled command does.

use crate::crypto::Id;
use crate::store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

struct Held {
    token: u64,
    store: Arc<dyn Store>,
    /// The lock's current id (it changes at each refresh).
    current: Arc<tokio::sync::Mutex<Id>>,
}

static HELD: Mutex<Vec<Held>> = Mutex::new(Vec::new());
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(0);

fn held() -> std::sync::MutexGuard<'static, Vec<Held>> {
    // The list stays consistent whatever panicked while holding it: keep using it.
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

/// A lock's place on the list.
pub(super) struct Registration(u64);

pub(super) fn register(
    store: Arc<dyn Store>,
    current: Arc<tokio::sync::Mutex<Id>>,
) -> Registration {
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    held().push(Held {
        token,
        store,
        current,
    });
    Registration(token)
}

/// Takes a released lock off the list.
pub(super) fn unregister(registration: &Registration) {
    held().retain(|h| h.token != registration.0);
}

/// Deletes every lock this process still holds (for a process about to exit); returns
/// how many were removed.
pub async fn release_all() -> usize {
    let all: Vec<Held> = std::mem::take(&mut *held());
    let mut removed = 0;
    for lock in all {
        let id = *lock.current.lock().await;
        if lock.store.delete(&super::lock::lock_key(&id)).await.is_ok() {
            removed += 1;
        }
    }
    removed
}
