//! Fault injection for game-day drills: a store decorator that makes the store a drill
//! restores from look unreachable, slow, corrupted or incomplete, so the drill can prove
//! that firedrill detects and reports each fault.
//!
//! Nothing stored is ever touched: corruption and missing objects exist only in what the
//! read path hands back. Writes (the drill's lock objects) pass through unchanged unless
//! the whole store is in an injected outage.

use crate::store::{ListPage, ObjectMeta, PartStream, PutMode, Store, StoreError, StoreResult};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The prefix of the data objects (packs) that corruption and loss are chosen among.
const DATA_PREFIX: &str = "data/";

/// What to inject into one store.
#[derive(Clone, Debug, Default)]
pub struct Injection {
    /// Every call fails as the server would when unreachable
    /// ([`StoreError::Transient`], with a detail saying the outage is injected by the
    /// drill).
    pub outage: bool,
    /// Added before every call.
    pub latency: Option<Duration>,
    /// Keys read back with one byte flipped, in the middle of the object at an offset
    /// derived from the key and the object's size, so that `get` and a `get_range`
    /// covering that byte agree.
    pub corrupt: BTreeSet<String>,
    /// Keys that read as missing: `get`, `get_range` and `head` answer
    /// [`StoreError::NotFound`], and listings omit them.
    pub missing: BTreeSet<String>,
}

impl Injection {
    /// Whether anything is injected at all.
    pub fn any(&self) -> bool {
        self.outage
            || self.latency.is_some()
            || !self.corrupt.is_empty()
            || !self.missing.is_empty()
    }
}

/// Counts of injected events, for the evidence in a drill's report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InjectionEvents {
    /// Reads (`get`, or a `get_range` covering the flipped byte) that returned corrupted
    /// bytes.
    pub corrupted_reads: u64,
    /// Reads (`get`, `get_range`, `head`) of a missing key answered with NotFound.
    pub missing_reads: u64,
    /// Calls refused by the outage.
    pub refused_calls: u64,
}

/// Wraps a store and injects the faults of an [`Injection`] on the way back from it.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    injection: Injection,
    corrupted_reads: AtomicU64,
    missing_reads: AtomicU64,
    refused_calls: AtomicU64,
    /// Sizes of corrupt objects seen so far, so that a range read can place the flipped
    /// byte without asking the store again.
    sizes: Mutex<HashMap<String, u64>>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>, injection: Injection) -> Self {
        FaultyStore {
            inner,
            injection,
            corrupted_reads: AtomicU64::new(0),
            missing_reads: AtomicU64::new(0),
            refused_calls: AtomicU64::new(0),
            sizes: Mutex::new(HashMap::new()),
        }
    }

    /// What is being injected.
    pub fn injection(&self) -> &Injection {
        &self.injection
    }

    /// Counts of injected events so far.
    pub fn events(&self) -> InjectionEvents {
        InjectionEvents {
            corrupted_reads: self.corrupted_reads.load(Ordering::Relaxed),
            missing_reads: self.missing_reads.load(Ordering::Relaxed),
            refused_calls: self.refused_calls.load(Ordering::Relaxed),
        }
    }

    /// Runs before every call: waits out the injected latency, then refuses the call if
    /// the store is in an injected outage.
    async fn enter(&self, key: &str) -> StoreResult<()> {
        if let Some(latency) = self.injection.latency {
            tokio::time::sleep(latency).await;
        }
        if self.injection.outage {
            self.refused_calls.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Transient {
                store: self.inner.describe(),
                key: key.to_string(),
                detail: "store unreachable: outage injected by the drill (game day)".to_string(),
            });
        }
        Ok(())
    }

    /// Answers NotFound for a key injected as missing.
    fn check_missing(&self, key: &str) -> StoreResult<()> {
        if self.injection.missing.contains(key) {
            self.missing_reads.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::NotFound {
                store: self.inner.describe(),
                key: key.to_string(),
            });
        }
        Ok(())
    }

    fn remember_size(&self, key: &str, size: u64) {
        self.sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), size);
    }

    fn known_size(&self, key: &str) -> Option<u64> {
        self.sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }
}

