//! Moves objects between stores: each object is read once from the first source that
//! holds an intact copy, checked against its name, and written to every target that
//! needs it. Memory is bounded by a byte budget; objects too large for it stream.

use super::inventory::{expected_hash, intact_off_thread};
use super::{NamedStore, ReplicateOptions};
use crate::concurrency::map_unordered;
use crate::progress::Progress;
use crate::store::retry::RetryPolicy;
use crate::store::{PutMode, Store, StoreError, StoreResult};
use bytes::Bytes;
use futures::StreamExt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Semaphore;

/// Objects from this size on are streamed in parts instead of held whole.
pub const STREAM_THRESHOLD: u64 = 32 << 20;
const STREAM_PART: u64 = 8 << 20;
/// Errors kept per store for the report; the count says how many there were in all.
const MAX_ERRORS: usize = 10;

/// One object to bring to `targets`, read from the first of `sources` that serves an
/// intact copy (indexes into the engine's stores).
#[derive(Clone, Debug)]
pub struct Transfer {
    pub key: String,
    pub size: u64,
    pub sources: Vec<usize>,
    pub targets: Vec<(usize, PutMode)>,
}

/// What happened to one store during a run.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub objects: u64,
    pub bytes: u64,
    pub present: u64,
    pub snapshots: u64,
    pub failed: u64,
    pub errors: Vec<String>,
    /// Set when the store was given up on (unreachable, credentials refused, refused
    /// by the placement policy): no further work is sent to it.
    pub abandoned: Option<String>,
}

impl Tally {
    pub fn clean(&self) -> bool {
        self.failed == 0 && self.abandoned.is_none()
    }

    fn error(&mut self, message: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(message);
        }
    }
}

pub struct Engine<'a> {
    stores: &'a [NamedStore],
    tallies: Vec<Mutex<Tally>>,
    budget: Semaphore,
    budget_mib: u32,
    in_flight: usize,
    progress: Progress,
    planned_bytes: AtomicU64,
    planned_objects: AtomicU64,
}

impl<'a> Engine<'a> {
    pub fn new(stores: &'a [NamedStore], options: &ReplicateOptions) -> Self {
        let budget_mib = u32::try_from((options.memory_budget >> 20).max(1)).unwrap_or(u32::MAX);
        Engine {
            stores,
            tallies: stores.iter().map(|_| Mutex::default()).collect(),
            budget: Semaphore::new(budget_mib as usize),
            budget_mib,
            in_flight: options.in_flight.max(1),
            progress: options.progress.clone(),
            planned_bytes: AtomicU64::new(0),
            planned_objects: AtomicU64::new(0),
        }
    }

