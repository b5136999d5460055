//! The `[agent]` and `[[job]]` sections checked and made ready: every error names the
//! file, line and field, so a bad reload can be refused with a clear reason.

use super::super::super::args::{Cli, Command, DrillCommand, PlanCommand};
use super::super::super::config::ConfigFile;
use clap::Parser;
use firedrill::agent::schedule::JobSchedule;
use firedrill::drill::definition::parse_duration;
use firedrill::{Error, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9477";

#[derive(Clone, Debug)]
pub struct Settings {
    pub config_path: PathBuf,
    /// None: no HTTP server.
    pub listen: Option<SocketAddr>,
    pub state_dir: PathBuf,
    pub missed_after: Duration,
    pub lock_wait: Duration,
    pub stop_grace: Duration,
    pub trigger_token_env: Option<String>,
    /// The plan's RPO, shown beside each store's lag.
    pub rpo_target_seconds: Option<f64>,
    pub jobs: Vec<Job>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    RunOnce,
    Skip,
}

impl Missed {
    pub fn as_str(self) -> &'static str {
        match self {
            Missed::RunOnce => "run-once",
            Missed::Skip => "skip",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    /// backup, replicate, verify, drill, forget, prune or plan.
    pub kind: &'static str,
    pub command: Vec<String>,
    /// The config file the job runs with, when not the scheduler's.
    pub config: Option<PathBuf>,
    pub schedule: JobSchedule,
    pub jitter: Duration,
    pub missed: Missed,
}

/// Options the scheduler sets itself on every job.
const GLOBAL_OPTIONS: [&str; 8] = [
    "--repo",
    "-r",
    "--config",
    "--key-file",
    "--json",
    "--quiet",
    "-q",
    "--lock-wait",
];

fn duration(at: &str, field: &str, text: Option<&str>, default: &str) -> Result<Duration> {
    let text = text.unwrap_or(default);
    let seconds = parse_duration(text).map_err(|e| Error::Usage(format!("{at}: {field}: {e}")))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|e| Error::Usage(format!("{at}: {field}: {text:?}: {e}")))
}

impl Settings {
    pub fn from_config(config: &ConfigFile) -> Result<Settings> {
        let agent = &config.agent;
        let at = format!("{}: [agent]", config.path.display());
        let listen = match agent.listen.as_deref().unwrap_or(DEFAULT_LISTEN) {
            "off" => None,
            text => Some(text.parse::<SocketAddr>().map_err(|e| {
                Error::Usage(format!(
                    "{at}: listen: {text:?}: {e}; expected an address such as {DEFAULT_LISTEN}, or \"off\""
                ))
            })?),
        };
        let state_dir = match (&agent.state_dir, std::env::var_os("STATE_DIRECTORY")) {
            (Some(dir), _) => dir.clone(),
            // systemd's StateDirectory= may list several, separated by colons.
            (None, Some(dirs)) => std::env::split_paths(&dirs)
                .next()
                .unwrap_or_else(|| config.base_dir().join("state")),
            (None, None) => config.base_dir().join("state"),
        };
        if !config.jobs.is_empty() && config.primary_spec()?.is_none() {
            return Err(Error::Usage(format!(
                "{}: jobs need the repository in the file: set repository.location or a [primary] section",
                config.path.display()
            )));
        }
        let timezone = agent.timezone.as_deref().unwrap_or("UTC");
        let mut jobs: Vec<Job> = Vec::new();
        for section in &config.jobs {
            let job = job(config, section, timezone)?;
            if jobs.iter().any(|j| j.name == job.name) {
                return Err(Error::Usage(format!(
                    "{}: two jobs are named {:?}; job names must be unique",
                    config.place(section.span().start),
                    job.name
                )));
            }
            jobs.push(job);
        }
        if let Some(name) = &agent.trigger_token_env
            && name.trim().is_empty()
        {
            return Err(Error::Usage(format!(
                "{at}: trigger_token_env is empty; name an environment variable, or leave it out to keep the trigger off"
            )));
        }
        Ok(Settings {
            config_path: config.path.clone(),
            listen,
            state_dir,
            missed_after: duration(&at, "missed_after", agent.missed_after.as_deref(), "15m")?,
            lock_wait: duration(&at, "lock_wait", agent.lock_wait.as_deref(), "1h")?,
            stop_grace: duration(&at, "stop_grace", agent.stop_grace.as_deref(), "10m")?,
            trigger_token_env: agent.trigger_token_env.clone(),
            rpo_target_seconds: config
                .plan
                .rpo
                .as_ref()
                .and_then(|rpo| parse_duration(rpo.get_ref()).ok()),
            jobs,
        })
    }

    pub fn state_file(&self) -> PathBuf {
        self.state_dir.join("agent-state.json")
    }

    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }
}

fn job(
    config: &ConfigFile,
    section: &toml::Spanned<super::super::super::config::JobSection>,
    default_timezone: &str,
) -> Result<Job> {
    let raw = section.get_ref();
    let at = format!(
        "{}: [[job]] {:?}",
        config.place(section.span().start),
        raw.name
    );
    let bad = |message: String| Error::Usage(format!("{at}: {message}"));
    let name_ok = !raw.name.is_empty()
        && raw.name.len() <= 64
        && raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(bad(
            "name: use 1 to 64 letters, digits, '-' or '_' (it names metrics and state)".into(),
        ));
    }
    if let Some(option) = raw.command.iter().find(|arg| {
        GLOBAL_OPTIONS
            .iter()
            .any(|o| arg == o || arg.starts_with(&format!("{o}=")))
    }) {
        return Err(bad(format!(
            "command: {option} is set by the scheduler for every job; leave it out"
        )));
    }
    let argv = std::iter::once("firedrill".to_string()).chain(raw.command.iter().cloned());
    let parsed = Cli::try_parse_from(argv).map_err(|e| {
        let message = e.render().to_string();
        let first = message
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ");
        bad(format!("command {:?}: {first}", raw.command.join(" ")))
    })?;
    let kind = match &parsed.command {
        Command::Backup(_) => "backup",
        Command::Replicate(_) => "replicate",
        Command::Verify { .. } => "verify",
        Command::Forget(_) => "forget",
        Command::Prune(_) => "prune",
        Command::Drill(DrillCommand::Run { .. }) => "drill",
        Command::Plan(PlanCommand::Check) => "plan",
        _ => {
            return Err(bad(format!(
                "command {:?}: a job runs backup, replicate, verify, drill run, forget, prune or plan check",
                raw.command.join(" ")
            )));
        }
    };
    if let Some(path) = &raw.config {
        let other = ConfigFile::load(path).map_err(|e| bad(format!("config: {e}")))?;
        if other.primary_spec()?.is_none() {
            return Err(bad(format!(
                "config: {} names no repository (repository.location or [primary])",
                path.display()
            )));
        }
    }
    let timezone = raw.timezone.as_deref().unwrap_or(default_timezone);
    let schedule =
        JobSchedule::parse(&raw.schedule, timezone).map_err(|e| bad(format!("schedule: {e}")))?;
    let jitter = duration(&at, "jitter", raw.jitter.as_deref(), "0s")?;
    let missed = match raw.missed.as_deref().unwrap_or("run-once") {
        "run-once" => Missed::RunOnce,
        "skip" => Missed::Skip,
        other => {
            return Err(bad(format!(
                "missed: {other:?}; expected \"run-once\" or \"skip\""
            )));
        }
    };
    Ok(Job {
        name: raw.name.clone(),
        kind,
        command: raw.command.clone(),
        config: raw.config.clone(),
        schedule,
        jitter,
        missed,
    })
}