/// The offset of the byte flipped in a corrupt object of `size` bytes: within the middle
/// half of the object, chosen from the key. `None` for an empty object.
fn flip_offset(key: &str, size: u64) -> Option<u64> {
    if size == 0 {
        return None;
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"firedrill fault injection: corrupt offset\0");
    hasher.update(key.as_bytes());
    let pick = first_u64(hasher.finalize());
    let span = (size / 2).max(1);
    Some(size / 4 + pick % span)
}

/// Inverts every bit of one byte, so the byte always differs from what is stored.
fn flip(byte: &mut u8) {
    *byte ^= 0xff;
}

fn first_u64(hash: blake3::Hash) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(word)
}

/// The `index`-th number of the deterministic sequence for `seed`.
fn seeded(seed: u64, index: u64) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"firedrill fault injection: victims\0");
    hasher.update(&seed.to_le_bytes());
    hasher.update(&index.to_le_bytes());
    first_u64(hasher.finalize())
}

/// A number below `bound` (> 0) from a uniformly distributed word.
fn below(word: u64, bound: usize) -> usize {
    ((u128::from(word) * bound as u128) >> 64) as usize
}

/// Chooses `corrupt` + `missing` distinct keys among the data objects (`data/…`) of a
/// listing, deterministically from `seed` (and independent of the listing's order and
/// duplicates), so a game day can be replayed: returns (corrupt set, missing set).
/// Errors if there are fewer data objects than asked.
pub fn choose_victims(
    keys: &[String],
    corrupt: u32,
    missing: u32,
    seed: u64,
) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let mut data: Vec<&String> = keys
        .iter()
        .filter(|k| k.len() > DATA_PREFIX.len() && k.starts_with(DATA_PREFIX))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let wanted = u64::from(corrupt) + u64::from(missing);
    if (data.len() as u64) < wanted {
        return Err(format!(
            "cannot choose {corrupt} object(s) to corrupt and {missing} to lose: \
             the source holds only {} data object(s)",
            data.len()
        ));
    }
    // A partial Fisher-Yates shuffle: the first `wanted` places end up a uniform choice.
    let wanted = wanted as usize;
    for i in 0..wanted {
        let j = i + below(seeded(seed, i as u64), data.len() - i);
        data.swap(i, j);
    }
    let corrupt_set = data[..corrupt as usize]
        .iter()
        .map(|k| (*k).clone())
        .collect();
    let missing_set = data[corrupt as usize..wanted]
        .iter()
        .map(|k| (*k).clone())
        .collect();
    Ok((corrupt_set, missing_set))
}

