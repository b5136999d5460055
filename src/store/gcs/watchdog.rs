//! The storage client has no timeouts of its own on its HTTP path, and a server can
//! accept a connection and then never answer. Each body transfer therefore runs under a
//! watchdog that gives up once nothing has moved for too long: progress is marked as
//! data passes through our code, and time spent waiting on the caller does not count.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(super) struct Progress {
    epoch: Instant,
    last_ms: AtomicU64,
    waiting_on_caller: AtomicBool,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            waiting_on_caller: AtomicBool::new(false),
        }
    }

    pub fn mark(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// While set, the transfer is held up by the caller's data source, not the server.
    pub fn set_waiting_on_caller(&self, waiting: bool) {
        self.mark();
        self.waiting_on_caller.store(waiting, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        if self.waiting_on_caller.load(Ordering::Relaxed) {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }
}

/// Runs `work` until it finishes, or returns `None` once `progress` has been idle for
/// `limit`.
pub(super) async fn watch<F: Future>(
    progress: &Progress,
    limit: Duration,
    work: F,
) -> Option<F::Output> {
    tokio::pin!(work);
    loop {
        let left = limit.saturating_sub(progress.idle());
        if left.is_zero() {
            return None;
        }
        tokio::select! {
            out = &mut work => return Some(out),
            () = tokio::time::sleep(left) => {}
        }
    }
}
