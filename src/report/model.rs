//! The drill report: the record operators and auditors read. JSON is the record; the
//! Markdown and HTML pages are renderings of it. `schema_version` changes whenever a
//! field changes meaning or goes away (new fields may be added without a change).

use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Every target met and every check passed (and every injected fault detected).
    Pass,
    /// A target was missed or a check failed.
    Fail,
    /// The drill itself could not run.
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillReport {
    pub schema_version: u32,
    pub drill: String,
    pub description: Option<String>,
    /// The drill file, as given.
    pub drill_file: Option<String>,
    pub verdict: Verdict,
    /// One line: why the verdict is what it is.
    pub summary: String,
    pub started: jiff::Timestamp,
    pub finished: jiff::Timestamp,
    pub host: String,
    pub firedrill_version: String,
    /// The repository's id (hex).
    pub repository: String,
    pub source: SourceRecord,
    pub snapshot: Option<SnapshotRecord>,
    pub scope: ScopeRecord,
    pub rto: TargetRecord,
    pub rpo: TargetRecord,
    pub throughput: TargetRecord,
    /// In order; offsets are seconds from `started`.
    pub phases: Vec<Phase>,
    pub checks: Vec<Check>,
    pub faults: Vec<FaultRecord>,
    pub restore: Option<RestoreRecord>,
    /// The data-location register: every store of the plan.
    pub stores: Vec<StoreRecord>,
    /// Errors that stopped the drill (verdict ERROR), each naming what failed.
    pub errors: Vec<String>,
    /// The id (BLAKE3 of the stored object) of the repository's previous report, which
    /// chains reports so that a removed or altered one shows.
    pub previous_report: Option<String>,
    /// Where the scratch restore was kept, if it was.
    pub kept_restore: Option<String>,
    /// The business continuity plan as judged when this report was written (with this
    /// drill counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub met: bool,
    pub rules: Vec<PlanRule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRule {
    pub rule: String,
    pub satisfied: bool,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The store restored from.
    pub store: String,
    /// Stores the drill treated as lost.
    pub lost: Vec<String>,
    /// Why this store: named by the drill, or the first complete one left.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub id: String,
    pub time: jiff::Timestamp,
    pub host: String,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
    /// How it was chosen (latest, oldest, random with seed …).
    pub selection: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScopeRecord {
    /// "all", "sample" or "paths".
    pub kind: String,
    pub percent: Option<f64>,
    pub by: Option<String>,
    /// The seed a sample was drawn with: `--seed` replays it.
    pub seed: Option<u64>,
    pub paths: Vec<String>,
    pub files_selected: u64,
    pub bytes_selected: u64,
    pub files_in_snapshot: u64,
    pub bytes_in_snapshot: u64,
}

/// A measured value against its target; `met` is None when there is no target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    pub target: Option<f64>,
    pub measured: Option<f64>,
    /// "seconds" or "MiB/s".
    pub unit: String,
    pub met: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    pub offset_seconds: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// What was seen: counts, hashes, exit codes, paths (never file contents or secrets).
    pub evidence: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub fault: String,
    pub detected: bool,
    pub evidence: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreRecord {
    pub files_restored: u64,
    pub files_verified: u64,
    pub bytes_restored: u64,
    pub bytes_fetched: u64,
    /// Paths that could not be restored intact, each with the problem.
    pub damaged: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreRecord {
    pub name: String,
    pub role: String,
    pub provider: String,
    pub location: String,
    pub region: Option<String>,
    pub jurisdiction: Option<String>,
    pub endpoint: String,
    pub transport: Option<String>,
    /// Always "AES-256-GCM, client-side": data leaves the machine encrypted.
    pub encryption: String,
    pub lost_in_drill: bool,
}
