//! The command line, as users type it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "firedrill",
    version,
    about = "Encrypted, deduplicated backups, replicated and proven restorable by drills"
)]
#[command(
    after_help = "Exit codes: 0 success, 1 damage found by a verification, 2 usage or configuration error, 3 any other failure.\n\
Secrets: the passphrase comes from FIREDRILL_PASSWORD, FIREDRILL_PASSWORD_FILE or a terminal prompt, never from an argument."
)]
pub struct Cli {
    /// Repository location: a path, file:///path, s3://BUCKET/PREFIX,
    /// s3:https://HOST[:PORT]/BUCKET/PREFIX or gs://BUCKET/PREFIX.
    #[arg(long, short = 'r', global = true, env = "FIREDRILL_REPO")]
    pub repo: Option<String>,
    /// TOML config file naming the repository and where its secret is.
    #[arg(long, global = true, env = "FIREDRILL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Open the repository with this key file instead of a passphrase.
    #[arg(long, global = true, env = "FIREDRILL_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Print a machine-readable JSON summary on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars, even on a terminal.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Wait this long (e.g. 30m) for a repository lock held by another process instead
    /// of failing at once.
    #[arg(long, global = true, env = "FIREDRILL_LOCK_WAIT", value_name = "DURATION", value_parser = duration_arg)]
    pub lock_wait: Option<std::time::Duration>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new repository.
    Init(InitArgs),
    /// Back up files and directories into a new snapshot.
    Backup(BackupArgs),
    /// List snapshots.
    Snapshots,
    /// List the contents of a snapshot.
    Ls {
        /// Snapshot id (unique prefix) or `latest`.
        snapshot: String,
        /// Only this directory (a path inside the snapshot).
        path: Option<String>,
    },
    /// Restore a snapshot; every restored file is checked against its recorded BLAKE3.
    Restore {
        /// Snapshot id (unique prefix) or `latest`.
        snapshot: String,
        #[arg(long, short = 't')]
        target: PathBuf,
        /// Restore only these snapshot paths (repeatable).
        #[arg(long, short = 'i')]
        include: Vec<String>,
    },
    /// Check the repository's structure, and with --read-data every stored byte.
    Verify {
        /// Instead, read back every object of this replica (no key needed) and report
        /// what is missing, truncated or corrupted.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["read_data", "read_data_subset"])]
        replica: Option<String>,
        #[arg(long, conflicts_with = "read_data_subset")]
        read_data: bool,
        /// Read a random PERCENT of the packs (e.g. 10 or 2.5%).
        #[arg(long, value_name = "PERCENT")]
        read_data_subset: Option<String>,
    },
    /// Manage key slots (passphrases and key files) that open the repository.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Remove snapshots according to a retention policy.
    Forget(ForgetArgs),
    /// Delete data no snapshot references; repack packs that are mostly unused.
    Prune(PruneArgs),
    /// Remove stale locks left by crashed processes.
    Unlock {
        /// Remove every lock, not only stale ones (make sure nothing else is running).
        #[arg(long)]
        all: bool,
    },
    /// Copy to each replica every object it lacks; snapshots last.
    Replicate(ReplicateArgs),
    /// Show each replica: what it holds, what it lacks, its newest snapshot and RPO lag.
    Replicas,
    /// Restore drills: prove recovery works and measure RTO and RPO.
    #[command(subcommand)]
    Drill(DrillCommand),
    /// The business continuity plan, judged on the evidence.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Drill reports kept in the repository.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Try firedrill end to end on local directories: back up, restore, check.
    Quickstart(QuickstartArgs),
    /// Run the config's [[job]] schedules until stopped; serve /healthz, /status and
    /// /metrics. SIGHUP reloads the config; SIGTERM lets the running job finish.
    Agent,
    /// Run the jobs due since the last recorded run, once, then exit (for cron, systemd
    /// timers, Kubernetes CronJobs). Exit code: the worst outcome (0 all ran fine or
    /// nothing was due, 1 a job failed, 3 a job errored, 2 bad config).
    RunDue {
        /// Also write the metrics, in Prometheus text format, to this file (atomically),
        /// for node_exporter's textfile collector.
        #[arg(long, value_name = "FILE")]
        metrics_file: Option<PathBuf>,
    },
    /// Each scheduled job: its last run, outcome and next run.
    Status,
}

