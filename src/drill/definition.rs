//! Drill definitions: TOML files that say what to restore, from where, how much, against
//! which targets, with which checks and which injected faults.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A parsed and validated drill file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillDefinition {
    /// From `name`, else the file's stem.
    pub name: String,
    pub description: Option<String>,
    /// The file it was read from (None for built-in drills).
    pub file: Option<PathBuf>,
    pub source: SourceSpec,
    pub snapshot: SnapshotSelection,
    pub scope: Scope,
    pub targets: Targets,
    pub checks: Checks,
    pub faults: Faults,
    pub cleanup: Cleanup,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SourceSpec {
    /// Restore from this store: "primary" or a replica's name from the config.
    Store { name: String },
    /// Treat these stores as lost; restore from the first remaining store in config
    /// order (the primary first, then replicas) whose copy is complete.
    Lost { stores: Vec<String> },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnapshotSelection {
    pub pick: SnapshotPick,
    pub tag: Option<String>,
    pub host: Option<String>,
    /// Only snapshots whose paths include this one.
    pub path: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SnapshotPick {
    Latest,
    Oldest,
    /// A random snapshot among those no older than `within_seconds` before the newest.
    Random { within_seconds: u64, seed: Option<u64> },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scope {
    All,
    /// A random sample of files; `seed` None means a fresh seed, recorded in the report
    /// so a failed sample can be replayed.
    Sample { percent: f64, by: SampleBy, seed: Option<u64> },
    Paths { paths: Vec<String> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleBy {
    Files,
    Bytes,
}

/// `None`: take the plan's default (from the config), if any.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Targets {
    pub rto_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    pub min_throughput_mib_s: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Checks {
    pub min_files: Option<u64>,
    pub min_bytes: Option<u64>,
    pub canaries: Vec<Canary>,
    pub command: Option<PostCommand>,
}

/// A file whose restored content must be exactly as given.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Canary {
    /// The path as backed up (absolute, as in the snapshot).
    pub path: String,
    pub expect: CanaryExpect,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum CanaryExpect {
    /// The exact text content.
    Content(String),
    /// The BLAKE3 of the content, hex.
    Blake3(String),
}

/// An application smoke test run after the restore; `{restore}` in any argument is
/// replaced by the restore directory. Its exit code counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PostCommand {
    pub argv: Vec<String>,
    pub timeout_seconds: f64,
}

/// Faults to inject (game days). A drill with faults passes only if each is detected.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Faults {
    /// Stores made unreachable for the drill.
    pub outage: Vec<String>,
    /// Added latency per request on the source, in milliseconds.
    pub latency_ms: Option<u64>,
    /// Data objects of the source read back corrupted (in memory only: nothing stored
    /// is touched).
    pub corrupt_objects: u32,
    /// Data objects of the source that read as missing (in memory only).
    pub delete_objects: u32,
    /// Open the repository with a wrong key.
    pub wrong_key: bool,
}

impl Faults {
    pub fn any(&self) -> bool {
        !self.outage.is_empty()
            || self.latency_ms.is_some()
            || self.corrupt_objects > 0
            || self.delete_objects > 0
            || self.wrong_key
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cleanup {
    /// Keep the scratch restore for inspection.
    pub keep: bool,
    /// Where scratch restores go (default: the system temp directory).
    pub scratch_dir: Option<PathBuf>,
}
