//! What the scheduler remembers between runs: per job its last run and outcome, the
//! schedule slot it last handled, and counters; plus the latest view of every replica
//! and drill, so metrics survive a restart. Kept as one JSON file, replaced atomically.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub version: u32,
    #[serde(default)]
    pub jobs: BTreeMap<String, JobState>,
    /// Every store of the repository as last seen by `replicas`, primary first.
    #[serde(default)]
    pub replicas: Vec<ReplicaState>,
    #[serde(default)]
    pub replicas_checked: Option<Timestamp>,
    /// Per drill name, its latest run.
    #[serde(default)]
    pub drills: BTreeMap<String, DrillState>,
    /// The plan's latest verdict, from `plan check` or the one each drill report carries.
    #[serde(default)]
    pub plan: Option<PlanState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanState {
    pub met: bool,
    pub checked: Timestamp,
    /// The rules not satisfied, one line each.
    #[serde(default)]
    pub unmet: Vec<String>,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: damage found, drill FAIL, plan not met, files skipped.
    Failure,
    /// Any other exit, a signal, or the job could not start.
    Error,
    /// Stopped by the agent's shutdown before it finished; its slot runs again.
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// Worse outcomes sort higher, for an exit code reflecting the worst.
    pub fn severity(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Interrupted => 2,
            Outcome::Error => 3,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// backup, replicate, verify, drill, forget or prune.
    pub kind: String,
    /// The newest schedule slot that was run, skipped or recorded as missed: slots at or
    /// before it are done with.
    pub last_slot: Option<Timestamp>,
    /// When the job next fires (jitter included), as of the last write.
    pub next_due: Option<Timestamp>,
    pub running: bool,
    /// The slot the current run is for; it becomes `last_slot` when the run completes
    /// (an interrupted run leaves its slot due).
    pub running_slot: Option<Timestamp>,
    /// Process id of the scheduler running it, while `running`.
    pub runner_pid: Option<u32>,
    pub last_start: Option<Timestamp>,
    pub last_end: Option<Timestamp>,
    pub last_outcome: Option<Outcome>,
    pub last_exit_code: Option<i32>,
    pub last_duration_seconds: Option<f64>,
    /// Bytes the last run read or wrote, from its JSON summary when it gives one.
    pub last_bytes: Option<u64>,
    /// One line on why the last run did not succeed.
    pub last_error: Option<String>,
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
    /// Runs per outcome, since the state file was created.
    #[serde(default)]
    pub runs: BTreeMap<String, u64>,
    /// Slots not run on time because the scheduler was down.
    #[serde(default)]
    pub missed_total: u64,
    /// Slots dropped because the previous run of the job was still going.
    #[serde(default)]
    pub overlap_skipped_total: u64,
    /// The latest missed-run decision, for `status`.
    pub last_missed: Option<MissedRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MissedRecord {
    /// When the scheduler noticed.
    pub noticed: Timestamp,
    /// How many slots were missed, and the oldest of them.
    pub slots: u64,
    pub oldest: Timestamp,
    /// "run-once" or "skip".
    pub policy: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicaState {
    pub name: String,
    /// "primary" or "replica".
    pub role: String,
    pub provider: String,
    pub region: Option<String>,
    pub reachable: bool,
    pub objects: u64,
    pub bytes: u64,
    pub missing_objects: Option<u64>,
    pub newest_snapshot: Option<Timestamp>,
    /// The plan's RPO, when the config sets one.
    pub rpo_target_seconds: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillState {
    /// PASS, FAIL or ERROR.
    pub verdict: String,
    pub finished: Timestamp,
    /// The store restored from.
    pub source: Option<String>,
    pub rto_seconds: Option<f64>,
    pub rto_target_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    pub rpo_target_seconds: Option<f64>,
    pub restored_bytes: Option<u64>,
    pub report_id: Option<String>,
}

impl AgentState {
    pub fn new() -> AgentState {
        AgentState {
            version: STATE_VERSION,
            ..AgentState::default()
        }
    }

    /// Reads the state file; a missing file is a fresh state.
    pub fn load(path: &Path) -> crate::Result<AgentState> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AgentState::new()),
            Err(e) => {
                return Err(crate::Error::Other(format!(
                    "cannot read the job state {}: {e}",
                    path.display()
                )));
            }
        };
        let state: AgentState = serde_json::from_str(&text).map_err(|e| {
            crate::Error::Other(format!(
                "the job state {} is not readable ({e}); move it aside to start afresh (job history is lost, the repository is not affected)",
                path.display()
            ))
        })?;
        if state.version != STATE_VERSION {
            return Err(crate::Error::Other(format!(
                "the job state {} has version {}, this firedrill reads version {STATE_VERSION}",
                path.display(),
                state.version
            )));
        }
        Ok(state)
    }

    /// Writes to a temporary file in the same directory, syncs it, then renames it over
    /// the old one: a crash leaves either the old state or the new one, never a mix.
    pub fn save(&self, path: &Path) -> crate::Result<()> {
        let fail = |e: std::io::Error| {
            crate::Error::Other(format!(
                "cannot write the job state {}: {e}",
                path.display()
            ))
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| crate::Error::Other(format!("cannot encode the job state: {e}")))?;
        file.write_all(&text).map_err(fail)?;
        file.as_file().sync_all().map_err(fail)?;
        file.persist(path).map_err(|e| fail(e.error))?;
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}