#[async_trait]
impl Store for FaultyStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn put(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()> {
        self.enter(key).await?;
        self.inner.put(key, data, mode).await
    }

    async fn get(&self, key: &str) -> StoreResult<Vec<u8>> {
        self.enter(key).await?;
        self.check_missing(key)?;
        let mut data = self.inner.get(key).await?;
        if self.injection.corrupt.contains(key) {
            self.remember_size(key, data.len() as u64);
            if let Some(at) = flip_offset(key, data.len() as u64) {
                flip(&mut data[at as usize]);
                self.corrupted_reads.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(data)
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> StoreResult<Vec<u8>> {
        self.enter(key).await?;
        self.check_missing(key)?;
        let mut data = self.inner.get_range(key, offset, len).await?;
        if self.injection.corrupt.contains(key) && !data.is_empty() {
            let size = match self.known_size(key) {
                Some(size) => size,
                None => {
                    let size = self.inner.head(key).await?.size;
                    self.remember_size(key, size);
                    size
                }
            };
            if let Some(at) = flip_offset(key, size)
                && at >= offset
                && at - offset < data.len() as u64
            {
                flip(&mut data[(at - offset) as usize]);
                self.corrupted_reads.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(data)
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        self.enter(key).await?;
        self.check_missing(key)?;
        self.inner.head(key).await
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> StoreResult<ListPage> {
        self.enter(prefix).await?;
        let mut page = self.inner.list_page(prefix, token).await?;
        if !self.injection.missing.is_empty() {
            page.objects
                .retain(|m| !self.injection.missing.contains(&m.key));
        }
        Ok(page)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.enter(key).await?;
        self.inner.delete(key).await
    }

    async fn put_stream(
        &self,
        key: &str,
        size: u64,
        body: PartStream<'_>,
        mode: PutMode,
    ) -> StoreResult<()> {
        self.enter(key).await?;
        self.inner.put_stream(key, size, body, mode).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FsStore, list_all};
    use futures::StreamExt;
    use std::path::Path;
    use std::time::Instant;

    const PACK_A: &str = "data/aa/aa01";
    const PACK_B: &str = "data/bb/bb02";
    const PACK_C: &str = "data/cc/cc03";
    const INDEX: &str = "index/ix01";

    fn body(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// A store in a temporary directory holding three packs and an index file.
    async fn fixture() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        for (i, key) in [PACK_A, PACK_B, PACK_C, INDEX].into_iter().enumerate() {
            store
                .put(key, body(i as u8, 1000 + i).into(), PutMode::CreateOnly)
                .await
                .unwrap();
        }
        (dir, Arc::new(store))
    }

    fn on_disk(dir: &Path, key: &str) -> Vec<u8> {
        std::fs::read(dir.join(key)).unwrap()
    }

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    async fn keys(store: &dyn Store, prefix: &str) -> Vec<String> {
        list_all(store, prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect()
    }

    #[tokio::test]
    async fn corrupt_keys_read_back_with_one_byte_flipped_in_the_middle() {
        let (dir, inner) = fixture().await;
        let stored = on_disk(dir.path(), PACK_A);
        let size = stored.len() as u64;
        let faulty = FaultyStore::new(
            inner,
            Injection {
                corrupt: set(&[PACK_A]),
                ..Injection::default()
            },
        );

        let whole = faulty.get(PACK_A).await.unwrap();
        assert_eq!(whole.len(), stored.len());
        let differing: Vec<usize> = (0..whole.len())
            .filter(|&i| whole[i] != stored[i])
            .collect();
        assert_eq!(differing.len(), 1, "exactly one byte is flipped");
        let at = differing[0];
        assert!(
            (size / 4..size * 3 / 4).contains(&(at as u64)),
            "flipped byte {at} is in the middle of {size} bytes"
        );

        // A range covering the flipped byte sees the same corruption as the whole read.
        let (from, len) = (at - 10, 25usize);
        let covering = faulty
            .get_range(PACK_A, from as u64, len as u64)
            .await
            .unwrap();
        assert_ne!(covering, stored[from..from + len]);
        assert_eq!(covering, whole[from..from + len]);

        // Ranges beside it read what is stored.
        let before = faulty.get_range(PACK_A, 0, at as u64).await.unwrap();
        assert_eq!(before, stored[..at]);
        let after = faulty
            .get_range(PACK_A, at as u64 + 1, size - at as u64 - 1)
            .await
            .unwrap();
        assert_eq!(after, stored[at + 1..]);

        // Other keys are untouched, and so is the size reported by head.
        assert_eq!(
            faulty.get(PACK_B).await.unwrap(),
            on_disk(dir.path(), PACK_B)
        );
        assert_eq!(faulty.head(PACK_A).await.unwrap().size, size);

        // A second store over the same data flips the same byte from a range read alone.
        let again = FaultyStore::new(
            Arc::new(FsStore::new(dir.path())),
            Injection {
                corrupt: set(&[PACK_A]),
                ..Injection::default()
            },
        );
        let single = again.get_range(PACK_A, at as u64, 1).await.unwrap();
        assert_eq!(single, [!stored[at]]);

        // Nothing stored changed.
        assert_eq!(on_disk(dir.path(), PACK_A), stored);
        assert_eq!(
            faulty.events(),
            InjectionEvents {
                corrupted_reads: 2,
                missing_reads: 0,
                refused_calls: 0,
            }
        );
        assert_eq!(again.events().corrupted_reads, 1);
    }

    #[tokio::test]
    async fn missing_keys_read_as_not_found_and_vanish_from_listings() {
        let (dir, inner) = fixture().await;
        let faulty = FaultyStore::new(
            inner,
            Injection {
                missing: set(&[PACK_B]),
                ..Injection::default()
            },
        );

        assert!(faulty.get(PACK_B).await.unwrap_err().is_not_found());
        assert!(faulty.head(PACK_B).await.unwrap_err().is_not_found());
        assert!(
            faulty
                .get_range(PACK_B, 0, 10)
                .await
                .unwrap_err()
                .is_not_found()
        );

        assert_eq!(keys(&faulty, "data/").await, vec![PACK_A, PACK_C]);
        assert_eq!(keys(&faulty, "").await, vec![PACK_A, PACK_C, INDEX]);
        assert_eq!(keys(&faulty, "data/bb/").await, Vec::<String>::new());

        // The others still read, and the object is still there underneath.
        assert_eq!(
            faulty.get(PACK_A).await.unwrap(),
            on_disk(dir.path(), PACK_A)
        );
        assert_eq!(faulty.head(INDEX).await.unwrap().size, 1003);
        assert_eq!(on_disk(dir.path(), PACK_B), body(1, 1001));
        assert_eq!(
            faulty.events(),
            InjectionEvents {
                corrupted_reads: 0,
                missing_reads: 3,
                refused_calls: 0,
            }
        );
    }

    #[tokio::test]
    async fn an_outage_refuses_every_call_as_transient() {
        let (dir, inner) = fixture().await;
        let faulty = FaultyStore::new(
            inner.clone(),
            Injection {
                outage: true,
                ..Injection::default()
            },
        );

        let mut errors = vec![
            faulty.get(PACK_A).await.unwrap_err(),
            faulty.get_range(PACK_A, 0, 4).await.unwrap_err(),
            faulty.head(PACK_A).await.unwrap_err(),
            faulty.list_page("data/", None).await.unwrap_err(),
            faulty.delete(PACK_A).await.unwrap_err(),
            faulty
                .put("locks/l1", Bytes::from_static(b"lock"), PutMode::CreateOnly)
                .await
                .unwrap_err(),
        ];
        let stream = futures::stream::iter(vec![Ok(Bytes::from_static(b"abc"))]).boxed();
        errors.push(
            faulty
                .put_stream("locks/l2", 3, stream, PutMode::CreateOnly)
                .await
                .unwrap_err(),
        );
        for err in &errors {
            assert!(err.is_transient(), "{err}");
            assert!(err.to_string().contains("injected by the drill"), "{err}");
        }
        assert_eq!(
            faulty.events(),
            InjectionEvents {
                corrupted_reads: 0,
                missing_reads: 0,
                refused_calls: 7,
            }
        );

        // Nothing was written or deleted underneath.
        assert_eq!(on_disk(dir.path(), PACK_A), body(0, 1000));
        assert!(inner.head("locks/l1").await.unwrap_err().is_not_found());
        assert!(inner.head("locks/l2").await.unwrap_err().is_not_found());
        assert_eq!(faulty.describe(), inner.describe());
    }

    #[tokio::test]
    async fn latency_delays_each_call() {
        let (_dir, inner) = fixture().await;
        let latency = Duration::from_millis(60);
        let faulty = FaultyStore::new(
            inner,
            Injection {
                latency: Some(latency),
                ..Injection::default()
            },
        );
        let started = Instant::now();
        faulty.head(PACK_A).await.unwrap();
        assert!(started.elapsed() >= latency);
        let started = Instant::now();
        faulty.get(PACK_A).await.unwrap();
        assert!(started.elapsed() >= latency);
        assert_eq!(faulty.events(), InjectionEvents::default());
    }

    #[tokio::test]
    async fn writes_pass_through_unchanged() {
        let (dir, inner) = fixture().await;
        let faulty = FaultyStore::new(
            inner.clone(),
            Injection {
                corrupt: set(&["locks/l1"]),
                missing: set(&[PACK_C]),
                latency: Some(Duration::from_millis(1)),
                ..Injection::default()
            },
        );
        faulty
            .put("locks/l1", Bytes::from_static(b"lock"), PutMode::CreateOnly)
            .await
            .unwrap();
        assert_eq!(on_disk(dir.path(), "locks/l1"), b"lock");
        let stream = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"cd")),
        ])
        .boxed();
        faulty
            .put_stream("locks/l2", 4, stream, PutMode::CreateOnly)
            .await
            .unwrap();
        assert_eq!(on_disk(dir.path(), "locks/l2"), b"abcd");
        faulty.delete("locks/l2").await.unwrap();
        assert!(inner.head("locks/l2").await.unwrap_err().is_not_found());
        assert!(matches!(
            faulty
                .put("locks/l1", Bytes::from_static(b"x"), PutMode::CreateOnly)
                .await,
            Err(StoreError::AlreadyExists { .. })
        ));
        assert_eq!(faulty.events(), InjectionEvents::default());
    }

    fn listing() -> Vec<String> {
        let mut keys: Vec<String> = (0..20)
            .map(|i| format!("data/{i:02x}/pack{i:03}"))
            .collect();
        keys.extend(
            [
                "config",
                "index/ix01",
                "snapshots/s1",
                "locks/l1",
                "data",
                "snapshots/data/x",
            ]
            .map(String::from),
        );
        keys
    }

    #[test]
    fn victims_are_deterministic_distinct_data_objects() {
        let keys = listing();
        let (corrupt, missing) = choose_victims(&keys, 3, 4, 42).unwrap();
        assert_eq!((corrupt.len(), missing.len()), (3, 4));
        assert!(corrupt.is_disjoint(&missing));
        for key in corrupt.iter().chain(&missing) {
            assert!(key.starts_with("data/") && keys.contains(key), "{key}");
        }

        // The same seed gives the same choice, whatever the order of the listing.
        assert_eq!(
            choose_victims(&keys, 3, 4, 42).unwrap(),
            (corrupt.clone(), missing.clone())
        );
        let mut reversed = keys.clone();
        reversed.reverse();
        reversed.extend(keys.iter().take(5).cloned());
        assert_eq!(
            choose_victims(&reversed, 3, 4, 42).unwrap(),
            (corrupt.clone(), missing.clone())
        );

        // Other seeds choose otherwise.
        let choices: BTreeSet<_> = (0..8)
            .map(|seed| choose_victims(&keys, 3, 4, seed).unwrap())
            .collect();
        assert!(choices.len() > 1);

        // Every data object can be chosen; nothing else can.
        let (all_corrupt, all_missing) = choose_victims(&keys, 12, 8, 7).unwrap();
        assert_eq!(all_corrupt.len() + all_missing.len(), 20);
        assert!(all_corrupt.is_disjoint(&all_missing));
        assert_eq!(
            choose_victims(&keys, 0, 0, 7).unwrap(),
            (BTreeSet::new(), BTreeSet::new())
        );
    }

    #[test]
    fn too_few_data_objects_is_an_error() {
        let keys = listing();
        let err = choose_victims(&keys, 15, 6, 1).unwrap_err();
        assert!(err.contains("20 data object"), "{err}");
        assert!(choose_victims(&keys, 21, 0, 1).is_err());
        assert!(choose_victims(&keys, 0, 21, 1).is_err());
        assert!(choose_victims(&keys, u32::MAX, u32::MAX, 1).is_err());
        assert!(choose_victims(&[], 1, 0, 1).is_err());
    }

    #[test]
    fn flip_offset_stays_inside_the_object() {
        assert_eq!(flip_offset("data/x", 0), None);
        assert_eq!(flip_offset("data/x", 1), Some(0));
        for size in [2u64, 3, 7, 100, 4096] {
            for key in ["data/a", "data/b", "data/c"] {
                let at = flip_offset(key, size).unwrap();
                assert!(at < size && at >= size / 4, "{key} {size} {at}");
                assert_eq!(flip_offset(key, size), Some(at));
            }
        }
    }
}
