//! `[agent]` and `[[job]]` sections as written in the file; `cli::agent::settings` checks
//! them and turns them into schedules.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// Address of /healthz, /status and /metrics, or "off" (default 127.0.0.1:9477).
    pub listen: Option<String>,
    /// Where the job state is kept (default: $STATE_DIRECTORY, else `state` beside the file).
    pub state_dir: Option<PathBuf>,
    /// Time zone of schedules that do not name one (default UTC).
    pub timezone: Option<String>,
    /// A slot started later than this counts as missed (default 15m).
    pub missed_after: Option<String>,
    /// How long a job waits for a repository lock held by another job (default 1h).
    pub lock_wait: Option<String>,
    /// On SIGTERM, how long the running jobs may take to finish (default 10m).
    pub stop_grace: Option<String>,
    /// Environment variable holding the token of POST /trigger/JOB; unset = no trigger.
    pub trigger_token_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    pub name: String,
    /// A firedrill command line without global options, e.g. ["backup", "/srv"].
    pub command: Vec<String>,
    /// Cron expression: 5 fields, or 6/7 with seconds first and an optional year.
    pub schedule: String,
    pub timezone: Option<String>,
    /// Random delay added to each run, the same for a given slot everywhere.
    pub jitter: Option<String>,
    /// "run-once" (default) or "skip".
    pub missed: Option<String>,
    /// Run the job with this config file instead (relative to this one): the same
    /// repository reached with other credentials, e.g. a maintenance identity that may
    /// delete, for prune.
    pub config: Option<PathBuf>,
}
