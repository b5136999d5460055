//! Repository locks. Backup, restore and verify take shared locks; prune takes an
//! exclusive one, so it never deletes what a running backup is about to reference.
//! Each lock names its host, pid and time and is refreshed while held; a lock whose
//! process is gone (same host) or that has not been refreshed in a long time is stale.

use super::Repository;
use crate::crypto::{Id, PieceKind};
use crate::error::{Error, Result};
use crate::store::list_all;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);
/// Several missed refreshes: the holder is gone even if we cannot check its pid.
const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// Longest pause between two looks at a lock we are waiting for.
const WAIT_STEP_MAX: Duration = Duration::from_secs(15);

/// How long this process waits for a conflicting lock before giving up (zero: fail at
/// once). A process-wide setting: a scheduled job should queue behind a running prune
/// rather than fail, whichever command it runs.
static LOCK_WAIT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn set_lock_wait(wait: Duration) {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    LOCK_WAIT_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

fn lock_wait() -> Duration {
    Duration::from_millis(LOCK_WAIT_MS.load(std::sync::atomic::Ordering::Relaxed))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub exclusive: bool,
    pub host: String,
    pub pid: u32,
    pub user: String,
    pub time: jiff::Timestamp,
    pub purpose: String,
}

impl LockInfo {
    pub fn is_stale(&self, now: jiff::Timestamp) -> bool {
        let age = now.duration_since(self.time);
        if age > jiff::SignedDuration::try_from(STALE_AFTER).unwrap_or_default() {
            return true;
        }
        self.host == crate::host::hostname() && !crate::host::process_alive(self.pid)
    }

    pub fn describe(&self) -> String {
        format!(
            "{} lock for {} by {}@{} pid {} since {}",
            if self.exclusive {
                "exclusive"
            } else {
                "shared"
            },
            self.purpose,
            self.user,
            self.host,
            self.pid,
            self.time.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

pub(super) fn lock_key(id: &Id) -> String {
    format!("locks/{id}")
}

/// A held lock. Call [`LockGuard::release`] when done; a lock left behind by a crash
/// is recognised as stale later.
pub struct LockGuard {
    repo: Repository,
    current: std::sync::Arc<tokio::sync::Mutex<Id>>,
    refresher: tokio::task::JoinHandle<()>,
    /// Lets an exiting process remove the lock (see `held_locks`).
    held: super::held_locks::Registration,
}

impl LockGuard {
    /// Deletes the lock. A lock that cannot be deleted (a store that refuses deletes
    /// under a retention policy, a network error) is reported and left to go stale: the
    /// work it guarded is done, and failing it now would misreport that work.
    pub async fn release(self) -> Result<()> {
        self.refresher.abort();
        super::held_locks::unregister(&self.held);
        let id = *self.current.lock().await;
        if let Err(e) = self.repo.store().delete(&lock_key(&id)).await {
            eprintln!(
                "firedrill: warning: cannot remove our lock {} ({e}); it counts as stale once this process has exited (same host) or after {} minutes",
                lock_key(&id),
                STALE_AFTER.as_secs() / 60
            );
        }
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

impl Repository {
    /// All locks with their ids; unreadable locks are reported as errors.
    pub async fn locks(&self) -> Result<Vec<(Id, Result<LockInfo>)>> {
        let mut out = Vec::new();
        for meta in list_all(self.store().as_ref(), "locks/").await? {
            if let Some(id) = super::id_from_key(&meta.key) {
                let info = self
                    .load_sealed::<LockInfo>(PieceKind::Lock, &meta.key)
                    .await;
                out.push((id, info));
            }
        }
        Ok(out)
    }

    fn conflicts(
        &self,
        mine: &LockInfo,
        others: &[(Id, Result<LockInfo>)],
        my_id: Option<Id>,
    ) -> Option<String> {
        let now = jiff::Timestamp::now();
        others
            .iter()
            .filter(|(id, _)| Some(*id) != my_id)
            .find_map(|(id, info)| match info {
                Ok(other) if other.is_stale(now) => None,
                Ok(other) if mine.exclusive || other.exclusive => Some(other.describe()),
                Ok(_) => None,
                Err(e) if e.is_not_found() => None,
                Err(e) => Some(format!("unreadable lock {} ({e})", id.short())),
            })
    }

    /// Takes a lock, waiting up to the process's lock wait (see [`set_lock_wait`]) while
    /// another process holds a conflicting one.
    pub async fn lock(&self, exclusive: bool, purpose: &str) -> Result<LockGuard> {
        let give_up = std::time::Instant::now() + lock_wait();
        let mut pause = Duration::from_millis(500);
        let mut told = false;
        loop {
            let holder = match self.try_lock(exclusive, purpose).await? {
                Ok(guard) => return Ok(guard),
                Err(holder) => holder,
            };
            let now = std::time::Instant::now();
            if now >= give_up {
                let waited = if lock_wait().is_zero() {
                    String::new()
                } else {
                    format!(" (waited {}s)", lock_wait().as_secs())
                };
                return Err(Error::Other(format!(
                    "{} is locked: {holder}{waited}. Wait for it to finish; if that process is gone, `firedrill unlock` removes stale locks",
                    self.describe()
                )));
            }
            if !told {
                eprintln!("firedrill: waiting for the lock: {holder}");
                told = true;
            }
            // Jitter, so two waiters that keep colliding fall out of step.
            let mut byte = [0u8; 1];
            let _ = getrandom::fill(&mut byte);
            let jittered = pause + pause * u32::from(byte[0]) / 512;
            tokio::time::sleep(jittered.min(give_up - now)).await;
            pause = (pause * 2).min(WAIT_STEP_MAX);
        }
    }

    /// One attempt: the guard, or a description of who holds a conflicting lock.
    async fn try_lock(
        &self,
        exclusive: bool,
        purpose: &str,
    ) -> Result<std::result::Result<LockGuard, String>> {
        let info = LockInfo {
            exclusive,
            host: crate::host::hostname(),
            pid: std::process::id(),
            user: crate::host::username(),
            time: jiff::Timestamp::now(),
            purpose: purpose.to_string(),
        };
        if let Some(holder) = self.conflicts(&info, &self.locks().await?, None) {
            return Ok(Err(holder));
        }
        let id = self.save_sealed(PieceKind::Lock, "locks", &info).await?;
        // Two processes can both pass the first check; looking again after writing ours
        // means at least one of them sees the other.
        if let Some(holder) = self.conflicts(&info, &self.locks().await?, Some(id)) {
            let _ = self.store().delete(&lock_key(&id)).await;
            return Ok(Err(holder));
        }
        let current = std::sync::Arc::new(tokio::sync::Mutex::new(id));
        let refresher = {
            let repo = self.clone();
            let current = current.clone();
            tokio::spawn(async move {
                let mut info = info;
                loop {
                    tokio::time::sleep(REFRESH_EVERY).await;
                    info.time = jiff::Timestamp::now();
                    if let Ok(new_id) = repo.save_sealed(PieceKind::Lock, "locks", &info).await {
                        let mut guard = current.lock().await;
                        let old = std::mem::replace(&mut *guard, new_id);
                        let _ = repo.store().delete(&lock_key(&old)).await;
                    }
                }
            })
        };
        Ok(Ok(LockGuard {
            repo: self.clone(),
            held: super::held_locks::register(self.store().clone(), current.clone()),
            current,
            refresher,
        }))
    }

    /// Removes stale locks (or every lock with `all`); returns what was removed.
    pub async fn unlock(&self, all: bool) -> Result<Vec<String>> {
        let now = jiff::Timestamp::now();
        let mut removed = Vec::new();
        for (id, info) in self.locks().await? {
            let (remove, what) = match &info {
                Ok(lock) => (all || lock.is_stale(now), lock.describe()),
                Err(e) => (all, format!("unreadable lock {} ({e})", id.short())),
            };
            if remove {
                self.store().delete(&lock_key(&id)).await?;
                removed.push(what);
            }
        }
        Ok(removed)
    }
}
