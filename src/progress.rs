//! Progress on a terminal (files, bytes, throughput, ETA); nothing at all under cron.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    files_done: Arc<AtomicU64>,
    files_total: Arc<AtomicU64>,
}

/// Whether progress should be drawn: only for a person watching a terminal.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

impl Progress {
    pub fn hidden() -> Self {
        Progress {
            bar: None,
            files_done: Arc::default(),
            files_total: Arc::default(),
        }
    }

    /// A byte-counting bar titled `label`, drawn only when `enabled`.
    pub fn bytes(enabled: bool, label: &str) -> Self {
        if !enabled {
            return Self::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>9} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Progress {
            bar: Some(bar),
            files_done: Arc::default(),
            files_total: Arc::default(),
        }
    }

    pub fn set_totals(&self, bytes: u64, files: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(bytes);
            bar.set_message(format!("0/{files} files"));
        }
    }

    pub fn add_bytes(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub fn file_done(&self) {
        let done = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{done}/{} files",
                self.files_total.load(Ordering::Relaxed)
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