fn duration_arg(text: &str) -> Result<std::time::Duration, String> {
    let seconds = firedrill::drill::definition::parse_duration(text)?;
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Average chunk size in KiB (min is a quarter, max four times).
    #[arg(long, default_value_t = 512)]
    pub chunk_avg_kib: u32,
    #[arg(long, default_value_t = 16)]
    pub pack_size_mib: u64,
    /// zstd level for new data.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub compression: i32,
    /// Argon2id memory cost for the passphrase slot.
    #[arg(long, default_value_t = 64)]
    pub kdf_memory_mib: u32,
    #[arg(long, default_value_t = 3)]
    pub kdf_iterations: u32,
    /// Create this key file and use it as the first key slot (instead of a passphrase).
    #[arg(long)]
    pub new_key_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long)]
    pub tag: Vec<String>,
    /// Glob to leave out: a name (`*.tmp`) or an absolute path pattern (repeatable).
    #[arg(long, short = 'e')]
    pub exclude: Vec<String>,
    /// File of exclude patterns, one per line, `#` comments.
    #[arg(long)]
    pub exclude_file: Vec<PathBuf>,
    /// Re-read every file even if the previous snapshot says it is unchanged.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Add a key slot: a new passphrase (FIREDRILL_NEW_PASSWORD, FIREDRILL_NEW_PASSWORD_FILE or a prompt), or a new key file.
    Add {
        #[arg(long)]
        new_key_file: Option<PathBuf>,
        #[arg(long, default_value_t = 64)]
        kdf_memory_mib: u32,
        #[arg(long, default_value_t = 3)]
        kdf_iterations: u32,
    },
    /// List key slots.
    List,
    /// Remove a key slot (never the last one, nor the one in use).
    Remove { id: String },
}

#[derive(Args, Debug)]
pub struct ForgetArgs {
    #[arg(long)]
    pub keep_last: Option<u32>,
    #[arg(long)]
    pub keep_hourly: Option<u32>,
    #[arg(long)]
    pub keep_daily: Option<u32>,
    #[arg(long)]
    pub keep_weekly: Option<u32>,
    #[arg(long)]
    pub keep_monthly: Option<u32>,
    #[arg(long)]
    pub keep_yearly: Option<u32>,
    /// Keep everything within this span of the newest snapshot, e.g. 30d, 1y6m, 48h.
    #[arg(long)]
    pub keep_within: Option<String>,
    /// Keep snapshots with this tag (repeatable).
    #[arg(long)]
    pub keep_tag: Vec<String>,
    #[arg(long)]
    pub dry_run: bool,
    /// Prune right after forgetting.
    #[arg(long)]
    pub prune: bool,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Repack a pack when more than this percent of its bytes are unused.
    #[arg(long, default_value_t = 20.0)]
    pub max_unused: f64,
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum DrillCommand {
    /// Run a drill: a name from the drills directory, or a drill file.
    /// Exit code: 0 PASS, 1 FAIL, 2 bad drill file or config, 3 ERROR.
    Run {
        /// NAME (drills/NAME.toml) or a path to a drill file.
        drill: String,
        /// Keep the scratch restore for inspection.
        #[arg(long)]
        keep: bool,
        /// Replay a sample (or a random snapshot pick) with this seed from an earlier report.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// List the drills of the drills directory.
    List,
}

#[derive(Subcommand, Debug)]
pub enum PlanCommand {
    /// Weigh placement, replica lag and drill reports against the plan: MET (exit 0) or
    /// NOT MET (exit 1), with the reason for each rule.
    Check,
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// List the drill reports, oldest first.
    List,
    /// Show one report (`latest` or a unique id prefix).
    Show {
        id: String,
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the chain of reports: each names the one before it.
    Verify,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Md,
    Html,
}

#[derive(Args, Debug)]
pub struct ReplicateArgs {
    /// Only this replica: a name from the config, or a location (repeatable).
    #[arg(long, value_name = "NAME|LOCATION")]
    pub to: Vec<String>,
    /// Read back every object on every copy, and repair what is missing, truncated or
    /// corrupted from a healthy copy.
    #[arg(long)]
    pub heal: bool,
    /// Objects in flight at once.
    #[arg(long, default_value_t = 16)]
    pub jobs: usize,
}

#[derive(Args, Debug)]
pub struct QuickstartArgs {
    /// Working directory for the demo (repository, sample data, restore).
    #[arg(long, default_value = "firedrill-demo")]
    pub dir: PathBuf,
    /// Back up this directory instead of generated sample data.
    #[arg(long)]
    pub source: Option<PathBuf>,
    /// Size of the generated sample data in MiB.
    #[arg(long, default_value_t = 64)]
    pub sample_mib: u64,
}
