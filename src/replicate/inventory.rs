//! What a store holds, by key and size, from one listing.

use crate::crypto::Id;
use crate::store::{Store, StoreResult, list_all};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub objects: BTreeMap<String, u64>,
}

/// Locks belong to the processes of one store; everything else is the repository.
pub fn is_replicated(key: &str) -> bool {
    !key.starts_with("locks/")
}

/// The BLAKE3 an object's stored bytes must have, for objects named by their content
/// (everything but the config).
pub fn expected_hash(key: &str) -> Option<Id> {
    crate::repo::id_from_key(key)
}

/// Whether `bytes` are an intact copy of `key`.
pub fn intact(key: &str, bytes: &[u8]) -> bool {
    expected_hash(key).is_none_or(|id| Id::of_stored(bytes) == id)
}

/// [`intact`] on a blocking thread: hashing a pack-sized object would otherwise hold up
/// an async worker (and every transfer queued on it). Gives the bytes back.
pub async fn intact_off_thread(key: &str, bytes: Vec<u8>) -> (Vec<u8>, bool) {
    let key = key.to_string();
    // A failed task (the runtime shutting down) reads as not intact: nothing is trusted.
    tokio::task::spawn_blocking(move || {
        let ok = intact(&key, &bytes);
        (bytes, ok)
    })
    .await
    .unwrap_or_default()
}

impl Inventory {
    pub async fn take(store: &dyn Store) -> StoreResult<Inventory> {
        let objects = list_all(store, "")
            .await?
            .into_iter()
            .filter(|m| is_replicated(&m.key))
            .map(|m| (m.key, m.size))
            .collect();
        Ok(Inventory { objects })
    }

    /// Records an object as present but damaged, so it is replaced rather than trusted.
    pub fn mark_damaged(mut self, key: &str) -> Inventory {
        if let Some(size) = self.objects.get_mut(key) {
            *size = u64::MAX;
        }
        self
    }

    pub fn bytes(&self) -> u64 {
        self.objects.values().sum()
    }
}