    fn tally(&self, index: usize) -> std::sync::MutexGuard<'_, Tally> {
        self.tallies[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn abandon(&self, index: usize, reason: String) {
        let mut tally = self.tally(index);
        if tally.abandoned.is_none() {
            tally.error(reason.clone());
            tally.abandoned = Some(reason);
        }
    }

    pub fn note_present(&self, index: usize) {
        self.tally(index).present += 1;
    }

    pub fn clean(&self, index: usize) -> bool {
        self.tally(index).clean()
    }

    fn abandoned(&self, index: usize) -> bool {
        self.tally(index).abandoned.is_some()
    }

    pub fn into_tallies(self) -> Vec<Tally> {
        self.tallies
            .into_iter()
            .map(|t| t.into_inner().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }

    pub async fn run(&self, transfers: Vec<Transfer>) {
        let bytes: u64 = transfers
            .iter()
            .map(|t| t.size * t.targets.len() as u64)
            .sum();
        let bytes = self.planned_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let count = transfers.len() as u64;
        let objects = self.planned_objects.fetch_add(count, Ordering::Relaxed) + count;
        self.progress.set_totals(bytes, objects);
        map_unordered(transfers, self.in_flight, |t| self.transfer(t)).await;
    }

    async fn transfer(&self, t: Transfer) {
        let targets: Vec<(usize, PutMode)> = t
            .targets
            .iter()
            .copied()
            .filter(|(i, _)| !self.abandoned(*i))
            .collect();
        if targets.is_empty() {
            return;
        }
        let wanted = u32::try_from(t.size.min(STREAM_THRESHOLD).div_ceil(1 << 20))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget_mib);
        let Ok(_permit) = self.budget.acquire_many(wanted).await else {
            return;
        };
        if t.size >= STREAM_THRESHOLD {
            let t = &t;
            let copies = targets.iter().map(|&(target, mode)| async move {
                let result = self.stream_from_sources(t, target, mode).await;
                self.finish(t, target, result);
            });
            futures::future::join_all(copies).await;
        } else {
            let body = match self.fetch(&t).await {
                Ok(body) => body,
                Err(message) => {
                    for (target, _) in targets {
                        self.finish(&t, target, Err(Fault::NoIntactSource(message.clone())));
                    }
                    return;
                }
            };
            let copies = targets.iter().map(|&(target, mode)| {
                let body = body.clone();
                let t = &t;
                async move {
                    let dest = self.stores[target].store.as_ref();
                    let result = put_checked(dest, &t.key, body, mode).await;
                    self.finish(t, target, result.map_err(Fault::Target));
                }
            });
            futures::future::join_all(copies).await;
        }
        self.progress.file_done();
    }

    async fn fetch(&self, t: &Transfer) -> Result<Bytes, String> {
        let mut notes = Vec::new();
        for &source in &t.sources {
            let store = &self.stores[source];
            match store.store.get(&t.key).await {
                Ok(bytes) if bytes.len() as u64 == t.size => {
                    let (bytes, ok) = intact_off_thread(&t.key, bytes).await;
                    if ok {
                        return Ok(bytes.into());
                    }
                    notes.push(format!("the copy on {:?} is damaged", store.name()));
                }
                Ok(_) => notes.push(format!("the copy on {:?} is damaged", store.name())),
                Err(e) => notes.push(e.to_string()),
            }
        }
        Err(format!(
            "{}: no intact copy could be read ({}); run `firedrill replicate --heal`",
            t.key,
            notes.join("; ")
        ))
    }

    async fn stream_from_sources(
        &self,
        t: &Transfer,
        target: usize,
        mode: PutMode,
    ) -> Result<(), Fault> {
        let dest = self.stores[target].store.as_ref();
        let mut notes = Vec::new();
        for &source in &t.sources {
            let src = self.stores[source].store.as_ref();
            let source_fault = Mutex::new(None);
            let result = RetryPolicy::from_env()
                .run(|| stream_copy(src, dest, &t.key, t.size, mode, &source_fault))
                .await;
            match result {
                Ok(()) => return Ok(()),
                Err(StoreError::AlreadyExists { .. }) => {
                    return match dest.head(&t.key).await {
                        Ok(meta) if meta.size == t.size => Ok(()),
                        Ok(meta) => Err(Fault::Target(StoreError::Other {
                            store: dest.describe(),
                            key: t.key.clone(),
                            detail: format!(
                                "already holds {} bytes where {} were expected; run `firedrill replicate --heal`",
                                meta.size, t.size
                            ),
                        })),
                        Err(e) => Err(Fault::Target(e)),
                    };
                }
                Err(e) => match source_fault
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                {
                    Some(fault) => notes.push(format!("{:?}: {fault}", self.stores[source].name())),
                    None => return Err(Fault::Target(e)),
                },
            }
        }
        Err(Fault::NoIntactSource(format!(
            "{}: no intact copy could be read ({}); run `firedrill replicate --heal`",
            t.key,
            notes.join("; ")
        )))
    }

    fn finish(&self, t: &Transfer, target: usize, result: Result<(), Fault>) {
        let name = self.stores[target].name().to_string();
        let mut tally = self.tally(target);
        match result {
            Ok(()) => {
                tally.objects += 1;
                tally.bytes += t.size;
                if t.key.starts_with("snapshots/") {
                    tally.snapshots += 1;
                }
                drop(tally);
                self.progress.add_bytes(t.size);
            }
            Err(Fault::NoIntactSource(message)) => {
                tally.failed += 1;
                tally.error(message);
            }
            Err(Fault::Target(e)) => {
                tally.failed += 1;
                // A store that is down or refuses our credentials will fail every
                // other object too: stop sending it work and say why once.
                let give_up = e.is_transient() || matches!(e, StoreError::PermissionDenied { .. });
                let message = format!("{name}: {e}");
                if give_up && tally.abandoned.is_none() {
                    tally.abandoned = Some(message.clone());
                }
                tally.error(message);
            }
        }
    }
}

#[derive(Debug)]
enum Fault {
    /// No source served an intact copy: the object is damaged or lost everywhere read.
    NoIntactSource(String),
    Target(StoreError),
}

/// Writes `body`, accepting an existing object of the same size (a listing that was out
/// of date, or a concurrent run that got there first).
pub async fn put_checked(
    dest: &dyn Store,
    key: &str,
    body: Bytes,
    mode: PutMode,
) -> StoreResult<()> {
    let len = body.len() as u64;
    match dest.put(key, body, mode).await {
        Err(StoreError::AlreadyExists { store, key: k }) => {
            let meta = dest.head(key).await?;
            if meta.size == len {
                Ok(())
            } else {
                Err(StoreError::Other {
                    store,
                    key: k,
                    detail: format!(
                        "already holds {} bytes where {len} were expected; run `firedrill replicate --heal`",
                        meta.size
                    ),
                })
            }
        }
        other => other,
    }
}

/// Streams one large object from `source` to `dest` in ranged parts, hashing as it goes;
/// a damaged source fails the last part, so the target never completes a bad object.
async fn stream_copy(
    source: &dyn Store,
    dest: &dyn Store,
    key: &str,
    size: u64,
    mode: PutMode,
    source_fault: &Mutex<Option<String>>,
) -> StoreResult<()> {
    let expected = expected_hash(key);
    let fail = move |detail: String| {
        *source_fault.lock().unwrap_or_else(|p| p.into_inner()) = Some(detail.clone());
        StoreError::Other {
            store: source.describe(),
            key: key.to_string(),
            detail,
        }
    };
    let body = futures::stream::unfold(
        Some((0u64, blake3::Hasher::new())),
        move |state| async move {
            let (offset, mut hasher) = state?;
            let len = STREAM_PART.min(size - offset);
            let part = match source.get_range(key, offset, len).await {
                Ok(part) if part.len() as u64 == len => part,
                Ok(part) => {
                    let detail = format!("short read: {} of {len} bytes at {offset}", part.len());
                    return Some((Err(fail(detail)), None));
                }
                Err(e) => return Some((Err(fail(e.to_string())), None)),
            };
            hasher.update(&part);
            let next = offset + len;
            if next < size {
                return Some((Ok(Bytes::from(part)), Some((next, hasher))));
            }
            if expected.is_some_and(|id| *hasher.finalize().as_bytes() != *id.as_bytes()) {
                let detail = "stored bytes do not match the object's name (damaged)".to_string();
                return Some((Err(fail(detail)), None));
            }
            Some((Ok(Bytes::from(part)), None))
        },
    )
    .boxed();
    dest.put_stream(key, size, body, mode).await
}
