//! The `firedrill` command: parse, call the library, print, choose the exit code.

mod args;
mod commands;
mod config;
mod output;
mod secrets;

use args::Cli;
use clap::Parser;
use firedrill::crypto::SlotSecret;
use firedrill::error::exit;
use firedrill::replicate::placement::PlacementPolicy;
use firedrill::repo::Repository;
use firedrill::store::Location;
use firedrill::store::spec::StoreSpec;
use firedrill::{Error, Result};
use std::path::PathBuf;

/// What every command that opens a repository needs.
pub struct Context {
    pub cli: Cli,
    config: Option<config::ConfigFile>,
}

impl Context {
    /// The primary store: `--repo` wins over the config file.
    pub fn primary_spec(&self) -> Result<StoreSpec> {
        if let Some(repo) = &self.cli.repo {
            let spec = StoreSpec::new("primary", Location::parse(repo)?);
            spec.transport()?;
            return Ok(spec);
        }
        let from_config = match &self.config {
            Some(config) => config.primary_spec()?,
            None => None,
        };
        from_config.ok_or_else(|| {
            Error::Usage(
                "no repository given: use --repo LOCATION, set FIREDRILL_REPO, or --config FILE"
                    .into(),
            )
        })
    }

    /// The replicas the config declares (none without a config file).
    pub fn replica_specs(&self) -> Result<Vec<StoreSpec>> {
        match &self.config {
            Some(config) => config.replica_specs(),
            None => Ok(Vec::new()),
        }
    }

    pub fn config(&self) -> Option<&config::ConfigFile> {
        self.config.as_ref()
    }

    pub fn placement(&self) -> PlacementPolicy {
        self.config
            .as_ref()
            .map(|c| c.placement.clone())
            .unwrap_or_default()
    }

    fn key_file(&self) -> Option<PathBuf> {
        self.cli.key_file.clone().or_else(|| {
            self.config
                .as_ref()
                .and_then(|c| c.repository.key_file.clone())
        })
    }

    fn sources(&self) -> (Option<PathBuf>, String, Option<PathBuf>) {
        let repo = self.config.as_ref().map(|c| &c.repository);
        let env = repo
            .and_then(|r| r.password_env.clone())
            .unwrap_or_else(|| "FIREDRILL_PASSWORD".into());
        (
            self.key_file(),
            env,
            repo.and_then(|r| r.password_file.clone()),
        )
    }

    pub fn secret(&self) -> Result<SlotSecret> {
        let (key_file, env, file) = self.sources();
        secrets::existing_secret(&secrets::SecretSources {
            key_file: key_file.as_deref(),
            password_env: &env,
            password_file_env: "FIREDRILL_PASSWORD_FILE",
            password_file: file.as_deref(),
        })
    }

    pub fn new_passphrase(&self) -> Result<String> {
        secrets::passphrase(
            &secrets::SecretSources {
                key_file: None,
                password_env: "FIREDRILL_NEW_PASSWORD",
                password_file_env: "FIREDRILL_NEW_PASSWORD_FILE",
                password_file: None,
            },
            "New passphrase: ",
            true,
        )
    }

    pub async fn store(&self) -> Result<std::sync::Arc<dyn firedrill::store::Store>> {
        self.primary_spec()?.open().await
    }

    pub async fn open(&self) -> Result<Repository> {
        let store = self.store().await?;
        // Check the location is a repository before asking for a passphrase.
        Repository::read_config(store.as_ref()).await?;
        let secret = self.secret()?;
        Repository::open(store, &secret).await
    }

    pub fn progress(&self, label: &str) -> firedrill::progress::Progress {
        firedrill::progress::Progress::bytes(
            !self.cli.quiet && firedrill::progress::interactive(),
            label,
        )
    }
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            if code != exit::SUCCESS && std::env::args().any(|a| a == "--json") {
                let message = e.render().to_string();
                println!(
                    "{}",
                    serde_json::json!({ "error": message.trim(), "exit_code": code })
                );
            }
            let _ = e.print();
            return code;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("firedrill: cannot start: {e}");
            return exit::FAILURE;
        }
    };
    let json = cli.json;
    if let Some(wait) = cli.lock_wait {
        firedrill::repo::lock::set_lock_wait(wait);
    }
    let result = runtime.block_on(async move {
        let config = match &cli.config {
            Some(path) => Some(config::ConfigFile::load(path)?),
            None => None,
        };
        let ctx = Context { cli, config };
        // The scheduler handles its own signals (a grace period for its jobs).
        if matches!(
            ctx.cli.command,
            args::Command::Agent | args::Command::RunDue { .. }
        ) {
            return commands::run(&ctx).await;
        }
        let result = tokio::select! {
            result = commands::run(&ctx) => result,
            signal = stop_signal() => Ok(stopped_by(signal).await),
        };
        // Locks an error path dropped without releasing them.
        release_held_locks().await;
        result
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "error": e.to_string(), "exit_code": e.exit_code() })
                );
            }
            eprintln!("firedrill: {e}");
            e.exit_code()
        }
    }
}

/// Removes the repository locks this process still holds, giving up after 10 s (an
/// unreachable store): they go stale by themselves.
async fn release_held_locks() -> usize {
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        firedrill::repo::held_locks::release_all(),
    )
    .await
    .unwrap_or(0)
}

/// The first SIGTERM or SIGINT (never, if they cannot be listened for).
async fn stop_signal() -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => libc::SIGTERM,
            _ = int.recv() => libc::SIGINT,
        },
        _ => std::future::pending().await,
    }
}

/// The command was stopped by `signal`: whatever it was doing is dropped (objects are
/// written whole or not at all, snapshots last), and its repository locks are removed
/// so that nothing waits for them. The shell's code for death by that signal.
async fn stopped_by(signal: i32) -> i32 {
    let removed = release_held_locks().await;
    eprintln!(
        "firedrill: stopped by signal {signal}{}",
        if removed > 0 {
            format!("; removed {removed} repository lock(s)")
        } else {
            String::new()
        }
    );
    128 + signal
}
