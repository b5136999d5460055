//! Snapshot objects: the root tree of one backup plus who, where, when and what.

use crate::crypto::Id;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub time: jiff::Timestamp,
    pub tree: Id,
    #[serde(default)]
    pub parent: Option<Id>,
    pub paths: Vec<String>,
    pub host: String,
    pub user: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub program_version: String,
    pub summary: BackupSummary,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupSummary {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    /// Bytes of all files in the snapshot.
    pub total_bytes: u64,
    /// Bytes actually read from the source (unchanged files are not read).
    pub bytes_read: u64,
    pub blobs_added: u64,
    /// Stored (compressed, encrypted) bytes this backup added to the repository.
    pub stored_bytes_added: u64,
    pub duration_secs: f64,
    #[serde(default)]
    pub skipped: Vec<SkippedEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEntry {
    pub path: String,
    pub error: String,
}

pub fn snapshot_key(id: &Id) -> String {
    format!("snapshots/{id}")
}
